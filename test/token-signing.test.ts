// Where a grant's signatures are made (src/oauth/token-issuer.ts): on libuv's thread pool while
// a core is spare, on the event loop while password hashes and the loop already use every core.
// Both ways give the same tokens, checked against the published keys.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PasswordHasher } from '../src/crypto/passwords.ts';
import { signOnPoolWhileCoreIsSpare, TokenIssuer } from '../src/oauth/token-issuer.ts';
import type { Session } from '../src/sessions/sessions.ts';
import { createTestApp, ISSUER, type TestApp } from './support/app.ts';

describe('signing on the thread pool or on the event loop', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  it('the pool is used only while a core is left over by the event loop and the running hashes', async () => {
    const hasher = new PasswordHasher(app.config.argon2, 1);
    const twoCores = signOnPoolWhileCoreIsSpare(hasher, 2);
    const fourCores = signOnPoolWhileCoreIsSpare(hasher, 4);
    const oneCore = signOnPoolWhileCoreIsSpare(hasher, 1);
    assert.equal(hasher.running, 0);
    assert.equal(twoCores(), true);
    assert.equal(oneCore(), false, 'on one core the pool would only add work');

    const hashing = hasher.hash('a password being hashed');
    assert.equal(hasher.running, 1);
    assert.equal(twoCores(), false, 'one core hashes, the other runs the event loop');
    assert.equal(fourCores(), true);
    await hashing;
    assert.equal(hasher.running, 0);
    assert.equal(twoCores(), true);
  });

  it('the running count covers queued verifications only once they start, and returns to zero after a failure', async () => {
    const hasher = new PasswordHasher(app.config.argon2, 1);
    const stored = await hasher.hash('right');
    const first = hasher.verify(stored, 'right');
    const second = hasher.verify(stored, 'wrong');
    const garbled = hasher.verify('not a hash', 'right');
    assert.equal(hasher.running, 1, 'the gate lets one run at a time; the others wait');
    assert.deepEqual(await Promise.all([first, second, garbled]), [true, false, false]);
    assert.equal(hasher.running, 0);
  });

  it('tokens signed on the pool and on the event loop are the same tokens, valid under the JWKS', async () => {
    const { keys, ids } = app.services;
    const now = app.clock.now();
    const session: Session = {
      id: 'session-1',
      project_id: 'console',
      subject: 'user-1',
      user_id: 'user-1',
      pin_id: null,
      method: 'pwd',
      scope: 'openid email',
      auth_time: now,
      created_at: now,
      expires_at: now + 60_000,
      revoked_at: null,
    };
    const project = (await app.services.projects.find('console'))!.project;
    const input = { session, project, refreshToken: 'r', accessTokenSeconds: 900, user: { email: 'a@example.com', email_verified: true } };
    const onPool = await new TokenIssuer(ISSUER, keys, app.clock, ids, () => true).issue(input);
    const onLoop = await new TokenIssuer(ISSUER, keys, app.clock, ids, () => false).issue(input);
    for (const response of [onPool, onLoop]) {
      const access = await keys.verifyJwt(response.access_token, { issuer: ISSUER, audience: 'console', typ: 'at+jwt' });
      assert.equal(access.sid, 'session-1');
      assert.equal(access.scope, 'openid email');
      assert.ok(response.id_token);
      const id = await keys.verifyJwt(response.id_token, { issuer: ISSUER, audience: 'console' });
      assert.equal(id.email, 'a@example.com');
      assert.equal(id.sub, 'user-1');
    }
    const { jti: _a, ...poolClaims } = await keys.verifyJwt(onPool.access_token, { issuer: ISSUER });
    const { jti: _b, ...loopClaims } = await keys.verifyJwt(onLoop.access_token, { issuer: ISSUER });
    assert.deepEqual(poolClaims, loopClaims);
    assert.deepEqual(await keys.verifyJwt(onPool.id_token!, { issuer: ISSUER }), await keys.verifyJwt(onLoop.id_token!, { issuer: ISSUER }));
  });

  it('without openid in the scope there is no ID token either way', async () => {
    const { keys, ids } = app.services;
    const now = app.clock.now();
    const session: Session = {
      id: 'session-2',
      project_id: 'console',
      subject: 'pin:p1',
      user_id: null,
      pin_id: 'p1',
      method: 'pin',
      scope: 'email',
      auth_time: now,
      created_at: now,
      expires_at: now + 60_000,
      revoked_at: null,
    };
    const project = (await app.services.projects.find('console'))!.project;
    for (const onPool of [true, false]) {
      const response = await new TokenIssuer(ISSUER, keys, app.clock, ids, () => onPool).issue({ session, project, refreshToken: 'r', accessTokenSeconds: 900 });
      assert.equal(response.id_token, undefined);
      assert.equal((await keys.verifyJwt(response.access_token, { issuer: ISSUER })).sub, 'pin:p1');
    }
  });
});
