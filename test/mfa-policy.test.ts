// mfa.md "Per project" and "Admin": require_mfa (JSON refusal, SSO step-up, prompt=none) and the
// admin view and reset of a person's second factors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { testBackend } from './support/backend.ts';
import { adminToken, authParams, createProject, createUser, post, type TestProject } from './support/flow.ts';
import { authorizeInBrowser, browserSignIn } from './support/sso.ts';
import { totpNow } from './support/totp.ts';

const PASSWORD = 'a fine passphrase for policy';

describe(`require_mfa and the admin view of second factors on ${testBackend}`, () => {
  let app: TestApp;
  let admin: string;
  let open: TestProject;
  let strict: TestProject;
  const pkce = pkcePair();

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_LOGIN_FAILURES_PER_IP: '1000' } });
    admin = await adminToken(app);
    open = await createProject(app);
    strict = await createProject(app);
  });
  after(() => app.close());

  async function addTotp(userId: string): Promise<string> {
    const { secret } = await app.services.secondFactors.beginTotp(userId);
    assert.ok(await app.services.secondFactors.confirmTotp(userId, totpNow(secret, app.clock.now())));
    return secret;
  }

  it('require_mfa is a project setting of the admin API, false by default', async () => {
    const shown = await call(app, admin, 'GET', `/admin/projects/${strict.id}`);
    assert.equal(shown.json<{ require_mfa: boolean }>().require_mfa, false);
    const changed = await call(app, admin, 'PATCH', `/admin/projects/${strict.id}`, { require_mfa: true });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(changed.json<{ require_mfa: boolean }>().require_mfa, true);
    const bad = await call(app, admin, 'PATCH', `/admin/projects/${strict.id}`, { require_mfa: 'yes' });
    assert.equal(bad.statusCode, 400);
  });

  it('a JSON sign-in to a require_mfa project by a person with no second factor answers 403 MFA enrollment required', async () => {
    await createUser(app, 'plain@example.com', PASSWORD);
    const res = await post(app, '/login', { ...authParams(strict.id, pkce.challenge), email: 'plain@example.com', password: PASSWORD });
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'MFA enrollment required' }]);
    // The same person signs in to a project without the rule.
    assert.equal((await post(app, '/login', { ...authParams(open.id, pkce.challenge), email: 'plain@example.com', password: PASSWORD })).statusCode, 200);
  });

  it('a browser session without mfa is stepped up with the second step alone; prompt=none answers interaction_required', async () => {
    const id = await createUser(app, 'ada@example.com', PASSWORD);
    const { cookie } = await browserSignIn(app, open, 'ada@example.com', PASSWORD);
    const secret = await addTotp(id);
    // The open project goes on with the session as it is.
    assert.equal((await authorizeInBrowser(app, open, cookie)).statusCode, 302);
    const silent = await authorizeInBrowser(app, strict, cookie, { prompt: 'none' });
    assert.equal(silent.statusCode, 302);
    assert.equal(new URL(String(silent.headers.location)).searchParams.get('error'), 'interaction_required');
    const page = await authorizeInBrowser(app, strict, cookie);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /autocomplete="one-time-code"/);
    assert.doesNotMatch(page.body, /name="password"/);
    const token = /name="mfa_token" value="([^"]+)"/.exec(page.body)?.[1] ?? assert.fail('no mfa_token');
    app.clock.advance(30_000);
    const done = await post(app, '/login/mfa', { mfa_token: token, totp_code: totpNow(secret, app.clock.now()) });
    assert.equal(done.statusCode, 200, done.body);
    const stepped = /gatehouse_session=([^;]+);/.exec(String(done.headers['set-cookie']))?.[1] ?? assert.fail('no cookie');
    const sessions = await app.services.browserSessions.listForUser(id);
    assert.ok(sessions.some((s) => s.amr.join(' ') === 'pwd otp mfa'));
    // The stepped-up session signs in to the strict project silently.
    const again = await authorizeInBrowser(app, strict, stepped, { prompt: 'none' });
    assert.equal(again.statusCode, 302);
    assert.ok(new URL(String(again.headers.location)).searchParams.get('code'));
  });

  it('GET /admin/users/:id shows the second factors; DELETE /admin/users/:id/mfa removes them all (audit mfa.reset_by_admin)', async () => {
    const id = await createUser(app, 'grace@example.com', PASSWORD);
    const before = await call(app, admin, 'GET', `/admin/users/${id}`);
    assert.deepEqual(before.json<{ mfa: unknown }>().mfa, { totp: false, passkeys: 0, recovery_codes_left: 0 });
    await addTotp(id);
    assert.deepEqual((await call(app, admin, 'GET', `/admin/users/${id}`)).json<{ mfa: unknown }>().mfa, { totp: true, passkeys: 0, recovery_codes_left: 10 });
    const reset = await call(app, admin, 'DELETE', `/admin/users/${id}/mfa`);
    assert.equal(reset.statusCode, 204);
    assert.deepEqual((await call(app, admin, 'GET', `/admin/users/${id}`)).json<{ mfa: unknown }>().mfa, { totp: false, passkeys: 0, recovery_codes_left: 0 });
    const events = await call(app, admin, 'GET', '/admin/audit?type=mfa.reset_by_admin');
    assert.ok(events.json<{ events: Array<{ detail: { user_id: string } }> }>().events.some((e) => e.detail.user_id === id));
    assert.equal((await call(app, admin, 'DELETE', '/admin/users/no-such-user/mfa')).statusCode, 404);
    // Without a factor, the strict project refuses the JSON sign-in again.
    const res = await post(app, '/login', { ...authParams(strict.id, pkce.challenge), email: 'grace@example.com', password: PASSWORD });
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'MFA enrollment required' }]);
  });
});
