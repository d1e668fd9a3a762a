// Mail sent after the answer: where the answer must be the same whether or not an account exists
// (a password reset, "send the link again"), waiting for the SMTP server only for existing
// accounts would tell them apart by the time it takes (docs/decisions/0073-account-mail-after-the-answer.md).
import type { FastifyBaseLogger } from 'fastify';

export class MailAfterAnswer {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly log: FastifyBaseLogger) {}

  /** Starts `work`; a failure is logged (without the message: it holds a token). */
  run(what: string, work: () => Promise<void>): void {
    const running: Promise<void> = work()
      .catch((err: unknown) => this.log.error({ err }, `${what} could not be sent`))
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
  }

  /** Resolves once every send started has finished (a shutdown waits for them). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
