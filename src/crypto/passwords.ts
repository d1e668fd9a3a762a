// Argon2id password hashing. @node-rs/argon2 hashes on libuv's thread pool, so the event loop
// stays free; a small gate bounds how many hashes run at once so logins cannot take every core.
import { Algorithm, hash, verify } from '@node-rs/argon2';
import type { Argon2Params } from '../config.ts';

class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export class PasswordHasher {
  private readonly gate: Gate;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly params: Argon2Params,
    concurrency: number,
  ) {
    this.gate = new Gate(concurrency);
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() =>
      hash(password, { algorithm: Algorithm.Argon2id, ...this.params, outputLen: 32 }),
    );
  }

  async verify(storedHash: string, password: string): Promise<boolean> {
    return this.gate.run(async () => {
      try {
        return await verify(storedHash, password);
      } catch {
        return false;
      }
    });
  }

  /**
   * For an unknown account: spends the same work as a real verification and answers false,
   * so that the response time does not tell whether the email exists.
   */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= this.hash('gatehouse-timing-equaliser');
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
