// mfa.md "Per project": a person with no second factor signing in to a require_mfa project on the
// hosted page is led through adding the authenticator app or a passkey there, then goes on to the
// app with a code; JSON stays 403 MFA enrollment required.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { authParams, createProject, createUser, exchangeCode, post, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { Browser } from './support/cookie-browser.ts';
import { totpNow } from './support/totp.ts';
import { newCredential, registrationResponse } from './support/webauthn.ts';

const PASSWORD = 'a passphrase for enrolment';
const RP = { origin: ISSUER, rpId: new URL(ISSUER).hostname };

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe(`enrolment at sign-in for require_mfa on ${testBackend}`, () => {
  let app: TestApp;
  let strict: TestProject;
  const pkce = pkcePair();

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000' } });
    strict = await createProject(app);
    await app.services.projects.update(strict.id, { require_mfa: true });
  });
  after(() => app.close());

  const params = () => ({ ...authParams(strict.id, pkce.challenge), nonce: 'n' }) as Record<string, string>;
  const tokenOf = (page: LightMyRequestResponse) => /name="enrol_token" value="([^"]+)"/.exec(page.body)?.[1] ?? assert.fail(`no enrolment token in ${page.body.slice(0, 300)}`);
  const keyOf = (page: LightMyRequestResponse) => (/Key: ([A-Z2-7 ]+)</.exec(page.body)?.[1] ?? assert.fail('no key')).replace(/ /g, '');

  async function enrolmentPage(browser: Browser, email: string): Promise<LightMyRequestResponse> {
    const page = await browser.post('/login', { ...params(), email, password: PASSWORD });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Set up two-step verification/);
    return page;
  }

  it('JSON keeps 403 MFA enrollment required', async () => {
    await createUser(app, 'json@example.com', PASSWORD);
    const res = await post(app, '/login', { ...params(), email: 'json@example.com', password: PASSWORD });
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'MFA enrollment required' }]);
  });

  it('the hosted page leads through the authenticator app: a wrong code is refused, the right one shows the recovery codes, Continue goes on to the app', async () => {
    const id = await createUser(app, 'totp@example.com', PASSWORD);
    const browser = new Browser(app);
    const page = await enrolmentPage(browser, 'totp@example.com');
    assert.match(page.body, /<img class="qr" src="data:image\/svg\+xml;base64,/);
    assert.match(page.body, /action="\/login\/mfa\/enroll\/passkey"/);
    const token = tokenOf(page);
    const secret = keyOf(page);
    const early = await browser.post('/login/mfa/enroll/continue', { enrol_token: token });
    assert.equal(early.statusCode, 400, 'nothing was added yet');
    const wrong = await browser.post('/login/mfa/enroll/totp', { enrol_token: token, code: totpNow(secret, app.clock.now(), 5) });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /Invalid code/);
    assert.equal(keyOf(wrong), secret, 'the same secret is shown again');
    const right = await browser.post('/login/mfa/enroll/totp', { enrol_token: token, code: totpNow(secret, app.clock.now()) });
    assert.equal(right.statusCode, 200, right.body);
    assert.equal([...right.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].length, 10);
    assert.deepEqual(await app.services.secondFactors.summary(id), { totp: true, passkeys: 0, recovery_codes_left: 10 });
    const again = await browser.post('/login/mfa/enroll/totp', { enrol_token: token, code: totpNow(secret, app.clock.now() + 30_000) });
    assert.equal(again.statusCode, 400, 'one factor per enrolment token');
    const continued = await browser.post('/login/mfa/enroll/continue', { enrol_token: token });
    assert.equal(continued.statusCode, 303, continued.body);
    const target = new URL(String(continued.headers.location));
    assert.equal(`${target.origin}${target.pathname}`, REDIRECT_URI);
    assert.match(String(continued.headers['set-cookie']), /gatehouse_session=/);
    const tokens = await exchangeCode(app, strict, target.searchParams.get('code') ?? '', pkce.verifier);
    assert.deepEqual(claimsOf(tokens.id_token ?? '').amr, ['pwd', 'otp', 'mfa']);
    assert.equal((await browser.post('/login/mfa/enroll/continue', { enrol_token: token })).statusCode, 400, 'used once');
  });

  it('or through a passkey: the options for the enrolment token, the registration, then Continue with amr pwd hwk mfa', async () => {
    const id = await createUser(app, 'passkey@example.com', PASSWORD);
    const browser = new Browser(app);
    const page = await enrolmentPage(browser, 'passkey@example.com');
    const token = tokenOf(page);
    const options = await browser.post('/login/mfa/enroll/passkey/options', { enrol_token: token });
    assert.equal(options.statusCode, 200, options.body);
    const json = options.json<{ challenge: string; user: { id: string } }>();
    const credential = newCredential(Buffer.from(json.user.id, 'base64url'));
    const added = await browser.post('/login/mfa/enroll/passkey', { enrol_token: token, name: 'Phone', registration_response: JSON.stringify(registrationResponse(credential, json.challenge, RP)) });
    assert.equal(added.statusCode, 200, added.body);
    assert.equal((await app.services.secondFactors.summary(id)).passkeys, 1);
    const continued = await browser.post('/login/mfa/enroll/continue', { enrol_token: token });
    assert.equal(continued.statusCode, 303);
    const code = new URL(String(continued.headers.location)).searchParams.get('code') ?? '';
    assert.deepEqual(claimsOf((await exchangeCode(app, strict, code, pkce.verifier)).id_token ?? '').amr, ['pwd', 'hwk', 'mfa']);
  });

  it('a new account registered on the hosted page of a require_mfa project is led through enrolment too (JSON: 403)', async () => {
    const page = await new Browser(app).post('/register', { ...params(), email: 'new@example.com', password: PASSWORD });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Set up two-step verification/);
    assert.ok(tokenOf(page));
    const json = await post(app, '/register', { ...params(), email: 'new-json@example.com', password: PASSWORD });
    assert.deepEqual([json.statusCode, json.json()], [403, { error: 'MFA enrollment required' }]);
    assert.ok(await app.services.users.findByEmail('new-json@example.com'), 'the account stands');
  });

  it('a browser session without a second factor opening a require_mfa project is led through enrolment at /authorize', async () => {
    const open = await createProject(app);
    await createUser(app, 'sso@example.com', PASSWORD);
    const browser = new Browser(app);
    const signedIn = await browser.post('/login', { ...authParams(open.id, pkce.challenge), email: 'sso@example.com', password: PASSWORD });
    assert.equal(signedIn.statusCode, 303, signedIn.body);
    const page = await browser.get(`/authorize?${new URLSearchParams(params()).toString()}`);
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Set up two-step verification/);
    assert.ok(tokenOf(page));
  });

  it('an unknown enrolment token answers 400 Invalid or expired token', async () => {
    const res = await new Browser(app).post('/login/mfa/enroll/totp', { enrol_token: 'nonsense', code: '123456' });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Invalid or expired token/);
    assert.equal((await post(app, '/login/mfa/enroll/passkey/options', { enrol_token: 'nonsense' })).json<{ error: string }>().error, 'Invalid or expired token');
  });
});
