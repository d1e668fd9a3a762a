// Secrets at rest that must be read back (private signing keys, the PIN key; later upstream
// client secrets and webhook secrets): sealed with AES-256-GCM under GATEHOUSE_SECRET_KEY. The
// associated data names the row the value belongs to ("signing_keys:<kid>"), so a ciphertext
// copied into another row fails to open instead of becoming that row's secret
// (docs/decisions/0046-secrets-sealed-at-rest.md).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Sealed values start with this, so that rows written before a key was set still read. */
const PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key is missing or wrong for a sealed value: the start stops with this message. */
export class SealedSecretError extends Error {}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

export class SecretBox {
  private readonly key: Buffer | undefined;

  /**
   * `secretKey`: GATEHOUSE_SECRET_KEY's bytes (32 or more), or undefined to store as is. `info`
   * names the use the AES key is derived for (HKDF-SHA256): another use of the same key material
   * (the session ids' box, sessions/sid-key.ts) passes its own, so its key is a different one.
   */
  constructor(secretKey: Buffer | undefined, info = 'gatehouse sealed secrets v1') {
    // A key of any length above 32 bytes becomes exactly one AES-256 key, bound to this use.
    this.key = secretKey && Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), info, 32));
  }

  /** Whether new values are sealed (a key is configured). */
  get sealing(): boolean {
    return this.key !== undefined;
  }

  /** The value to store for `plaintext` in the row named `row`: sealed when a key is set, else as is. */
  seal(plaintext: string, row: string): string {
    if (!this.key) return plaintext;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(row));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /**
   * The plaintext of a stored value. A value stored before the key was set is read as it is; a
   * sealed one without the key, or one that does not open (another key, another row, altered),
   * throws SealedSecretError with `what` in its message.
   */
  open(stored: string, row: string, what: string): string {
    if (!isSealed(stored)) return stored;
    if (!this.key) {
      throw new SealedSecretError(`${what} is encrypted, but GATEHOUSE_SECRET_KEY is not set: start with the key it was encrypted with`);
    }
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(row));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSecretError(`${what} cannot be decrypted: GATEHOUSE_SECRET_KEY is not the key it was encrypted with, or the row was altered or moved`);
    }
  }
}
