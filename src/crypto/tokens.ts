// Hashing and comparison of secrets. Tokens, codes and client secrets are stored only as
// SHA-256 digests; PINs as HMAC-SHA-256 under a server-side key (a short PIN alone is guessable offline).
import { createHash, createHmac, hash, timingSafeEqual } from 'node:crypto';

/** SHA-256 in base64url; the one-shot `hash` (Node 20.12) costs half of createHash's object. */
export function sha256(value: string): string {
  return hash('sha256', value, 'base64url');
}

export function hmacSha256(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

/** Constant-time equality of two strings of any length (both are hashed first). */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** Constant-time check of a presented secret against its stored SHA-256 digest. */
export function matchesHash(presented: string, storedHash: string): boolean {
  return constantTimeEqual(sha256(presented), storedHash);
}
