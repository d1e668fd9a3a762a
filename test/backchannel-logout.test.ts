// Back-channel logout (machines.md, docs/backchannel-logout.md; OpenID Connect Back-Channel
// Logout 1.0): every way a session ends POSTs exactly one logout token per session to its
// project's backchannel_logout_uri, a real HTTP receiver of this test's own; each token is
// verified with jose against the JWKS, for ES256 and RS256 projects; a project without the URI
// gets nothing; a receiver that fails is tried again on the webhooks' schedule, and the token of
// a late try still verifies. On both backends.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { logoutDeliveryId } from '../src/oauth/backchannel-logout.ts';
import { sessionKey } from '../src/sessions/sessions.ts';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { asForm, linkToken, waitForMail } from './support/account-mail.ts';
import { adminToken, authParams, createUser, exchangeCode, post, postForm, refresh, type TestProject, type Tokens } from './support/flow.ts';
import { browserSignIn, ssoTokens } from './support/sso.ts';
import { Browser, csrfOf, location } from './support/cookie-browser.ts';
import { createPin, pinLogin } from './pins-support.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { startReceiver } from './support/webhook-receiver.ts';
import { BACKCHANNEL_LOGOUT_EVENT, startLogoutReceiver, verifyLogoutToken, type LogoutClaims, type LogoutReceiver } from './support/backchannel-receiver.ts';

const PASSWORD = 'a fine long passphrase';
const MINUTE = 60_000;

type Alg = 'ES256' | 'RS256';
interface ListeningProject extends TestProject {
  alg: Alg;
  /** the receiver's path for this project; none: the project has no backchannel_logout_uri */
  path?: string;
}

/** What an app knows of one of its sessions: the ID token's sub and sid, and the tokens. */
interface AppSession {
  project: ListeningProject;
  tokens: Tokens;
  sub: string;
  sid: string;
}

function idTokenClaims(tokens: Tokens): { sub: string; sid: string } {
  assert.ok(tokens.id_token, 'an ID token');
  return JSON.parse(Buffer.from(tokens.id_token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string; sid: string };
}

describe('back-channel logout', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let receiver: LogoutReceiver;
  let admin: string;
  let es: ListeningProject;
  let rs: ListeningProject;
  let quiet: ListeningProject;
  let people = 0;

  async function newProject(alg: Alg, path?: string): Promise<ListeningProject> {
    const res = await call(app, admin, 'POST', '/admin/projects', {
      name: `Logout ${alg}`,
      redirect_uris: ['https://app.example.com/callback'],
      token_signing_alg: alg,
      ...(path !== undefined ? { backchannel_logout_uri: `${receiver.url}${path}` } : {}),
    });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json<{ id: string; backchannel_logout_uri: string | null }>();
    assert.equal(created.backchannel_logout_uri, path !== undefined ? `${receiver.url}${path}` : null);
    return { id: created.id, alg, ...(path !== undefined ? { path } : {}) };
  }

  before(async () => {
    smtp = await startSmtpServer();
    receiver = await startLogoutReceiver();
    app = await createTestApp({
      env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_MAIL_SENDS_PER_IP: '1000', GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000', GATEHOUSE_WEBHOOK_TIMEOUT_MS: '1000' },
    });
    admin = await adminToken(app);
    es = await newProject('ES256', '/es');
    rs = await newProject('RS256', '/rs');
    quiet = await newProject('ES256');
  });
  after(async () => {
    await app.close();
    await receiver.close();
    await smtp.close();
  });
  beforeEach(async () => {
    // Whatever a test leaves behind is not the next one's; the clock moves in some tests.
    await app.services.backchannelLogout.deliverDue();
    receiver.received.length = 0;
    receiver.answer = 200;
    admin = await adminToken(app);
  });

  /** A new person, a member of the three projects. */
  async function person(): Promise<{ email: string; userId: string }> {
    people += 1;
    const email = `bcl-${people}@example.com`;
    const userId = await createUser(app, email, PASSWORD, es.id);
    for (const project of [rs, quiet]) await app.services.users.addMember(project.id, userId);
    return { email, userId };
  }

  function appSession(project: ListeningProject, tokens: Tokens): AppSession {
    return { project, tokens, ...idTokenClaims(tokens) };
  }

  async function signIn(project: ListeningProject, email: string): Promise<AppSession> {
    const login = await browserSignIn(app, project, email, PASSWORD);
    return appSession(project, await exchangeCode(app, project, login.code, login.verifier));
  }

  async function jwks(): Promise<JSONWebKeySet> {
    const res = await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.equal(res.statusCode, 200);
    return res.json<JSONWebKeySet>();
  }

  /**
   * Sends what is due and checks that exactly these sessions' apps got one logout token each,
   * and nothing else arrived: each POSTed as a form to its project's path, verified with jose.
   */
  async function expectLogouts(sessions: AppSession[]): Promise<LogoutClaims[]> {
    await app.services.backchannelLogout.deliverDue();
    const keys = await jwks();
    const expected = sessions.filter((s) => s.project.path !== undefined);
    assert.equal(receiver.received.length, expected.length, `${expected.length} logout tokens: ${receiver.received.map((r) => r.path).join(', ')}`);
    const claims: LogoutClaims[] = [];
    for (const session of expected) {
      const got = receiver.to(session.project.path ?? '').map(async (post) => ({ post, payload: await verifyLogoutToken(post.token, { jwks: keys, issuer: ISSUER, audience: session.project.id, alg: session.project.alg, now: app.clock.now() }) }));
      const matching = (await Promise.all(got)).filter((g) => g.payload.sid === session.sid);
      assert.equal(matching.length, 1, `one token for the session ${session.sid} of ${session.project.id}`);
      const [{ post, payload }] = matching as [(typeof matching)[number]];
      assert.equal(post.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.deepEqual([...new URLSearchParams(post.body).keys()], ['logout_token']);
      assert.deepEqual(Object.keys(payload).sort(), ['aud', 'events', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
      assert.equal(payload.sub, session.sub);
      assert.equal(payload.aud, session.project.id);
      assert.equal(payload.iat, Math.floor(app.clock.now() / 1000));
      claims.push(payload);
    }
    assert.equal(new Set(claims.map((c) => c.jti)).size, claims.length, 'each token its own jti');
    receiver.received.length = 0;
    return claims;
  }

  async function assertRefreshAnswers(session: AppSession, status: number, error: string): Promise<void> {
    const res = await refresh(app, session.project, session.tokens.refresh_token);
    assert.deepEqual([res.statusCode, res.json<{ error: string }>().error], [status, error]);
  }

  it('a project takes backchannel_logout_uri: https, or http on loopback; null clears it; the rest is 400', async () => {
    const id = quiet.id;
    for (const good of ['https://rp.example.com/backchannel?x=1', 'http://127.0.0.1:9/logout', 'http://localhost/bc']) {
      const res = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { backchannel_logout_uri: good });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<{ backchannel_logout_uri: string }>().backchannel_logout_uri, good);
    }
    for (const bad of ['http://rp.example.com/bc', 'ftp://rp.example.com/bc', 'https://rp.example.com/bc#f', 'https://u:p@rp.example.com/bc', 'not a url', '', 42]) {
      const res = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { backchannel_logout_uri: bad });
      assert.deepEqual([res.statusCode, res.json<{ error: string }>().error], [400, 'Invalid request'], `${JSON.stringify(bad)}: ${res.body}`);
    }
    const refused = await call(app, admin, 'POST', '/admin/projects', { name: 'Bad', redirect_uris: ['https://app.example.com/callback'], backchannel_logout_uri: 'http://rp.example.com/bc' });
    assert.equal(refused.statusCode, 400);
    const cleared = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { backchannel_logout_uri: null });
    assert.equal(cleared.json<{ backchannel_logout_uri: string | null }>().backchannel_logout_uri, null);
  });

  it('discovery says back-channel logout is supported, with the sid', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<Record<string, unknown>>();
    assert.equal(doc.backchannel_logout_supported, true);
    assert.equal(doc.backchannel_logout_session_supported, true);
  });

  it('RP-initiated logout: one token for each project session of the browser, ES256 and RS256; none for a project without the URI', async () => {
    const { email } = await person();
    const login = await browserSignIn(app, es, email, PASSWORD);
    const a = appSession(es, await exchangeCode(app, es, login.code, login.verifier));
    const b = appSession(rs, await ssoTokens(app, rs, login.cookie));
    const c = appSession(quiet, await ssoTokens(app, quiet, login.cookie));
    await expectLogouts([]);
    const res = await app.server.inject({
      method: 'GET',
      url: `/logout?${new URLSearchParams({ id_token_hint: a.tokens.id_token ?? '' }).toString()}`,
      headers: { accept: 'text/html', cookie: `gatehouse_session=${login.cookie}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    const [first, second] = await expectLogouts([a, b, c]);
    assert.equal(first?.iss, ISSUER);
    assert.deepEqual(first?.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
    assert.notEqual(first?.sid, second?.sid);
    await assertRefreshAnswers(c, 401, 'Invalid refresh token');
  });

  it('an admin ending a session (DELETE /admin/sessions/:id): one token; ending it again sends nothing', async () => {
    const { email } = await person();
    const s = await signIn(rs, email);
    const other = await signIn(rs, email);
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${s.sid}`)).statusCode, 204);
    await expectLogouts([s]);
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${s.sid}`)).statusCode, 204);
    await expectLogouts([]);
    await assertRefreshAnswers(s, 401, 'Invalid refresh token');
    assert.equal((await refresh(app, rs, other.tokens.refresh_token)).statusCode, 200, 'the other session lives');
  });

  it('a refresh token used twice (reuse): one token for the session it ends', async () => {
    const { email } = await person();
    const s = await signIn(es, email);
    assert.equal((await refresh(app, es, s.tokens.refresh_token)).statusCode, 200);
    await expectLogouts([]);
    await assertRefreshAnswers(s, 401, 'Invalid refresh token');
    await expectLogouts([s]);
  });

  it('a code exchanged twice, and POST /revoke: one token each', async () => {
    const { email } = await person();
    const login = await browserSignIn(app, es, email, PASSWORD);
    const s = appSession(es, await exchangeCode(app, es, login.code, login.verifier));
    const again = await post(app, '/token', { grant_type: 'authorization_code', client_id: es.id, code: login.code, code_verifier: login.verifier, redirect_uri: 'https://app.example.com/callback' });
    assert.equal(again.statusCode, 400);
    await expectLogouts([s]);

    const r = await signIn(rs, email);
    assert.equal((await postForm(app, '/revoke', { client_id: rs.id, token: r.tokens.refresh_token })).statusCode, 200);
    await expectLogouts([r]);
  });

  it('the member removed: one token for each of their sessions in that project', async () => {
    const { email, userId } = await person();
    const one = await signIn(es, email);
    const two = await signIn(es, email);
    const elsewhere = await signIn(rs, email);
    assert.equal((await call(app, admin, 'DELETE', `/admin/projects/${es.id}/members/${userId}`)).statusCode, 204);
    await expectLogouts([one, two]);
    assert.equal((await refresh(app, rs, elsewhere.tokens.refresh_token)).statusCode, 200);
  });

  it('the member blocked: told at once, while the session stays on record (Account blocked); told again at the next block', async () => {
    const { email, userId } = await person();
    const s = await signIn(rs, email);
    const elsewhere = await signIn(es, email);
    assert.equal((await call(app, admin, 'POST', `/admin/projects/${rs.id}/members/${userId}/block`)).statusCode, 200);
    await expectLogouts([s]);
    await assertRefreshAnswers(s, 403, 'Account blocked');
    assert.equal((await call(app, admin, 'POST', `/admin/projects/${rs.id}/members/${userId}/block`)).statusCode, 200, 'blocked again');
    await expectLogouts([]);
    assert.equal((await call(app, admin, 'POST', `/admin/projects/${rs.id}/members/${userId}/unblock`)).statusCode, 200);
    await expectLogouts([]);
    assert.equal((await call(app, admin, 'POST', `/admin/projects/${rs.id}/members/${userId}/block`)).statusCode, 200);
    await expectLogouts([s]);
    assert.equal((await refresh(app, es, elsewhere.tokens.refresh_token)).statusCode, 200);
  });

  it('the user deleted: one token for each of their sessions, in every project; the sessions answer User not found', async () => {
    const { email, userId } = await person();
    const a = await signIn(es, email);
    const b = await signIn(rs, email);
    const c = await signIn(quiet, email);
    assert.equal((await call(app, admin, 'DELETE', `/admin/users/${userId}`)).statusCode, 204);
    await expectLogouts([a, b, c]);
    await assertRefreshAnswers(b, 401, 'User not found');
  });

  it('a PIN revoked: one token for each of its sessions, with the PIN subject; the sessions answer PIN revoked', async () => {
    const pin = await createPin(app, admin, es.id, 'kiosk');
    const sessions: AppSession[] = [];
    for (const ip of ['203.0.113.7', '203.0.113.8']) {
      const { response, verifier } = await pinLogin(app, es.id, pin.pin, ip, { scope: 'openid' });
      assert.equal(response.statusCode, 200, response.body);
      sessions.push(appSession(es, await exchangeCode(app, es, response.json<{ code: string }>().code, verifier)));
    }
    assert.equal(sessions[0]?.sub, `pin:${pin.id}`);
    const res = await app.server.inject({ method: 'DELETE', url: `/admin/projects/${es.id}/pins/${pin.id}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(res.statusCode, 204, res.body);
    await expectLogouts(sessions);
    await assertRefreshAnswers(sessions[0] as AppSession, 403, 'PIN revoked');
  });

  it('a password set by an admin: one token for each session of the account', async () => {
    const { email, userId } = await person();
    const a = await signIn(es, email);
    const b = await signIn(rs, email);
    assert.equal((await call(app, admin, 'PATCH', `/admin/users/${userId}`, { password: 'another fine passphrase' })).statusCode, 200);
    await expectLogouts([a, b]);
  });

  it('a password reset: one token for each session of the account', async () => {
    const { email } = await person();
    const a = await signIn(es, email);
    const b = await signIn(rs, email);
    const count = smtp.to(email).length;
    const sent = await post(app, '/password-reset', { ...asForm(authParams(es.id, pkcePair().challenge)), email });
    assert.equal(sent.statusCode, 202, sent.body);
    const token = linkToken(await waitForMail(smtp, email, count + 1), '/password-reset/verify');
    // The reset's own sign-in is no session yet (its code is not exchanged).
    const reset = await post(app, '/password-reset/verify', { token, password: 'a brand new passphrase' });
    assert.equal(reset.statusCode, 200, reset.body);
    await expectLogouts([a, b]);
  });

  it('a password change on the account page: one token for each project session of the account', async () => {
    const { email } = await person();
    const a = await signIn(es, email);
    const b = await signIn(rs, email);
    const browser = new Browser(app);
    const authorize = new URL(location(await browser.get('/account')), ISSUER);
    const login = await browser.post('/login', { ...Object.fromEntries(authorize.searchParams), email, password: PASSWORD });
    assert.equal(location(await browser.get(location(login))), '/account');
    const page = await browser.get('/account');
    await expectLogouts([]);
    const changed: LightMyRequestResponse = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: PASSWORD, new_password: 'a changed long passphrase' });
    assert.ok([200, 303].includes(changed.statusCode), changed.body);
    // The account page's own session is of the account project, which has no URI.
    await expectLogouts([a, b]);
  });

  it('a receiver that fails and then recovers: tried again after 1 and 2 minutes, and the late token verifies at its own time', async () => {
    const { email } = await person();
    const s = await signIn(es, email);
    receiver.answer = 503;
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${s.sid}`)).statusCode, 204);
    await app.services.backchannelLogout.deliverDue();
    assert.equal(receiver.received.length, 1, 'tried at once');
    app.clock.advance(MINUTE);
    await app.services.backchannelLogout.deliverDue();
    assert.equal(receiver.received.length, 2, 'again after a minute');
    receiver.answer = 200;
    // Three minutes after the ending: a token signed then would be stale; this one is signed now.
    app.clock.advance(2 * MINUTE - 1000);
    await app.services.backchannelLogout.deliverDue();
    assert.equal(receiver.received.length, 2, 'not before its time');
    app.clock.advance(1000);
    receiver.received.length = 0;
    await expectLogouts([s]);
    app.clock.advance(60 * MINUTE);
    await expectLogouts([]);
  });

  it('a receiver that holds its request open delays nobody else: the other logouts and a webhook event go out meanwhile', async () => {
    const slow = await startLogoutReceiver();
    const hooks = await startReceiver();
    try {
      slow.answer = 'hang';
      const project = await newProject('ES256', '/slow');
      assert.equal((await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { backchannel_logout_uri: `${slow.url}/slow` })).statusCode, 200);
      const webhook = await call(app, admin, 'POST', '/admin/webhooks', { url: hooks.url, events: ['admin.session.ended'] });
      assert.equal(webhook.statusCode, 201, webhook.body);
      const { email, userId } = await person();
      await app.services.users.addMember(project.id, userId);
      const held = await signIn(project, email);
      const s = await signIn(es, email);
      assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${held.sid}`)).statusCode, 204);
      // The held request is under way (it is never answered: the try ends at the timeout, 1 s here).
      for (let i = 0; i < 50 && slow.received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(slow.received.length, 1);
      const started = performance.now();
      assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${s.sid}`)).statusCode, 204);
      for (let i = 0; i < 50 && (receiver.received.length === 0 || hooks.received.length < 2); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(receiver.received.length, 1, 'the other logout arrived while the first is held');
      assert.equal(hooks.received.length, 2, 'and both events');
      assert.ok(performance.now() - started < 900, 'before the held try timed out');
      await expectLogouts([s]);
      assert.equal((await call(app, admin, 'DELETE', `/admin/webhooks/${webhook.json<{ id: string }>().id}`)).statusCode, 204);
    } finally {
      await app.services.backchannelLogout.deliverDue();
      await slow.close();
      await hooks.close();
    }
  });

  it('a project whose URI is removed before the try: the logout is given up, not retried', async () => {
    const project = await newProject('RS256', '/gone');
    const { email, userId } = await person();
    await app.services.users.addMember(project.id, userId);
    const s = await signIn(project, email);
    receiver.answer = 500;
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${s.sid}`)).statusCode, 204);
    await app.services.backchannelLogout.deliverDue();
    assert.equal(receiver.received.length, 1);
    assert.equal((await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { backchannel_logout_uri: null })).statusCode, 200);
    receiver.answer = 200;
    app.clock.advance(MINUTE);
    await app.services.backchannelLogout.deliverDue();
    assert.equal(receiver.received.length, 1, 'nothing sent to a URI no longer registered');
    const row = await app.services.database.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', logoutDeliveryId(sessionKey(s.sid))).executeTakeFirst();
    assert.deepEqual([row?.kind, row?.status, row?.last_error], ['backchannel_logout', 'failed', 'the project no longer has a backchannel_logout_uri']);
    receiver.received.length = 0;
  });
  it("a session past its expiry gets no token when the account's sessions end (it had ended already)", async () => {
    const { email, userId } = await person();
    const old = await signIn(es, email);
    app.clock.advance(app.config.refreshTokenTtlSeconds * 1000 + MINUTE);
    const fresh = await signIn(rs, email);
    admin = await adminToken(app);
    assert.equal((await call(app, admin, 'PATCH', `/admin/users/${userId}`, { password: 'yet another fine passphrase' })).statusCode, 200);
    await expectLogouts([fresh]);
    const queued = await app.services.database.db.selectFrom('webhook_deliveries').select('id').where('id', '=', logoutDeliveryId(sessionKey(old.sid))).execute();
    assert.deepEqual(queued, [], 'nothing queued for the expired session');
    assert.ok((await app.services.sessions.find(old.sid))?.revoked_at, 'though it is revoked with the others');
  });
});
