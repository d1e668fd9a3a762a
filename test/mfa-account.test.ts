// mfa.md on the account page: adding the authenticator app (QR code and key), confirming it with
// its code, the recovery codes shown once, making new ones, removing the app with a code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, ISSUER, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { createProject, createUser, type TestProject } from './support/flow.ts';
import { Browser, csrfOf, location } from './support/cookie-browser.ts';
import { totpNow } from './support/totp.ts';

const PASSWORD = 'a fine passphrase for mfa';

describe(`second factors on the account page on ${testBackend}`, () => {
  let app: TestApp;
  let project: TestProject;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000' } });
    project = await createProject(app);
  });
  after(() => app.close());

  /** GET /account's sign-in by password; with a second factor, the second step on the way. */
  async function signIn(browser: Browser, email: string, secondStep?: () => Record<string, string>): Promise<LightMyRequestResponse> {
    const authorize = new URL(location(await browser.get('/account')), ISSUER);
    assert.equal((await browser.get(`${authorize.pathname}${authorize.search}`)).statusCode, 200);
    let answer = await browser.post('/login', { ...Object.fromEntries(authorize.searchParams), email, password: PASSWORD });
    if (secondStep) {
      assert.equal(answer.statusCode, 200, answer.body);
      const token = /name="mfa_token" value="([^"]+)"/.exec(answer.body)?.[1] ?? assert.fail('no second step');
      answer = await browser.post('/login/mfa', { mfa_token: token, ...secondStep() });
    }
    assert.equal((await browser.get(location(answer).replace(ISSUER, ''))).statusCode, 303);
    return browser.get('/account');
  }

  const secretOf = (page: LightMyRequestResponse) => (/Key: ([A-Z2-7 ]+)</.exec(page.body)?.[1] ?? assert.fail('no key shown')).replace(/ /g, '');
  const recoveryOf = (page: LightMyRequestResponse) => [...page.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((m) => m[1]!);

  it('adds an authenticator app: QR code as a data: SVG image and the key; a wrong code is refused; the right one shows ten recovery codes once', async () => {
    const id = await createUser(app, 'ada@example.com', PASSWORD, project.id);
    const browser = new Browser(app);
    let page = await signIn(browser, 'ada@example.com');
    assert.match(page.body, /Two-step verification is off/);
    const started = await browser.post('/account/mfa/totp', { csrf_token: csrfOf(page) });
    assert.equal(location(started), '/account?notice=mfa_started');
    page = await browser.get('/account');
    const img = /<img class="qr" src="data:image\/svg\+xml;base64,([^"]+)"/.exec(page.body)?.[1] ?? assert.fail('no QR code');
    const svg = Buffer.from(img, 'base64').toString();
    assert.match(svg, /^<svg /);
    assert.doesNotMatch(svg, /style=|<script/i);
    assert.doesNotMatch(page.body, /style=/);
    const secret = secretOf(page);
    assert.equal(secret.length, 32);
    assert.match(String(page.headers['content-security-policy']), /img-src 'self' data:/);
    assert.deepEqual(await app.services.secondFactors.summary(id), { totp: false, passkeys: 0, recovery_codes_left: 0 });

    const wrong = await browser.post('/account/mfa/totp/confirm', { csrf_token: csrfOf(page), code: totpNow(secret, app.clock.now(), 5) });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /Invalid code/);
    const confirmed = await browser.post('/account/mfa/totp/confirm', { csrf_token: csrfOf(page), code: totpNow(secret, app.clock.now()) });
    assert.equal(confirmed.statusCode, 200);
    assert.match(confirmed.body, /The authenticator app was added/);
    const codes = recoveryOf(confirmed);
    assert.equal(codes.length, 10);
    // Shown once: the page afterwards has the count, not the codes.
    page = await browser.get('/account');
    assert.deepEqual(recoveryOf(page), []);
    assert.match(page.body, /Recovery codes left: 10/);
    const events = await app.services.database.db.selectFrom('audit_events').select('type').where('subject', '=', id).where('type', 'like', 'mfa.%').execute();
    assert.deepEqual(events.map((e) => e.type).sort(), ['mfa.added', 'mfa.failed']);

    // The next sign-in asks for the second step; a recovery code does it.
    const other = new Browser(app);
    page = await signIn(other, 'ada@example.com', () => ({ recovery_code: codes[0]! }));
    assert.match(page.body, /Recovery codes left: 9/);

    // New codes end the old ones.
    const renewed = await other.post('/account/mfa/recovery-codes', { csrf_token: csrfOf(page) });
    assert.equal(renewed.statusCode, 200);
    const fresh = recoveryOf(renewed);
    assert.equal(fresh.length, 10);
    assert.equal(await app.services.secondFactors.useRecoveryCode(id, codes[1]!), false);

    // Removing needs a code: a wrong one is refused, a recovery code works.
    const refused = await other.post('/account/mfa/totp/remove', { csrf_token: csrfOf(page), code: 'nope' });
    assert.equal(refused.statusCode, 401);
    const removed = await other.post('/account/mfa/totp/remove', { csrf_token: csrfOf(page), code: fresh[0]! });
    assert.equal(location(removed), '/account?notice=mfa_removed');
    assert.deepEqual(await app.services.secondFactors.summary(id), { totp: false, passkeys: 0, recovery_codes_left: 0 });
    const types = (await app.services.database.db.selectFrom('audit_events').select('type').where('subject', '=', id).where('type', 'like', 'mfa.%').execute()).map((e) => e.type);
    assert.ok(types.includes('mfa.removed') && types.includes('mfa.recovery_code_used'));
  });

  it('removing with a current TOTP code works; the forms need the CSRF token', async () => {
    await createUser(app, 'grace@example.com', PASSWORD, project.id);
    const browser = new Browser(app);
    let page = await signIn(browser, 'grace@example.com');
    await browser.post('/account/mfa/totp', { csrf_token: csrfOf(page) });
    page = await browser.get('/account');
    const secret = secretOf(page);
    assert.equal((await browser.post('/account/mfa/totp/confirm', { csrf_token: csrfOf(page), code: totpNow(secret, app.clock.now()) })).statusCode, 200);
    assert.equal((await browser.post('/account/mfa/totp/remove', { csrf_token: 'wrong', code: '123456' })).statusCode, 403);
    app.clock.advance(30_000);
    const removed = await browser.post('/account/mfa/totp/remove', { csrf_token: csrfOf(page), code: totpNow(secret, app.clock.now()) });
    assert.equal(location(removed), '/account?notice=mfa_removed');
  });
});
