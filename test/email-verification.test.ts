// Email verification (spec/accounts.md, "Email verification"), mailed through a real SMTP server:
// the registration's link, the account page's two services (send the link again, change the
// email) through /verify-email, and projects that require a verified email.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendVerificationAgain, requestEmailChange } from '../src/login/verify-email/routes.ts';
import type { User } from '../src/users/users.ts';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { asForm, browserCookie, linkToken, waitForMail } from './support/account-mail.ts';
import { adminToken, assertAuthorizationResponse, authParams, bearer, createProject, createUser, exchangeCode, post, postForm, type TestProject } from './support/flow.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const PASSWORD = 'a long enough passphrase';
const CLIENT = { ip: '192.0.2.1', userAgent: 'test' };

describe('email verification', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let strict: TestProject;
  let ip = 0;
  before(async () => {
    smtp = await startSmtpServer();
    // Each registration comes from its own address (3 signups per address an hour).
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_SENDS_PER_IP: '1000', GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    strict = await createProject(app);
    await app.services.projects.update(strict.id, { name: 'Strict App', require_verified_email: true });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  const from = () => ({ 'x-forwarded-for': `198.51.100.${++ip}` });
  const look = (token: string, accept = 'application/json') => app.server.inject({ method: 'GET', url: `/verify-email?token=${encodeURIComponent(token)}`, headers: { accept } });
  const use = (token: string) => post(app, '/verify-email', { token });
  const passwordLogin = (target: TestProject, email: string, password = PASSWORD) => post(app, '/login', { ...authParams(target.id, pkcePair().challenge), email, password }, from());

  async function register(target: TestProject, email: string) {
    const { verifier, challenge } = pkcePair();
    const response = await post(app, '/register', { ...authParams(target.id, challenge), email, password: PASSWORD }, from());
    return { response, verifier };
  }

  async function user(email: string): Promise<User> {
    const record = await app.services.users.findByEmail(email);
    assert.ok(record, email);
    return record.user;
  }

  it('POST /register mails <issuer>/verify-email?token=; GET never uses it; POST verifies and signs in to the registration\'s project', async () => {
    const { response } = await register(project, 'new@example.com');
    assert.equal(response.statusCode, 201, response.body);
    const mail = await waitForMail(smtp, 'new@example.com', 1);
    const token = linkToken(mail, '/verify-email');
    assert.equal(mail.subject, 'Verify your email address');
    assert.ok(mail.text.includes(`${ISSUER}/verify-email?token=${token}`));
    assert.match(mail.text, /expires in 24 hours/);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.equal((await user('new@example.com')).email_verified, false);

    for (let i = 0; i < 2; i++) assert.deepEqual((await look(token)).json(), { valid: true });
    const page = await look(token, 'text/html');
    assert.match(page.body, /<form method="post" action="\/verify-email">/);
    assert.equal((await user('new@example.com')).email_verified, false, 'looking verifies nothing');

    const used = await use(token);
    assert.equal(used.statusCode, 200, used.body);
    const body = used.json<Record<string, string | boolean>>();
    assert.equal(body.verified, true);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'redirect_to', 'state', 'verified']);
    assert.ok(browserCookie(used));
    assert.equal((await user('new@example.com')).email_verified, true);
    // the registrant proved their own mailbox: the password stays
    assert.equal((await passwordLogin(project, 'new@example.com')).statusCode, 200);
    const again = await use(token);
    assert.deepEqual([again.statusCode, again.json()], [400, { error: 'Invalid or expired token' }]);
    assert.deepEqual((await look('made-up')).json(), { error: 'Invalid or expired token' });
  });

  it('10 concurrent posts of one link: exactly one answers 200', async () => {
    await register(project, 'race@example.com');
    const token = linkToken(await waitForMail(smtp, 'race@example.com', 1), '/verify-email');
    const results = await Promise.all(Array.from({ length: 10 }, () => use(token)));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    for (const r of results.filter((r) => r.statusCode !== 200)) assert.deepEqual([r.statusCode, r.json()], [400, { error: 'Invalid or expired token' }]);
  });

  it('the link lives GATEHOUSE_EMAIL_VERIFICATION_TTL_SECONDS (86400 by default)', async () => {
    assert.equal(app.config.emailVerificationTtlSeconds, 86_400);
    await register(project, 'slow@example.com');
    const token = linkToken(await waitForMail(smtp, 'slow@example.com', 1), '/verify-email');
    app.clock.advance(86_401_000);
    assert.deepEqual((await use(token)).json(), { error: 'Invalid or expired token' });
    assert.equal((await user('slow@example.com')).email_verified, false);
  });

  it('the account page\'s "send the link again": a link that only verifies, 3 per email an hour', async () => {
    await createUser(app, 'again@example.com', PASSWORD, project.id);
    const account = await user('again@example.com');
    for (let i = 1; i <= 3; i++) {
      assert.equal(await sendVerificationAgain(app.services, account, CLIENT), true);
      await waitForMail(smtp, 'again@example.com', i);
    }
    await assert.rejects(sendVerificationAgain(app.services, account, CLIENT), (error: Error) => error.message === 'Rate limited');
    const token = linkToken(smtp.to('again@example.com')[2]!, '/verify-email');
    const used = await use(token);
    assert.deepEqual([used.statusCode, used.json()], [200, { verified: true }]);
    assert.equal(used.headers['set-cookie'], undefined, 'no sign-in');
    assert.equal((await user('again@example.com')).email_verified, true);
    assert.equal(await sendVerificationAgain(app.services, await user('again@example.com'), CLIENT), false, 'nothing to send once verified');
    const page = await postForm(app, '/verify-email', { token: linkToken(smtp.to('again@example.com')[1]!, '/verify-email') }, { accept: 'text/html' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Email verified/);
  });

  it('an email change: the link goes to the new address; using it switches the email, verified, and mails the old address', async () => {
    await createUser(app, 'old@example.com', PASSWORD, project.id);
    const account = await user('old@example.com');
    await requestEmailChange(app.services, account, 'New.Address@example.com', CLIENT);
    const mail = await waitForMail(smtp, 'New.Address@example.com', 1);
    assert.equal(mail.subject, 'Confirm your new email address');
    const token = linkToken(mail, '/verify-email');
    assert.deepEqual((await look(token)).json(), { valid: true });
    const used = await use(token);
    assert.deepEqual([used.statusCode, used.json()], [200, { verified: true }]);
    const changed = await app.services.users.find(account.id);
    assert.equal(changed?.user.email, 'New.Address@example.com');
    assert.equal(changed?.user.email_verified, true);
    const notice = await waitForMail(smtp, 'old@example.com', 1);
    assert.equal(notice.subject, 'Your email address was changed');
    assert.match(notice.text, /New\.Address@example\.com/);
    const types = (await app.services.audit.list({ subject: account.id, limit: 20 })).map((e) => e.type);
    assert.ok(types.includes('email.change_requested') && types.includes('email.changed'), types.join(','));
    assert.equal((await passwordLogin(project, 'new.address@example.com')).statusCode, 200);
  });

  it('an email change answers 409 Email already registered when the address was taken meanwhile; a taken one is refused at once', async () => {
    await createUser(app, 'mover@example.com', PASSWORD, project.id);
    const account = await user('mover@example.com');
    await assert.rejects(requestEmailChange(app.services, account, 'again@example.com', CLIENT), (error: Error) => error.message === 'Email already registered');
    await assert.rejects(requestEmailChange(app.services, account, 'not an address', CLIENT), (error: Error) => error.message === 'Invalid request');
    await requestEmailChange(app.services, account, 'wanted@example.com', CLIENT);
    const token = linkToken(await waitForMail(smtp, 'wanted@example.com', 1), '/verify-email');
    await createUser(app, 'wanted@example.com', PASSWORD);
    const used = await use(token);
    assert.deepEqual([used.statusCode, used.json()], [409, { error: 'Email already registered' }]);
    assert.equal((await app.services.users.find(account.id))?.user.email, 'mover@example.com');
  });

  it('a verification link mailed before an email change no longer works', async () => {
    await createUser(app, 'before@example.com', PASSWORD, project.id);
    const account = await user('before@example.com');
    await sendVerificationAgain(app.services, account, CLIENT);
    const token = linkToken(await waitForMail(smtp, 'before@example.com', 1), '/verify-email');
    await app.services.users.update(account.id, { email: 'after@example.com' });
    assert.deepEqual((await use(token)).json(), { error: 'Invalid or expired token' });
    assert.equal((await app.services.users.find(account.id))?.user.email_verified, false);
  });

  describe('a project with require_verified_email', () => {
    it('is off by default, and set through the admin API (create and PATCH)', async () => {
      const token = await adminToken(app);
      const created = await post(app, '/admin/projects', { name: 'Verified only', redirect_uris: ['https://v.example.com/cb'], require_verified_email: true }, bearer(token));
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json<{ require_verified_email: boolean }>().require_verified_email, true);
      const plain = await post(app, '/admin/projects', { name: 'Plain', redirect_uris: ['https://p.example.com/cb'] }, bearer(token));
      const id = plain.json<{ id: string }>().id;
      assert.equal(plain.json<{ require_verified_email: boolean }>().require_verified_email, false);
      const patched = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${id}`, payload: { require_verified_email: true }, headers: bearer(token) });
      assert.equal(patched.json<{ require_verified_email: boolean }>().require_verified_email, true);
      const wrong = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${id}`, payload: { require_verified_email: 'yes' }, headers: bearer(token) });
      assert.equal(wrong.statusCode, 400);
    });

    it('POST /register answers 202 {"verification_sent": true} with no code, and the mailed link signs the person in', async () => {
      const { response, verifier } = await register(strict, 'strict-new@example.com');
      assert.deepEqual([response.statusCode, response.json()], [202, { verification_sent: true }]);
      assert.equal(response.headers['set-cookie'], undefined);
      const token = linkToken(await waitForMail(smtp, 'strict-new@example.com', 1), '/verify-email');
      const used = await use(token);
      assert.equal(used.statusCode, 200, used.body);
      const { redirect_to, code, state, verified } = used.json<{ redirect_to: string; code: string; state: string; verified: boolean }>();
      assert.equal(verified, true);
      assert.equal(state, 'xyz');
      assert.ok(redirect_to.includes(`code=${code}`));
      const tokens = await exchangeCode(app, strict, code, verifier);
      assert.ok(tokens.access_token);
      assert.equal((await passwordLogin(strict, 'strict-new@example.com')).statusCode, 200, 'verified: the password signs in');
    });

    it('a password sign-in of an unverified account answers 403 Email not verified and mails a new link (3 per email an hour)', async () => {
      await createUser(app, 'unverified@example.com', PASSWORD, strict.id);
      for (let i = 1; i <= 4; i++) {
        const refused = await passwordLogin(strict, 'unverified@example.com');
        assert.deepEqual([refused.statusCode, refused.json()], [403, { error: 'Email not verified' }]);
      }
      assert.equal(smtp.to('unverified@example.com').length, 3, 'the 4th refusal mails nothing');
      const wrong = await passwordLogin(strict, 'unverified@example.com', 'not the password');
      assert.deepEqual([wrong.statusCode, wrong.json()], [401, { error: 'Invalid credentials' }], 'only the right password learns of it');
      assert.equal((await passwordLogin(project, 'unverified@example.com')).statusCode, 200, 'other projects do not ask');
      // the link signs in to the project the refused sign-in was for
      const used = await use(linkToken(smtp.to('unverified@example.com')[0]!, '/verify-email'));
      assert.equal(used.statusCode, 200, used.body);
      assert.ok(used.json<{ code: string }>().code);
      assert.equal((await passwordLogin(strict, 'unverified@example.com')).statusCode, 200);
    });

    it('the page shows the message and a "Send the link again" button that mails a link', async () => {
      await createUser(app, 'button@example.com', PASSWORD, strict.id);
      const params = asForm(authParams(strict.id, pkcePair().challenge));
      const page = await postForm(app, '/login', { ...params, email: 'button@example.com', password: PASSWORD }, { accept: 'text/html', ...from() });
      assert.equal(page.statusCode, 403);
      assert.match(page.body, /role="alert"[^>]*>Email not verified</);
      assert.match(page.body, /<form method="post" action="\/verify-email\/resend">/);
      assert.match(page.body, /<input type="hidden" name="email" value="button@example.com">/);
      await waitForMail(smtp, 'button@example.com', 1);
      const resent = await postForm(app, '/verify-email/resend', { ...params, email: 'button@example.com' }, { accept: 'text/html', ...from() });
      assert.equal(resent.statusCode, 200);
      assert.match(resent.body, /Check your mail/);
      const token = linkToken(await waitForMail(smtp, 'button@example.com', 2), '/verify-email');
      const done = await postForm(app, '/verify-email', { token }, { accept: 'text/html' });
      assert.equal(done.statusCode, 303);
      assert.ok(String(done.headers.location).startsWith('https://app.example.com/callback?code='));
      // JSON: 202 {"sent": true}, the same for an address without an unverified account
      const json = await post(app, '/verify-email/resend', { ...params, email: 'nobody-here@example.com' }, from());
      assert.deepEqual([json.statusCode, json.json()], [202, { sent: true }]);
    });

    it('single sign-on at /authorize: 403 Email not verified with the button and a new link; prompt=none answers interaction_required', async () => {
      await createUser(app, 'sso@example.com', PASSWORD, project.id);
      const signedIn = await passwordLogin(project, 'sso@example.com');
      const cookie = browserCookie(signedIn);
      const authorize = (extra: Record<string, string> = {}) =>
        app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...asForm(authParams(strict.id, pkcePair().challenge)), ...extra }).toString()}`, headers: { cookie, accept: 'text/html' } });
      const refused = await authorize();
      assert.equal(refused.statusCode, 403);
      assert.match(refused.body, /Email not verified/);
      assert.match(refused.body, /action="\/verify-email\/resend"/);
      const token = linkToken(await waitForMail(smtp, 'sso@example.com', 1), '/verify-email');
      const silent = await authorize({ prompt: 'none' });
      assert.equal(silent.statusCode, 302);
      const location = new URL(String(silent.headers.location));
      assert.equal(location.searchParams.get('error'), 'interaction_required');
      assert.equal(location.searchParams.get('state'), 'xyz');
      assert.equal(smtp.to('sso@example.com').length, 1, 'prompt=none mails nothing');
      assert.equal((await use(token)).statusCode, 200);
      assert.equal((await authorize()).statusCode, 302, 'verified: single sign-on');
    });

    it('a magic link verifies by itself, and signs in', async () => {
      await createUser(app, 'magic@example.com', PASSWORD, strict.id);
      const sent = await post(app, '/magic-link', { ...authParams(strict.id, pkcePair().challenge), email: 'magic@example.com' }, from());
      assert.equal(sent.statusCode, 202);
      const used = await post(app, '/magic-link/verify', { token: magicLinkToken(smtp.to('magic@example.com')[0]!) });
      assertAuthorizationResponse(used, ISSUER);
      assert.equal((await user('magic@example.com')).email_verified, true);
    });

    it('a password reset verifies by itself', async () => {
      await createUser(app, 'reset@example.com', PASSWORD, strict.id);
      assert.equal((await post(app, '/password-reset', { ...authParams(strict.id, pkcePair().challenge), email: 'reset@example.com' }, from())).statusCode, 202);
      const token = linkToken(await waitForMail(smtp, 'reset@example.com', 1), '/password-reset/verify');
      const reset = await post(app, '/password-reset/verify', { token, password: 'another long passphrase' });
      assertAuthorizationResponse(reset, ISSUER);
      assert.equal((await passwordLogin(strict, 'reset@example.com', 'another long passphrase')).statusCode, 200);
    });
  });
});

describe('the registration\'s verification mail when the mail server does not answer', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let strict: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_SMTP_TIMEOUT_MS: '300', GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    strict = await createProject(app);
    await app.services.projects.update(strict.id, { require_verified_email: true });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  const register = (target: TestProject, email: string, ip: string) =>
    post(app, '/register', { ...authParams(target.id, pkcePair().challenge), email, password: PASSWORD }, { 'x-forwarded-for': ip });

  it('an ordinary project: the registration stands (201 with a code), and no link was left behind', async () => {
    smtp.silent = true;
    const res = await register(project, 'lost-mail@example.com', '192.0.2.70');
    smtp.silent = false;
    assert.equal(res.statusCode, 201, res.body);
    assert.ok(res.json<{ code: string }>().code);
    const rows = await app.services.database.db.selectFrom('account_tokens').selectAll().execute();
    assert.equal(rows.length, 0, 'the token of the unsent mail was withdrawn');
  });

  it('a project that requires a verified email: 503, and a password sign-in then mails the link, which signs in', async () => {
    smtp.silent = true;
    const res = await register(strict, 'strict-lost@example.com', '192.0.2.71');
    smtp.silent = false;
    assert.deepEqual([res.statusCode, res.json()], [503, { error: 'Service unavailable' }]);
    const login = await post(app, '/login', { ...authParams(strict.id, pkcePair().challenge), email: 'strict-lost@example.com', password: PASSWORD }, { 'x-forwarded-for': '192.0.2.72' });
    assert.deepEqual([login.statusCode, login.json()], [403, { error: 'Email not verified' }]);
    const token = linkToken(await waitForMail(smtp, 'strict-lost@example.com', 1), '/verify-email');
    const used = await post(app, '/verify-email', { token });
    assert.equal(used.statusCode, 200, used.body);
    assert.ok(used.json<{ code: string }>().code);
  });
});
