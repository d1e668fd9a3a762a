// Argon2id password hashing. @node-rs/argon2 hashes on libuv's thread pool, so the event loop
// stays free; a small gate bounds how many hashes run at once so logins cannot take every core.
// `npm start` and the Docker image size the pool to the hashing concurrency (UV_THREADPOOL_SIZE):
// the pool then bounds the hashes itself, and the gate lets one more wait on each thread.
import { Algorithm, hash, verify } from '@node-rs/argon2';
import type { Argon2Params } from '../config.ts';
import { ServiceUnavailable } from '../errors.ts';
import { parseForeignHash, verifyForeign } from './foreign-hashes.ts';

/**
 * Lets at most `limit` calls of `run` work at once; at most `queue` others wait, in order, and
 * any more are refused at once (503 Service unavailable): 300 wrong logins in a burst once held
 * one real login 5.7 s behind them. `refused` is told of each refusal (the metrics count them).
 */
export class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly limit: number,
    private readonly queue = Number.POSITIVE_INFINITY,
    private readonly refused: () => void = () => {},
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.queue) {
        this.refused();
        throw ServiceUnavailable();
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** libuv's thread-pool size as libuv reads UV_THREADPOOL_SIZE: 4 when unset, at least 1, at most 1024. */
export function threadPoolSize(env: Record<string, string | undefined> = process.env): number {
  const value = env.UV_THREADPOOL_SIZE;
  if (value === undefined) return 4;
  const threads = Number.parseInt(value, 10); // atoi: leading digits, 0 when there are none
  return Math.min(Math.max(Number.isNaN(threads) ? 0 : threads, 1), 1024);
}

/**
 * How many hashes the gate lets reach the pool. When the pool has no more threads than the
 * configured concurrency, the pool itself bounds how many run at once, and a second hash waits
 * in the pool behind each running one: the thread starts it the moment the first ends, instead
 * of after the event loop has taken the result and handed over the next (docs/decisions/0030-libuv-pool-sized-to-hash-concurrency.md:
 * 17 % more logins per second at concurrency 1). With more threads than that, the gate is the
 * bound.
 */
export function gateSize(concurrency: number, poolSize: number): number {
  return poolSize <= concurrency ? 2 * poolSize : concurrency;
}

export class PasswordHasher {
  private readonly gate: Gate;
  private dummyHash: Promise<string> | undefined;
  private readonly queueFullListeners: Array<() => void> = [];
  /** how many hashes may be handed to the pool at once */
  readonly admitted: number;
  /** how many hashes can run at once: the concurrency, or fewer when the pool is smaller */
  readonly runningAtMost: number;

  constructor(
    private readonly params: Argon2Params,
    concurrency: number,
    poolSize = threadPoolSize(),
    /** hashes that may wait for the gate (GATEHOUSE_HASH_QUEUE); unbounded when not given */
    queue = Number.POSITIVE_INFINITY,
  ) {
    this.admitted = gateSize(concurrency, poolSize);
    this.runningAtMost = Math.min(concurrency, poolSize);
    this.gate = new Gate(this.admitted, queue, () => {
      for (const listener of this.queueFullListeners) listener();
    });
  }

  /** Calls `listener` each time a hash is refused because the queue is full. */
  onQueueFull(listener: () => void): void {
    this.queueFullListeners.push(listener);
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() =>
      hash(password, { algorithm: Algorithm.Argon2id, ...this.params, outputLen: 32 }),
    );
  }

  /**
   * Checks a password against a stored hash: Argon2id as this server makes them, or one imported
   * from elsewhere (foreign-hashes.ts: bcrypt, Argon2i, scrypt, PBKDF2-SHA256), through the same gate.
   */
  async verify(storedHash: string, password: string): Promise<boolean> {
    return this.gate.run(async () => {
      try {
        if (storedHash.startsWith('$argon2id$')) return await verify(storedHash, password);
        const foreign = parseForeignHash(storedHash);
        return foreign !== undefined && (await verifyForeign(foreign, password));
      } catch {
        return false;
      }
    });
  }

  /**
   * True when a stored hash was made with weaker parameters than the configured ones (less
   * memory, fewer passes or lanes), or is not Argon2id at all: the sign-in that has just proved
   * the password then stores a new hash (OWASP ASVS 2.4; a raised GATEHOUSE_ARGON2_* reaches
   * every active account without a reset).
   */
  needsRehash(storedHash: string): boolean {
    const match = /^\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
    if (!match) return true;
    const [memory, time, lanes] = match.slice(1).map(Number) as [number, number, number];
    return memory < this.params.memoryCost || time < this.params.timeCost || lanes < this.params.parallelism;
  }

  /**
   * For an unknown account: spends the same work as a real verification and answers false,
   * so that the response time does not tell whether the email exists.
   */
  async verifyNothing(password: string): Promise<false> {
    // A hash refused for a full queue must not be kept as the dummy's answer for good.
    this.dummyHash ??= this.hash('gatehouse-timing-equaliser').catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
