// Single sign-on at GET /authorize (docs/sso.md): a browser signed in to one project gets a code
// for the next without a password, the project rules still apply, prompt and max_age are kept,
// prompt=none never shows a page, and id_token_hint / login_hint do what they say.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { sha256 } from '../src/crypto/tokens.ts';
import { ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { authParams, createProject, createUser, exchangeCode, post, postForm, REDIRECT_URI, sessionIdOf, type AuthParams, type TestProject } from './support/flow.ts';
import { authorizeInBrowser, browserSignIn, ssoSetup } from './support/sso.ts';

describe('single sign-on at GET /authorize', () => {
  let app: TestApp;
  let admin: string;
  let first: TestProject;
  let second: TestProject;
  let closed: TestProject;
  let userId: string;
  let cookie: string;
  let signedInAt: number;
  let firstIdToken: string;
  const email = 'sso@example.com';
  const password = 'single sign-on pw';

  before(async () => {
    ({ app, admin, userId, projects: [first, second, closed] } = await ssoSetup({ projects: [{}, {}, { registrationOpen: false }], member: { email, password } }));
    signedInAt = app.clock.now();
    const login = await browserSignIn(app, first, email, password, { nonce: 'n-1' });
    cookie = login.cookie;
    firstIdToken = (await exchangeCode(app, first, login.code, login.verifier)).id_token ?? '';
    app.clock.advance(120_000);
  });
  after(() => app.close());

  function authorize(project: TestProject, extra: Record<string, string> = {}, browser: string | null = cookie, challenge = pkcePair().challenge): Promise<LightMyRequestResponse> {
    return authorizeInBrowser(app, project, browser, extra, challenge);
  }

  function redirectOf(response: LightMyRequestResponse): URL {
    assert.equal(response.statusCode, 302, response.body);
    const target = new URL(String(response.headers.location));
    assert.equal(`${target.origin}${target.pathname}`, REDIRECT_URI);
    assert.equal(target.searchParams.get('state'), 'xyz');
    assert.equal(target.searchParams.get('iss'), ISSUER);
    return target;
  }

  function assertLoginPage(response: LightMyRequestResponse): void {
    assert.equal(response.statusCode, 200, response.body);
    assert.match(response.body, /<form method="post" action="\/login">/);
  }

  it('a browser signed in to one project gets a code for the next: 302 with code, state and iss', async () => {
    const { verifier, challenge } = pkcePair();
    const target = redirectOf(await authorize(second, { nonce: 'n-2' }, cookie, challenge));
    const code = target.searchParams.get('code');
    assert.ok(code);
    const tokens = await exchangeCode(app, second, code, verifier);
    const idToken = decodeJwt(tokens.id_token ?? '');
    // The browser session's sign-in, not this request's.
    assert.equal(idToken.auth_time, Math.floor(signedInAt / 1000));
    assert.deepEqual(idToken.amr, ['pwd']);
    assert.equal(idToken.sub, userId);
    assert.equal(idToken.aud, second.id);
    assert.equal(idToken.nonce, 'n-2');
    // A member of the open project now, and the project session remembers its browser session.
    assert.ok(await app.services.users.membership(second.id, userId));
    const row = await app.services.database.db.selectFrom('sessions').select('browser_session_id').where('id', '=', sha256(sessionIdOf(tokens.access_token))).executeTakeFirstOrThrow();
    assert.ok(row.browser_session_id);
  });

  it('without a live browser session: the login page, as before; login_hint prefills the email fields', async () => {
    assertLoginPage(await authorize(second, {}, null));
    assertLoginPage(await authorize(second, {}, 'not-a-session'));
    const hinted = await authorize(second, { login_hint: 'hint@example.com' }, null);
    assertLoginPage(hinted);
    assert.match(hinted.body, /name="email" type="email" autocomplete="email" required value="hint@example.com"/);
  });

  it('prompt=login, max_age=0 and a sign-in older than max_age show the login page; a younger one signs on', async () => {
    assertLoginPage(await authorize(second, { prompt: 'login' }));
    assertLoginPage(await authorize(second, { max_age: '0' }));
    assertLoginPage(await authorize(second, { max_age: '60' }));
    redirectOf(await authorize(second, { max_age: '3600' }));
  });

  it('prompt=none never shows a page: login_required without a session or when one must sign in again', async () => {
    for (const [extra, browser] of [[{}, null], [{ prompt: 'none login' }, cookie], [{ max_age: '0' }, cookie]] as const) {
      const target = redirectOf(await authorize(second, { prompt: 'none', ...extra }, browser));
      assert.equal(target.searchParams.get('error'), 'login_required');
      assert.equal(target.searchParams.get('code'), null);
    }
    const silent = redirectOf(await authorize(second, { prompt: 'none' }));
    assert.ok(silent.searchParams.get('code'));
  });

  it('the project rules apply: blocked → 403 Account blocked, a closed project → 403 Not a member; prompt=none → access_denied', async () => {
    const refusedClosed = await authorize(closed);
    assert.equal(refusedClosed.statusCode, 403);
    assert.match(refusedClosed.body, /Not a member/);
    assert.equal(redirectOf(await authorize(closed, { prompt: 'none' })).searchParams.get('error'), 'access_denied');

    const blocked = await createProject(app);
    await app.services.users.addMember(blocked.id, userId);
    assert.equal((await call(app, admin, 'POST', `/admin/projects/${blocked.id}/members/${userId}/block`)).statusCode, 200);
    const refused = await authorize(blocked);
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /Account blocked/);
    assert.equal(redirectOf(await authorize(blocked, { prompt: 'none' })).searchParams.get('error'), 'access_denied');
  });

  it('prompt=select_account shows "Continue as <email>" (a same-origin form) and "Use another account"', async () => {
    const page = await authorize(second, { prompt: 'select_account' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form method="post" action="\/authorize">/);
    assert.match(page.body, /Continue as sso@example.com/);
    assert.match(page.body, /Use another account/);
    assert.match(page.body, /name="prompt" value="login"/);

    const { challenge } = pkcePair();
    const fields = authParams(second.id, challenge) as AuthParams & Record<string, string>;
    const continued = await postForm(app, '/authorize', fields, { accept: 'text/html', cookie: `gatehouse_session=${cookie}`, origin: ISSUER, 'sec-fetch-site': 'same-origin' });
    assert.ok(redirectOf(continued).searchParams.get('code'));
    const crossSite = await postForm(app, '/authorize', fields, { cookie: `gatehouse_session=${cookie}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(crossSite.json<{ error: string }>().error, 'Forbidden');

    const silent = redirectOf(await authorize(second, { prompt: 'none select_account' }));
    assert.equal(silent.searchParams.get('error'), 'interaction_required');
  });

  it("id_token_hint: the session's own (even expired) signs on; another user's, or a forged one, is as if there were no session", async () => {
    app.clock.advance(2 * 3600_000);
    // The hint expired an hour ago: its expiry does not count, its signature does.
    redirectOf(await authorize(second, { id_token_hint: firstIdToken }));

    const otherId = await createUser(app, 'other@example.com', password, first.id);
    const { verifier, challenge } = pkcePair();
    const otherLogin = await post(app, '/login', { ...authParams(first.id, challenge), email: 'other@example.com', password });
    const otherIdToken = (await exchangeCode(app, first, otherLogin.json<{ code: string }>().code, verifier)).id_token ?? '';
    assert.equal(decodeJwt(otherIdToken).sub, otherId);
    assertLoginPage(await authorize(second, { id_token_hint: otherIdToken }));
    assert.equal(redirectOf(await authorize(second, { prompt: 'none', id_token_hint: otherIdToken })).searchParams.get('error'), 'login_required');

    const [header, , signature] = firstIdToken.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...decodeJwt(firstIdToken), sub: userId, iat: 1 })).toString('base64url');
    const forged = `${header}.${forgedBody}.${signature}`;
    assert.equal(redirectOf(await authorize(second, { prompt: 'none', id_token_hint: forged })).searchParams.get('error'), 'login_required');
  });

  it('discovery lists the prompt values and the parameters Gatehouse does not take', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<Record<string, unknown>>();
    assert.deepEqual(doc.prompt_values_supported, ['none', 'login', 'select_account']);
    assert.equal(doc.claims_parameter_supported, false);
    assert.equal(doc.request_parameter_supported, false);
    assert.equal(doc.request_uri_parameter_supported, false);
  });
});
