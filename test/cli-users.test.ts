// `gatehouse user …` and `gatehouse member …`: the /admin/users and member routes from the
// command line, run in this process on the database of an app that checks the result.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { User } from '../src/users/users.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { call, consoleTokens } from './support/admin.ts';
import { cliFor, type Cli } from './support/cli.ts';
import { adminToken, createProject, passwordCode, passwordTokens, refresh, type TestProject } from './support/flow.ts';
import { totpNow } from './support/totp.ts';

const PASSWORD = 'a long and unusual passphrase';

describe('gatehouse user and member commands', () => {
  const env = testEnv();
  let app: TestApp;
  let admin: string;
  let cli: Cli;
  let closed: TestProject;
  before(async () => {
    app = await createTestApp({ env });
    admin = await adminToken(app);
    cli = cliFor(app, env);
    closed = await createProject(app, { id: 'closed-shop', registrationOpen: false });
  });
  after(() => app.close());

  async function events(type: string) {
    return (await app.services.audit.list({ limit: 50, type })).map((e) => ({ project: e.project_id, subject: e.subject, detail: e.detail }));
  }

  it('user create makes a member-less account that can be added to a project', async () => {
    const user = await cliFor(app, env, PASSWORD).json<User>('user', 'create', '--email', 'grace@example.com', '--password-stdin', '--name', 'Grace Hopper', '--email-verified');
    assert.deepEqual([user.email, user.is_admin, user.email_verified, user.has_password, user.name], ['grace@example.com', false, true, true, 'Grace Hopper']);
    // The API sees the same account, in no project.
    assert.deepEqual((await call(app, admin, 'GET', `/admin/users/${user.id}`)).json<User>().email, 'grace@example.com');
    assert.deepEqual(await app.services.users.projectsOf(user.id), []);
    assert.deepEqual(await events('admin.user.created'), [{ project: null, subject: null, detail: { user_id: user.id, is_admin: false, via: 'cli' } }]);
    // A closed project refuses a stranger…
    await assert.rejects(passwordCode(app, closed.id, 'grace@example.com', PASSWORD), /403/);
    const added = await cli.json('member', 'add', '--project', closed.id, '--user', 'Grace@Example.com');
    assert.deepEqual(added, { user_id: user.id, email: 'grace@example.com', blocked: false });
    // …and lets the member in.
    assert.ok((await passwordTokens(app, closed, 'grace@example.com', PASSWORD)).refresh_token);
    assert.deepEqual(await events('admin.member.added'), [{ project: closed.id, subject: null, detail: { user_id: user.id, via: 'cli' } }]);
  });

  it('user create without a password makes an account that has none', async () => {
    const user = await cli.json<User>('user', 'create', '--email', 'Ada@Example.com', '--admin');
    assert.deepEqual([user.email, user.is_admin, user.email_verified, user.has_password], ['Ada@Example.com', true, false, false]);
  });

  it('admin create makes an admin who is a member of the console project, both changes in the audit log', async () => {
    const created = await cli.json<User & { password: string }>('admin', 'create', '--email', 'ops@example.com');
    assert.deepEqual([created.is_admin, created.email_verified], [true, true]);
    assert.deepEqual(await app.services.users.projectsOf(created.id), [{ project_id: 'console', name: (await app.services.projects.find('console'))?.project.name, blocked: false }]);
    const added = (await events('admin.member.added')).filter((e) => e.project === 'console');
    assert.deepEqual(added, [{ project: 'console', subject: null, detail: { user_id: created.id, via: 'cli' } }]);
    // The password printed once signs in to the console, whose token the admin API takes.
    const token = (await consoleTokens(app, 'ops@example.com', created.password)).access_token;
    assert.equal((await call(app, token, 'GET', '/admin/users')).statusCode, 200);
  });

  it('user create refuses a weak password or a bad email (exit 2), an email taken (exit 1), and makes nothing', async () => {
    const before = (await app.services.users.list()).length;
    const weak = await cli('user', 'create', '--email', 'weak@example.com', '--password', 'password');
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /Invalid password: /);
    const both = await cli('user', 'create', '--email', 'both@example.com', '--password', PASSWORD, '--password-hash', '$2b$10$abc');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /not both/);
    const badHash = await cli('user', 'create', '--email', 'hash@example.com', '--password-hash', 'not-a-hash');
    assert.equal(badHash.code, 2);
    assert.match(badHash.stderr, /password_hash must be a bcrypt/);
    const badEmail = await cli('user', 'create', '--email', 'no-at-sign');
    assert.equal(badEmail.code, 2);
    assert.match(badEmail.stderr, /email is not a valid address/);
    const taken = await cli('user', 'create', '--email', 'ADA@example.com');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /Email already registered: ADA@example.com/);
    assert.equal((await app.services.users.list()).length, before);
  });

  it('user create --password-hash keeps a hash made elsewhere: that password signs in', async () => {
    const salt = randomBytes(16);
    const digest = pbkdf2Sync(PASSWORD, salt, 1000, 32, 'sha256');
    const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
    const hash = `$pbkdf2-sha256$1000$${ab64(salt)}$${ab64(digest)}`;
    const user = await cli.json<User>('user', 'create', '--email', 'moved@example.com', '--password-hash', hash);
    assert.equal(user.has_password, true);
    await cli.json('member', 'add', '--project', closed.id, '--user', user.id);
    assert.ok((await passwordTokens(app, closed, 'moved@example.com', PASSWORD)).access_token);
  });

  it('user list follows every page, or gives one page with --limit and the API\'s cursor to the next', async () => {
    const everyone = await cli.json<{ users: User[]; next_cursor: null }>('user', 'list');
    const api = await call(app, admin, 'GET', '/admin/users?limit=1000');
    assert.deepEqual(everyone, api.json());
    assert.ok(everyone.users.length >= 4);
    const first = await cli.json<{ users: User[]; next_cursor: string }>('user', 'list', '--limit', '2');
    assert.deepEqual(first, (await call(app, admin, 'GET', '/admin/users?limit=2')).json());
    const rest = await cli.json<{ users: User[] }>('user', 'list', '--limit', '1000', '--cursor', first.next_cursor);
    assert.deepEqual([...first.users, ...rest.users], everyone.users);
    const byEmail = await cli.json<{ users: User[] }>('user', 'list', '--email', 'GRACE@example.com');
    assert.deepEqual(byEmail.users.map((u) => u.email), ['grace@example.com']);
    const human = await cli('user', 'list', '--limit', '2');
    assert.match(human.stdout, /^ID +EMAIL +VERIFIED/);
    assert.match(human.stdout, new RegExp(`more: --cursor ${first.next_cursor}`));
    for (const [args, message] of [
      [['--limit', '0'], /limit must be between 1 and 1000/],
      [['--limit', 'ten'], /--limit: /],
      [['--cursor', 'bm90IG1pbmU'], /cursor is not one this server gave/],
    ] as const) {
      const bad = await cli('user', 'list', ...args);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
  });

  it('user show answers what GET /admin/users/:id answers, by id or by email; an unknown one exits 1', async () => {
    const [user] = (await app.services.users.list('grace@example.com')) as [User];
    const api = (await call(app, admin, 'GET', `/admin/users/${user.id}`)).json();
    assert.deepEqual(await cli.json('user', 'show', user.id), api);
    assert.deepEqual(await cli.json('user', 'show', 'Grace@Example.com'), api);
    const human = await cli('user', 'show', user.id);
    assert.match(human.stdout, /second factor: +none/);
    const unknown = await cli('user', 'show', 'nobody@example.com');
    assert.deepEqual([unknown.code, unknown.stderr.trim()], [1, 'gatehouse: no user nobody@example.com']);
  });

  it('user update with a new password ends every session of the account and logs the field names only', async () => {
    const tokens = await passwordTokens(app, closed, 'grace@example.com', PASSWORD);
    const updated = await cli.json<User>('user', 'update', 'grace@example.com', '--password', 'another long passphrase', '--admin', 'true', '--locale', 'en');
    assert.deepEqual([updated.is_admin, updated.locale], [true, 'en']);
    assert.equal((await refresh(app, closed, tokens.refresh_token)).statusCode, 401);
    assert.ok((await passwordTokens(app, closed, 'grace@example.com', 'another long passphrase')).access_token);
    const [event] = await events('admin.user.updated');
    assert.deepEqual(event, { project: null, subject: null, detail: { user_id: updated.id, fields: ['password', 'is_admin', 'locale'], via: 'cli' } });
    assert.doesNotMatch(JSON.stringify(await app.services.audit.list({ limit: 100 })), /another long passphrase/);
  });

  it('user update to a new email leaves it unverified; bad values exit 2, nothing to change exits 2, another account\'s email exits 1', async () => {
    const moved = await cli.json<User>('user', 'update', 'Ada@Example.com', '--email', 'ada@lovelace.example');
    assert.deepEqual([moved.email, moved.email_verified], ['ada@lovelace.example', false]);
    const cleared = await cli.json<User>('user', 'update', moved.id, '--name', '');
    assert.equal(cleared.name, null);
    for (const [args, message] of [
      [['--admin', 'yes'], /--admin must be true or false/],
      [['--picture', 'http://example.com/a.png'], /picture must be an https URL/],
      [[], /nothing to change/],
    ] as const) {
      const bad = await cli('user', 'update', moved.id, ...args);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
    const taken = await cli('user', 'update', moved.id, '--email', 'grace@example.com');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /Email already registered/);
  });

  it('user reset-mfa removes an authenticator app; the account then has no second factor', async () => {
    const [user] = (await app.services.users.list('grace@example.com')) as [User];
    const pending = await app.services.secondFactors.beginTotp(user.id);
    assert.ok(await app.services.secondFactors.confirmTotp(user.id, totpNow(pending.secret, app.clock.now())));
    assert.equal((await cli.json<{ mfa: { totp: boolean } }>('user', 'show', user.id)).mfa.totp, true);
    assert.deepEqual(await cli.json('user', 'reset-mfa', 'grace@example.com'), { user_id: user.id, email: user.email, removed: true });
    assert.deepEqual((await call(app, admin, 'GET', `/admin/users/${user.id}`)).json<{ mfa: unknown }>().mfa, { totp: false, passkeys: 0, recovery_codes_left: 0 });
    assert.deepEqual(await events('mfa.reset_by_admin'), [{ project: null, subject: null, detail: { user_id: user.id, removed: true, via: 'cli' } }]);
    const again = await cli('user', 'reset-mfa', user.id);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /had no second factor/);
  });

  it('member add again changes nothing and never unblocks; member list shows who is blocked; block, unblock and remove go through the member routes', async () => {
    await cli.json('member', 'block', '--project', closed.id, '--user', 'grace@example.com');
    const again = await cli('member', 'add', '--project', closed.id, '--user', 'grace@example.com');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already a member of closed-shop \(blocked\)/);
    const listed = await cli.json<{ members: Array<{ email: string; blocked: boolean }>; next_cursor: null }>('member', 'list', '--project', closed.id);
    assert.deepEqual(listed, (await call(app, admin, 'GET', `/admin/projects/${closed.id}/members?limit=1000`)).json());
    // Both joined at the same instant of the test's clock: their order is the ids'.
    assert.deepEqual(listed.members.map((m) => [m.email, m.blocked]).sort(), [['grace@example.com', true], ['moved@example.com', false]]);
    await assert.rejects(passwordCode(app, closed.id, 'grace@example.com', 'another long passphrase'), /403/);
    await cli.json('member', 'unblock', '--project', closed.id, '--user', 'grace@example.com');
    assert.ok(await passwordCode(app, closed.id, 'grace@example.com', 'another long passphrase'));
    await cli.json('member', 'remove', '--project', closed.id, '--user', 'moved@example.com');
    const notMember = await cli('member', 'remove', '--project', closed.id, '--user', 'moved@example.com');
    assert.deepEqual([notMember.code, notMember.stderr.trim()], [1, 'gatehouse: moved@example.com is not a member of closed-shop']);
    const noProject = await cli('member', 'add', '--project', 'nope', '--user', 'moved@example.com');
    assert.deepEqual([noProject.code, noProject.stderr.trim()], [1, 'gatehouse: no project with id nope']);
    const missing = await cli('member', 'add', '--project', closed.id);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--user is required/);
  });

  it('user delete removes the account and its memberships; deleting it again exits 1', async () => {
    const [user] = (await app.services.users.list('moved@example.com')) as [User];
    assert.deepEqual(await cli.json('user', 'delete', 'moved@example.com'), { id: user.id, email: 'moved@example.com', deleted: true });
    assert.equal((await call(app, admin, 'GET', `/admin/users/${user.id}`)).statusCode, 404);
    assert.deepEqual(await events('admin.user.deleted'), [{ project: null, subject: null, detail: { user_id: user.id, via: 'cli' } }]);
    assert.equal((await cli('user', 'delete', user.id)).code, 1);
  });
});
