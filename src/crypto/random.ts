// Identifiers and secret tokens from the CSPRNG, behind an injected `Ids` source like the clock.
import { randomBytes } from 'node:crypto';

export interface Ids {
  /** an opaque identifier for a row */
  id(): string;
  /** a secret token with at least 256 bits of entropy, url-safe */
  token(): string;
}

/**
 * Bytes from the operating system's CSPRNG (through OpenSSL), drawn a block at a time: a refresh
 * grant needs three random values, and one call per value cost more than the value
 * (docs/decisions/0017-random-values-drawn-in-blocks.md). Every byte is handed out once; a used
 * block is dropped, never refilled in place, so a value already handed out cannot change.
 */
export class RandomPool {
  private block = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly blockBytes = 4096) {}

  take(bytes: number): Buffer {
    if (bytes > this.blockBytes) return randomBytes(bytes);
    if (this.offset + bytes > this.block.length) {
      this.block = randomBytes(this.blockBytes);
      this.offset = 0;
    }
    const out = this.block.subarray(this.offset, this.offset + bytes);
    this.offset += bytes;
    return out;
  }
}

const pool = new RandomPool();

/**
 * `bytes` random bytes in base64url, drawn again when the first character is '-': identifiers and
 * session ids (the sid a token carries) are typed as command-line arguments (`--pin <id>`,
 * `session end <sid>`), where a leading dash reads as an option. A secret loses less than 0.03 bits.
 */
function randomValue(bytes: number): string {
  for (;;) {
    const value = pool.take(bytes).toString('base64url');
    if (value[0] !== '-') return value;
  }
}

export const randomIds: Ids = {
  /** 96 bits */
  id: () => randomValue(12),
  /** 256 bits */
  token: () => randomValue(32),
};
