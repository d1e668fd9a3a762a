import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, ISSUER, type TestApp } from './support/app.ts';
import { bearer, createProject, createUser, passwordTokens, post, refresh, type TestProject } from './support/flow.ts';

const PASSWORD = 'difference engine no 2';

describe('revocation, discovery and user info', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'charles@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  async function tokens(target: TestProject = project) {
    return passwordTokens(app, target, 'charles@example.com', PASSWORD);
  }

  it('POST /revoke without token or client_id answers 400 Missing token or client_id', async () => {
    for (const body of [{ client_id: project.id }, { token: 'x' }, {}]) {
      const res = await post(app, '/revoke', body);
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing token or client_id' }]);
    }
  });

  it('an unknown token answers 200 {} (RFC 7009)', async () => {
    const res = await post(app, '/revoke', { token: 'never-issued', client_id: project.id });
    assert.deepEqual([res.statusCode, res.json()], [200, {}]);
  });

  it('revoking a refresh token ends its session', async () => {
    const t = await tokens();
    const res = await post(app, '/revoke', { token: t.refresh_token, client_id: project.id });
    assert.deepEqual([res.statusCode, res.json()], [200, {}]);
    const after = await refresh(app, project, t.refresh_token);
    assert.deepEqual([after.statusCode, after.json()], [401, { error: 'Invalid refresh token' }]);
  });

  it('revoking an access token ends its session too', async () => {
    const t = await tokens();
    await post(app, '/revoke', { token: t.access_token, client_id: project.id });
    assert.equal((await refresh(app, project, t.refresh_token)).json().error, 'Invalid refresh token');
    const info = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
    assert.equal(info.statusCode, 401);
  });

  it('another project cannot revoke this project\'s tokens', async () => {
    const other = await createProject(app);
    const t = await tokens();
    assert.equal((await post(app, '/revoke', { token: t.refresh_token, client_id: other.id })).statusCode, 200);
    assert.equal((await refresh(app, project, t.refresh_token)).statusCode, 200);
  });

  it('a confidential project must authenticate to revoke', async () => {
    const secretive = await createProject(app, { confidential: true });
    const res = await post(app, '/revoke', { token: 'x', client_id: secretive.id, client_secret: 'wrong' });
    assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid client_secret' }]);
    const ok = await post(app, '/revoke', { token: 'x', client_id: secretive.id, client_secret: secretive.clientSecret ?? '' });
    assert.equal(ok.statusCode, 200);
  });

  it('both discovery documents are the same and point at this issuer', async () => {
    const oidc = await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    const oauth = await app.server.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    assert.equal(oidc.statusCode, 200);
    assert.deepEqual(oidc.json(), oauth.json());
    const doc = oidc.json();
    assert.equal(doc.issuer, ISSUER);
    assert.equal(doc.token_endpoint, `${ISSUER}/token`);
    assert.equal(doc.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(doc.id_token_signing_alg_values_supported, ['ES256', 'RS256']);
  });

  it('the JWKS publishes public keys only', async () => {
    const jwks = (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    assert.deepEqual(jwks.keys.map((k: { alg: string }) => k.alg).sort(), ['ES256', 'RS256'], 'a current key of each algorithm');
    for (const key of jwks.keys) {
      assert.equal(key.kty, key.alg === 'ES256' ? 'EC' : 'RSA');
      assert.equal(key.use, 'sig');
      assert.ok(key.kid);
      for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[part], undefined, 'no private part');
    }
  });

  it('the signing key survives a restart on the same database', async () => {
    const before = (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    await app.services.keys.load();
    const after = (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    assert.deepEqual(after, before);
  });

  it('GET /userinfo answers the subject and email for a valid access token', async () => {
    const t = await tokens();
    const res = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
    assert.equal(res.statusCode, 200);
    const user = await app.services.users.findByEmail('charles@example.com');
    assert.deepEqual(res.json(), { sub: user!.user.id, email: 'charles@example.com', email_verified: false });
  });

  it('GET /userinfo without a valid token answers 401', async () => {
    for (const authorization of [undefined, 'Bearer nonsense', 'Basic abc']) {
      const res = await app.server.inject({ method: 'GET', url: '/userinfo', headers: authorization ? { authorization } : {} });
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['www-authenticate']), /Bearer/);
    }
  });

  it('/userinfo refuses the access token of a member blocked since it was issued', async () => {
    const t = await tokens();
    const user = await app.services.users.findByEmail('charles@example.com');
    await app.services.users.setBlocked(project.id, user!.user.id, true);
    try {
      const res = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
      assert.equal(res.statusCode, 401);
    } finally {
      await app.services.users.setBlocked(project.id, user!.user.id, false);
    }
  });

  it('an expired access token is refused by /userinfo', async () => {
    const t = await tokens();
    app.clock.advance(901_000);
    const res = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
    assert.equal(res.statusCode, 401);
  });

  it('GET /healthz answers 200 when storage is reachable', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
  });
});
