// Password hashes made elsewhere (machines.md "Moving accounts in and out"): bcrypt, Argon2id and
// Argon2i, scrypt and PBKDF2-SHA256. An imported hash is read strictly and its cost bounded here,
// once, at import: a hash that is kept can always be verified, and no hostile hash makes a
// sign-in spend minutes or gigabytes. The first sign-in with one stores an Argon2id hash instead
// (PasswordHasher.needsRehash is true for anything but Argon2id).
import { pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { InvalidRequest } from '../errors.ts';

/** The bounds an imported hash must keep (docs/decisions/0110-imported-password-hash-bounds.md). */
export const IMPORT_BOUNDS = {
  bcryptCost: { min: 4, max: 16 },
  /** Argon2 memory in KiB (256 MiB), passes and lanes */
  argon2Memory: { min: 8, max: 262_144 },
  argon2Time: { min: 1, max: 16 },
  argon2Lanes: { min: 1, max: 16 },
  /** scrypt: log2 N, r, p, and the memory one verification takes (128 · N · r bytes) */
  scryptLn: { min: 1, max: 20 },
  scryptR: { min: 1, max: 32 },
  scryptP: { min: 1, max: 16 },
  scryptMemory: 256 * 1024 * 1024,
  /** N · r · p: the work of one verification (2^22 is 8 times passlib's default ln=16, r=8, p=1) */
  scryptWork: 2 ** 22,
  pbkdf2Rounds: { min: 1, max: 2_000_000 },
  /** decoded salt and hash lengths in bytes, for scrypt and PBKDF2 */
  salt: { min: 1, max: 128 },
  digest: { min: 16, max: 128 },
} as const;

export type ForeignHash =
  | { kind: 'argon2'; encoded: string }
  | { kind: 'bcrypt'; encoded: string }
  | { kind: 'scrypt'; n: number; r: number; p: number; salt: Buffer; digest: Buffer }
  | { kind: 'pbkdf2-sha256'; rounds: number; salt: Buffer; digest: Buffer };

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const ARGON2 = /^\$argon2(?:id|i)\$v=(?:16|19)\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const SCRYPT = /^\$scrypt\$ln=(\d{1,3}),r=(\d{1,4}),p=(\d{1,4})\$([A-Za-z0-9+/.]+)\$([A-Za-z0-9+/.]+)$/;
const PBKDF2 = /^\$pbkdf2-sha256\$(\d{1,10})\$([A-Za-z0-9+/.]+)\$([A-Za-z0-9+/.]+)$/;

const within = (value: number, range: { min: number; max: number }) => value >= range.min && value <= range.max;

/**
 * Base64 without padding, '.' standing for '+' as in passlib's adapted base64; undefined unless
 * the text is the canonical encoding of its bytes (no stray bits a second encoding would drop).
 */
function decodeBase64(text: string, length: { min: number; max: number }): Buffer | undefined {
  const standard = text.replaceAll('.', '+');
  if (standard.length % 4 === 1) return undefined;
  const bytes = Buffer.from(standard, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== standard) return undefined;
  return within(bytes.length, length) ? bytes : undefined;
}

/** Reads an imported hash; undefined when it is not one of the known formats or is out of bounds. */
export function parseForeignHash(text: string): ForeignHash | undefined {
  const bounds = IMPORT_BOUNDS;
  let match = BCRYPT.exec(text);
  if (match) return within(Number(match[1]), bounds.bcryptCost) ? { kind: 'bcrypt', encoded: text } : undefined;
  match = ARGON2.exec(text);
  if (match) {
    const [memory, time, lanes] = match.slice(1, 4).map(Number) as [number, number, number];
    if (!within(memory, bounds.argon2Memory) || !within(time, bounds.argon2Time) || !within(lanes, bounds.argon2Lanes)) return undefined;
    if (memory < 8 * lanes) return undefined; // Argon2 needs 8 KiB per lane
    if (!decodeBase64(match[4]!, { min: 8, max: 64 }) || !decodeBase64(match[5]!, { min: 4, max: 128 })) return undefined;
    return { kind: 'argon2', encoded: text };
  }
  match = SCRYPT.exec(text);
  if (match) {
    const [ln, r, p] = match.slice(1, 4).map(Number) as [number, number, number];
    if (!within(ln, bounds.scryptLn) || !within(r, bounds.scryptR) || !within(p, bounds.scryptP)) return undefined;
    const n = 2 ** ln;
    if (128 * n * r > bounds.scryptMemory || n * r * p > bounds.scryptWork) return undefined;
    const salt = decodeBase64(match[4]!, bounds.salt);
    const digest = decodeBase64(match[5]!, bounds.digest);
    return salt && digest ? { kind: 'scrypt', n, r, p, salt, digest } : undefined;
  }
  match = PBKDF2.exec(text);
  if (match) {
    const rounds = Number(match[1]);
    if (!within(rounds, bounds.pbkdf2Rounds)) return undefined;
    const salt = decodeBase64(match[2]!, bounds.salt);
    const digest = decodeBase64(match[3]!, bounds.digest);
    return salt && digest ? { kind: 'pbkdf2-sha256', rounds, salt, digest } : undefined;
  }
  return undefined;
}

/** The hash to store for an imported one; 400 Invalid request when it cannot be kept. */
export function requireImportableHash(text: string): string {
  if (!parseForeignHash(text)) {
    throw InvalidRequest({ detail: 'password_hash must be a bcrypt, Argon2id, Argon2i, scrypt or PBKDF2-SHA256 hash within the supported bounds' });
  }
  return text;
}

function derive(hash: ForeignHash & { kind: 'scrypt' | 'pbkdf2-sha256' }, password: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, key: Buffer) => (error ? reject(error) : resolve(key));
    if (hash.kind === 'scrypt') {
      // maxmem: the 128 · N · r bytes this hash needs, and room for the rest.
      scrypt(password, hash.salt, hash.digest.length, { N: hash.n, r: hash.r, p: hash.p, maxmem: 128 * hash.n * hash.r + 32 * 1024 * 1024 }, done);
    } else {
      pbkdf2(password, hash.salt, hash.rounds, hash.digest.length, 'sha256', done);
    }
  });
}

/** Checks a password against a hash parseForeignHash has read; the comparison takes constant time. */
export async function verifyForeign(hash: ForeignHash, password: string): Promise<boolean> {
  switch (hash.kind) {
    case 'argon2':
      return argon2Verify(hash.encoded, password);
    case 'bcrypt':
      return bcryptVerify(password, hash.encoded);
    default: {
      const key = await derive(hash, password);
      return timingSafeEqual(key, hash.digest);
    }
  }
}
