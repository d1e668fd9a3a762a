// sso.md "CORS, for single-page apps": discovery and JWKS for anyone; the token endpoints for the
// origins a project allows (its redirect URIs' and its allowed_origins), never with credentials.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './support/app.ts';
import { bearer, createProject, passwordCode, passwordTokens, post, refresh, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { adminProject, ssoSetup } from './support/sso.ts';

const PASSWORD = 'a single page of history';
const APP_ORIGIN = new URL(REDIRECT_URI).origin;
const SPA_ORIGIN = 'https://spa.example.org';
const EVIL_ORIGIN = 'https://evil.example.net';

function assertNoCors(res: LightMyRequestResponse): void {
  for (const name of Object.keys(res.headers)) assert.ok(!name.startsWith('access-control-'), `${name} should not be sent`);
}

describe('CORS', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  before(async () => {
    ({ app, admin, projects: [project] } = await ssoSetup({ projects: [{}], member: { email: 'ada@example.com', password: PASSWORD } }));
  });
  after(() => app.close());

  function preflight(url: string, origin: string) {
    return app.server.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  }

  it('discovery and the JWKS answer any origin', async () => {
    for (const url of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      const res = await app.server.inject({ method: 'GET', url, headers: { origin: EVIL_ORIGIN } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    }
  });

  it('a preflight from an origin some project allows answers 204 with the CORS headers', async () => {
    for (const [url, methods] of [['/token', 'POST'], ['/revoke', 'POST'], ['/userinfo', 'GET, POST']] as const) {
      const res = await preflight(url, APP_ORIGIN);
      assert.equal(res.statusCode, 204, url);
      assert.equal(res.headers['access-control-allow-origin'], APP_ORIGIN);
      assert.equal(res.headers.vary, 'Origin');
      assert.equal(res.headers['access-control-allow-methods'], methods);
      assert.equal(res.headers['access-control-allow-headers'], 'authorization, content-type');
      assert.equal(res.headers['access-control-max-age'], '600');
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
      assert.equal(res.body, '');
    }
  });

  it('a preflight from an origin no project allows, and any other OPTIONS, answer 204 without CORS headers', async () => {
    for (const [url, origin] of [
      ['/token', EVIL_ORIGIN],
      ['/token', 'https://app.example.com.evil.example'],
      ['/token', 'https://app.example'],
      ['/userinfo', 'null'],
      ['/login', APP_ORIGIN],
      ['/no-such-route', APP_ORIGIN],
      ['/admin/projects', APP_ORIGIN],
    ] as const) {
      const res = await preflight(url, origin);
      assert.equal(res.statusCode, 204, `${url} ${origin}`);
      assertNoCors(res);
    }
    const bare = await app.server.inject({ method: 'OPTIONS', url: '/token' });
    assert.equal(bare.statusCode, 204);
    assertNoCors(bare);
  });

  it('allowed_origins: set, read and changed through the admin API, checked', async () => {
    const created = await post(app, '/admin/projects', { name: 'SPA', redirect_uris: ['https://spa-host.example.org/cb'], allowed_origins: [SPA_ORIGIN] }, bearer(admin));
    assert.equal(created.statusCode, 201);
    const id = created.json<{ id: string; allowed_origins: string[] }>().id;
    assert.deepEqual(created.json<{ allowed_origins: string[] }>().allowed_origins, [SPA_ORIGIN]);
    const read = await app.server.inject({ method: 'GET', url: `/admin/projects/${id}`, headers: bearer(admin) });
    assert.deepEqual(read.json<{ allowed_origins: string[] }>().allowed_origins, [SPA_ORIGIN]);
    const plain = await post(app, '/admin/projects', { name: 'Plain', redirect_uris: [REDIRECT_URI] }, bearer(admin));
    assert.deepEqual(plain.json<{ allowed_origins: string[] }>().allowed_origins, []);

    for (const bad of ['https://spa.example.org/', 'https://spa.example.org/path', 'HTTPS://spa.example.org', 'http://spa.example.org', 'https://spa.example.org:443', 'spa.example.org', '*', 'https://user@spa.example.org']) {
      const res = await post(app, '/admin/projects', { name: 'Bad', redirect_uris: [REDIRECT_URI], allowed_origins: [bad] }, bearer(admin));
      assert.deepEqual([res.statusCode, res.json<{ error: string }>().error], [400, 'Invalid request'], bad);
    }
    const twice = await post(app, '/admin/projects', { name: 'Bad', redirect_uris: [REDIRECT_URI], allowed_origins: [SPA_ORIGIN, SPA_ORIGIN] }, bearer(admin));
    assert.equal(twice.statusCode, 400);
    const local = await post(app, '/admin/projects', { name: 'Local', redirect_uris: [REDIRECT_URI], allowed_origins: ['http://localhost:5173', 'https://spa.example.org:8443'] }, bearer(admin));
    assert.equal(local.statusCode, 201);

    const patched = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${id}`, headers: bearer(admin), payload: { allowed_origins: ['https://other.example.org'] } });
    assert.deepEqual([patched.statusCode, patched.json<{ allowed_origins: string[] }>().allowed_origins], [200, ['https://other.example.org']]);
    const badPatch = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${id}`, headers: bearer(admin), payload: { allowed_origins: ['https://other.example.org/x'] } });
    assert.equal(badPatch.statusCode, 400);

    // The preflight follows the change at once.
    assertNoCors(await preflight('/token', SPA_ORIGIN));
    assert.equal((await preflight('/token', 'https://other.example.org')).headers['access-control-allow-origin'], 'https://other.example.org');
  });

  it('/token answers an allowed origin with its CORS headers, never with credentials', async () => {
    const { code, verifier } = await passwordCode(app, project.id, 'ada@example.com', PASSWORD);
    const res = await post(app, '/token', { grant_type: 'authorization_code', client_id: project.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, { origin: APP_ORIGIN });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], APP_ORIGIN);
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    // An error after the origin check carries them too, so that the page can read it.
    const wrong = await post(app, '/token', { grant_type: 'refresh_token', client_id: project.id, refresh_token: 'nope' }, { origin: APP_ORIGIN });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['access-control-allow-origin'], APP_ORIGIN);
  });

  it('/token with no Origin sends no CORS headers', async () => {
    const t = await passwordTokens(app, project, 'ada@example.com', PASSWORD);
    const res = await refresh(app, project, t.refresh_token);
    assert.equal(res.statusCode, 200);
    assertNoCors(res);
  });

  it('an origin the named project does not allow is 403 Forbidden at /token, right after Invalid client_id, and uses nothing up', async () => {
    const other = await createProject(app, { redirectUris: ['https://elsewhere.example.org/cb'] });
    const { code, verifier } = await passwordCode(app, project.id, 'ada@example.com', PASSWORD);
    const exchange = { grant_type: 'authorization_code', client_id: project.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
    for (const origin of [EVIL_ORIGIN, 'https://elsewhere.example.org', 'null']) {
      const res = await post(app, '/token', exchange, { origin });
      assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Forbidden' }], origin);
      assertNoCors(res);
    }
    // Invalid client_id comes first; a missing grant_type after.
    const unknown = await post(app, '/token', { ...exchange, client_id: 'no-such-project' }, { origin: EVIL_ORIGIN });
    assert.deepEqual([unknown.statusCode, unknown.json()], [400, { error: 'Invalid client_id' }]);
    const noGrant = await post(app, '/token', { client_id: project.id }, { origin: EVIL_ORIGIN });
    assert.deepEqual([noGrant.statusCode, noGrant.json()], [403, { error: 'Forbidden' }]);
    // Before the client secret.
    const secretive = await createProject(app, { confidential: true });
    const wrongSecret = await post(app, '/token', { ...exchange, client_id: secretive.id, client_secret: 'wrong' }, { origin: EVIL_ORIGIN });
    assert.deepEqual([wrongSecret.statusCode, wrongSecret.json()], [403, { error: 'Forbidden' }]);
    // The code was not used up.
    const ok = await post(app, '/token', exchange);
    assert.equal(ok.statusCode, 200);
    // Nor is a refresh token.
    const refreshToken = ok.json<{ refresh_token: string }>().refresh_token;
    const refused = await post(app, '/token', { grant_type: 'refresh_token', client_id: project.id, refresh_token: refreshToken }, { origin: 'https://elsewhere.example.org' });
    assert.equal(refused.statusCode, 403);
    assert.equal((await refresh(app, project, refreshToken)).statusCode, 200);
    assert.ok(other.id);
  });

  it('/revoke: an allowed origin gets the CORS headers; another is 403 Forbidden and revokes nothing', async () => {
    const t = await passwordTokens(app, project, 'ada@example.com', PASSWORD);
    const refused = await post(app, '/revoke', { token: t.refresh_token, client_id: project.id }, { origin: EVIL_ORIGIN });
    assert.deepEqual([refused.statusCode, refused.json()], [403, { error: 'Forbidden' }]);
    const unknown = await post(app, '/revoke', { token: t.refresh_token, client_id: 'no-such-project' }, { origin: EVIL_ORIGIN });
    assert.deepEqual([unknown.statusCode, unknown.json()], [400, { error: 'Invalid client_id' }]);
    const fresh = await refresh(app, project, t.refresh_token);
    assert.equal(fresh.statusCode, 200);
    const res = await post(app, '/revoke', { token: fresh.json<{ refresh_token: string }>().refresh_token, client_id: project.id }, { origin: APP_ORIGIN });
    assert.deepEqual([res.statusCode, res.json()], [200, {}]);
    assert.equal(res.headers['access-control-allow-origin'], APP_ORIGIN);
    assert.equal(res.headers.vary, 'Origin');
  });

  it('/userinfo carries the CORS headers only for an origin the token\'s project allows', async () => {
    const spaProject = await adminProject(app, admin, { name: 'SPA 2', allowed_origins: ['https://spa2.example.org'] });
    await app.services.users.addMember(spaProject.id, (await app.services.users.findByEmail('ada@example.com'))?.user.id ?? '');
    const t = await passwordTokens(app, spaProject, 'ada@example.com', PASSWORD);
    for (const method of ['GET', 'POST'] as const) {
      const allowed = await app.server.inject({ method, url: '/userinfo', headers: { ...bearer(t.access_token), origin: 'https://spa2.example.org' } });
      assert.equal(allowed.statusCode, 200);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://spa2.example.org');
      assert.equal(allowed.headers.vary, 'Origin');
      assert.equal(allowed.headers['access-control-allow-credentials'], undefined);
      const redirectOrigin = await app.server.inject({ method, url: '/userinfo', headers: { ...bearer(t.access_token), origin: APP_ORIGIN } });
      assert.equal(redirectOrigin.headers['access-control-allow-origin'], APP_ORIGIN);
      const other = await app.server.inject({ method, url: '/userinfo', headers: { ...bearer(t.access_token), origin: EVIL_ORIGIN } });
      assert.equal(other.statusCode, 200);
      assertNoCors(other);
    }
  });
});
