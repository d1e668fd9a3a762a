// Time and randomness are injected so that expiry and rotation are tested without sleeping.
import { randomBytes } from 'node:crypto';

export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock a test can move forward. */
export class ManualClock implements Clock {
  constructor(private current = Date.now()) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface Ids {
  /** an opaque identifier for a row */
  id(): string;
  /** a secret token with at least 256 bits of entropy, url-safe */
  token(): string;
}

export const randomIds: Ids = {
  id: () => randomBytes(12).toString('base64url'),
  token: () => randomBytes(32).toString('base64url'),
};
