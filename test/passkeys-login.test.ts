// mfa.md "Passkeys" over HTTP: added, renamed and removed on the account page; the second step with
// a passkey (POST /login/mfa/passkey/options, then POST /login/mfa with passkey_response); the sign-in
// with a passkey alone (POST /login/passkey/options, POST /login/passkey) and every project rule;
// the admin view and reset. Every response is a real one (test/support/webauthn.ts), verified unmocked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { testBackend } from './support/backend.ts';
import { adminToken, authParams, createProject, createUser, exchangeCode, post, type TestProject } from './support/flow.ts';
import { Browser, csrfOf, location } from './support/cookie-browser.ts';
import { authenticationResponse, newCredential, registrationResponse, type SoftCredential } from './support/webauthn.ts';

const PASSWORD = 'a passphrase before passkeys';
const RP = { origin: ISSUER, rpId: new URL(ISSUER).hostname };

interface Options {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
  userVerification?: string;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe(`passkeys over HTTP on ${testBackend}`, () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  let passkeyProject: TestProject;
  const pkce = pkcePair();

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000' } });
    admin = await adminToken(app);
    project = await createProject(app);
    passkeyProject = await createProject(app);
    await app.services.projects.update(passkeyProject.id, { login_methods: ['password', 'passkey'] });
  });
  after(() => app.close());

  /** GET /account's sign-in by password (the person has no second factor yet). */
  async function accountPage(browser: Browser, email: string): Promise<LightMyRequestResponse> {
    const authorize = new URL(location(await browser.get('/account')), ISSUER);
    assert.equal((await browser.get(`${authorize.pathname}${authorize.search}`)).statusCode, 200);
    const answer = await browser.post('/login', { ...Object.fromEntries(authorize.searchParams), email, password: PASSWORD });
    assert.equal((await browser.get(location(answer).replace(ISSUER, ''))).statusCode, 303);
    return browser.get('/account');
  }

  /** Adds a passkey through the account page as its script does: the options, then the form post. */
  async function addPasskey(browser: Browser, page: LightMyRequestResponse, userId: string, name: string): Promise<{ credential: SoftCredential; answer: LightMyRequestResponse }> {
    const options = await browser.post('/account/passkeys/options', { csrf_token: csrfOf(page) });
    assert.equal(options.statusCode, 200, options.body);
    const json = options.json<{ challenge: string; rp: { id: string }; user: { id: string }; authenticatorSelection: Record<string, unknown> }>();
    assert.equal(json.rp.id, 'gatehouse.test');
    assert.deepEqual([json.authenticatorSelection.residentKey, json.authenticatorSelection.userVerification], ['required', 'required']);
    const credential = newCredential(Buffer.from(json.user.id, 'base64url'));
    assert.equal(credential.userHandle.toString('utf8'), userId);
    const answer = await browser.post('/account/passkeys', { csrf_token: csrfOf(page), name, registration_response: JSON.stringify(registrationResponse(credential, json.challenge, RP)) });
    return { credential, answer };
  }

  async function personWithPasskey(email: string, projectId = passkeyProject.id): Promise<{ id: string; credential: SoftCredential }> {
    const id = await createUser(app, email, PASSWORD, projectId);
    const browser = new Browser(app);
    const page = await accountPage(browser, email);
    const { credential, answer } = await addPasskey(browser, page, id, 'Phone');
    assert.equal(answer.statusCode, 200, answer.body);
    return { id, credential };
  }

  const loginParams = (projectId: string, extra: Record<string, string> = {}) => ({ ...authParams(projectId, pkce.challenge, { nonce: 'n-1' }), ...extra });

  async function signInOptions(projectId: string): Promise<Options> {
    const res = await post(app, '/login/passkey/options', loginParams(projectId));
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Options>();
  }

  it('the account page adds a passkey: the first makes ten recovery codes, shown once; it is listed, renamed and audited', async () => {
    const id = await createUser(app, 'ada@example.com', PASSWORD, project.id);
    const browser = new Browser(app);
    let page = await accountPage(browser, 'ada@example.com');
    assert.match(page.body, /<script src="\/assets\/passkeys\.js" defer><\/script>/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(page.body, /<script>/, 'no inline script');
    const { answer } = await addPasskey(browser, page, id, 'Work laptop');
    assert.equal(answer.statusCode, 200, answer.body);
    assert.match(answer.body, /The passkey was added/);
    assert.equal([...answer.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].length, 10);
    assert.deepEqual(await app.services.secondFactors.summary(id), { totp: false, passkeys: 1, recovery_codes_left: 10 });
    page = await browser.get('/account');
    assert.match(page.body, /<strong>Work laptop<\/strong>: added 2026-01-01/);
    assert.doesNotMatch(page.body, /<li><code>/, 'the codes are shown once');

    const second = await addPasskey(browser, page, id, 'Phone');
    assert.equal(location(second.answer), '/account?notice=passkey_added');
    const [first] = await app.services.passkeys.listForUser(id);
    const renamed = await browser.post('/account/passkeys/rename', { csrf_token: csrfOf(page), passkey_id: first!.id, name: 'Old laptop' });
    assert.equal(location(renamed), '/account?notice=passkey_renamed');
    assert.equal((await app.services.passkeys.find(first!.id))?.name, 'Old laptop');
    const events = await app.services.database.db.selectFrom('audit_events').select(['type', 'outcome']).where('subject', '=', id).where('type', 'like', 'passkey.%').execute();
    assert.deepEqual(events.map((e) => `${e.type} ${e.outcome}`).sort(), ['passkey.added success', 'passkey.added success', 'passkey.renamed success']);
  });

  it('the account page refuses a registration answered for another RP ID, a reused challenge, an empty name, and a wrong CSRF token', async () => {
    const id = await createUser(app, 'refused@example.com', PASSWORD, project.id);
    const browser = new Browser(app);
    const page = await accountPage(browser, 'refused@example.com');
    const options = (await browser.post('/account/passkeys/options', { csrf_token: csrfOf(page) })).json<Options>();
    const elsewhere = await browser.post('/account/passkeys', { csrf_token: csrfOf(page), name: 'X', registration_response: JSON.stringify(registrationResponse(newCredential(id), options.challenge, { ...RP, rpId: 'evil.example' })) });
    assert.equal(elsewhere.statusCode, 400);
    assert.match(elsewhere.body, /The passkey could not be verified/);
    const again = await browser.post('/account/passkeys', { csrf_token: csrfOf(page), name: 'X', registration_response: JSON.stringify(registrationResponse(newCredential(id), options.challenge, RP)) });
    assert.equal(again.statusCode, 400, 'the challenge was spent by the refused answer');
    const fresh = (await browser.post('/account/passkeys/options', { csrf_token: csrfOf(page) })).json<Options>();
    const unnamed = await browser.post('/account/passkeys', { csrf_token: csrfOf(page), name: '  ', registration_response: JSON.stringify(registrationResponse(newCredential(id), fresh.challenge, RP)) });
    assert.equal(unnamed.statusCode, 400);
    assert.equal((await browser.post('/account/passkeys/options', { csrf_token: 'wrong' })).statusCode, 403);
    assert.equal((await browser.post('/account/passkeys/options', { csrf_token: csrfOf(page) }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).statusCode, 403);
    assert.equal((await app.services.secondFactors.summary(id)).passkeys, 0);
  });

  it('a person with a passkey gets "passkey" among the methods; the second step with it answers a code whose amr is pwd hwk mfa', async () => {
    const { credential } = await personWithPasskey('second@example.com', project.id);
    const first = await post(app, '/login', { ...loginParams(project.id), email: 'second@example.com', password: PASSWORD });
    const step = first.json<{ mfa_token: string; methods: string[] }>();
    assert.deepEqual(step.methods, ['passkey', 'recovery_code']);
    const options = await post(app, '/login/mfa/passkey/options', { mfa_token: step.mfa_token });
    assert.equal(options.statusCode, 200, options.body);
    const json = options.json<Options>();
    assert.deepEqual(json.allowCredentials?.map((c) => c.id), [credential.id.toString('base64url')]);
    assert.equal(json.userVerification, 'required');
    const done = await post(app, '/login/mfa', { mfa_token: step.mfa_token, passkey_response: authenticationResponse(credential, json.challenge, RP) });
    assert.equal(done.statusCode, 200, done.body);
    const { code, state } = done.json<{ code: string; state: string }>();
    assert.equal(state, 'xyz');
    const tokens = await exchangeCode(app, project, code, pkce.verifier);
    assert.deepEqual(claimsOf(tokens.id_token ?? '').amr, ['pwd', 'hwk', 'mfa']);
  });

  it('a second step with a passkey of another RP ID answers 401 Invalid code and counts a failure; the mfa_token lives on', async () => {
    const { credential } = await personWithPasskey('second-bad@example.com', project.id);
    const step = (await post(app, '/login', { ...loginParams(project.id), email: 'second-bad@example.com', password: PASSWORD })).json<{ mfa_token: string }>();
    const options = (await post(app, '/login/mfa/passkey/options', { mfa_token: step.mfa_token })).json<Options>();
    const wrong = await post(app, '/login/mfa', { mfa_token: step.mfa_token, passkey_response: authenticationResponse(credential, options.challenge, { ...RP, rpId: 'evil.example' }) });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json<{ error: string }>().error, 'Invalid code');
    const retry = (await post(app, '/login/mfa/passkey/options', { mfa_token: step.mfa_token })).json<Options>();
    const right = await post(app, '/login/mfa', { mfa_token: step.mfa_token, passkey_response: authenticationResponse(credential, retry.challenge, RP) });
    assert.equal(right.statusCode, 200, right.body);
    assert.equal((await post(app, '/login/mfa/passkey/options', { mfa_token: step.mfa_token })).statusCode, 400, 'the mfa_token is used');
    assert.equal((await post(app, '/login/mfa/passkey/options', { mfa_token: 'nonsense' })).json<{ error: string }>().error, 'Invalid or expired token');
  });

  it('a project without "passkey" in login_methods answers 403 Login method not allowed, after the authorization checks', async () => {
    const options = await post(app, '/login/passkey/options', loginParams(project.id));
    assert.deepEqual([options.statusCode, options.json<{ error: string }>().error], [403, 'Login method not allowed']);
    const signIn = await post(app, '/login/passkey', { ...loginParams(project.id), passkey_response: { id: 'x' } });
    assert.deepEqual([signIn.statusCode, signIn.json<{ error: string }>().error], [403, 'Login method not allowed']);
    const badClient = await post(app, '/login/passkey/options', loginParams('no-such-project'));
    assert.equal(badClient.statusCode, 400);
  });

  it('a passkey alone signs in: redirect_to, code and state, a browser session, amr hwk; a reused challenge is refused', async () => {
    const { id, credential } = await personWithPasskey('alone@example.com');
    const options = await signInOptions(passkeyProject.id);
    assert.equal(options.allowCredentials, undefined, 'any discoverable credential');
    assert.equal(options.userVerification, 'required');
    const response = authenticationResponse(credential, options.challenge, RP);
    const res = await post(app, '/login/passkey', { ...loginParams(passkeyProject.id), passkey_response: response });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ redirect_to: string; code: string; state: string }>();
    assert.deepEqual(Object.keys(body).sort(), ['code', 'redirect_to', 'state']);
    assert.match(String(res.headers['set-cookie']), /gatehouse_session=/);
    const tokens = await exchangeCode(app, passkeyProject, body.code, pkce.verifier);
    const claims = claimsOf(tokens.id_token ?? '');
    assert.deepEqual([claims.sub, claims.amr], [id, ['hwk']]);
    const replay = await post(app, '/login/passkey', { ...loginParams(passkeyProject.id), passkey_response: response });
    assert.deepEqual([replay.statusCode, replay.json<{ error: string }>().error], [401, 'Invalid credentials']);
    const missing = await post(app, '/login/passkey', loginParams(passkeyProject.id));
    assert.deepEqual([missing.statusCode, missing.json<{ error: string }>().error], [400, 'Missing required fields']);
  });

  it('one challenge answered twice at once: one sign-in, one 401', async () => {
    const { credential } = await personWithPasskey('race@example.com');
    const options = await signInOptions(passkeyProject.id);
    const a = authenticationResponse(credential, options.challenge, RP);
    const b = authenticationResponse(credential, options.challenge, RP);
    const answers = await Promise.all([a, b].map((response) => post(app, '/login/passkey', { ...loginParams(passkeyProject.id), passkey_response: response })));
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 401]);
  });

  it('a challenge made for another project, for another RP ID or without user verification is refused', async () => {
    const { credential } = await personWithPasskey('rules@example.com');
    const other = await createProject(app);
    await app.services.projects.update(other.id, { login_methods: ['passkey'] });
    const forOther = await signInOptions(other.id);
    const crossed = await post(app, '/login/passkey', { ...loginParams(passkeyProject.id), passkey_response: authenticationResponse(credential, forOther.challenge, RP) });
    assert.equal(crossed.statusCode, 401);
    for (const ceremony of [{ ...RP, rpId: 'evil.example' }, { ...RP, userVerified: false }]) {
      const options = await signInOptions(passkeyProject.id);
      const refused = await post(app, '/login/passkey', { ...loginParams(passkeyProject.id), passkey_response: authenticationResponse(credential, options.challenge, ceremony) });
      assert.equal(refused.statusCode, 401, JSON.stringify(ceremony));
    }
  });

  it('every project rule applies: blocked, not a member of a closed project, an unverified email where it is required', async () => {
    const { id, credential } = await personWithPasskey('ruled@example.com');
    const use = async (projectId: string) =>
      post(app, '/login/passkey', { ...loginParams(projectId), passkey_response: authenticationResponse(credential, (await signInOptions(projectId)).challenge, RP) });
    await app.services.users.setBlocked(passkeyProject.id, id, true);
    assert.deepEqual([(await use(passkeyProject.id)).statusCode, (await use(passkeyProject.id)).json<{ error: string }>().error], [403, 'Account blocked']);
    await app.services.users.setBlocked(passkeyProject.id, id, false);
    const closed = await createProject(app, { registrationOpen: false });
    await app.services.projects.update(closed.id, { login_methods: ['passkey'] });
    assert.equal((await use(closed.id)).json<{ error: string }>().error, 'Not a member');
    const verified = await createProject(app);
    await app.services.projects.update(verified.id, { login_methods: ['passkey'], require_verified_email: true });
    assert.equal((await use(verified.id)).json<{ error: string }>().error, 'Email not verified');
  });

  it('a passkey alone counts as two factors: a require_mfa project gets a code without a second step', async () => {
    const { credential } = await personWithPasskey('strict@example.com');
    const strict = await createProject(app);
    await app.services.projects.update(strict.id, { login_methods: ['password', 'passkey'], require_mfa: true });
    const res = await post(app, '/login/passkey', { ...loginParams(strict.id), passkey_response: authenticationResponse(credential, (await signInOptions(strict.id)).challenge, RP) });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.json<{ code: string }>().code);
  });

  it('the admin API counts the passkeys, and DELETE /admin/users/:id/mfa removes them too', async () => {
    const { id } = await personWithPasskey('admin-view@example.com');
    const shown = await call(app, admin, 'GET', `/admin/users/${id}`);
    assert.deepEqual(shown.json<{ mfa: unknown }>().mfa, { totp: false, passkeys: 1, recovery_codes_left: 10 });
    assert.equal((await call(app, admin, 'DELETE', `/admin/users/${id}/mfa`)).statusCode, 204);
    assert.deepEqual((await call(app, admin, 'GET', `/admin/users/${id}`)).json<{ mfa: unknown }>().mfa, { totp: false, passkeys: 0, recovery_codes_left: 0 });
  });

  it('removing the last passkey on the account page takes the recovery codes with it, audited', async () => {
    const id = await createUser(app, 'remove@example.com', PASSWORD, project.id);
    const browser = new Browser(app);
    const page = await accountPage(browser, 'remove@example.com');
    await addPasskey(browser, page, id, 'Phone');
    const [passkey] = await app.services.passkeys.listForUser(id);
    const removed = await browser.post('/account/passkeys/remove', { csrf_token: csrfOf(page), passkey_id: passkey!.id });
    assert.equal(location(removed), '/account?notice=passkey_removed');
    assert.deepEqual(await app.services.secondFactors.summary(id), { totp: false, passkeys: 0, recovery_codes_left: 0 });
    const again = await browser.post('/account/passkeys/remove', { csrf_token: csrfOf(page), passkey_id: passkey!.id });
    assert.equal(location(again), '/account?notice=already_ended');
    const events = await app.services.database.db.selectFrom('audit_events').select('type').where('subject', '=', id).where('type', '=', 'passkey.removed').execute();
    assert.equal(events.length, 1);
  });

  it('serves the one page script, bundled with @simplewebauthn/browser', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/assets/passkeys.js' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript/);
    assert.match(res.body, /navigator\.credentials/);
    assert.match(res.body, /data-passkey|dataset/);
  });
});

describe(`passkey sign-in challenges are limited per address on ${testBackend}`, () => {
  let app: TestApp;
  let project: TestProject;
  const pkce = pkcePair();

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_PASSKEY_CHALLENGES_PER_IP: '3', GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    await app.services.projects.update(project.id, { login_methods: ['password', 'passkey'] });
  });
  after(() => app.close());

  const options = (ip: string) =>
    app.server.inject({ method: 'POST', url: '/login/passkey/options', headers: { 'x-forwarded-for': ip }, payload: authParams(project.id, pkce.challenge) });

  it('the 4th challenge of an address in a minute answers 429 Rate limited, recorded once; another address goes on', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await options('203.0.113.7')).statusCode, 200);
    for (let i = 0; i < 2; i++) {
      const refused = await options('203.0.113.7');
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json<{ error: string }>().error, 'Rate limited');
    }
    assert.equal((await options('203.0.113.8')).statusCode, 200, 'another address has its own count');
    const events = await app.services.database.db.selectFrom('audit_events').select(['detail', 'ip', 'project_id']).where('type', '=', 'rate_limit.refused').execute();
    assert.equal(events.length, 1, 'the window\'s first refusal is recorded, not every one');
    assert.equal(events[0]?.ip, '203.0.113.7');
    assert.equal(events[0]?.project_id, project.id);
    assert.match(String(events[0]?.detail), /passkeyChallengesPerIp/);
  });
});
