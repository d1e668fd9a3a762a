// `gatehouse session …`, `browser-session …`, `audit list`, `project delete` and
// `project rotate-secret`, run in this process on the database of an app that checks the result.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry } from '../src/audit/audit-log.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { cliFor, type Cli } from './support/cli.ts';
import { adminToken, createProject, createUser, passwordTokens, post, refresh, sessionIdOf, type TestProject } from './support/flow.ts';
import { authorizeInBrowser, browserSignIn } from './support/sso.ts';

const PASSWORD = 'a long and unusual passphrase';

describe('gatehouse session, browser-session, audit and project delete / rotate-secret', () => {
  const env = testEnv();
  let app: TestApp;
  let admin: string;
  let cli: Cli;
  let shop: TestProject;
  let userId: string;
  before(async () => {
    app = await createTestApp({ env });
    admin = await adminToken(app);
    cli = cliFor(app, env);
    shop = await createProject(app, { id: 'shop' });
    userId = await createUser(app, 'ada@example.com', PASSWORD, shop.id);
  });
  after(() => app.close());

  it('session list shows what the API lists; session end stops the refresh tokens of that session only', async () => {
    const first = await passwordTokens(app, shop, 'ada@example.com', PASSWORD);
    app.clock.advance(1000);
    const second = await passwordTokens(app, shop, 'ada@example.com', PASSWORD);
    const listed = await cli.json<{ sessions: Array<{ id: string; subject: string }>; next_cursor: null }>('session', 'list', '--project', shop.id);
    assert.deepEqual(listed, (await call(app, admin, 'GET', `/admin/projects/${shop.id}/sessions?limit=1000`)).json());
    assert.deepEqual(listed.sessions.map((s) => [s.id, s.subject]), [[sessionIdOf(second.access_token), userId], [sessionIdOf(first.access_token), userId]]);

    const ended = await cli.json('session', 'end', sessionIdOf(first.access_token));
    assert.deepEqual(ended, { id: sessionIdOf(first.access_token), project_id: shop.id, ended: true, already_ended: false });
    assert.equal((await refresh(app, shop, first.refresh_token)).statusCode, 401);
    assert.equal((await refresh(app, shop, second.refresh_token)).statusCode, 200);
    const events = await app.services.audit.list({ limit: 5, type: 'admin.session.ended' });
    assert.deepEqual(events.map((e) => [e.project_id, e.subject, e.detail?.session_subject, e.detail?.via]), [[shop.id, null, userId, 'cli']]);

    const again = await cli('session', 'end', sessionIdOf(first.access_token));
    assert.equal(again.code, 0);
    assert.match(again.stdout, /had ended already/);
    assert.equal((await app.services.audit.list({ limit: 5, type: 'admin.session.ended' })).length, 1, 'nothing changed, nothing recorded');
    const unknown = await cli('session', 'end', 'no-such-session');
    assert.deepEqual([unknown.code, unknown.stderr.trim()], [1, 'gatehouse: no session no-such-session']);
    const noProject = await cli('session', 'list', '--project', 'nope');
    assert.equal(noProject.code, 1);
  });

  it('browser-session list shows where the account is signed in; browser-session end signs that browser out', async () => {
    // The sign-ins above started browser sessions too; this one is the newest.
    app.clock.advance(1000);
    const { cookie } = await browserSignIn(app, shop, 'ada@example.com', PASSWORD);
    assert.equal((await authorizeInBrowser(app, shop, cookie)).statusCode, 302, 'single sign-on while the browser session lives');
    const listed = await cli.json<{ browser_sessions: Array<{ id: string; user_id: string }> }>('browser-session', 'list', '--user', 'ada@example.com');
    assert.deepEqual(listed, (await call(app, admin, 'GET', `/admin/users/${userId}/browser-sessions`)).json());
    const [session, ...older] = listed.browser_sessions;
    assert.ok(session);
    assert.deepEqual(await cli.json('browser-session', 'end', session.id), { id: session.id, user_id: userId, ended: true });
    assert.notEqual((await authorizeInBrowser(app, shop, cookie)).statusCode, 302, 'the browser has to sign in again');
    assert.deepEqual((await cli.json<{ browser_sessions: unknown[] }>('browser-session', 'list', '--user', userId)).browser_sessions, older);
    const [event] = await app.services.audit.list({ limit: 1, type: 'admin.browser_session.ended' });
    assert.deepEqual(event?.detail, { browser_session_id: session.id, user_id: userId, via: 'cli' });
    assert.equal((await cli('browser-session', 'end', session.id)).code, 1);
  });

  it('audit list answers what GET /admin/audit answers, with its filters and its cursors', async () => {
    // A few events of one type in one project, at distinct times.
    for (let i = 0; i < 3; i++) {
      app.clock.advance(1000);
      await post(app, '/login', { client_id: shop.id, email: 'ada@example.com', password: 'wrong password', response_type: 'code', redirect_uri: 'https://app.example.com/callback', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    }
    const latest = await cli.json<{ events: AuditEntry[]; next_cursor: string | null }>('audit', 'list');
    const api = (await call(app, admin, 'GET', '/admin/audit')).json<{ events: AuditEntry[] }>();
    assert.deepEqual(latest.events.map((e) => e.id), api.events.map((e) => e.id));

    const type = latest.events[0]?.type ?? '';
    const query = `type=${encodeURIComponent(type)}&project=${shop.id}&limit=2`;
    const page = await cli.json<{ events: AuditEntry[]; next_cursor: string }>('audit', 'list', '--type', type, '--project', shop.id, '--limit', '2');
    assert.deepEqual(page, (await call(app, admin, 'GET', `/admin/audit?${query}`)).json());
    assert.equal(page.events.length, 2);
    const next = await cli.json<{ events: AuditEntry[] }>('audit', 'list', '--type', type, '--project', shop.id, '--limit', '2', '--cursor', page.next_cursor);
    assert.deepEqual(next, (await call(app, admin, 'GET', `/admin/audit?${query}&cursor=${page.next_cursor}`)).json());
    const all = await cli.json<{ events: AuditEntry[]; next_cursor: null }>('audit', 'list', '--type', type, '--project', shop.id, '--all');
    assert.deepEqual(all, (await call(app, admin, 'GET', `/admin/audit?type=${encodeURIComponent(type)}&project=${shop.id}&limit=1000`)).json());
    assert.deepEqual([...page.events, ...next.events], all.events.slice(0, 4));
    assert.equal(all.next_cursor, null);

    const since = new Date(app.clock.now() - 1500).toISOString();
    const recent = await cli.json<{ events: AuditEntry[] }>('audit', 'list', '--type', type, '--since', since);
    assert.ok(recent.events.length >= 1 && recent.events.every((e) => Date.parse(e.at) >= Date.parse(since)));
    const human = await cli('audit', 'list', '--type', type, '--limit', '1');
    assert.match(human.stdout, /^AT +TYPE +OUTCOME +PROJECT +SUBJECT +DETAIL/);
    assert.match(human.stdout, /more: --cursor /);

    for (const [args, message] of [
      [['--since', 'yesterday'], /since must be epoch milliseconds or an ISO 8601 date-time/],
      [['--limit', '5000'], /limit must be between 1 and 1000/],
      [['--all', '--limit', '5'], /give --all or --limit\/--cursor, not both/],
    ] as const) {
      const bad = await cli('audit', 'list', ...args);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
  });

  it('project list and pin list print everything, or one page with --limit and the API\'s cursor', async () => {
    const all = await cli.json<{ projects: Array<{ id: string }>; next_cursor: null }>('project', 'list');
    assert.deepEqual(all, (await call(app, admin, 'GET', '/admin/projects?limit=1000')).json());
    const first = await cli.json<{ projects: Array<{ id: string }>; next_cursor: string }>('project', 'list', '--limit', '1');
    assert.deepEqual(first, (await call(app, admin, 'GET', '/admin/projects?limit=1')).json());
    const rest = await cli.json<{ projects: Array<{ id: string }> }>('project', 'list', '--cursor', first.next_cursor);
    assert.deepEqual([...first.projects, ...rest.projects], all.projects);

    for (const label of ['one', 'two']) await cli.json('pin', 'create', '--project', shop.id, '--label', label);
    const pins = await cli.json<{ pins: Array<{ label: string }>; next_cursor: string }>('pin', 'list', '--project', shop.id, '--limit', '1');
    assert.deepEqual(pins, (await call(app, admin, 'GET', `/admin/projects/${shop.id}/pins?limit=1`)).json());
    const morePins = await cli.json<{ pins: Array<{ label: string }>; next_cursor: null }>('pin', 'list', '--project', shop.id, '--cursor', pins.next_cursor);
    assert.deepEqual([...pins.pins, ...morePins.pins].map((p) => p.label).sort(), ['one', 'two']);
    assert.equal(morePins.next_cursor, null);
  });

  it('project rotate-secret prints a new client secret once that works at /token; the console and account projects refuse (exit 1)', async () => {
    const rotated = await cli.json<{ id: string; confidential: boolean; client_secret: string }>('project', 'rotate-secret', shop.id);
    assert.deepEqual([rotated.id, rotated.confidential], [shop.id, true]);
    const withSecret = { id: shop.id, clientSecret: rotated.client_secret };
    const tokens = await passwordTokens(app, withSecret, 'ada@example.com', PASSWORD);
    assert.equal((await refresh(app, withSecret, tokens.refresh_token)).statusCode, 200);
    assert.equal((await refresh(app, { id: shop.id, clientSecret: 'not the secret' }, tokens.refresh_token)).statusCode, 401);
    const [event] = await app.services.audit.list({ limit: 1, type: 'admin.project.secret_rotated' });
    assert.deepEqual([event?.project_id, event?.detail], [shop.id, { via: 'cli' }]);
    assert.doesNotMatch(JSON.stringify(event), new RegExp(rotated.client_secret));
    for (const id of ['console', 'account']) {
      const refused = await cli('project', 'rotate-secret', id);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`The ${id} project cannot be deleted or given a secret`));
    }
  });

  it('project delete removes the project and its sessions; the built-in projects and an unknown one exit 1', async () => {
    const doomed = await createProject(app, { id: 'doomed' });
    await createUser(app, 'grace@example.com', PASSWORD, doomed.id);
    const tokens = await passwordTokens(app, doomed, 'grace@example.com', PASSWORD);
    assert.deepEqual(await cli.json('project', 'delete', 'doomed'), { id: 'doomed', deleted: true });
    assert.equal((await call(app, admin, 'GET', '/admin/projects/doomed')).statusCode, 404);
    assert.notEqual((await refresh(app, doomed, tokens.refresh_token)).statusCode, 200);
    const [event] = await app.services.audit.list({ limit: 1, type: 'admin.project.deleted' });
    assert.deepEqual([event?.project_id, event?.detail], ['doomed', { via: 'cli' }]);
    for (const id of ['console', 'account']) {
      const refused = await cli('project', 'delete', id);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`The ${id} project cannot be deleted`));
    }
    assert.deepEqual([(await cli('project', 'delete', 'doomed')).code], [1]);
    assert.ok(await app.services.projects.find('console'));
  });
});
