import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry } from '../src/audit/audit-log.ts';
import type { SessionSummary } from '../src/sessions/sessions.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, bearer, createProject, createUser, passwordTokens, refresh, REDIRECT_URI, sessionIdOf, type TestProject } from './support/flow.ts';


describe('admin API: sessions', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  let userId: string;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    project = await createProject(app);
    userId = await createUser(app, 'sessions@example.com', 'session holder pw', project.id);
  });
  after(() => app.close());

  async function login() {
    return passwordTokens(app, project, 'sessions@example.com', 'session holder pw');
  }

  it("lists a project's live sessions; a session's id is the sid of its tokens", async () => {
    const tokens = await login();
    const res = await call(app, admin, 'GET', `/admin/projects/${project.id}/sessions`);
    assert.equal(res.statusCode, 200);
    const session = res.json<{ sessions: SessionSummary[] }>().sessions.find((s) => s.id === sessionIdOf(tokens.access_token));
    assert.ok(session);
    assert.equal(session.subject, userId);
    assert.equal(session.method, 'pwd');
    assert.equal(session.created_at, new Date(app.clock.now()).toISOString());
    assert.equal(session.expires_at, new Date(app.clock.now() + app.config.refreshTokenTtlSeconds * 1000).toISOString());
    assert.deepEqual(Object.keys(session).sort(), ['created_at', 'expires_at', 'id', 'method', 'subject']);
  });

  it('ending a session (204) makes its refresh token answer 401 Invalid refresh token', async () => {
    const tokens = await login();
    const other = await login();
    const id = sessionIdOf(tokens.access_token);
    const res = await call(app, admin, 'DELETE', `/admin/sessions/${id}`);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    const refused = await refresh(app, project, tokens.refresh_token);
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(refused.json(), { error: 'Invalid refresh token' });
    const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal(userinfo.statusCode, 401);
    const ids = (await call(app, admin, 'GET', `/admin/projects/${project.id}/sessions`)).json<{ sessions: SessionSummary[] }>().sessions.map((s) => s.id);
    assert.equal(ids.includes(id), false);
    // Other sessions of the same person live on.
    assert.equal((await refresh(app, project, other.refresh_token)).statusCode, 200);
    // Ending it again changes nothing.
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${id}`)).statusCode, 204);
  });

  it('unknown sessions and projects answer 404 Not found', async () => {
    for (const [method, url] of [['DELETE', '/admin/sessions/no-such-session'], ['GET', '/admin/projects/no-such-project/sessions']] as const) {
      const res = await call(app, admin, method, url);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'Not found' });
    }
  });
});

describe('admin API: audit log', () => {
  let app: TestApp;
  let admin: string;
  let adminId: string;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    adminId = (await app.services.users.findByEmail(app.config.adminEmail ?? ''))?.user.id ?? '';
  });
  after(() => app.close());

  async function events(query = ''): Promise<AuditEntry[]> {
    const res = await call(app, admin, 'GET', `/admin/audit${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ events: AuditEntry[] }>().events;
  }

  it('records every admin change with the admin as subject, the project, and where it came from', async () => {
    // Each step moves the clock, so that the order of the log is the order of the steps.
    const since = app.clock.now() + 1;
    const step = async (method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) => {
      app.clock.advance(1);
      const res = await app.server.inject({
        method,
        url,
        headers: { ...bearer(admin), 'user-agent': 'audit-test/1.0' },
        ...(payload ? { payload: payload as Record<string, unknown> } : {}),
      });
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.body}`);
      return res;
    };
    await step('POST', '/admin/projects', { id: 'audited', name: 'Audited', redirect_uris: [REDIRECT_URI] });
    await step('PATCH', '/admin/projects/audited', { name: 'Audited 2' });
    await step('POST', '/admin/projects/audited/secret');
    const user = (await step('POST', '/admin/users', { email: 'audited@example.com', password: 'audited user pw' })).json<{ id: string }>();
    await step('PATCH', `/admin/users/${user.id}`, { password: 'changed user pw 2' });
    await step('PUT', `/admin/projects/audited/members/${user.id}`);
    await step('POST', `/admin/projects/audited/members/${user.id}/block`);
    await step('POST', `/admin/projects/audited/members/${user.id}/unblock`);
    const clientSecret = (await step('POST', '/admin/projects/audited/secret')).json<{ client_secret: string }>().client_secret;
    const tokens = await passwordTokens(app, { id: 'audited', clientSecret }, 'audited@example.com', 'changed user pw 2');
    await step('DELETE', `/admin/sessions/${sessionIdOf(tokens.access_token)}`);
    await step('DELETE', `/admin/projects/audited/members/${user.id}`);
    await step('DELETE', `/admin/users/${user.id}`);
    await step('DELETE', '/admin/projects/audited');

    const recorded = (await events(`?subject=${adminId}&since=${since}`)).reverse();
    assert.deepEqual(
      recorded.map((e) => e.type),
      [
        'admin.project.created',
        'admin.project.updated',
        'admin.project.secret_rotated',
        'admin.user.created',
        'admin.user.updated',
        'admin.member.added',
        'admin.member.blocked',
        'admin.member.unblocked',
        'admin.project.secret_rotated',
        'admin.session.ended',
        'admin.member.removed',
        'admin.user.deleted',
        'admin.project.deleted',
      ],
    );
    for (const event of recorded) {
      assert.equal(event.subject, adminId);
      assert.equal(event.outcome, 'success');
      assert.equal(event.ip, '127.0.0.1');
      if (event.type.startsWith('admin.project.') || event.type.startsWith('admin.member.') || event.type === 'admin.session.ended') {
        assert.equal(event.project_id, 'audited', event.type);
      }
    }
    assert.equal(recorded[0]?.user_agent, 'audit-test/1.0');
    assert.deepEqual(recorded.find((e) => e.type === 'admin.user.updated')?.detail, { user_id: user.id, fields: ['password'] });
    // No secret of any kind reaches the log.
    const everything = JSON.stringify(await events('?limit=500'));
    for (const secret of ['changed user pw 2', 'audited user pw', tokens.refresh_token]) assert.equal(everything.includes(secret), false);
  });

  it('lists newest first, filtered by project, subject and type, with a limit', async () => {
    const base = app.clock.now();
    for (let i = 0; i < 6; i += 1) {
      await app.services.audit.record({ type: i % 2 ? 'pin.revoked' : 'pin.created', outcome: 'info', projectId: i < 3 ? 'alpha' : 'beta', subject: `s${i}` });
      app.clock.advance(1000);
    }
    const alpha = await events('?project=alpha');
    assert.deepEqual(alpha.map((e) => e.subject), ['s2', 's1', 's0']);
    assert.deepEqual((await events('?type=pin.revoked')).map((e) => e.subject), ['s5', 's3', 's1']);
    assert.deepEqual((await events('?subject=s4')).map((e) => e.type), ['pin.created']);
    assert.deepEqual((await events('?project=beta&type=pin.revoked')).map((e) => e.subject), ['s5', 's3']);
    assert.deepEqual((await events('?type=pin.created&limit=2')).map((e) => e.subject), ['s4', 's2']);
    const all = await events('?limit=500');
    for (let i = 1; i < all.length; i += 1) assert.ok((all[i - 1]?.at ?? '') >= (all[i]?.at ?? ''));
    assert.deepEqual((await events(`?since=${base}&until=${base + 2000}&type=pin.revoked`)).map((e) => e.subject), ['s1']);
    const isoSince = new Date(base + 3000).toISOString();
    assert.deepEqual((await events(`?since=${isoSince}&project=beta`)).map((e) => e.subject), ['s5', 's4', 's3']);
    assert.deepEqual((await events(`?before=${base + 1000}&project=alpha`)).map((e) => e.subject), ['s0']);
    assert.deepEqual(await events('?project=no-such-project'), []);
  });

  it('answers 100 events by default and at most the limit asked (every admin list pages alike)', async () => {
    for (let i = 0; i < 110; i += 1) await app.services.audit.record({ type: 'keys.rotated', outcome: 'info' });
    assert.equal((await events('?type=keys.rotated')).length, 100);
    assert.equal((await events('?type=keys.rotated&limit=55')).length, 55);
    assert.equal((await events('?type=keys.rotated&limit=1000')).length, 110);
  });

  it('pages with before and before_id without losing events that share a millisecond', async () => {
    // The clock does not move: all 7 events share one timestamp.
    for (let i = 0; i < 7; i += 1) await app.services.audit.record({ type: 'magic_link.sent', outcome: 'info', subject: `p${i}` });
    const seen: string[] = [];
    let query = '?type=magic_link.sent&limit=3';
    for (let page = 0; page < 5; page += 1) {
      const batch = await events(query);
      seen.push(...batch.map((e) => e.subject ?? ''));
      const last = batch.at(-1);
      if (batch.length < 3 || !last) break;
      query = `?type=magic_link.sent&limit=3&before=${encodeURIComponent(last.at)}&before_id=${encodeURIComponent(last.id)}`;
    }
    assert.equal(seen.length, 7);
    assert.deepEqual([...seen].sort(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('bad query values answer 400 Invalid request', async () => {
    const bad = [
      '?limit=0',
      '?limit=1001',
      '?limit=-1',
      '?limit=1.5',
      '?limit=abc',
      '?limit=1&limit=2',
      '?since=yesterday',
      '?until=2026-13-45',
      '?before=2026-01-01T10:00',
      '?before_id=abc',
      '?project=',
    ];
    for (const query of bad) {
      const res = await call(app, admin, 'GET', `/admin/audit${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.json().error, 'Invalid request', query);
    }
  });
});
