// What the console needed from the admin API (docs/admin-api.md, docs/console.md): a project
// search, one audit event by id, a user's sessions across projects and signing them out
// everywhere, a password reset mailed by an admin, admins admitted to the console, and the
// command line's commands for the same.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/run.ts';
import { asForm, linkToken, waitForMail } from './support/account-mail.ts';
import { createTestApp, TEST_ARGON2, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { call, consoleTokens } from './support/admin.ts';
import { adminToken, createProject, createUser, passwordTokens, post, postForm, refresh, sessionIdOf, type TestProject } from './support/flow.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

describe('admin API: what the console needs', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let admin: string;
  let shop: TestProject;
  let blog: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url } });
    admin = await adminToken(app);
    shop = await createProject(app, { registrationOpen: true });
    blog = await createProject(app, { registrationOpen: true });
    await app.services.projects.update(shop.id, { name: 'Corner Shop' });
    await app.services.projects.update(blog.id, { name: 'Weekly_Blog 100%' });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  async function projectIds(search: string): Promise<string[]> {
    const res = await call(app, admin, 'GET', `/admin/projects?search=${encodeURIComponent(search)}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ projects: Array<{ id: string }> }>().projects.map((p) => p.id);
  }

  it('GET /admin/projects?search= keeps the projects whose id or name contains it, letters without case', async () => {
    assert.deepEqual(await projectIds('corner'), [shop.id]);
    assert.deepEqual(await projectIds('SHOP'), [shop.id]);
    assert.deepEqual(await projectIds(blog.id.slice(2, 8)), [blog.id]);
    assert.deepEqual(await projectIds('no such project'), []);
    // LIKE's own characters are found as themselves, not as wildcards.
    assert.deepEqual(await projectIds('_blog 100%'), [blog.id]);
    assert.deepEqual(await projectIds('%'), [blog.id]);
    const all = await call(app, admin, 'GET', '/admin/projects?search=');
    assert.ok(all.json<{ projects: unknown[] }>().projects.length >= 4);
  });

  it('the search pages like the list, and a bad search answers 400', async () => {
    const first = await call(app, admin, 'GET', '/admin/projects?search=o&limit=1');
    const page = first.json<{ projects: Array<{ id: string }>; next_cursor: string | null }>();
    assert.equal(page.projects.length, 1);
    assert.ok(page.next_cursor);
    const second = await call(app, admin, 'GET', `/admin/projects?search=o&limit=1&cursor=${page.next_cursor}`);
    assert.notEqual(second.json<{ projects: Array<{ id: string }> }>().projects[0]?.id, page.projects[0]?.id);
    const bad = await call(app, admin, 'GET', '/admin/projects?search=%00');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: string }>().error, 'Invalid request');
  });

  it('GET /admin/audit/:id answers one event as the list shows it; an unknown id 404', async () => {
    const listed = (await call(app, admin, 'GET', '/admin/audit?limit=1')).json<{ events: Array<{ id: string }> }>().events[0];
    assert.ok(listed);
    const res = await call(app, admin, 'GET', `/admin/audit/${listed.id}`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), listed);
    const missing = await call(app, admin, 'GET', '/admin/audit/no-such-event');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'Not found' });
  });

  it("GET /admin/users/:id/sessions lists a user's live sessions in every project, with the project", async () => {
    const userId = await createUser(app, 'traveller@example.com', 'a traveller passphrase', shop.id);
    await app.services.users.addMember(blog.id, userId);
    const inShop = await passwordTokens(app, shop, 'traveller@example.com', 'a traveller passphrase');
    const inBlog = await passwordTokens(app, blog, 'traveller@example.com', 'a traveller passphrase');
    const res = await call(app, admin, 'GET', `/admin/users/${userId}/sessions`);
    assert.equal(res.statusCode, 200, res.body);
    const { sessions, next_cursor } = res.json<{ sessions: Array<{ id: string; project_id: string; subject: string; method: string }>; next_cursor: string | null }>();
    assert.equal(next_cursor, null);
    assert.deepEqual(
      sessions.map((s) => [s.project_id, s.id]).sort(),
      [
        [blog.id, sessionIdOf(inBlog.access_token)],
        [shop.id, sessionIdOf(inShop.access_token)],
      ].sort(),
    );
    assert.ok(sessions.every((s) => s.subject === userId && s.method === 'pwd'));
    // Paged like every list.
    const one = (await call(app, admin, 'GET', `/admin/users/${userId}/sessions?limit=1`)).json<{ sessions: unknown[]; next_cursor: string | null }>();
    assert.equal(one.sessions.length, 1);
    assert.ok(one.next_cursor);
    assert.equal((await call(app, admin, 'GET', '/admin/users/nobody/sessions')).statusCode, 404);
  });

  it('DELETE /admin/users/:id/sessions signs the user out everywhere (refresh 401, browser session gone), audited', async () => {
    const userId = await createUser(app, 'leaver@example.com', 'a leaver passphrase', shop.id);
    const tokens = await passwordTokens(app, shop, 'leaver@example.com', 'a leaver passphrase');
    // Another browser session besides the sign-in's own.
    const session = await app.services.browserSessions.start({ userId, amr: ['pwd'], ip: '127.0.0.1', userAgent: 'test' });
    assert.ok((await app.services.browserSessions.listForUser(userId)).length >= 2);
    const res = await call(app, admin, 'DELETE', `/admin/users/${userId}/sessions`);
    assert.equal(res.statusCode, 204);
    assert.equal((await refresh(app, shop, tokens.refresh_token)).statusCode, 401);
    assert.equal(await app.services.browserSessions.find(session.session.id), undefined);
    assert.deepEqual(await app.services.browserSessions.listForUser(userId), []);
    const listed = (await call(app, admin, 'GET', `/admin/users/${userId}/sessions`)).json<{ sessions: unknown[] }>();
    assert.deepEqual(listed.sessions, []);
    const events = (await call(app, admin, 'GET', '/admin/audit?type=admin.user.sessions_ended')).json<{ events: Array<{ detail: { user_id: string }; subject: string }> }>().events;
    assert.equal(events[0]?.detail.user_id, userId);
    assert.equal((await call(app, admin, 'DELETE', '/admin/users/nobody/sessions')).statusCode, 404);
  });

  it('POST /admin/users/:id/password-reset mails a link that sets the password, ends the sessions and signs in nowhere', async () => {
    const userId = await createUser(app, 'forgetful@example.com', 'the forgotten passphrase', shop.id);
    const before = await passwordTokens(app, shop, 'forgetful@example.com', 'the forgotten passphrase');
    const res = await call(app, admin, 'POST', `/admin/users/${userId}/password-reset`, { project: shop.id });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { sent: true, expires_in: app.config.passwordResetTtlSeconds });
    const mail = await waitForMail(smtp, 'forgetful@example.com', 1);
    assert.match(mail.subject, /Corner Shop/);
    const token = linkToken(mail, '/password-reset/verify');
    // The page with the form, then the new password: a page that says so, no redirect to an app.
    const page = await app.server.inject({ method: 'GET', url: `/password-reset/verify?token=${encodeURIComponent(token)}`, headers: { accept: 'text/html' } });
    assert.equal(page.statusCode, 200);
    const done = await postForm(app, '/password-reset/verify', asForm({ token, password: 'a remembered passphrase' }), { accept: 'text/html' });
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.headers.location, undefined);
    assert.match(done.body, /Your password was changed/);
    assert.equal((await refresh(app, shop, before.refresh_token)).statusCode, 401);
    await passwordTokens(app, shop, 'forgetful@example.com', 'a remembered passphrase');
    // Used once.
    const again = await post(app, '/password-reset/verify', { token, password: 'yet another passphrase' });
    assert.equal(again.statusCode, 400);
    const events = (await call(app, admin, 'GET', `/admin/audit?type=admin.user.password_reset_sent&project=${shop.id}`)).json<{ events: Array<{ detail: { user_id: string } }> }>().events;
    assert.equal(events[0]?.detail.user_id, userId);
  });

  it('POST /admin/users/:id/password-reset: unknown user or project 404, unknown field 400, no body is fine', async () => {
    const userId = await createUser(app, 'plain-reset@example.com', 'a plain reset passphrase');
    assert.equal((await call(app, admin, 'POST', '/admin/users/nobody/password-reset')).statusCode, 404);
    assert.equal((await call(app, admin, 'POST', `/admin/users/${userId}/password-reset`, { project: 'no-such-project' })).statusCode, 404);
    assert.equal((await call(app, admin, 'POST', `/admin/users/${userId}/password-reset`, { projekt: 'x' })).statusCode, 400);
    assert.equal((await call(app, admin, 'POST', `/admin/users/${userId}/password-reset`)).statusCode, 202);
    const mail = await waitForMail(smtp, 'plain-reset@example.com', 1);
    assert.match(mail.subject, /Gatehouse/);
  });

  it('the new routes answer 401 without a token and 403 to a non-admin', async () => {
    const userId = await createUser(app, 'viewer@example.com', 'a viewer passphrase', 'console');
    const viewer = (await consoleTokens(app, 'viewer@example.com', 'a viewer passphrase')).access_token;
    const routes: Array<['GET' | 'POST' | 'DELETE', string]> = [
      ['GET', '/admin/audit/x'],
      ['GET', `/admin/users/${userId}/sessions`],
      ['DELETE', `/admin/users/${userId}/sessions`],
      ['POST', `/admin/users/${userId}/password-reset`],
      ['GET', '/admin/projects?search=x'],
    ];
    for (const [method, url] of routes) {
      assert.equal((await call(app, undefined, method, url)).statusCode, 401, `${method} ${url}`);
      assert.equal((await call(app, viewer, method, url)).statusCode, 403, `${method} ${url}`);
    }
  });

  it('an account given the admin flag signs in to the console without being added to it; others stay out', async () => {
    const created = await call(app, admin, 'POST', '/admin/users', { email: 'new-admin@example.com', password: 'a new admin passphrase', is_admin: true });
    assert.equal(created.statusCode, 201);
    const tokens = await consoleTokens(app, 'new-admin@example.com', 'a new admin passphrase');
    assert.equal((await call(app, tokens.access_token, 'GET', '/admin/projects')).statusCode, 200);
    await createUser(app, 'stranger@example.com', 'a stranger passphrase');
    await assert.rejects(consoleTokens(app, 'stranger@example.com', 'a stranger passphrase'), /403.*Not a member/);
  });
});

// In process, on the same SQLite file as the app (the PostgreSQL + Redis pass runs the command line
// as a process in test/e2e/cli.test.ts; an in-process app there keeps a schema of its own).
describe('the command line: what the console added', { skip: testBackend === 'postgres' ? 'in-process CLI on the SQLite file of the app' : false }, () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let env: Record<string, string | undefined>;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url } });
    // The command line keeps real time: so does this app, so that its sessions are live for both.
    app.clock.advance(Date.now() - app.clock.now());
    env = { GATEHOUSE_DATABASE_URL: app.config.databaseUrl, GATEHOUSE_ISSUER: app.config.issuer, GATEHOUSE_SMTP_URL: smtp.url, ...TEST_ARGON2 };
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli([...argv, '--json'], { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`), env });
    return { code, stdout, stderr };
  }

  it('every new command names its route for the parity test', async () => {
    const { CONSOLE_GAP_COMMANDS } = await import('../src/cli/commands/console-gaps.ts');
    assert.deepEqual(CONSOLE_GAP_COMMANDS.flatMap((c) => c.routes ?? []).sort(), [
      'DELETE /admin/users/:id/sessions',
      'GET /admin/audit/:id',
      'GET /admin/projects',
      'GET /admin/users/:id/sessions',
      'POST /admin/users/:id/password-reset',
    ]);
  });

  it('project search, user sessions, user sign-out-everywhere, user password-reset and audit show do what their routes do', async () => {
    const shop = await createProject(app, { registrationOpen: true });
    await app.services.projects.update(shop.id, { name: 'Cli Search Shop' });
    const found = await cli('project', 'search', 'search shop');
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(JSON.parse(found.stdout).projects.map((p: { id: string }) => p.id), [shop.id]);

    const userId = await createUser(app, 'cli-user@example.com', 'a cli user passphrase', shop.id);
    const tokens = await passwordTokens(app, shop, 'cli-user@example.com', 'a cli user passphrase');
    const listed = await cli('user', 'sessions', 'cli-user@example.com');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).sessions.map((s: { id: string }) => s.id), [sessionIdOf(tokens.access_token)]);

    const out = await cli('user', 'sign-out-everywhere', userId);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((await refresh(app, shop, tokens.refresh_token)).statusCode, 401);

    const reset = await cli('user', 'password-reset', 'cli-user@example.com', '--project', shop.id);
    assert.equal(reset.code, 0, reset.stderr);
    const mail = await waitForMail(smtp, 'cli-user@example.com', 1);
    assert.match(mail.subject, /Cli Search Shop/);

    const event = (await app.services.audit.list({ type: 'admin.user.password_reset_sent', limit: 1 }))[0];
    assert.ok(event);
    const shown = await cli('audit', 'show', event.id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).id, event.id);

    assert.equal((await cli('audit', 'show', 'no-such-event')).code, 1);
    assert.equal((await cli('user', 'sessions', 'nobody@example.com')).code, 1);
  });
});
