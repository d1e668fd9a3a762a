// The verifier of Gatehouse's own tokens (src/crypto/jwt-verify.ts) against jose, an independent
// implementation: every token jose signs and verifies is accepted, every token either refuses is
// refused by both.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, SignJWT, type JWK } from 'jose';
import { JwtRefused, VerifyingKeySet, verifyJwt, verifyingKeys } from '../src/crypto/jwt-verify.ts';

const ISSUER = 'https://id.example.test';
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const nowSeconds = Math.floor(NOW / 1000);

function keyPair(alg: 'ES256' | 'RS256', kid: string): { privateKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

const es = keyPair('ES256', 'es-1');
const rs = keyPair('RS256', 'rs-1');
const stranger = keyPair('ES256', 'es-1'); // the same kid, another key
const published = [es.jwk, rs.jwk];
const ours = verifyingKeys(published);
const theirs = createLocalJWKSet({ keys: published });

const claims = { iss: ISSUER, aud: 'app', sub: 'user-1', sid: 's', scope: 'openid', iat: nowSeconds - 10, exp: nowSeconds + 600 };

async function signed(payload: Record<string, unknown>, options: { alg?: 'ES256' | 'RS256'; kid?: string; typ?: string; key?: KeyObject; header?: Record<string, unknown> } = {}): Promise<string> {
  const alg = options.alg ?? 'ES256';
  const key = options.key ?? (alg === 'ES256' ? es.privateKey : rs.privateKey);
  return new SignJWT(payload).setProtectedHeader({ alg, kid: options.kid ?? (alg === 'ES256' ? 'es-1' : 'rs-1'), typ: options.typ ?? 'at+jwt', ...options.header }).sign(key);
}

/** A token assembled by hand: any header, any payload, a real signature over them. */
function handMade(header: unknown, payload: unknown, key: KeyObject = es.privateKey, ec = true): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = ec ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

const options = { issuer: ISSUER, typ: 'at+jwt', currentDate: new Date(NOW) };

async function joseAccepts(token: string, opts: { issuer: string; audience?: string; typ?: string; currentDate: Date } = options): Promise<boolean> {
  return jwtVerify(token, theirs, { ...opts, algorithms: ['ES256', 'RS256'] }).then(
    () => true,
    () => false,
  );
}

function oursAccepts(token: string, opts: { issuer: string; audience?: string; typ?: string; currentDate: Date } = options): boolean {
  try {
    verifyJwt(token, ours, opts);
    return true;
  } catch (error) {
    assert.ok(error instanceof JwtRefused, `only JwtRefused is thrown, got ${String(error)}`);
    return false;
  }
}

describe('verifying our own JWTs with node:crypto', () => {
  it('accepts what jose accepts: ES256 and RS256, typ with or without application/, aud as a string or in an array', async () => {
    const tokens = [
      await signed(claims),
      await signed(claims, { alg: 'RS256' }),
      await signed(claims, { typ: 'application/at+jwt' }),
      await signed(claims, { typ: 'AT+JWT' }),
      await signed({ ...claims, aud: ['other', 'app'] }),
      await signed({ ...claims, nbf: nowSeconds }),
    ];
    for (const token of tokens) {
      assert.equal(await joseAccepts(token, { ...options, audience: 'app' }), true);
      assert.equal(oursAccepts(token, { ...options, audience: 'app' }), true);
    }
    assert.deepEqual(verifyJwt(tokens[0] ?? '', ours, options), claims);
  });

  it('refuses what jose refuses', async () => {
    const good = await signed(claims);
    const [h, p, s] = good.split('.') as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    const cases: Record<string, string> = {
      'a signature of another key under a published kid': await signed(claims, { key: stranger.privateKey }),
      'a changed signature': `${h}.${p}.${flipped}`,
      'a changed payload': `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${s}`,
      'no signature': `${h}.${p}.`,
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'es-1', typ: 'at+jwt' })).toString('base64url')}.${p}.`,
      'an RS256 header on the ES256 key': handMade({ alg: 'RS256', kid: 'es-1', typ: 'at+jwt' }, claims, rs.privateKey, false),
      'an ES256 header on the RS256 key': handMade({ alg: 'ES256', kid: 'rs-1', typ: 'at+jwt' }, claims),
      'HS256 with the public key as secret': handMade({ alg: 'HS256', kid: 'es-1', typ: 'at+jwt' }, claims),
      'an unknown kid': await signed(claims, { kid: 'nobody' }),
      'a crit header': handMade({ alg: 'ES256', kid: 'es-1', typ: 'at+jwt', crit: ['x-ext'], 'x-ext': 1 }, claims),
      expired: await signed({ ...claims, exp: nowSeconds }),
      'not yet valid': await signed({ ...claims, nbf: nowSeconds + 60 }),
      'exp as a string': await signed({ ...claims, exp: String(nowSeconds + 600) }),
      'iat as a string': await signed({ ...claims, iat: 'yesterday' }),
      'another issuer': await signed({ ...claims, iss: 'https://evil.example' }),
      'no issuer': await signed({ ...claims, iss: undefined }),
      'another typ': await signed(claims, { typ: 'JWT' }),
      'a payload that is an array': handMade({ alg: 'ES256', kid: 'es-1', typ: 'at+jwt' }, [claims]),
      'a payload that is a string': handMade({ alg: 'ES256', kid: 'es-1', typ: 'at+jwt' }, 'hello'),
      'a header that is not JSON': `${Buffer.from('{nope').toString('base64url')}.${p}.${s}`,
      'characters outside base64url': `${h}.${p}.${s.slice(0, -2)}+/`,
      'four segments': `${good}.${s}`,
      'two segments': `${h}.${p}`,
      empty: '',
    };
    for (const [name, token] of Object.entries(cases)) {
      assert.equal(await joseAccepts(token), false, `jose refuses ${name}`);
      assert.equal(oursAccepts(token), false, `ours refuses ${name}`);
    }
  });

  it('refuses a token for another audience when one is asked, and a token of a key no longer published', async () => {
    const token = await signed(claims);
    assert.equal(oursAccepts(token, { ...options, audience: 'other' }), false);
    assert.equal(await joseAccepts(token, { ...options, audience: 'other' }), false);
    assert.throws(() => verifyJwt(token, verifyingKeys([rs.jwk]), options), (error: unknown) => error instanceof JwtRefused && error.reason === 'unknown_kid');
  });

  it('is stricter than jose where every token of ours differs: a token without a kid is refused (jose takes the only key of its algorithm)', async () => {
    const token = handMade({ alg: 'ES256', typ: 'at+jwt' }, claims);
    assert.equal(await joseAccepts(token), true);
    assert.equal(oursAccepts(token), false);
  });

  it('refuses an oversized token before decoding it', async () => {
    const token = await signed({ ...claims, filler: 'x'.repeat(20_000) });
    assert.equal(oursAccepts(token), false);
  });
});

describe('a key set remembers the tokens it verified', () => {
  const refused = (reason: JwtRefused['reason']) => (error: unknown) => error instanceof JwtRefused && error.reason === reason;

  it('answers the same token again without its signature: the keys it was verified with are not needed again', async () => {
    const keys = verifyingKeys(published);
    const set = new VerifyingKeySet(keys);
    const token = await signed(claims);
    assert.deepEqual(set.verify(token, options), claims);
    assert.equal(set.remembered, 1);
    // Emptied behind the set's back (it never is: a new key set is made instead), so that only
    // the remembered verification can answer.
    keys.clear();
    assert.deepEqual(set.verify(token, options), claims);
    const another = await signed({ ...claims, sub: 'user-2' });
    assert.throws(() => set.verify(another, options), refused('unknown_kid'));
  });

  it('judges the claims again at every use, and forgets a token once it has expired', async () => {
    const set = new VerifyingKeySet(verifyingKeys(published));
    const token = await signed(claims);
    set.verify(token, { ...options, audience: 'app' });
    assert.throws(() => set.verify(token, { ...options, audience: 'another-app' }), refused('claims'));
    assert.throws(() => set.verify(token, { ...options, typ: 'JWT' }), refused('claims'));
    assert.throws(() => set.verify(token, { ...options, issuer: 'https://elsewhere.example.test' }), refused('claims'));
    assert.equal(set.remembered, 1);
    assert.throws(() => set.verify(token, { ...options, currentDate: new Date((claims.exp + 1) * 1000) }), refused('expired'));
    assert.equal(set.remembered, 0);
  });

  it('remembers only tokens whose signature is good, each by its exact text', async () => {
    const set = new VerifyingKeySet(verifyingKeys(published));
    const token = await signed(claims);
    set.verify(token, options);
    const [h, p, s] = token.split('.') as [string, string, string];
    const other = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    assert.throws(() => set.verify(`${h}.${other}.${s}`, options), refused('signature'));
    assert.throws(() => set.verify(`${h}.${p}.${s.slice(0, -2)}AA`, options), refused('signature'));
    const forged = await signed(claims, { key: stranger.privateKey });
    assert.throws(() => set.verify(forged, options), refused('signature'));
    assert.equal(set.remembered, 1);
  });

  it('keeps at most its bound: past it, the oldest token is dropped and verified again when it comes back', async () => {
    const keys = verifyingKeys(published);
    const set = new VerifyingKeySet(keys, 3);
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((n) => signed({ ...claims, sub: `user-${n}` })));
    for (const token of tokens) set.verify(token, options);
    assert.equal(set.remembered, 3);
    keys.clear();
    assert.throws(() => set.verify(tokens[0] ?? '', options), refused('unknown_kid'));
    assert.throws(() => set.verify(tokens[1] ?? '', options), refused('unknown_kid'));
    for (const token of tokens.slice(2)) assert.equal(set.verify(token, options).sub, JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub);
  });
});
