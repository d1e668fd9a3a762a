// mfa.md "Signing in with them": the second step after the first factor, POST /login/mfa, its
// limits and the amr of what was used.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { authParams, createProject, createUser, exchangeCode, post, postForm, type TestProject } from './support/flow.ts';
import { totpNow } from './support/totp.ts';
import { linkToken, waitForMail } from './support/account-mail.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const PASSWORD = 'difference engine 1822 babbage';

interface SecondStep {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe(`the second step on ${testBackend}`, () => {
  let app: TestApp;
  let project: TestProject;
  let secret: string;
  let recovery: string[];
  let userId: string;
  let ip = 0;
  const nextIp = () => `10.1.0.${++ip}`;
  const pkce = pkcePair();

  /** A person with a confirmed TOTP, as the account page leaves them. */
  async function personWithTotp(email: string): Promise<{ id: string; secret: string; recovery: string[] }> {
    const id = await createUser(app, email, PASSWORD);
    const begun = await app.services.secondFactors.beginTotp(id);
    const confirmed = await app.services.secondFactors.confirmTotp(id, totpNow(begun.secret, app.clock.now()));
    assert.ok(confirmed);
    return { id, secret: begun.secret, recovery: confirmed.recoveryCodes ?? [] };
  }

  const login = (email: string, extra: Record<string, string> = {}) =>
    post(app, '/login', { ...authParams(project.id, pkce.challenge, { nonce: 'n-1' }), email, password: PASSWORD, ...extra }, { 'x-forwarded-for': nextIp() });

  async function firstStep(email = 'ada@example.com'): Promise<SecondStep> {
    const res = await login(email);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<SecondStep>();
  }

  /** The next 30-second step, so that a fresh TOTP code is not the one accepted last. */
  function freshCode(s = secret): string {
    app.clock.advance(30_000);
    return totpNow(s, app.clock.now());
  }

  const mfa = (payload: Record<string, string>) => post(app, '/login/mfa', payload, { 'x-forwarded-for': nextIp() });

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    ({ id: userId, secret, recovery } = await personWithTotp('ada@example.com'));
  });
  after(() => app.close());

  it('a person without a second factor signs in with the password alone, as before', async () => {
    await createUser(app, 'plain@example.com', PASSWORD);
    const res = await login('plain@example.com');
    assert.equal(res.statusCode, 200);
    assert.ok(res.json<{ code: string }>().code);
  });

  it('the password of a person with TOTP answers 200 mfa_required with an opaque mfa_token and the methods, no code, no cookie', async () => {
    const res = await login('ada@example.com');
    assert.equal(res.statusCode, 200);
    const body = res.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body).sort(), ['methods', 'mfa_required', 'mfa_token']);
    assert.equal(body.mfa_required, true);
    assert.deepEqual(body.methods, ['totp', 'recovery_code']);
    assert.match(String(body.mfa_token), /^[A-Za-z0-9_-]{43,}$/);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('a right TOTP code answers the normal login answer; the tokens carry amr pwd, otp, mfa', async () => {
    const step = await firstStep();
    const res = await mfa({ mfa_token: step.mfa_token, totp_code: freshCode() });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ redirect_to: string; code: string; state: string }>();
    assert.equal(body.state, 'xyz');
    assert.ok(body.redirect_to.startsWith('https://app.example.com/callback?code='));
    assert.ok(String(res.headers['set-cookie']).includes('gatehouse_session='));
    const tokens = await exchangeCode(app, project, body.code, pkce.verifier);
    const id = claimsOf(tokens.id_token ?? '');
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(id.nonce, 'n-1');
    assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'otp', 'mfa']);
    // The browser session remembers them.
    const sessions = await app.services.browserSessions.listForUser(userId);
    assert.deepEqual(sessions[0]?.amr, ['pwd', 'otp', 'mfa']);
  });

  it('the mfa_token is single use', async () => {
    const step = await firstStep();
    assert.equal((await mfa({ mfa_token: step.mfa_token, totp_code: freshCode() })).statusCode, 200);
    const again = await mfa({ mfa_token: step.mfa_token, totp_code: freshCode() });
    assert.deepEqual([again.statusCode, again.json()], [400, { error: 'Invalid or expired token' }]);
  });

  it('an unknown mfa_token answers 400 Invalid or expired token; a missing field 400 Missing required fields', async () => {
    const unknown = await mfa({ mfa_token: 'no-such-token', totp_code: '123456' });
    assert.deepEqual([unknown.statusCode, unknown.json()], [400, { error: 'Invalid or expired token' }]);
    const step = await firstStep();
    const noCode = await mfa({ mfa_token: step.mfa_token });
    assert.deepEqual([noCode.statusCode, noCode.json()], [400, { error: 'Missing required fields' }]);
    const noToken = await mfa({ totp_code: '123456' });
    assert.deepEqual([noToken.statusCode, noToken.json()], [400, { error: 'Missing required fields' }]);
  });

  it('an mfa_token lives 5 minutes', async () => {
    const step = await firstStep();
    app.clock.advance(5 * 60_000 + 1);
    const res = await mfa({ mfa_token: step.mfa_token, totp_code: totpNow(secret, app.clock.now()) });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid or expired token' }]);
  });

  it('a wrong code answers 401 Invalid code and the token still works; a code already accepted is a wrong code', async () => {
    const step = await firstStep();
    const wrong = await mfa({ mfa_token: step.mfa_token, totp_code: '000000' === totpNow(secret, app.clock.now()) ? '111111' : '000000' });
    assert.deepEqual([wrong.statusCode, wrong.json()], [401, { error: 'Invalid code' }]);
    const code = freshCode();
    assert.equal((await mfa({ mfa_token: step.mfa_token, totp_code: code })).statusCode, 200);
    const replay = await mfa({ mfa_token: (await firstStep()).mfa_token, totp_code: code });
    assert.deepEqual([replay.statusCode, replay.json()], [401, { error: 'Invalid code' }]);
    const events = await app.services.database.db.selectFrom('audit_events').select(['type', 'subject']).where('type', '=', 'mfa.failed').execute();
    assert.ok(events.length >= 2 && events.every((e) => e.subject === userId));
  });

  it('five wrong codes end the mfa_token', async () => {
    app.clock.advance(16 * 60_000);
    const step = await firstStep();
    for (let i = 0; i < 5; i++) assert.equal((await mfa({ mfa_token: step.mfa_token, totp_code: 'abcdef' })).statusCode, 401);
    const res = await mfa({ mfa_token: step.mfa_token, totp_code: freshCode() });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid or expired token' }]);
  });

  it('a recovery code finishes the second step once; the amr is pwd, otp, mfa', async () => {
    const step = await firstStep();
    const res = await mfa({ mfa_token: step.mfa_token, recovery_code: recovery[0]! });
    assert.equal(res.statusCode, 200, res.body);
    const used = await app.services.database.db.selectFrom('audit_events').select('detail').where('type', '=', 'mfa.recovery_code_used').executeTakeFirst();
    assert.deepEqual(JSON.parse(used?.detail ?? '{}'), { recovery_codes_left: 9 });
    const again = await mfa({ mfa_token: (await firstStep()).mfa_token, recovery_code: recovery[0]! });
    assert.deepEqual([again.statusCode, again.json()], [401, { error: 'Invalid code' }]);
  });

  it('of ten parallel posts of one mfa_token with right codes exactly one gets a code', async () => {
    const step = await firstStep();
    const codes = recovery.slice(1, 9);
    const results = await Promise.all(codes.map((code) => mfa({ mfa_token: step.mfa_token, recovery_code: code })));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    for (const r of results.filter((r) => r.statusCode !== 200)) assert.deepEqual([r.statusCode, r.json()], [400, { error: 'Invalid or expired token' }]);
  });

  it('ten wrong codes for one account answer 429 Rate limited, whatever the token; the password is not locked, nor another account', async () => {
    app.clock.advance(16 * 60_000);
    const { secret: s } = await personWithTotp('grace@example.com');
    let wrong = 0;
    while (wrong < 10) {
      const step = await firstStep('grace@example.com');
      for (let i = 0; i < 4 && wrong < 10; i++, wrong++) assert.equal((await mfa({ mfa_token: step.mfa_token, totp_code: '99999x' })).statusCode, 401);
    }
    const step = await firstStep('grace@example.com');
    const limited = await mfa({ mfa_token: step.mfa_token, totp_code: freshCode(s) });
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
    // The password still works: its pool is another one.
    assert.equal((await login('grace@example.com')).statusCode, 200);
    // Another account's second step is not limited.
    assert.equal((await mfa({ mfa_token: (await firstStep()).mfa_token, totp_code: freshCode() })).statusCode, 200);
  });

  it('the hosted page shows the second step and its post goes on to the app', async () => {
    const page = { accept: 'text/html', 'x-forwarded-for': '' };
    const res = await postForm(app, '/login', { ...authParams(project.id, pkce.challenge, { ui_locales: 'de' }), email: 'ada@example.com', password: PASSWORD }, { ...page, 'x-forwarded-for': nextIp() });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<html lang="de">/);
    assert.match(res.body, /autocomplete="one-time-code"/);
    assert.match(res.body, /name="recovery_code"/);
    assert.match(String(res.headers['content-security-policy']), /form-action 'self' https:\/\/app\.example\.com/);
    const token = /name="mfa_token" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
    const wrong = await postForm(app, '/login/mfa', { mfa_token: token, totp_code: '000000', ui_locales: 'de' }, { ...page, 'x-forwarded-for': nextIp() });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /Ungültiger Code/);
    const done = await postForm(app, '/login/mfa', { mfa_token: token, totp_code: freshCode() }, { ...page, 'x-forwarded-for': nextIp() });
    assert.equal(done.statusCode, 303);
    assert.ok(String(done.headers.location).startsWith('https://app.example.com/callback?code='));
  });
});

describe(`the second step after a magic link and a password reset on ${testBackend}`, () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let secret: string;
  const pkce = pkcePair();

  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_FROM: 'Gatehouse <login@gatehouse.test>', GATEHOUSE_MAIL_SENDS_PER_IP: '1000' } });
    project = await createProject(app);
    const id = await createUser(app, 'mary@example.com', PASSWORD);
    ({ secret } = await app.services.secondFactors.beginTotp(id));
    assert.ok(await app.services.secondFactors.confirmTotp(id, totpNow(secret, app.clock.now())));
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('a magic link of a person with TOTP answers the second step; the amr is magic_link, otp, mfa', async () => {
    assert.equal((await post(app, '/magic-link', { ...authParams(project.id, pkce.challenge), email: 'mary@example.com' })).statusCode, 202);
    const mail = await waitForMail(smtp, 'mary@example.com', 1);
    const used = await post(app, '/magic-link/verify', { token: magicLinkToken(mail) });
    assert.equal(used.statusCode, 200);
    const step = used.json<SecondStep>();
    assert.equal(step.mfa_required, true);
    assert.equal(used.headers['set-cookie'], undefined);
    app.clock.advance(30_000);
    const done = await post(app, '/login/mfa', { mfa_token: step.mfa_token, totp_code: totpNow(secret, app.clock.now()) });
    assert.equal(done.statusCode, 200, done.body);
    const tokens = await exchangeCode(app, project, done.json<{ code: string }>().code, pkce.verifier);
    assert.deepEqual(claimsOf(tokens.id_token ?? '').amr, ['magic_link', 'otp', 'mfa']);
  });

  it('a password reset of a person with TOTP changes the password, then answers the second step', async () => {
    assert.equal((await post(app, '/password-reset', { ...authParams(project.id, pkce.challenge), email: 'mary@example.com' })).statusCode, 202);
    const mail = await waitForMail(smtp, 'mary@example.com', 2);
    const used = await post(app, '/password-reset/verify', { token: linkToken(mail, '/password-reset/verify'), password: 'a brand new passphrase 2026' });
    assert.equal(used.statusCode, 200, used.body);
    const step = used.json<SecondStep>();
    assert.deepEqual(step.methods, ['totp', 'recovery_code']);
    app.clock.advance(30_000);
    const done = await post(app, '/login/mfa', { mfa_token: step.mfa_token, totp_code: totpNow(secret, app.clock.now()) });
    assert.equal(done.statusCode, 200, done.body);
  });

  it('a verification link that signs in (a refused sign-in to a project requiring a verified email) answers the second step too', async () => {
    const strict = await createProject(app);
    await app.services.projects.update(strict.id, { name: 'Strict App', require_verified_email: true });
    const id = await createUser(app, 'ida@example.com', PASSWORD, strict.id);
    const { secret: own } = await app.services.secondFactors.beginTotp(id);
    assert.ok(await app.services.secondFactors.confirmTotp(id, totpNow(own, app.clock.now())));
    const refused = await post(app, '/login', { ...authParams(strict.id, pkce.challenge), email: 'ida@example.com', password: PASSWORD });
    assert.deepEqual([refused.statusCode, refused.json()], [403, { error: 'Email not verified' }]);
    const used = await post(app, '/verify-email', { token: linkToken(await waitForMail(smtp, 'ida@example.com', 1), '/verify-email') });
    assert.equal(used.statusCode, 200, used.body);
    const step = used.json<SecondStep>();
    assert.deepEqual([step.mfa_required, step.methods], [true, ['totp', 'recovery_code']]);
    assert.equal(used.headers['set-cookie'], undefined, 'not signed in before the second step');
    assert.equal((await app.services.users.findByEmail('ida@example.com'))?.user.email_verified, true, 'the email is verified all the same');
    app.clock.advance(30_000);
    const done = await post(app, '/login/mfa', { mfa_token: step.mfa_token, totp_code: totpNow(own, app.clock.now()) });
    assert.equal(done.statusCode, 200, done.body);
    const tokens = await exchangeCode(app, strict, done.json<{ code: string }>().code, pkce.verifier);
    assert.deepEqual(claimsOf(tokens.id_token ?? '').amr, ['magic_link', 'otp', 'mfa']);
  });
});
