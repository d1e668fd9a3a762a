// Browser sessions (docs/sso.md, "Browser sessions"): created by every person sign-in, never by a
// PIN, kept only as a hash, replaced by the next sign-in, ended by time and by the admin.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sha256 } from '../src/crypto/tokens.ts';
import type { BrowserSessionSummary } from '../src/sessions/browser-sessions.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, createProject, createUser, exchangeCode, post, postForm, sessionIdOf, type TestProject } from './support/flow.ts';
import { ssoSetup } from './support/sso.ts';
import { magicLinkToken, startSmtpServer, type ReceivedMail, type TestSmtpServer } from './support/smtp.ts';
import { createPin, pinLogin } from './pins-support.ts';

const COOKIE = /^gatehouse_session=([A-Za-z0-9_-]{43,}); HttpOnly; SameSite=Lax; Path=\/$/;

function sessionCookie(response: LightMyRequestResponse): string {
  const header = response.headers['set-cookie'];
  assert.equal(typeof header, 'string', `one Set-Cookie header: ${String(header)}`);
  const match = COOKIE.exec(header as string);
  assert.ok(match, `cookie as docs/sso.md says: ${String(header)}`);
  return match[1] as string;
}

describe('browser sessions', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let admin: string;
  let project: TestProject;
  let userId: string;
  const email = 'browser@example.com';
  const password = 'browser session pw';

  before(async () => {
    smtp = await startSmtpServer();
    ({ app, admin, userId, projects: [project] } = await ssoSetup({
      env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_SENDS_PER_IP: '1000', GATEHOUSE_TRUST_PROXY: 'true' },
      projects: [{}],
      member: { email, password },
    }));
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  async function login(headers: Record<string, string> = {}) {
    // A second apart, so that the listing's newest-first order tells them apart.
    app.clock.advance(1000);
    const { verifier, challenge } = pkcePair();
    const response = await post(app, '/login', { ...authParams(project.id, challenge), email, password }, headers);
    assert.equal(response.statusCode, 200, response.body);
    return { response, verifier, cookie: sessionCookie(response) };
  }

  async function listed(user = userId): Promise<BrowserSessionSummary[]> {
    const res = await call(app, admin, 'GET', `/admin/users/${user}/browser-sessions`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ browser_sessions: BrowserSessionSummary[] }>().browser_sessions;
  }

  async function storedHashes(): Promise<string[]> {
    const rows = await app.services.database.db.selectFrom('browser_sessions').select('token_hash').execute();
    return rows.map((r) => r.token_hash);
  }

  it('a password login sets the cookie (256 random bits) and the server keeps only its SHA-256', async () => {
    const { cookie } = await login({ 'user-agent': 'TestBrowser/1', 'x-forwarded-for': '203.0.113.7' });
    assert.ok(Buffer.from(cookie, 'base64url').length >= 32);
    const hashes = await storedHashes();
    assert.ok(hashes.includes(sha256(cookie)));
    assert.ok(!hashes.includes(cookie));
    const session = (await listed())[0];
    assert.ok(session);
    assert.equal(session.user_id, userId);
    assert.deepEqual(session.amr, ['pwd']);
    assert.equal(session.auth_time, new Date(app.clock.now()).toISOString());
    assert.equal(session.created_at, session.auth_time);
    assert.equal(session.last_used_at, session.auth_time);
    assert.equal(session.ip, '203.0.113.7');
    assert.equal(session.user_agent, 'TestBrowser/1');
    assert.deepEqual(Object.keys(session).sort(), ['amr', 'auth_time', 'created_at', 'id', 'ip', 'last_used_at', 'user_agent', 'user_id']);
  });

  it('is named __Host-gatehouse_session, and Secure, when the issuer is https', async () => {
    const https = await createTestApp({ env: { GATEHOUSE_ISSUER: 'https://login.example.com' } });
    try {
      const p = await createProject(https);
      await createUser(https, email, password, p.id);
      const { challenge } = pkcePair();
      const res = await post(https, '/login', { ...authParams(p.id, challenge), email, password });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['set-cookie']), /^__Host-gatehouse_session=[A-Za-z0-9_-]{43,}; HttpOnly; SameSite=Lax; Path=\/; Secure$/);
    } finally {
      await https.close();
    }
  });

  it('a new sign-in in the same browser replaces the session with a new id; the old one ends', async () => {
    const first = await login();
    const before = (await listed()).map((s) => s.id);
    const second = await login({ cookie: `other=1; gatehouse_session=${first.cookie}` });
    assert.notEqual(second.cookie, first.cookie);
    const after = (await listed()).map((s) => s.id);
    assert.equal(after.length, before.length);
    assert.ok(!after.includes(before[0] as string));
  });

  it('the project session started by the sign-in remembers its browser session', async () => {
    const { response, verifier } = await login();
    const browserSessionId = (await listed())[0]?.id;
    const tokens = await exchangeCode(app, project, response.json<{ code: string }>().code, verifier);
    const row = await app.services.database.db
      .selectFrom('sessions')
      .select('browser_session_id')
      .where('id', '=', sha256(sessionIdOf(tokens.access_token)))
      .executeTakeFirstOrThrow();
    assert.equal(row.browser_session_id, browserSessionId);
  });

  it('registration that signs the person in, JSON or form, starts one', async () => {
    const { challenge } = pkcePair();
    const json = await post(app, '/register', { ...authParams(project.id, challenge), email: 'reg-json@example.com', password: 'a long registration pw' });
    assert.equal(json.statusCode, 201, json.body);
    sessionCookie(json);
    const form = await postForm(app, '/register', { ...authParams(project.id, challenge), email: 'reg-form@example.com', password: 'a long registration pw' }, { accept: 'text/html' });
    assert.equal(form.statusCode, 303, form.body);
    sessionCookie(form);
    const user = await app.services.users.findByEmail('reg-form@example.com');
    assert.equal((await listed(user?.user.id)).length, 1);
  });

  it('POST /magic-link/verify starts one with amr magic_link, JSON or form', async () => {
    for (const asForm of [false, true]) {
      const address = `magic-${String(asForm)}@example.com`;
      const { challenge } = pkcePair();
      const sent = await post(app, '/magic-link', { ...authParams(project.id, challenge), email: address });
      assert.equal(sent.statusCode, 202, sent.body);
      const token = magicLinkToken(smtp.to(address).at(-1) as ReceivedMail);
      const used = asForm
        ? await postForm(app, '/magic-link/verify', { token }, { accept: 'text/html' })
        : await post(app, '/magic-link/verify', { token });
      assert.equal(used.statusCode, asForm ? 303 : 200, used.body);
      sessionCookie(used);
      const user = await app.services.users.findByEmail(address);
      const sessions = await listed(user?.user.id);
      assert.equal(sessions.length, 1);
      assert.deepEqual(sessions[0]?.amr, ['magic_link']);
    }
  });

  it('a PIN sign-in never creates one', async () => {
    const pin = await createPin(app, admin, project.id);
    const before = (await storedHashes()).length;
    const { response } = await pinLogin(app, project.id, pin.pin, '198.51.100.9');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['set-cookie'], undefined);
    assert.equal((await storedHashes()).length, before);
  });

  it(`ends after the idle time without use, and at the latest after the absolute lifetime`, async () => {
    const timed = await createTestApp({ env: { GATEHOUSE_BROWSER_SESSION_IDLE_SECONDS: '100', GATEHOUSE_BROWSER_SESSION_MAX_SECONDS: '1000' } });
    try {
      const p = await createProject(timed);
      const id = await createUser(timed, email, password, p.id);
      const { challenge } = pkcePair();
      const res = await post(timed, '/login', { ...authParams(p.id, challenge), email, password });
      const cookie = sessionCookie(res);
      const live = async () => (await call(timed, await adminToken(timed), 'GET', `/admin/users/${id}/browser-sessions`)).json<{ browser_sessions: unknown[] }>().browser_sessions.length;
      assert.equal(await live(), 1);
      // Used within the idle time, it lives on; by the absolute lifetime it ends however used.
      for (let i = 0; i < 10; i++) {
        timed.clock.advance(99_000);
        assert.ok(await timed.services.browserSessions.use(cookie), `used at step ${i}`);
      }
      assert.equal(await live(), 1);
      timed.clock.advance(99_000);
      assert.equal(await timed.services.browserSessions.use(cookie), undefined);
      assert.equal(await live(), 0);

      const again = sessionCookie(await post(timed, '/login', { ...authParams(p.id, challenge), email, password }));
      timed.clock.advance(99_999);
      assert.equal(await live(), 1);
      timed.clock.advance(1);
      assert.equal(await live(), 0);
      assert.equal(await timed.services.browserSessions.use(again), undefined);
    } finally {
      await timed.close();
    }
  });

  it('housekeeping deletes the rows of ended and expired browser sessions, and keeps live ones', async () => {
    const { cookie } = await login();
    const [live] = await listed();
    assert.ok(live);
    const purged = await app.services.browserSessions.purgeDead();
    assert.ok(purged >= 1, 'the sessions replaced or ended above');
    const left = await app.services.database.db.selectFrom('browser_sessions').select(['id', 'ended_at']).execute();
    assert.ok(left.every((row) => row.ended_at === null));
    assert.ok(left.some((row) => row.id === live.id));
    assert.ok(await app.services.browserSessions.use(cookie));
  });

  it('an admin ends one (204, audited); an unknown or ended one answers 404', async () => {
    await login();
    const [session] = await listed();
    assert.ok(session);
    const ended = await call(app, admin, 'DELETE', `/admin/browser-sessions/${session.id}`);
    assert.equal(ended.statusCode, 204);
    assert.ok(!(await listed()).some((s) => s.id === session.id));
    assert.equal((await call(app, admin, 'DELETE', `/admin/browser-sessions/${session.id}`)).statusCode, 404);
    assert.equal((await call(app, admin, 'GET', '/admin/users/nobody/browser-sessions')).statusCode, 404);
    const audit = await call(app, admin, 'GET', '/admin/audit?type=admin.browser_session.ended');
    assert.ok(audit.body.includes(session.id));
  });

  it('an admin setting the password ends every browser session of the account', async () => {
    await login();
    assert.ok((await listed()).length > 0);
    const res = await call(app, admin, 'PATCH', `/admin/users/${userId}`, { password });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await listed()).length, 0);
  });

  it('deleting the user ends their browser sessions', async () => {
    const id = await createUser(app, 'doomed@example.com', password, project.id);
    const { challenge } = pkcePair();
    sessionCookie(await post(app, '/login', { ...authParams(project.id, challenge), email: 'doomed@example.com', password }));
    assert.equal((await listed(id)).length, 1);
    assert.equal((await call(app, admin, 'DELETE', `/admin/users/${id}`)).statusCode, 204);
    const rows = await app.services.database.db.selectFrom('browser_sessions').select('ended_at').where('user_id', '=', id).execute();
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0]?.ended_at, null);
  });

  it("proving an unverified account's mailbox ends the browser sessions the registrant had", async () => {
    const address = 'hijack@example.com';
    const { challenge } = pkcePair();
    const registered = await post(app, '/register', { ...authParams(project.id, challenge), email: address, password: 'the squatters password' });
    assert.equal(registered.statusCode, 201, registered.body);
    const squatter = sessionCookie(registered);
    await post(app, '/magic-link', { ...authParams(project.id, challenge), email: address });
    const token = magicLinkToken(smtp.to(address).at(-1) as ReceivedMail);
    const used = await post(app, '/magic-link/verify', { token });
    assert.equal(used.statusCode, 200, used.body);
    assert.equal(await app.services.browserSessions.use(squatter), undefined);
    const user = await app.services.users.findByEmail(address);
    const left = await listed(user?.user.id);
    assert.equal(left.length, 1);
    assert.deepEqual(left[0]?.amr, ['magic_link']);
  });
});
