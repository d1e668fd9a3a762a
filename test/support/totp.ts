// RFC 6238 TOTP computed by the tests themselves (RFC 2104 HMAC over SHA-1 from node:crypto's
// hash alone), so that the server's implementation is checked against an independent one.
import { createHash } from 'node:crypto';

const BLOCK = 64;

function sha1(data: Buffer): Buffer {
  return createHash('sha1').update(data).digest();
}

/** RFC 2104: H(K ^ opad, H(K ^ ipad, text)). */
export function hmacSha1(key: Buffer, message: Buffer): Buffer {
  const k = key.length > BLOCK ? sha1(key) : key;
  const padded = Buffer.alloc(BLOCK);
  k.copy(padded);
  const inner = Buffer.alloc(BLOCK);
  const outer = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = padded[i]! ^ 0x36;
    outer[i] = padded[i]! ^ 0x5c;
  }
  return sha1(Buffer.concat([outer, sha1(Buffer.concat([inner, message]))]));
}

/** RFC 6238 with SHA-1: the `digits`-digit code of the 30-second step of `unixSeconds`. */
export function rfc6238(secret: Buffer, unixSeconds: number, digits = 6): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = hmacSha1(secret, counter);
  const offset = mac[19]! & 0xf;
  const value = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(value % 10 ** digits).padStart(digits, '0');
}

/** RFC 4648 base32 (what the page shows) to bytes. */
export function fromBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.toUpperCase().replace(/=+$/, '')) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The code a person's app shows at `nowMs` for a base32 secret. */
export function totpNow(base32Secret: string, nowMs: number, stepOffset = 0): string {
  return rfc6238(fromBase32(base32Secret), Math.floor(nowMs / 1000) + stepOffset * 30);
}
