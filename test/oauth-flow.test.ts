import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { authParams, assertAuthorizationResponse, createProject, createUser, passwordCode, passwordTokens, post, refresh, REDIRECT_URI, type TestProject } from './support/flow.ts';

describe('authorization code + PKCE flow', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'ada@example.com', 'analytical engine 1843', project.id);
  });
  after(() => app.close());

  it('login answers redirect_to with code, state and iss', async () => {
    const { response } = await passwordCode(app, project.id, 'ada@example.com', 'analytical engine 1843');
    assertAuthorizationResponse(response, ISSUER);
  });

  it('the code exchanges for tokens signed with a key of the JWKS, with the claims of SPEC', async () => {
    const { code, verifier } = await passwordCode(app, project.id, 'ada@example.com', 'analytical engine 1843', { nonce: 'n-123' });
    const res = await post(app, '/token', { grant_type: 'authorization_code', client_id: project.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const tokens = res.json();
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 900);
    assert.equal(tokens.scope, 'openid email');
    const jwks = (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const keys = createLocalJWKSet(jwks);
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, keys, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(protectedHeader.kid);
    for (const claim of ['iss', 'sub', 'aud', 'client_id', 'exp', 'iat', 'jti', 'scope', 'sid', 'amr']) assert.ok(claim in payload, claim);
    assert.equal(payload.client_id, project.id);
    assert.deepEqual(payload.amr, ['pwd']);
    const id = await jwtVerify(tokens.id_token, keys, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    assert.equal(id.payload.nonce, 'n-123');
    assert.equal(id.payload.sub, payload.sub);
    assert.equal(id.payload.email, 'ada@example.com');
  });

  it('refresh rotates the token; the old one replayed revokes the session', async () => {
    const first = await passwordTokens(app, project, 'ada@example.com', 'analytical engine 1843');
    const second = await refresh(app, project, first.refresh_token);
    assert.equal(second.statusCode, 200);
    const next = second.json().refresh_token as string;
    assert.notEqual(next, first.refresh_token);
    const replay = await refresh(app, project, first.refresh_token);
    assert.equal(replay.statusCode, 401);
    assert.deepEqual(replay.json(), { error: 'Invalid refresh token' });
    const afterReuse = await refresh(app, project, next);
    assert.equal(afterReuse.statusCode, 401);
    assert.equal(afterReuse.json().error, 'Invalid refresh token');
  });

  it('twenty concurrent redemptions of one code: exactly one succeeds', async () => {
    // a project of its own, so the 20-per-minute client limit is not spent by earlier tests
    const fresh = await createProject(app);
    await app.services.users.addMember(fresh.id, (await app.services.users.findByEmail('ada@example.com'))!.user.id);
    const { verifier, challenge } = pkcePair();
    const login = await post(app, '/login', { ...authParams(fresh.id, challenge), email: 'ada@example.com', password: 'analytical engine 1843' });
    const code = login.json().code as string;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        post(app, '/token', { grant_type: 'authorization_code', client_id: fresh.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }),
      ),
    );
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    for (const r of results.filter((r) => r.statusCode !== 200)) assert.deepEqual(r.json(), { error: 'Invalid or expired code' });
  });
});
