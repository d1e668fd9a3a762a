import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '../src/users/users.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, createProject, passwordTokens, post, refresh, type TestProject } from './support/flow.ts';

describe('admin API: users', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    project = await createProject(app, { registrationOpen: true });
  });
  after(() => app.close());

  async function createUserViaApi(body: object): Promise<User> {
    const res = await call(app, admin, 'POST', '/admin/users', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<User>();
  }

  function login(email: string, password: string) {
    return post(app, '/login', { ...authParams(project.id, pkcePair().challenge), email, password });
  }

  it('POST creates a user (201) whose password signs in', async () => {
    const user = await createUserViaApi({ email: 'Grace@Example.com', password: 'compiler pioneer 1952' });
    assert.equal(user.email, 'Grace@Example.com');
    assert.equal(user.email_verified, false);
    assert.equal(user.is_admin, false);
    assert.equal(user.has_password, true);
    assert.equal('password' in user || 'password_hash' in user, false);
    assert.equal((await login('grace@example.com', 'compiler pioneer 1952')).statusCode, 200);
  });

  it('POST without a password makes an account with none; is_admin makes an admin', async () => {
    const plain = await createUserViaApi({ email: 'no-password@example.com' });
    assert.equal(plain.has_password, false);
    const boss = await createUserViaApi({ email: 'boss@example.com', password: 'another admin here', is_admin: true, email_verified: true });
    assert.equal(boss.is_admin, true);
    assert.equal(boss.email_verified, true);
  });

  it('an email already registered, in any letter case, answers 409 Email already registered', async () => {
    await createUserViaApi({ email: 'dup@example.com' });
    for (const email of ['dup@example.com', 'DUP@example.COM', ' dup@example.com ']) {
      const res = await call(app, admin, 'POST', '/admin/users', { email });
      assert.equal(res.statusCode, 409, email);
      assert.deepEqual(res.json(), { error: 'Email already registered' });
    }
  });

  it('refuses malformed user bodies with 400 Invalid request', async () => {
    const bad: object[] = [
      {},
      { email: '' },
      { email: 'not-an-email' },
      { email: 'two@@example.com' },
      { email: 42 },
      { email: 'ok@example.com', is_admin: 'true' },
      { email: 'ok@example.com', password: 12345678 },
      { email: 'ok@example.com', role: 'admin' },
    ];
    for (const body of bad) {
      const res = await call(app, admin, 'POST', '/admin/users', body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().error, 'Invalid request', JSON.stringify(body));
    }
    assert.deepEqual((await call(app, admin, 'GET', '/admin/users?email=ok@example.com')).json(), { users: [], next_cursor: null });
  });

  it('a password outside the policy answers 400 Invalid password with the reason', async () => {
    for (const [password, reason] of [['short', 'too_short'], ['x'.repeat(257), 'too_long'], ['password', 'common']] as const) {
      const res = await call(app, admin, 'POST', '/admin/users', { email: 'weak@example.com', password });
      assert.equal(res.statusCode, 400, reason);
      assert.deepEqual(res.json(), { error: 'Invalid password', reason });
    }
    const patch = await call(app, admin, 'PATCH', `/admin/users/${(await createUserViaApi({ email: 'policy@example.com' })).id}`, { password: 'short' });
    assert.equal(patch.statusCode, 400);
    assert.deepEqual(patch.json(), { error: 'Invalid password', reason: 'too_short' });
  });

  it('GET /admin/users finds by email, case-insensitively, or lists everyone', async () => {
    const user = await createUserViaApi({ email: 'find.me@example.com' });
    const found = await call(app, admin, 'GET', '/admin/users?email=FIND.ME%40example.com');
    assert.equal(found.statusCode, 200);
    assert.deepEqual(found.json(), { users: [user], next_cursor: null });
    assert.deepEqual((await call(app, admin, 'GET', '/admin/users?email=nobody%40example.com')).json(), { users: [], next_cursor: null });
    const all = (await call(app, admin, 'GET', '/admin/users')).json<{ users: User[] }>().users;
    assert.ok(all.some((u) => u.id === user.id) && all.some((u) => u.email === app.config.adminEmail));
    assert.equal((await call(app, admin, 'GET', '/admin/users?email=a&email=b')).statusCode, 400);
  });

  it('GET /admin/users/:id shows the user; unknown ids answer 404 Not found', async () => {
    const user = await createUserViaApi({ email: 'shown@example.com' });
    const shown = await call(app, admin, 'GET', `/admin/users/${user.id}`);
    assert.equal(shown.statusCode, 200);
    // mfa.md: the one user also shows their second factors.
    assert.deepEqual(shown.json(), { ...user, mfa: { totp: false, passkeys: 0, recovery_codes_left: 0 } });
    const cases: Array<['GET' | 'PATCH' | 'DELETE', string, object?]> = [
      ['GET', '/admin/users/no-such-user'],
      ['PATCH', '/admin/users/no-such-user', { is_admin: true }],
      ['DELETE', '/admin/users/no-such-user'],
    ];
    for (const [method, url, payload] of cases) {
      const res = await call(app, admin, method, url, payload);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'Not found' });
    }
  });

  it('PATCH changes email (then unverified), password and flags', async () => {
    const user = await createUserViaApi({ email: 'old@example.com', password: 'first password here', email_verified: true });
    app.clock.advance(1000);
    const res = await call(app, admin, 'PATCH', `/admin/users/${user.id}`, { email: 'new@example.com', password: 'second password here' });
    assert.equal(res.statusCode, 200, res.body);
    const changed = res.json<User>();
    assert.equal(changed.email, 'new@example.com');
    assert.equal(changed.email_verified, false);
    assert.notEqual(changed.updated_at, user.updated_at);
    assert.deepEqual((await call(app, admin, 'GET', `/admin/users/${user.id}`)).json(), { ...changed, mfa: { totp: false, passkeys: 0, recovery_codes_left: 0 } });
    assert.equal((await login('new@example.com', 'second password here')).statusCode, 200);
    const oldPassword = await login('new@example.com', 'first password here');
    assert.equal(oldPassword.statusCode, 401);
    assert.equal(oldPassword.json().error, 'Invalid credentials');

    const verified = await call(app, admin, 'PATCH', `/admin/users/${user.id}`, { email_verified: true, is_admin: true });
    assert.equal(verified.json<User>().email_verified, true);
    assert.equal(verified.json<User>().is_admin, true);
    // Same address in other letters is no change of address.
    const recased = await call(app, admin, 'PATCH', `/admin/users/${user.id}`, { email: 'NEW@example.com' });
    assert.equal(recased.json<User>().email_verified, true);
  });

  it("PATCH to another account's email answers 409; bad fields answer 400", async () => {
    await createUserViaApi({ email: 'holder@example.com' });
    const user = await createUserViaApi({ email: 'mover@example.com' });
    const taken = await call(app, admin, 'PATCH', `/admin/users/${user.id}`, { email: 'Holder@example.com' });
    assert.equal(taken.statusCode, 409);
    assert.deepEqual(taken.json(), { error: 'Email already registered' });
    for (const body of [{ email: 'nope' }, { is_admin: 1 }, { id: 'x' }, { email_verified: null }]) {
      const res = await call(app, admin, 'PATCH', `/admin/users/${user.id}`, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().error, 'Invalid request');
    }
    assert.equal((await call(app, admin, 'GET', `/admin/users/${user.id}`)).json<User>().email, 'mover@example.com');
  });

  it("DELETE removes the user (204); their refresh token then answers 401 User not found", async () => {
    const user = await createUserViaApi({ email: 'gone@example.com', password: 'soon to be gone' });
    const tokens = await passwordTokens(app, project, 'gone@example.com', 'soon to be gone');

    const res = await call(app, admin, 'DELETE', `/admin/users/${user.id}`);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal((await call(app, admin, 'GET', `/admin/users/${user.id}`)).statusCode, 404);
    assert.equal((await call(app, admin, 'DELETE', `/admin/users/${user.id}`)).statusCode, 404);
    const refused = await refresh(app, project, tokens.refresh_token);
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(refused.json(), { error: 'User not found' });
    const members = (await call(app, admin, 'GET', `/admin/projects/${project.id}/members`)).json<{ members: Array<{ user_id: string }> }>().members;
    assert.equal(members.some((m) => m.user_id === user.id), false);
  });
  it('PATCH with a password ends every session of the account: its refresh tokens answer 401 Invalid refresh token', async () => {
    const user = await createUserViaApi({ email: 'reset-by-admin@example.com', password: 'the password they had' });
    const other = await createProject(app, { registrationOpen: true });
    const here = await passwordTokens(app, project, 'reset-by-admin@example.com', 'the password they had');
    const there = await passwordTokens(app, other, 'reset-by-admin@example.com', 'the password they had');
    // a change of anything but the password ends nothing
    assert.equal((await call(app, admin, 'PATCH', `/admin/users/${user.id}`, { email_verified: true })).statusCode, 200);
    const kept = await refresh(app, project, here.refresh_token);
    assert.equal(kept.statusCode, 200, kept.body);

    const res = await call(app, admin, 'PATCH', `/admin/users/${user.id}`, { password: 'a password the admin set' });
    assert.equal(res.statusCode, 200, res.body);
    for (const [where, token] of [[project, kept.json<{ refresh_token: string }>().refresh_token], [other, there.refresh_token]] as const) {
      const refused = await refresh(app, where, token);
      assert.equal(refused.statusCode, 401);
      assert.deepEqual(refused.json(), { error: 'Invalid refresh token' });
    }
    assert.equal((await login('reset-by-admin@example.com', 'a password the admin set')).statusCode, 200);
  });
});
