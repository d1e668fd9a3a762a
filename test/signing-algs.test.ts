// RS256 beside ES256: a current key of each in the JWKS, each project's tokens signed with the
// algorithm it chose, verified by relying parties from the JWKS and by Gatehouse itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Project } from '../src/projects/projects.ts';
import { ISSUER, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, bearer, createUser, passwordTokens, post, refresh, REDIRECT_URI, type TestProject, type Tokens } from './support/flow.ts';
import { ssoSetup } from './support/sso.ts';

const PASSWORD = 'analytical engine';

describe('signing algorithms: RS256 beside ES256', () => {
  let app: TestApp;
  let admin: string;
  before(async () => {
    ({ app, admin } = await ssoSetup());
  });
  after(() => app.close());

  async function jwks(): Promise<JSONWebKeySet> {
    return (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<JSONWebKeySet>();
  }

  async function rs256Project(): Promise<TestProject> {
    const res = await call(app, admin, 'POST', '/admin/projects', { name: 'RSA app', redirect_uris: [REDIRECT_URI], token_signing_alg: 'RS256' });
    assert.equal(res.statusCode, 201);
    const project = res.json<Project>();
    assert.equal(project.token_signing_alg, 'RS256');
    return { id: project.id };
  }

  async function tokensOf(project: TestProject, email: string): Promise<Tokens> {
    await createUser(app, email, PASSWORD, project.id);
    return passwordTokens(app, project, email, PASSWORD);
  }

  it('the JWKS holds a current key of each algorithm with kid, alg and use; RSA keys have 2048 bits', async () => {
    const { keys } = await jwks();
    assert.deepEqual(keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    for (const key of keys) {
      assert.equal(key.use, 'sig');
      assert.ok(typeof key.kid === 'string' && key.kid !== '');
      assert.equal(key.d, undefined);
    }
    const rsa = keys.find((k) => k.alg === 'RS256')!;
    assert.equal(rsa.kty, 'RSA');
    assert.equal(Buffer.from(String(rsa.n), 'base64url').length * 8, 2048);
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<{ id_token_signing_alg_values_supported: string[] }>();
    assert.deepEqual(doc.id_token_signing_alg_values_supported, ['ES256', 'RS256']);
  });

  it('projects sign with ES256 by default; the admin API sets, shows and changes token_signing_alg; other values are refused', async () => {
    const res = await call(app, admin, 'POST', '/admin/projects', { name: 'Default', redirect_uris: [REDIRECT_URI] });
    assert.equal(res.statusCode, 201);
    const project = res.json<Project>();
    assert.equal(project.token_signing_alg, 'ES256');
    const tokens = await tokensOf({ id: project.id }, 'ada@example.com');
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'ES256');
    assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'ES256');

    const changed = await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { token_signing_alg: 'RS256' });
    assert.equal(changed.statusCode, 200);
    assert.equal(changed.json<Project>().token_signing_alg, 'RS256');
    assert.equal((await call(app, admin, 'GET', `/admin/projects/${project.id}`)).json<Project>().token_signing_alg, 'RS256');
    const after = await passwordTokens(app, { id: project.id }, 'ada@example.com', PASSWORD);
    assert.equal(decodeProtectedHeader(after.access_token).alg, 'RS256');

    for (const alg of ['HS256', 'none', 'es256', null]) {
      assert.equal((await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { token_signing_alg: alg })).statusCode, 400, String(alg));
    }
    assert.equal((await call(app, admin, 'POST', '/admin/projects', { name: 'Bad', redirect_uris: [REDIRECT_URI], token_signing_alg: 'PS256' })).statusCode, 400);
  });

  it("an RS256 project's ID and access tokens verify against the JWKS, also for a verifier that accepts RS256 only", async () => {
    const project = await rs256Project();
    const tokens = await tokensOf(project, 'charles@example.com');
    const set = createLocalJWKSet(await jwks());
    const rsaKid = (await jwks()).keys.find((k) => k.alg === 'RS256')!.kid;
    for (const [token, typ] of [
      [tokens.access_token, 'at+jwt'],
      [tokens.id_token!, 'JWT'],
    ] as const) {
      const header = decodeProtectedHeader(token);
      assert.deepEqual(header, { alg: 'RS256', typ, kid: rsaKid });
      const { payload } = await jwtVerify(token, set, { issuer: ISSUER, audience: project.id, algorithms: ['RS256'], currentDate: new Date(app.clock.now()) });
      assert.equal(payload.aud, project.id);
      await assert.rejects(jwtVerify(token, set, { issuer: ISSUER, audience: project.id, algorithms: ['ES256'], currentDate: new Date(app.clock.now()) }));
    }
    // A refreshed pair is RS256 too.
    const refreshed = (await refresh(app, project, tokens.refresh_token)).json<Tokens>();
    assert.equal(decodeProtectedHeader(refreshed.access_token).alg, 'RS256');
    assert.equal(decodeProtectedHeader(refreshed.id_token!).alg, 'RS256');
  });

  it('Gatehouse accepts RS256 tokens at /userinfo and /revoke, and as admin tokens', async () => {
    const project = await rs256Project();
    const tokens = await tokensOf(project, 'mary@example.com');
    const info = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal(info.statusCode, 200);

    const revoked = await post(app, '/revoke', { token: tokens.access_token, client_id: project.id });
    assert.equal(revoked.statusCode, 200);
    assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 401, 'revoking the RS256 access token ended its session');

    // The console signing RS256: the admin API takes its tokens.
    await app.services.projects.update('console', { token_signing_alg: 'RS256' });
    const rsaAdmin = await adminToken(app);
    assert.equal(decodeProtectedHeader(rsaAdmin).alg, 'RS256');
    assert.equal((await call(app, rsaAdmin, 'GET', '/admin/projects')).statusCode, 200);
    await app.services.projects.update('console', { token_signing_alg: 'ES256' });
  });

  it('a tampered RS256 token is refused at /userinfo', async () => {
    const project = await rs256Project();
    const tokens = await tokensOf(project, 'augusta@example.com');
    const [header, payload, signature] = tokens.access_token.split('.');
    const flipped = `${signature!.slice(0, 10)}${signature![10] === 'A' ? 'B' : 'A'}${signature!.slice(11)}`;
    const res = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(`${header}.${payload}.${flipped}`) });
    assert.equal(res.statusCode, 401);
  });
});
