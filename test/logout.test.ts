// GET|POST /logout (docs/sso.md, "Logout"; OpenID Connect RP-Initiated Logout 1.0): the project,
// the registered post_logout_redirect_uris, the confirmation page, and what signing out ends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEntry } from '../src/audit/audit-log.ts';
import { ISSUER, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { bearer, exchangeCode, postForm, refresh, type TestProject, type Tokens } from './support/flow.ts';
import { authorizeInBrowser, browserSignIn, ssoSetup, ssoTokens } from './support/sso.ts';

const BACK = 'https://app.example.com/signed-out';

describe('logout', () => {
  let app: TestApp;
  let admin: string;
  let first: TestProject;
  let second: TestProject;
  const email = 'logout@example.com';
  const password = 'logout person pw';

  before(async () => {
    ({ app, admin, projects: [first, second] } = await ssoSetup({ projects: [{}, {}], member: { email, password } }));
    await app.services.projects.update(first.id, { post_logout_redirect_uris: [BACK] });
  });
  after(() => app.close());

  /** Signs in to the first project by password and to the second by single sign-on. */
  async function signedInTwice(): Promise<{ cookie: string; a: Tokens; b: Tokens }> {
    const login = await browserSignIn(app, first, email, password);
    const a = await exchangeCode(app, first, login.code, login.verifier);
    return { cookie: login.cookie, a, b: await ssoTokens(app, second, login.cookie) };
  }

  function logout(query: Record<string, string>, cookie?: string, accept = 'text/html'): Promise<LightMyRequestResponse> {
    return app.server.inject({
      method: 'GET',
      url: `/logout?${new URLSearchParams(query).toString()}`,
      headers: { accept, ...(cookie !== undefined ? { cookie: `gatehouse_session=${cookie}` } : {}) },
    });
  }

  async function assertEnded(tokens: Tokens, project: TestProject): Promise<void> {
    const refreshed = await refresh(app, project, tokens.refresh_token);
    assert.equal(refreshed.statusCode, 401, refreshed.body);
    assert.equal(refreshed.json<{ error: string }>().error, 'Invalid refresh token');
    const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal(userinfo.statusCode, 401);
  }

  it('projects keep post_logout_redirect_uris through the admin API (default []; the rules of redirect_uris)', async () => {
    const created = await call(app, admin, 'POST', '/admin/projects', { name: 'Plain', redirect_uris: ['https://plain.example.com/cb'] });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string; post_logout_redirect_uris: string[] }>().id;
    assert.deepEqual(created.json<{ post_logout_redirect_uris: string[] }>().post_logout_redirect_uris, []);
    const withList = await call(app, admin, 'POST', '/admin/projects', { name: 'Listed', redirect_uris: ['https://l.example.com/cb'], post_logout_redirect_uris: ['https://l.example.com/bye'] });
    assert.deepEqual(withList.json<{ post_logout_redirect_uris: string[] }>().post_logout_redirect_uris, ['https://l.example.com/bye']);
    const patched = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { post_logout_redirect_uris: ['https://plain.example.com/bye'] });
    assert.equal(patched.statusCode, 200, patched.body);
    const read = await call(app, admin, 'GET', `/admin/projects/${id}`);
    assert.deepEqual(read.json<{ post_logout_redirect_uris: string[] }>().post_logout_redirect_uris, ['https://plain.example.com/bye']);
    for (const bad of [['https://plain.example.com/bye#x'], ['not a uri'], ['https://a.example/x', 'https://a.example/x']]) {
      const refused = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { post_logout_redirect_uris: bad });
      assert.equal(refused.statusCode, 400, `${JSON.stringify(bad)}: ${refused.body}`);
    }
    assert.equal((await call(app, admin, 'PATCH', `/admin/projects/${id}`, { post_logout_redirect_uris: [] })).statusCode, 200);
  });

  it("with the session's own id_token_hint: signs out at once, ends every project session of the browser, 302 with state", async () => {
    const { cookie, a, b } = await signedInTwice();
    const res = await logout({ id_token_hint: a.id_token ?? '', post_logout_redirect_uri: BACK, state: 'bye-1' }, cookie);
    assert.equal(res.statusCode, 302, res.body);
    assert.equal(res.headers.location, `${BACK}?state=bye-1`);
    assert.match(String(res.headers['set-cookie']), /^gatehouse_session=; Max-Age=0; HttpOnly; SameSite=Lax; Path=\/$/);
    await assertEnded(a, first);
    await assertEnded(b, second);
    // The browser session is gone: the next app gets the login page.
    const again = await authorizeInBrowser(app, second, cookie);
    assert.equal(again.statusCode, 200);
    assert.match(again.body, /<form method="post" action="\/login">/);
    const events = (await call(app, admin, 'GET', '/admin/audit?type=logout')).json<{ events: AuditEntry[] }>().events;
    const event = events[0];
    assert.ok(event);
    assert.equal((event.detail as { session_ids: string[] }).session_ids.length, 2);
  });

  it('without a hint, a GET asks first: a same-origin form that POSTs the same parameters; that POST signs out', async () => {
    const { cookie, a, b } = await signedInTwice();
    const page = await logout({ client_id: first.id, post_logout_redirect_uri: BACK, state: 's2' }, cookie);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form method="post" action="\/logout">/);
    assert.match(page.body, new RegExp(`name="client_id" value="${first.id}"`));
    // Nothing ended yet.
    assert.equal((await refresh(app, second, b.refresh_token)).statusCode, 200);

    const fields = { client_id: first.id, post_logout_redirect_uri: BACK, state: 's2' };
    const crossSite = await postForm(app, '/logout', fields, { cookie: `gatehouse_session=${cookie}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(crossSite.json<{ error: string }>().error, 'Forbidden');

    const confirmed = await postForm(app, '/logout', fields, { accept: 'text/html', cookie: `gatehouse_session=${cookie}`, origin: ISSUER, 'sec-fetch-site': 'same-origin' });
    assert.equal(confirmed.statusCode, 302, confirmed.body);
    assert.equal(confirmed.headers.location, `${BACK}?state=s2`);
    await assertEnded(a, first);
  });

  it("with no browser session: signs out at once; the hint's own session ends; the page says so", async () => {
    const { a } = await signedInTwice();
    const res = await logout({ id_token_hint: a.id_token ?? '' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /You are signed out/);
    await assertEnded(a, first);
  });

  it('refuses: a hint and a different client_id, or a hint that is not an ID token of this issuer → 400 Invalid request', async () => {
    const { a } = await signedInTwice();
    const mixed = await logout({ id_token_hint: a.id_token ?? '', client_id: second.id }, undefined, 'application/json');
    assert.equal(mixed.statusCode, 400);
    assert.equal(mixed.json<{ error: string }>().error, 'Invalid request');
    const accessToken = await logout({ id_token_hint: a.access_token }, undefined, 'application/json');
    assert.equal(accessToken.json<{ error: string }>().error, 'Invalid request');
    const garbage = await logout({ id_token_hint: 'x.y.z' }, undefined, 'application/json');
    assert.equal(garbage.statusCode, 400);
  });

  it('an unregistered post_logout_redirect_uri, or none known for want of a project → 400 Invalid post_logout_redirect_uri, never a redirect', async () => {
    const { cookie } = await signedInTwice();
    const refusals: Array<Record<string, string>> = [
      { client_id: first.id, post_logout_redirect_uri: 'https://evil.example/' },
      { client_id: second.id, post_logout_redirect_uri: BACK },
      { post_logout_redirect_uri: BACK },
      { client_id: 'no-such-project', post_logout_redirect_uri: BACK },
    ];
    for (const query of refusals) {
      const json = await logout(query, cookie, 'application/json');
      assert.equal(json.statusCode, 400, JSON.stringify(query));
      assert.deepEqual(json.json(), { error: 'Invalid post_logout_redirect_uri' });
      const html = await logout(query, cookie);
      assert.equal(html.statusCode, 400);
      assert.match(html.body, /Invalid post_logout_redirect_uri/);
      assert.equal(html.headers.location, undefined);
    }
  });

  it('discovery names the end_session_endpoint', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<Record<string, unknown>>();
    assert.equal(doc.end_session_endpoint, `${ISSUER}/logout`);
  });
});
