// The account page (accounts.md "The account page"): the built-in account project, the sign-in
// dance of GET /account, and every form of the page, driven through app.inject with a cookie jar
// as a browser would, on both backends. Session endings are checked where apps see them: /token
// and /userinfo.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEntry } from '../src/audit/audit-log.ts';
import { createTestApp, ISSUER, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, bearer, createProject, createUser, passwordTokens, refresh, type TestProject, type Tokens } from './support/flow.ts';
import { linkToken, waitForMail } from './support/account-mail.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { Browser, csrfOf, location } from './support/cookie-browser.ts';


describe('the account page', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let admin: string;
  let project: TestProject;

  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({
      env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000', GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT: '4', GATEHOUSE_MAIL_SENDS_PER_IP: '1000' },
    });
    admin = await adminToken(app);
    project = await createProject(app, { registrationOpen: false });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  async function person(email: string, password = 'a fine passphrase'): Promise<string> {
    return createUser(app, email, password, project.id);
  }

  /** GET /account without a session: the 303 to /authorize, the login page, the login, the callback. */
  async function signIn(browser: Browser, email: string, password = 'a fine passphrase'): Promise<LightMyRequestResponse> {
    const authorize = new URL(location(await browser.get('/account')), ISSUER);
    assert.equal(authorize.pathname, '/authorize');
    const loginPage = await browser.get(`${authorize.pathname}${authorize.search}`);
    assert.equal(loginPage.statusCode, 200, loginPage.body);
    const login = await browser.post('/login', { ...Object.fromEntries(authorize.searchParams), email, password });
    const callback = location(login);
    assert.ok(callback.startsWith(`${ISSUER}/account/callback?`), callback);
    assert.equal(location(await browser.get(callback)), '/account');
    const page = await browser.get('/account');
    assert.equal(page.statusCode, 200, page.body);
    return page;
  }

  /** An account without a password (it signs in by email link), a member of the test project. */
  async function passwordlessPerson(email: string): Promise<{ id: string }> {
    const user = await app.services.users.create({ email });
    assert.ok(user, 'email taken');
    await app.services.users.addMember(project.id, user.id);
    return user;
  }

  /** The sign-in of an account without a password: from `start` (a 303 to /authorize) by email link, back on /account. */
  async function linkSignIn(browser: Browser, email: string, start = '/account'): Promise<LightMyRequestResponse> {
    const authorize = new URL(location(await browser.get(start)), ISSUER);
    const sent = await browser.post('/magic-link', { ...Object.fromEntries(authorize.searchParams), email });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.match(sent.body, /mail/i);
    const verified = await browser.post('/magic-link/verify', { token: magicLinkToken(smtp.to(email).at(-1) ?? assert.fail('no mail')) });
    assert.equal(location(await browser.get(location(verified))), '/account');
    const page = await browser.get('/account');
    assert.equal(page.statusCode, 200, page.body);
    return page;
  }

  async function audit(type: string, subject: string): Promise<AuditEntry[]> {
    // A fresh token: the clock moves in some tests.
    admin = await adminToken(app);
    const listed = await call(app, admin, 'GET', `/admin/audit?type=${type}`);
    return listed.json<{ events: AuditEntry[] }>().events.filter((e) => e.subject === subject);
  }

  async function assertEnded(tokens: Tokens, at: TestProject = project): Promise<void> {
    const refreshed = await refresh(app, at, tokens.refresh_token);
    assert.equal(refreshed.statusCode, 401, refreshed.body);
    assert.equal(refreshed.json<{ error: string }>().error, 'Invalid refresh token');
    const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal(userinfo.statusCode, 401);
  }

  async function assertLive(tokens: Tokens, at: TestProject = project): Promise<Tokens> {
    const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal(userinfo.statusCode, 200, userinfo.body);
    const refreshed = await refresh(app, at, tokens.refresh_token);
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    return refreshed.json<Tokens>();
  }

  it('the built-in account project is public, has <issuer>/account/callback, offers no PIN, and cannot be deleted or given a secret (409)', async () => {
    const shown = await call(app, admin, 'GET', '/admin/projects/account');
    assert.equal(shown.statusCode, 200);
    const account = shown.json<{ confidential: boolean; redirect_uris: string[]; registration_open: boolean; login_methods: string[] }>();
    assert.equal(account.confidential, false);
    assert.deepEqual(account.redirect_uris, [`${ISSUER}/account/callback`]);
    assert.equal(account.registration_open, false);
    assert.deepEqual(account.login_methods, ['password', 'magic_link']);
    const deleted = await call(app, admin, 'DELETE', '/admin/projects/account');
    assert.equal(deleted.statusCode, 409);
    assert.equal(deleted.json<{ error: string }>().error, 'The account project cannot be deleted or given a secret');
    assert.equal((await call(app, admin, 'POST', '/admin/projects/account/secret')).statusCode, 409);
    const moved = await call(app, admin, 'PATCH', '/admin/projects/account', { redirect_uris: ['https://evil.example.com/cb'] });
    assert.equal(moved.statusCode, 409);
    assert.equal((await call(app, admin, 'GET', '/admin/projects/account')).statusCode, 200);
  });

  it('without a browser session GET /account answers 303 to /authorize?client_id=account with S256 and a state bound to a cookie; the callback lands on /account signed in', async () => {
    await person('dance@example.com');
    const browser = new Browser(app);
    const first = await browser.get('/account');
    const target = new URL(location(first), ISSUER);
    assert.equal(target.searchParams.get('client_id'), 'account');
    assert.equal(target.searchParams.get('redirect_uri'), `${ISSUER}/account/callback`);
    assert.equal(target.searchParams.get('code_challenge_method'), 'S256');
    assert.match(target.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(target.searchParams.get('response_type'), 'code');
    const state = target.searchParams.get('state') ?? '';
    assert.ok(state.length >= 43);
    assert.match(String(first.headers['set-cookie']), /^gatehouse_account_state=[^;]+; Max-Age=900; HttpOnly; SameSite=Lax; Path=\/account\/callback$/);
    assert.equal(browser.cookie('gatehouse_account_state'), state);

    const page = await signIn(browser, 'dance@example.com');
    assert.match(page.body, /dance@example\.com/);
    assert.match(page.body, /<h1>Your account<\/h1>/);
    assert.equal(browser.cookie('gatehouse_account_state'), undefined, 'the state cookie is taken away');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(String(page.headers['content-security-policy']), /script-src|default-src 'none'/);
    // The account project lists the person as a member although its registration is closed.
    const userId = (await app.services.users.findByEmail('dance@example.com'))?.user.id ?? '';
    assert.deepEqual(await app.services.users.membership('account', userId), { blocked: false });
  });

  it('the callback refuses a wrong state, a replayed code, and a callback opened in another browser (400, nothing signed in)', async () => {
    await person('callback@example.com');
    const browser = new Browser(app);
    const authorize = new URL(location(await browser.get('/account')), ISSUER);
    const login = await browser.post('/login', { ...Object.fromEntries(authorize.searchParams), email: 'callback@example.com', password: 'a fine passphrase' });
    const callback = new URL(location(login));
    // Another browser with the same link: no state cookie, no browser session.
    const other = new Browser(app);
    const elsewhere = await other.get(`${callback.pathname}${callback.search}`);
    assert.equal(elsewhere.statusCode, 400);
    assert.match(elsewhere.body, /role="alert"/);
    // A forged state in the right browser.
    const forged = new URL(callback);
    forged.searchParams.set('state', 'x'.repeat(43));
    const wrong = await app.server.inject({
      method: 'GET',
      url: `${forged.pathname}${forged.search}`,
      headers: { cookie: `gatehouse_account_state=${browser.cookie('gatehouse_account_state') ?? ''}; gatehouse_session=${browser.cookie('gatehouse_session') ?? ''}` },
    });
    assert.equal(wrong.statusCode, 400);
    // The right browser still finishes (the refused tries spent nothing), once.
    assert.equal(location(await browser.get(`${callback.pathname}${callback.search}`)), '/account');
    const replayed = await app.server.inject({
      method: 'GET',
      url: `${callback.pathname}${callback.search}`,
      headers: { cookie: `gatehouse_account_state=${callback.searchParams.get('state') ?? ''}; gatehouse_session=${browser.cookie('gatehouse_session') ?? ''}` },
    });
    assert.equal(replayed.statusCode, 400);
    assert.equal((await browser.get('/account')).statusCode, 200);
  });

  it('the profile form changes name, given_name, family_name, picture and locale (303 with a notice, audit profile.updated); a bad value is 400 on the page', async () => {
    const userId = await person('profile@example.com');
    const browser = new Browser(app);
    const page = await signIn(browser, 'profile@example.com');
    for (const [name, autocomplete] of [['name', 'name'], ['given_name', 'given-name'], ['family_name', 'family-name'], ['picture', 'photo'], ['locale', 'language']]) {
      assert.match(page.body, new RegExp(`<label for="profile-${name}">`));
      assert.match(page.body, new RegExp(`id="profile-${name}" name="${name}" type="[a-z]+" autocomplete="${autocomplete}"`));
    }
    const saved = await browser.post('/account/profile', {
      csrf_token: csrfOf(page),
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      picture: 'https://example.com/ada.png',
      locale: 'en-GB',
    });
    assert.equal(location(saved), '/account?notice=profile_saved');
    const after = await browser.get('/account?notice=profile_saved');
    assert.match(after.body, /role="status">Your profile was saved\./);
    assert.match(after.body, /value="Ada Lovelace"/);
    const stored = await app.services.users.find(userId);
    assert.equal(stored?.user.name, 'Ada Lovelace');
    assert.equal(stored?.user.picture, 'https://example.com/ada.png');
    assert.equal(stored?.user.locale, 'en-GB');
    const events = await audit('profile.updated', userId);
    assert.equal(events.length, 1);
    assert.deepEqual((events[0]?.detail as { fields: string[] }).fields, ['name', 'given_name', 'family_name', 'picture', 'locale']);

    // An empty field clears it; an http picture is refused with the admin API's rule, beside the form.
    const refused = await browser.post('/account/profile', { csrf_token: csrfOf(after), name: 'Ada', given_name: '', family_name: 'Lovelace', picture: 'http://example.com/a.png', locale: 'en-GB' });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /<p class="error" role="alert" id="profile-error">Invalid request\. picture must be an https URL\./);
    assert.match(refused.body, /value="http:\/\/example\.com\/a\.png"/, 'the form keeps what was typed');
    assert.equal((await app.services.users.find(userId))?.user.given_name, 'Ada', 'nothing was changed');
    const cleared = await browser.post('/account/profile', { csrf_token: csrfOf(after), name: 'Ada Lovelace', given_name: '', family_name: 'Lovelace', picture: 'https://example.com/ada.png', locale: 'en-GB' });
    assert.equal(location(cleared), '/account?notice=profile_saved');
    assert.equal((await app.services.users.find(userId))?.user.given_name, null);
    // An unknown notice shows nothing (no text from the request reaches the page).
    assert.doesNotMatch((await browser.get('/account?notice=%3Cb%3Ehi')).body, /class="notice"/);
  });

  it('every form refuses a missing or wrong CSRF token and a cross-site post with 403 Forbidden, and changes nothing', async () => {
    const userId = await person('csrf@example.com');
    const browser = new Browser(app);
    const page = await signIn(browser, 'csrf@example.com');
    const other = new Browser(app);
    await person('csrf-other@example.com');
    const otherToken = csrfOf(await signIn(other, 'csrf-other@example.com'));
    const forms: Array<[string, Record<string, string>]> = [
      ['/account/profile', { name: 'Mallory' }],
      ['/account/password', { current_password: 'a fine passphrase', new_password: 'mallory was here 1' }],
      ['/account/email', { new_email: 'mallory@example.com', current_password: 'a fine passphrase' }],
      ['/account/email/resend', {}],
      ['/account/sessions/end', { session_id: 'x' }],
      ['/account/browser-sessions/end', { browser_session_id: 'x' }],
      ['/account/sign-out-everywhere', {}],
    ];
    for (const [url, fields] of forms) {
      const missing = await browser.post(url, fields);
      assert.equal(missing.statusCode, 403, `${url} without a token`);
      assert.match(missing.body, /Forbidden/);
      assert.equal((await browser.post(url, { ...fields, csrf_token: otherToken })).statusCode, 403, `${url} with another session's token`);
      assert.equal((await browser.post(url, { ...fields, csrf_token: `${csrfOf(page)}x` })).statusCode, 403, `${url} with a wrong token`);
      const crossSite = await browser.post(url, { ...fields, csrf_token: csrfOf(page) }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example.com' });
      assert.equal(crossSite.statusCode, 403, `${url} cross-site`);
    }
    const user = await app.services.users.find(userId);
    assert.equal(user?.user.name, null);
    assert.equal(user?.user.email, 'csrf@example.com');
    assert.deepEqual([smtp.to('mallory@example.com').length, smtp.to('csrf@example.com').length], [0, 0], 'nothing mailed');
    assert.equal((await browser.get('/account')).statusCode, 200, 'still signed in');
    // Without a browser session a form changes nothing and goes back to /account (which signs in).
    const stranger = new Browser(app);
    assert.equal(location(await stranger.post('/account/profile', { csrf_token: csrfOf(page), name: 'Mallory' })), '/account');
    assert.equal((await app.services.users.find(userId))?.user.name, null);
  });

  it('a password change: a wrong current one is 401 Invalid credentials, the policy 400 Invalid password; a change ends every other session, keeps this browser, and mails a notice', async () => {
    const email = 'change@example.com';
    const userId = await person(email);
    const elsewhere = new Browser(app);
    await signIn(elsewhere, email);
    const appTokens = await passwordTokens(app, project, email, 'a fine passphrase');
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    assert.match(page.body, /autocomplete="current-password"/);
    assert.match(page.body, /autocomplete="new-password"/);

    const wrong = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: 'not it at all', new_password: 'a brand new passphrase' });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /<p class="error" role="alert" id="password-error">Invalid credentials\./);
    const weak = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: 'a fine passphrase', new_password: 'short' });
    assert.equal(weak.statusCode, 400);
    assert.match(weak.body, /role="alert" id="password-error">Invalid password\. The password has fewer than 8 characters\./);
    const common = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: 'a fine passphrase', new_password: 'password123' });
    assert.equal(common.statusCode, 400);
    assert.match(common.body, /a commonly used or breached password/);
    await assertLive(appTokens).then((next) => Object.assign(appTokens, next));

    const before = smtp.to(email).length;
    const changed = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: 'a fine passphrase', new_password: 'a brand new passphrase' });
    assert.equal(location(changed), '/account?notice=password_changed');
    // This browser stays signed in; the other browser and the app's session do not.
    assert.equal((await browser.get('/account?notice=password_changed')).statusCode, 200);
    assert.equal(new URL(location(await elsewhere.get('/account')), ISSUER).pathname, '/authorize');
    await assertEnded(appTokens);
    // The new password signs in; the old one does not.
    await passwordTokens(app, project, email, 'a brand new passphrase');
    await assert.rejects(passwordTokens(app, project, email, 'a fine passphrase'));
    // The notice, received by the SMTP server.
    const mails = smtp.to(email);
    assert.equal(mails.length, before + 1);
    assert.equal(mails.at(-1)?.subject, 'Your password was changed');
    assert.match(mails.at(-1)?.text ?? '', /password of your account \(change@example\.com\) was changed/);
    assert.doesNotMatch(mails.at(-1)?.raw ?? '', /a brand new passphrase/);
    const events = await audit('password.changed', userId);
    assert.deepEqual(events.map((e) => e.outcome).sort(), ['failure', 'failure', 'failure', 'success']);
  });

  it('the current-password check spends the account\'s own failure budget, as at /login: once spent, even the right password answers 429', async () => {
    const email = 'budget@example.com';
    await person(email);
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    for (let i = 0; i < 4; i++) {
      const wrong = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: `wrong ${i}`, new_password: 'a brand new passphrase' });
      assert.equal(wrong.statusCode, 401);
    }
    const refused = await browser.post('/account/password', { csrf_token: csrfOf(page), current_password: 'a fine passphrase', new_password: 'a brand new passphrase' });
    assert.equal(refused.statusCode, 429);
    assert.match(refused.body, /role="alert" id="password-error">Rate limited\./);
    // Nothing was hashed or changed: the old password is still the one.
    const record = await app.services.users.findByEmail(email);
    assert.ok(record?.passwordHash && (await app.services.hasher.verify(record.passwordHash, 'a fine passphrase')));
    // The budget is the one /login spends: the account's sign-ins answer 429 too until the window passes.
    const login = await app.server.inject({ method: 'POST', url: '/login', payload: { response_type: 'code', client_id: project.id, redirect_uri: 'https://app.example.com/callback', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', email, password: 'a fine passphrase' } });
    assert.equal(login.statusCode, 429);
  });

  it('an account without a password sets one within 5 minutes of signing in by email link; later the page asks to sign in again', async () => {
    const email = 'linkonly@example.com';
    const user = await passwordlessPerson(email);
    const browser = new Browser(app);
    const page = await linkSignIn(browser, email);
    assert.match(page.body, /<h2 id="password-title">Set a password<\/h2>/);
    assert.doesNotMatch(page.body, /autocomplete="current-password"/);

    app.clock.advance(5 * 60 * 1000 + 1);
    const late = await browser.post('/account/password', { csrf_token: csrfOf(page), new_password: 'my first passphrase' });
    assert.equal(late.statusCode, 401);
    assert.match(late.body, /role="alert" id="password-error">Sign in again to set a password\. <a href="\/account\/sign-in-again">Sign in again<\/a>/);
    assert.equal((await app.services.users.find(user.id))?.passwordHash, null);
    // "Sign in again" asks for a new sign-in even with a live browser session.
    assert.equal(new URL(location(await browser.get('/account/sign-in-again')), ISSUER).searchParams.get('prompt'), 'login');
    const now = await linkSignIn(browser, email, '/account/sign-in-again');
    const set = await browser.post('/account/password', { csrf_token: csrfOf(now), new_password: 'my first passphrase' });
    assert.equal(location(set), '/account?notice=password_changed');
    await passwordTokens(app, project, email, 'my first passphrase');
  });

  it('lists the person\'s projects (blocked ones marked) and sessions (project, method, started, last used, IP, user agent); "Sign out" ends one', async () => {
    const email = 'sessions@example.com';
    const userId = await person(email);
    const second = await createProject(app, { registrationOpen: true });
    await app.services.projects.update(second.id, { name: 'Blocked App' });
    await app.services.users.addMember(second.id, userId);
    await app.services.users.setBlocked(second.id, userId, true);
    const appTokens = await passwordTokens(app, project, email, 'a fine passphrase');
    const keep = await passwordTokens(app, project, email, 'a fine passphrase');
    app.clock.advance(60_000);
    await assertLive(keep).then((next) => Object.assign(keep, next));
    const elsewhere = new Browser(app);
    await signIn(elsewhere, email);
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    assert.match(page.body, /<li>Test App<\/li>/);
    assert.match(page.body, /<li>Blocked App <strong>\(blocked\)<\/strong><\/li>/);
    assert.doesNotMatch(page.body, /<li>Your account/, 'the account project is this page, not listed');
    assert.match(page.body, /Test App: Password, started \d{4}-\d\d-\d\d \d\d:\d\d UTC; last used \d{4}-\d\d-\d\d \d\d:\d\d UTC; from 127\.0\.0\.1/);
    assert.match(page.body, /<strong>This browser<\/strong>/);
    assert.equal((page.body.match(/action="\/account\/sessions\/end"/g) ?? []).length, 2);
    // Each password sign-in above started a browser session of its own (JSON logins too), and the two pages one each.
    assert.equal((page.body.match(/action="\/account\/browser-sessions\/end"/g) ?? []).length, 4);

    // The page lists sessions by their stored key (never the sid); end the one whose tokens are appTokens.
    const appSession = await app.services.sessions.find(JSON.parse(Buffer.from(appTokens.access_token.split('.')[1] ?? '', 'base64url').toString()).sid as string);
    assert.ok(appSession && page.body.includes(`name="session_id" value="${appSession.id}"`));
    const ended = await browser.post('/account/sessions/end', { csrf_token: csrfOf(page), session_id: appSession.id });
    assert.equal(location(ended), '/account?notice=session_ended');
    await assertEnded(appTokens);
    await assertLive(keep);
    assert.equal((await audit('session.ended_by_user', userId)).length, 1);
    // Someone else's session, or one already ended: nothing happens to it.
    const strangerId = await person('stranger@example.com');
    const strangerTokens = await passwordTokens(app, project, 'stranger@example.com', 'a fine passphrase');
    const strangerSession = (await app.services.sessions.listForUser(strangerId))[0];
    const notYours = await browser.post('/account/sessions/end', { csrf_token: csrfOf(page), session_id: strangerSession?.id ?? '' });
    assert.equal(location(notYours), '/account?notice=already_ended');
    await assertLive(strangerTokens);

    // "Sign out" on the other browser: its cookie no longer opens the page; this one still does.
    const current = (await app.services.browserSessions.use(browser.cookie('gatehouse_session') ?? ''))?.id;
    const otherId = (await app.services.browserSessions.use(elsewhere.cookie('gatehouse_session') ?? ''))?.id ?? '';
    assert.ok(current && otherId && page.body.includes(`value="${otherId}"`));
    const signedOut = await browser.post('/account/browser-sessions/end', { csrf_token: csrfOf(page), browser_session_id: otherId });
    assert.equal(location(signedOut), '/account?notice=browser_session_ended');
    assert.equal(new URL(location(await elsewhere.get('/account')), ISSUER).pathname, '/authorize');
    assert.equal((await browser.get('/account')).statusCode, 200);
    // "Sign out" on this browser: it lands signed out.
    const self = await browser.post('/account/browser-sessions/end', { csrf_token: csrfOf(page), browser_session_id: current ?? '' });
    assert.equal(location(self), '/account/signed-out');
    assert.equal(browser.cookie('gatehouse_session'), undefined);
    assert.equal((await browser.get('/account/signed-out')).statusCode, 200);
  });

  it('"Sign out everywhere" ends every project session and every browser session of the account, this browser too', async () => {
    const email = 'everywhere@example.com';
    const userId = await person(email);
    const a = await passwordTokens(app, project, email, 'a fine passphrase');
    const b = await passwordTokens(app, project, email, 'a fine passphrase');
    const elsewhere = new Browser(app);
    await signIn(elsewhere, email);
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    const cookie = browser.cookie('gatehouse_session') ?? '';
    const out = await browser.post('/account/sign-out-everywhere', { csrf_token: csrfOf(page) });
    assert.equal(location(out), '/account/signed-out');
    assert.match(String(out.headers['set-cookie']), /^gatehouse_session=; Max-Age=0;/);
    await assertEnded(a);
    await assertEnded(b);
    assert.equal(await app.services.browserSessions.use(cookie), undefined);
    assert.equal(new URL(location(await elsewhere.get('/account')), ISSUER).pathname, '/authorize');
    assert.equal(new URL(location(await browser.get('/account')), ISSUER).pathname, '/authorize');
    assert.deepEqual(await app.services.browserSessions.listForUser(userId), []);
    const events = await audit('session.ended_by_user', userId);
    assert.deepEqual(events.map((e) => e.detail), [{ everywhere: true }]);
  });

  it('speaks the person\'s profile language, else the browser\'s (Accept-Language), else English; the notice mail too', async () => {
    const email = 'sprachen@example.com';
    const userId = await person(email);
    const browser = new Browser(app);
    const english = await signIn(browser, email);
    assert.match(english.body, /<html lang="en">/);
    const german = await app.server.inject({ method: 'GET', url: '/account', headers: { accept: 'text/html', 'accept-language': 'de-DE,de;q=0.9,en;q=0.5', cookie: `gatehouse_session=${browser.cookie('gatehouse_session') ?? ''}` } });
    assert.match(german.body, /<html lang="de">/);
    assert.match(german.body, /<h1>Ihr Konto<\/h1>/);
    assert.match(german.body, /Überall abmelden/);
    // The profile's own language wins over the browser's.
    await app.services.users.update(userId, { locale: 'es-MX' });
    const spanish = await app.server.inject({ method: 'GET', url: '/account', headers: { accept: 'text/html', 'accept-language': 'de', cookie: `gatehouse_session=${browser.cookie('gatehouse_session') ?? ''}` } });
    assert.match(spanish.body, /<html lang="es">/);
    assert.match(spanish.body, /<h1>Su cuenta<\/h1>/);
    const refused = await browser.post('/account/password', { csrf_token: csrfOf(spanish), current_password: 'not it', new_password: 'una contraseña nueva' });
    assert.equal(refused.statusCode, 401);
    assert.match(refused.body, /role="alert" id="password-error">Correo o contraseña incorrectos\./);
    await browser.post('/account/password', { csrf_token: csrfOf(spanish), current_password: 'a fine passphrase', new_password: 'una contraseña nueva' });
    const mail = smtp.to(email).at(-1);
    assert.equal(mail?.subject, 'Se cambió su contraseña');
    assert.match(mail?.html ?? '', /<html lang="es">/);
  });

  it('a member blocked in the account project is refused the page (403 Account blocked) and keeps their other applications', async () => {
    const email = 'blocked-account@example.com';
    const userId = await person(email);
    const browser = new Browser(app);
    await signIn(browser, email);
    await app.services.users.setBlocked('account', userId, true);
    const refused = await browser.get('/account');
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /Account blocked/);
    await passwordTokens(app, project, email, 'a fine passphrase');
  });

  it('"Send the link again" while the email is not verified: 303 with a notice, a link that only verifies, 3 an hour per address, then 429 on the page', async () => {
    const email = 'resend@example.com';
    const userId = await person(email);
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    assert.match(page.body, /resend@example\.com <strong>\(not verified\)<\/strong>/);
    assert.match(page.body, /<form method="post" action="\/account\/email\/resend">/);
    for (let i = 1; i <= 3; i++) {
      const sent = await browser.post('/account/email/resend', { csrf_token: csrfOf(page) });
      assert.equal(location(sent), '/account?notice=verification_sent');
      await waitForMail(smtp, email, i);
    }
    assert.match((await browser.get('/account?notice=verification_sent')).body, /role="status">We sent a new verification link to your address\./);
    const spent = await browser.post('/account/email/resend', { csrf_token: csrfOf(page) });
    assert.equal(spent.statusCode, 429);
    assert.match(spent.body, /<p class="error" role="alert" id="email-error">Rate limited\./);
    // Each mail is sent before the answer (login/verify-email/routes.ts), so none can be on its way.
    assert.equal(smtp.to(email).length, 3, 'no fourth mail');

    // The link verifies and signs nothing in; then the page shows the address verified, without the button.
    const used = await app.server.inject({ method: 'POST', url: '/verify-email', payload: { token: linkToken(smtp.to(email)[2] ?? assert.fail('no mail'), '/verify-email') } });
    assert.deepEqual([used.statusCode, used.json()], [200, { verified: true }]);
    assert.equal(used.headers['set-cookie'], undefined);
    const verified = await browser.get('/account');
    assert.match(verified.body, /resend@example\.com <strong>\(verified\)<\/strong>/);
    assert.doesNotMatch(verified.body, /action="\/account\/email\/resend"/);
    assert.equal((await app.services.users.find(userId))?.user.email_verified, true);
    // An old tab's button: nothing to send.
    assert.equal(location(await browser.post('/account/email/resend', { csrf_token: csrfOf(page) })), '/account?notice=already_verified');
    assert.equal(smtp.to(email).length, 3);
  });

  it('an email change: an invalid address is 400 Invalid request, a wrong password 401 Invalid credentials (the account\'s failure budget, then 429), on the page; nothing is mailed', async () => {
    const email = 'wrongpass@example.com';
    const userId = await person(email);
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    assert.match(page.body, /id="new-email" name="new_email" type="email" autocomplete="email"/);
    assert.match(page.body, /id="email-current-password" name="current_password" type="password" autocomplete="current-password"/);
    const invalid = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'not an address', current_password: 'a fine passphrase' });
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.body, /role="alert" id="email-error">Invalid request\./);
    assert.match(invalid.body, /value="not an address"/, 'the form keeps what was typed');
    for (let i = 1; i <= 4; i++) {
      const wrong = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'elsewhere@example.com', current_password: `not it ${i}` });
      assert.equal(wrong.statusCode, 401, wrong.body);
      assert.match(wrong.body, /role="alert" id="email-error">Invalid credentials\./);
    }
    // The budget is the one /login and the password form spend (GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT=4): spent, even the right password is refused.
    const spent = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'elsewhere@example.com', current_password: 'a fine passphrase' });
    assert.equal(spent.statusCode, 429);
    assert.equal((await app.services.users.find(userId))?.user.email, email);
    assert.equal(smtp.to('elsewhere@example.com').length, 0);
    const failures = await audit('email.change_requested', userId);
    assert.equal(failures.length, 4);
    assert.ok(failures.every((e) => e.outcome === 'failure'));
  });

  it('an email change: the link goes to the new address; posting it switches the email, verified, mails the old address; audit once each; a taken address is 409', async () => {
    const email = 'moving@example.com';
    const userId = await person(email);
    await person('taken@example.com');
    const browser = new Browser(app);
    const page = await signIn(browser, email);
    const taken = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'taken@example.com', current_password: 'a fine passphrase' });
    assert.equal(taken.statusCode, 409);
    assert.match(taken.body, /role="alert" id="email-error">Email already registered\./);

    const asked = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'Moved@example.com', current_password: 'a fine passphrase' });
    assert.equal(location(asked), '/account?notice=email_change_sent');
    assert.match((await browser.get('/account?notice=email_change_sent')).body, /role="status">We sent a link to your new address\./);
    assert.equal((await app.services.users.find(userId))?.user.email, email, 'nothing changes before the link is used');
    const token = linkToken(await waitForMail(smtp, 'Moved@example.com', 1), '/verify-email');
    const used = await browser.post('/verify-email', { token });
    assert.equal(used.statusCode, 200, used.body);
    assert.match(used.body, /Email verified/);
    const changed = await app.services.users.find(userId);
    assert.equal(changed?.user.email, 'Moved@example.com');
    assert.equal(changed?.user.email_verified, true);
    const notice = await waitForMail(smtp, email, 1);
    assert.equal(notice.subject, 'Your email address was changed');
    assert.match(notice.text, /Moved@example\.com/);
    assert.match((await browser.get('/account')).body, /Moved@example\.com <strong>\(verified\)<\/strong>/);
    const requested = await audit('email.change_requested', userId);
    assert.deepEqual(requested.map((e) => [e.outcome, (e.detail as { new_email?: string }).new_email]), [['success', 'Moved@example.com']]);
    const switched = await audit('email.changed', userId);
    assert.deepEqual(switched.map((e) => e.detail), [{ old_email: email, new_email: 'Moved@example.com' }]);
    await passwordTokens(app, project, 'moved@example.com', 'a fine passphrase');

    // Taken meanwhile: the link answers 409 and the account keeps its address.
    const again = await browser.get('/account');
    assert.equal(location(await browser.post('/account/email', { csrf_token: csrfOf(again), new_email: 'wanted-later@example.com', current_password: 'a fine passphrase' })), '/account?notice=email_change_sent');
    const late = linkToken(await waitForMail(smtp, 'wanted-later@example.com', 1), '/verify-email');
    await person('wanted-later@example.com');
    const conflict = await browser.post('/verify-email', { token: late });
    assert.equal(conflict.statusCode, 409);
    assert.match(conflict.body, /Email already registered/);
    assert.equal((await app.services.users.find(userId))?.user.email, 'Moved@example.com');
    assert.equal((await audit('email.changed', userId)).length, 1);
  });

  it('an account without a password changes its email within 5 minutes of signing in; later the page asks to sign in again', async () => {
    const email = 'nopass-mover@example.com';
    const user = await passwordlessPerson(email);
    const browser = new Browser(app);
    const page = await linkSignIn(browser, email);
    assert.doesNotMatch(page.body, /id="email-current-password"/);
    assert.match(page.body, /you can change your email within five minutes of signing in/);
    const early = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'nopass-first@example.com' });
    assert.equal(location(early), '/account?notice=email_change_sent');
    await waitForMail(smtp, 'nopass-first@example.com', 1);

    app.clock.advance(5 * 60 * 1000 + 1);
    const late = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'nopass-second@example.com' });
    assert.equal(late.statusCode, 401);
    assert.match(late.body, /role="alert" id="email-error">Sign in again to change your email\. <a href="\/account\/sign-in-again">Sign in again<\/a>/);
    assert.match(late.body, /value="nopass-second@example\.com"/);
    assert.equal(smtp.to('nopass-second@example.com').length, 0);
    const fresh = await linkSignIn(browser, email, '/account/sign-in-again');
    assert.equal(location(await browser.post('/account/email', { csrf_token: csrfOf(fresh), new_email: 'nopass-second@example.com' })), '/account?notice=email_change_sent');
    const token = linkToken(await waitForMail(smtp, 'nopass-second@example.com', 1), '/verify-email');
    assert.equal((await browser.post('/verify-email', { token })).statusCode, 200);
    assert.equal((await app.services.users.find(user.id))?.user.email, 'nopass-second@example.com');
  });
});
