// Verification of the compact JWS tokens this issuer signed (access tokens at /userinfo, the
// admin API, introspection and /revoke; ID tokens given back as id_token_hint), through
// node:crypto. jose's jwtVerify goes through WebCrypto, which took 154–243 µs per ES256 token
// here against 64–71 µs for node:crypto's verify (docs/decisions/0139-own-jwt-verification.md);
// /userinfo verifies one per request. Only what Gatehouse signs is accepted: ES256 or RS256, a
// kid of a published key of that algorithm, no `crit`, strict base64url and JSON objects.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export type VerifyingAlg = 'ES256' | 'RS256';

export interface VerifyingKey {
  alg: VerifyingAlg;
  key: KeyObject;
}

export interface JwtVerifyOptions {
  issuer: string;
  /** the `aud` the token must name (a string, or one of an array); any when not given */
  audience?: string;
  /** the header's `typ` (compared as RFC 8725 §3.11 and jose do: without `application/`, in any case) */
  typ?: string;
  /** the time the token is judged at (default: now) */
  currentDate?: Date;
}

export type JwtPayload = Record<string, unknown>;

/** Why a token was refused; `unknown_kid` lets the key ring reload once (another instance may have rotated). */
export class JwtRefused extends Error {
  constructor(readonly reason: 'malformed' | 'unknown_kid' | 'signature' | 'claims' | 'expired') {
    super(`JWT refused: ${reason}`);
  }
}

/** The published JWKs as verifying keys by kid; a key of another type or algorithm is left out. */
export function verifyingKeys(jwks: readonly JWK[]): Map<string, VerifyingKey> {
  const keys = new Map<string, VerifyingKey>();
  for (const jwk of jwks) {
    if (typeof jwk.kid !== 'string') continue;
    if (jwk.alg === 'ES256' && jwk.kty === 'EC' && jwk.crv === 'P-256') keys.set(jwk.kid, { alg: 'ES256', key: createPublicKey({ key: jwk, format: 'jwk' }) });
    else if (jwk.alg === 'RS256' && jwk.kty === 'RSA') keys.set(jwk.kid, { alg: 'RS256', key: createPublicKey({ key: jwk, format: 'jwk' }) });
  }
  return keys;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** No token of ours is near this; a bigger one is refused before anything is decoded. */
const MAX_TOKEN_LENGTH = 16 * 1024;

function segment(text: string | undefined): Buffer {
  // Buffer's decoder skips characters outside the alphabet; a token of ours has none.
  if (text === undefined || !BASE64URL.test(text) || text.length % 4 === 1) throw new JwtRefused('malformed');
  return Buffer.from(text, 'base64url');
}

function jsonObject(bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new JwtRefused('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtRefused('malformed');
  return value as Record<string, unknown>;
}

function normalTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function optionalNumber(payload: JwtPayload, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new JwtRefused('claims');
  return value;
}

/** What a good signature establishes: the header's `typ` and the payload, both as signed. */
interface Signed {
  typ: unknown;
  payload: Readonly<JwtPayload>;
}

/** Checks the form and the signature of a compact JWS against `keys`; throws JwtRefused. */
function verifySignature(token: string, keys: ReadonlyMap<string, VerifyingKey>): Signed {
  if (token.length > MAX_TOKEN_LENGTH) throw new JwtRefused('malformed');
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtRefused('malformed');
  const [headerText, payloadText, signatureText] = parts as [string, string, string];
  const header = jsonObject(segment(headerText));
  const signature = segment(signatureText);
  const payloadBytes = segment(payloadText);

  const { alg, kid, typ } = header;
  if ((alg !== 'ES256' && alg !== 'RS256') || header.crit !== undefined || header.b64 !== undefined) throw new JwtRefused('malformed');
  if (typeof kid !== 'string') throw new JwtRefused('unknown_kid');
  const key = keys.get(kid);
  if (!key) throw new JwtRefused('unknown_kid');
  if (key.alg !== alg) throw new JwtRefused('signature');
  const input = Buffer.from(`${headerText}.${payloadText}`, 'ascii');
  // ES256 signatures are the JOSE r||s form, 64 bytes; RS256 is RSASSA-PKCS1-v1_5.
  const good =
    alg === 'ES256'
      ? signature.length === 64 && verify('sha256', input, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature)
      : verify('sha256', input, key.key, signature);
  if (!good) throw new JwtRefused('signature');
  return { typ, payload: Object.freeze(jsonObject(payloadBytes)) };
}

/** The claims of a signed token, judged against `options` at their time; throws JwtRefused. */
function checkClaims({ typ, payload }: Signed, options: JwtVerifyOptions): JwtPayload {
  if (options.typ !== undefined && (typeof typ !== 'string' || normalTyp(typ) !== normalTyp(options.typ))) throw new JwtRefused('claims');
  if (payload.iss !== options.issuer) throw new JwtRefused('claims');
  if (options.audience !== undefined) {
    const { aud } = payload;
    const named = typeof aud === 'string' ? aud === options.audience : Array.isArray(aud) && aud.includes(options.audience);
    if (!named) throw new JwtRefused('claims');
  }
  const now = Math.floor((options.currentDate?.getTime() ?? Date.now()) / 1000);
  optionalNumber(payload, 'iat');
  const exp = optionalNumber(payload, 'exp');
  if (exp !== undefined && exp <= now) throw new JwtRefused('expired');
  const nbf = optionalNumber(payload, 'nbf');
  if (nbf !== undefined && nbf > now) throw new JwtRefused('claims');
  return payload;
}

/** Verifies a compact JWS against `keys` and checks its claims; throws JwtRefused. The payload is frozen. */
export function verifyJwt(token: string, keys: ReadonlyMap<string, VerifyingKey>, options: JwtVerifyOptions): JwtPayload {
  return checkClaims(verifySignature(token, keys), options);
}

/** How many verified tokens a key set remembers (a few MiB at most). */
export const VERIFIED_TOKENS_KEPT = 4096;

/**
 * A key set that remembers the tokens whose signature it has verified, so that a client calling
 * /userinfo (or the admin API) again with the same token costs no second signature check. Only
 * verified tokens are kept, the exact token string as the key; the claims (issuer, audience,
 * typ, exp, nbf) are judged again at every use, and a token found expired is forgotten. A new
 * key set (a rotation, a key leaving the JWKS) starts with nothing remembered. At most
 * VERIFIED_TOKENS_KEPT tokens: past that, the oldest is dropped.
 */
export class VerifyingKeySet {
  private readonly verified = new Map<string, Signed>();
  constructor(
    readonly keys: ReadonlyMap<string, VerifyingKey>,
    private readonly kept = VERIFIED_TOKENS_KEPT,
  ) {}

  get remembered(): number {
    return this.verified.size;
  }

  verify(token: string, options: JwtVerifyOptions): JwtPayload {
    let signed = this.verified.get(token);
    if (signed === undefined) {
      signed = verifySignature(token, this.keys);
      if (this.verified.size >= this.kept) {
        const oldest = this.verified.keys().next();
        if (!oldest.done) this.verified.delete(oldest.value);
      }
      this.verified.set(token, signed);
    }
    try {
      return checkClaims(signed, options);
    } catch (error) {
      if (error instanceof JwtRefused && error.reason === 'expired') this.verified.delete(token);
      throw error;
    }
  }
}
