// Password reset (spec/accounts.md, "Password reset"), mailed through a real SMTP server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../src/crypto/tokens.ts';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { asForm, browserCookie, linkToken, waitForMail } from './support/account-mail.ts';
import { assertAuthorizationResponse, authParams, createProject, createUser, exchangeCode, passwordTokens, post, postForm, refresh, type AuthParams, type TestProject } from './support/flow.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const OLD_PASSWORD = 'the old long passphrase';
const NEW_PASSWORD = 'a brand new passphrase';

describe('password reset', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let other: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    // The per-address mail limit has its own test below, on its own app.
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_SENDS_PER_IP: '1000', GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    other = await createProject(app);
    await app.services.projects.update(project.id, { name: 'Orchard Notes' });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  function requestReset(email: string, options: { projectId?: string; extra?: Partial<AuthParams>; ip?: string } = {}) {
    const { verifier, challenge } = pkcePair();
    const fields = { ...authParams(options.projectId ?? project.id, challenge, options.extra), email };
    return { verifier, response: post(app, '/password-reset', fields, { 'x-forwarded-for': options.ip ?? '203.0.113.1' }) };
  }

  /** Requests a reset and answers the token of the mail that arrives, with the PKCE verifier of the request. */
  async function mailedToken(email: string, options: { projectId?: string } = {}) {
    const count = smtp.to(email).length;
    const { response, verifier } = requestReset(email, options);
    const answer = await response;
    assert.equal(answer.statusCode, 202, answer.body);
    const mail = await waitForMail(smtp, email, count + 1);
    return { token: linkToken(mail, '/password-reset/verify'), verifier, mail };
  }

  const look = (token: string, accept = 'application/json') =>
    app.server.inject({ method: 'GET', url: `/password-reset/verify?token=${encodeURIComponent(token)}`, headers: { accept } });
  const setPassword = (token: string, password = NEW_PASSWORD) => post(app, '/password-reset/verify', { token, password });
  const passwordLogin = (email: string, password: string, target = project) => post(app, '/login', { ...authParams(target.id, pkcePair().challenge), email, password });

  it('answers 202 {"sent": true} and mails <issuer>/password-reset/verify?token= (256 random bits) to the account', async () => {
    await createUser(app, 'rosa@example.com', OLD_PASSWORD, project.id);
    const { token, mail } = await mailedToken('rosa@example.com');
    assert.deepEqual(mail.to, ['rosa@example.com']);
    assert.equal(mail.subject, 'Reset your password for Orchard Notes');
    assert.ok(mail.text.includes(`${ISSUER}/password-reset/verify?token=${token}`), mail.text);
    assert.match(mail.text, /expires in 30 minutes/);
    assert.ok(mail.html.includes(`href="${ISSUER}/password-reset/verify?token=${token}"`), mail.html);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
  });

  it('stores the token only as its SHA-256, in SQL', async () => {
    await createUser(app, 'digest@example.com', OLD_PASSWORD, project.id);
    const { token } = await mailedToken('digest@example.com');
    const rows = await app.services.database.db.selectFrom('account_tokens').selectAll().execute();
    assert.ok(rows.some((row) => row.token_hash === sha256(token) && row.purpose === 'password_reset'));
    assert.ok(rows.every((row) => !JSON.stringify(row).includes(token)));
  });

  it('the same 202 for an address without an account, and no mail', async () => {
    const known = await requestReset('rosa@example.com').response;
    const unknown = await requestReset('nobody@example.com').response;
    assert.deepEqual([unknown.statusCode, unknown.json()], [202, { sent: true }]);
    assert.equal(unknown.body, known.body);
    // The reset for the known address arrives; by then the unknown one would have too.
    await waitForMail(smtp, 'rosa@example.com', 2);
    assert.equal(smtp.to('nobody@example.com').length, 0);
  });

  it('checks the authorization parameters first, then the email (400 Invalid request)', async () => {
    const badClient = await requestReset('rosa@example.com', { projectId: 'no-such-project' }).response;
    assert.deepEqual([badClient.statusCode, badClient.json()], [400, { error: 'Invalid client_id' }]);
    const badRedirect = await requestReset('not an email', { extra: { redirect_uri: 'https://evil.example/cb' } }).response;
    assert.deepEqual([badRedirect.statusCode, badRedirect.json()], [400, { error: 'Invalid redirect_uri' }]);
    const badEmail = await requestReset('not an email').response;
    assert.equal(badEmail.statusCode, 400);
    assert.equal(badEmail.json<{ error: string }>().error, 'Invalid request');
  });

  it('3 requests per email an hour: the 4th answers 429 Rate limited, another email still gets its mail', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await requestReset('limited@example.com', { ip: `203.0.113.${20 + i}` }).response).statusCode, 202);
    const fourth = await requestReset('limited@example.com', { ip: '203.0.113.30' }).response;
    assert.deepEqual([fourth.statusCode, fourth.json()], [429, { error: 'Rate limited' }]);
    assert.equal((await requestReset('limited2@example.com', { ip: '203.0.113.30' }).response).statusCode, 202);
  });

  it('GET never uses the token: {"valid": true} twice, a page with the new-password form; a bad token answers 400', async () => {
    await createUser(app, 'grace@example.com', OLD_PASSWORD, project.id);
    const { token } = await mailedToken('grace@example.com');
    for (let i = 0; i < 2; i++) assert.deepEqual((await look(token)).json(), { valid: true });
    const page = await look(token, 'text/html');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form method="post" action="\/password-reset\/verify">/);
    assert.match(page.body, /name="password" type="password" autocomplete="new-password"/);
    assert.equal((await setPassword(token)).statusCode, 200);
    const used = await look(token);
    assert.deepEqual([used.statusCode, used.json()], [400, { error: 'Invalid or expired token' }]);
    assert.deepEqual((await look('made-up')).json(), { error: 'Invalid or expired token' });
  });

  it('the password policy comes first: 400 Invalid password with its reason, and the token still works', async () => {
    await createUser(app, 'typo@example.com', OLD_PASSWORD, project.id);
    const { token } = await mailedToken('typo@example.com');
    const short = await setPassword(token, 'short');
    assert.deepEqual([short.statusCode, short.json()], [400, { error: 'Invalid password', reason: 'too_short' }]);
    const common = await setPassword(token, 'password123');
    assert.deepEqual([common.statusCode, common.json()], [400, { error: 'Invalid password', reason: 'common' }]);
    assert.deepEqual((await look(token)).json(), { valid: true });
    assert.equal((await setPassword(token)).statusCode, 200);
  });

  it('sets the password, verifies the email, ends every session of the account, records password.reset and signs in to the original project', async () => {
    const userId = await createUser(app, 'ada@example.com', OLD_PASSWORD, project.id);
    await app.services.users.addMember(other.id, userId);
    const here = await passwordTokens(app, project, 'ada@example.com', OLD_PASSWORD);
    const there = await passwordTokens(app, other, 'ada@example.com', OLD_PASSWORD);
    const browser = browserCookie(await passwordLogin('ada@example.com', OLD_PASSWORD));
    const authorize = (cookie: string) =>
      app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams(asForm(authParams(project.id, pkcePair().challenge))).toString()}`, headers: { cookie, accept: 'text/html' } });
    assert.equal((await authorize(browser)).statusCode, 302, 'before: single sign-on with the browser session');

    const { token, verifier } = await mailedToken('ada@example.com');
    const reset = await setPassword(token);
    assert.equal(reset.statusCode, 200, reset.body);
    const { code } = assertAuthorizationResponse(reset, ISSUER);
    const tokens = await exchangeCode(app, project, code, verifier);
    assert.ok(tokens.access_token);

    // every earlier session ended: both projects' refresh chains, the browser session
    for (const [target, earlier] of [[project, here], [other, there]] as const) {
      const res = await refresh(app, target, earlier.refresh_token);
      assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid refresh token' }]);
    }
    assert.equal((await authorize(browser)).statusCode, 200, 'the old browser session shows the login page');
    // the new browser session signs in
    assert.equal((await authorize(browserCookie(reset))).statusCode, 302);
    assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 200, 'the new session lives');

    assert.equal((await passwordLogin('ada@example.com', OLD_PASSWORD)).statusCode, 401);
    assert.equal((await passwordLogin('ada@example.com', NEW_PASSWORD)).statusCode, 200);
    const record = await app.services.users.find(userId);
    assert.equal(record?.user.email_verified, true);
    const events = await app.services.audit.list({ type: 'password.reset', subject: userId, limit: 10 });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.project_id, project.id);
    assert.equal(events[0]?.outcome, 'success');
    assert.ok((await app.services.audit.list({ type: 'password.reset_requested', subject: userId, limit: 10 })).length >= 1);
  });

  it('10 concurrent posts of one token: exactly one 200, the others 400 Invalid or expired token', async () => {
    await createUser(app, 'race@example.com', OLD_PASSWORD, project.id);
    const { token } = await mailedToken('race@example.com');
    const results = await Promise.all(Array.from({ length: 10 }, () => setPassword(token)));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1, results.map((r) => r.statusCode).join(','));
    for (const r of results.filter((r) => r.statusCode !== 200)) assert.deepEqual([r.statusCode, r.json()], [400, { error: 'Invalid or expired token' }]);
  });

  it('a newer reset request ends the older unused link', async () => {
    await createUser(app, 'twice@example.com', OLD_PASSWORD, project.id);
    const first = await mailedToken('twice@example.com');
    const second = await mailedToken('twice@example.com');
    assert.deepEqual((await look(first.token)).json(), { error: 'Invalid or expired token' });
    assert.equal((await setPassword(first.token)).statusCode, 400);
    assert.equal((await setPassword(second.token)).statusCode, 200);
  });

  it('the link lives GATEHOUSE_PASSWORD_RESET_TTL_SECONDS (1800 by default)', async () => {
    assert.equal(app.config.passwordResetTtlSeconds, 1800);
    await createUser(app, 'late@example.com', OLD_PASSWORD, project.id);
    const { token } = await mailedToken('late@example.com');
    app.clock.advance(1799_000);
    assert.deepEqual((await look(token)).json(), { valid: true });
    app.clock.advance(2_000);
    assert.deepEqual((await look(token)).json(), { error: 'Invalid or expired token' });
    assert.equal((await setPassword(token)).statusCode, 400);
    assert.equal((await passwordLogin('late@example.com', OLD_PASSWORD)).statusCode, 200, 'nothing changed');
  });

  it('the project rules after the reset: 403 Account blocked, 403 Not a member; the password is changed either way', async () => {
    const blockedId = await createUser(app, 'blocked@example.com', OLD_PASSWORD, project.id);
    await app.services.users.setBlocked(project.id, blockedId, true);
    const blocked = await mailedToken('blocked@example.com');
    const refused = await setPassword(blocked.token);
    assert.deepEqual([refused.statusCode, refused.json()], [403, { error: 'Account blocked' }]);
    assert.equal((await passwordLogin('blocked@example.com', NEW_PASSWORD, other)).statusCode, 200, 'the new password works elsewhere');

    const closed = await createProject(app, { registrationOpen: false });
    await createUser(app, 'outsider@example.com', OLD_PASSWORD, project.id);
    const outsider = await mailedToken('outsider@example.com', { projectId: closed.id });
    const notMember = await setPassword(outsider.token);
    assert.deepEqual([notMember.statusCode, notMember.json()], [403, { error: 'Not a member' }]);
    assert.equal((await passwordLogin('outsider@example.com', NEW_PASSWORD)).statusCode, 200);
    assert.equal((await passwordLogin('outsider@example.com', OLD_PASSWORD)).statusCode, 401);
  });

  it('an unverified account: the reset is a proof of the mailbox (H1), so the registrant keeps nothing', async () => {
    const { challenge, verifier } = pkcePair();
    const registered = await post(app, '/register', { ...authParams(project.id, challenge), email: 'hijacked@example.com', password: 'the attacker chose this' }, { 'x-forwarded-for': '198.51.100.9' });
    assert.equal(registered.statusCode, 201, registered.body);
    const attacker = await exchangeCode(app, project, registered.json<{ code: string }>().code, verifier);
    const { token } = await mailedToken('hijacked@example.com');
    assert.equal((await setPassword(token)).statusCode, 200);
    assert.equal((await refresh(app, project, attacker.refresh_token)).statusCode, 401);
    assert.equal((await passwordLogin('hijacked@example.com', 'the attacker chose this')).statusCode, 401);
    const record = await app.services.users.findByEmail('hijacked@example.com');
    const cleared = await app.services.audit.list({ type: 'account.unverified_credentials_cleared', subject: record?.user.id ?? '', limit: 10 });
    assert.deepEqual(cleared[0]?.detail, { via: 'password_reset', password_removed: true });
  });

  it('the hosted pages: "Forgot password?" on the login page, the reset page keeps the authorization parameters, the form posts answer pages and a 303', async () => {
    const { verifier, challenge } = pkcePair();
    const params = asForm(authParams(project.id, challenge));
    const login = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams(params).toString()}`, headers: { accept: 'text/html' } });
    const href = /<a href="(\/password-reset\?[^"]+)">Forgot password\?<\/a>/.exec(login.body)?.[1];
    assert.ok(href, login.body);
    const resetPage = await app.server.inject({ method: 'GET', url: href.replace(/&#38;/g, '&'), headers: { accept: 'text/html' } });
    assert.equal(resetPage.statusCode, 200, resetPage.body);
    assert.match(resetPage.body, /<form method="post" action="\/password-reset">/);
    assert.ok(resetPage.body.includes(`name="code_challenge" value="${challenge}"`));

    await createUser(app, 'page@example.com', OLD_PASSWORD, project.id);
    const sent = await postForm(app, '/password-reset', { ...params, email: 'page@example.com' }, { accept: 'text/html' });
    assert.equal(sent.statusCode, 200);
    assert.match(sent.body, /Check your mail/);
    const bad = await postForm(app, '/password-reset', { ...params, email: 'nope' }, { accept: 'text/html' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /action="\/password-reset"/);
    assert.match(bad.body, /role="alert"[^>]*>Invalid request/);

    const token = linkToken(await waitForMail(smtp, 'page@example.com', 1), '/password-reset/verify');
    const typo = await postForm(app, '/password-reset/verify', { token, password: 'short' }, { accept: 'text/html' });
    assert.equal(typo.statusCode, 400);
    assert.match(typo.body, /Invalid password: fewer than 8 characters/);
    assert.match(typo.body, /action="\/password-reset\/verify"/);
    // the form's post ends in a redirect to the app, which form-action must allow
    assert.match(String(typo.headers['content-security-policy']), /form-action 'self' https:\/\/app\.example\.com/);
    const done = await postForm(app, '/password-reset/verify', { token, password: NEW_PASSWORD }, { accept: 'text/html' });
    assert.equal(done.statusCode, 303);
    const location = new URL(String(done.headers.location));
    assert.equal(location.searchParams.get('state'), 'xyz');
    assert.ok(browserCookie(done));
    await exchangeCode(app, project, location.searchParams.get('code') ?? '', verifier);
  });

  it('a form post from another site is refused with 403 Forbidden', async () => {
    const res = await postForm(app, '/password-reset/verify', { token: 'x', password: NEW_PASSWORD }, { 'sec-fetch-site': 'cross-site' });
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Forbidden' }]);
  });
});

describe('password reset: 10 requests per client address an hour', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let project: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('the 11th request from one address answers 429 Rate limited, whatever the emails', async () => {
    const reset = (email: string, ip: string) => post(app, '/password-reset', { ...authParams(project.id, pkcePair().challenge), email }, { 'x-forwarded-for': ip });
    for (let i = 0; i < 10; i++) assert.equal((await reset(`someone${i}@example.com`, '198.51.100.77')).statusCode, 202);
    const limited = await reset('someone-else@example.com', '198.51.100.77');
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
    assert.equal((await reset('someone-else@example.com', '198.51.100.78')).statusCode, 202);
  });
});
