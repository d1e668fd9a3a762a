// Hardening: every admin list is paged. `limit` (default 100, at most 1000; outside → 400
// Invalid request) and an opaque `cursor`, stable under inserts; the answer carries `next_cursor`
// beside the list, null at the end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, createProject, createUser, passwordTokens, type TestProject } from './support/flow.ts';

type Listed = Record<string, unknown> & { next_cursor: string | null };

describe('admin lists are paged', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;

  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    project = await createProject(app);
  });
  after(() => app.close());

  async function list(url: string): Promise<Listed> {
    const res = await call(app, admin, 'GET', url);
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.json<Listed>();
  }

  /** Follows the cursors of a list in pages of `limit`, and answers the ids seen, in order. */
  async function walk(url: string, field: string, key: string, limit: number, meanwhile?: (page: number) => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const sep = url.includes('?') ? '&' : '?';
      const body = await list(`${url}${sep}limit=${limit}${cursor !== null ? `&cursor=${cursor}` : ''}`);
      const items = body[field] as Array<Record<string, string>>;
      assert.ok(items.length <= limit);
      seen.push(...items.map((item) => item[key]!));
      cursor = body.next_cursor;
      if (cursor === null) return seen;
      await meanwhile?.(page);
    }
    throw new Error('the cursor never ended');
  }

  it('projects: pages of 3 walk every project once, and projects created meanwhile come at the end', async () => {
    for (let i = 0; i < 7; i++) await createProject(app, { id: `paged-${i}` });
    const before = ((await list('/admin/projects?limit=1000')).projects as Array<{ id: string }>).map((p) => p.id);
    let added = 0;
    const seen = await walk('/admin/projects', 'projects', 'id', 3, async () => {
      // Inserts between pages neither repeat nor skip anything already in the list; they are
      // newer, so they come after it.
      app.clock.advance(1);
      await createProject(app, { id: `added-${added++}` });
    });
    assert.deepEqual(seen.slice(0, before.length), before);
    assert.equal(new Set(seen).size, seen.length, 'no project twice');
    assert.ok(seen.includes('added-0'));
  });

  it('the last page says next_cursor: null, and the default page holds 100', async () => {
    const one = await list('/admin/projects');
    assert.equal(one.next_cursor, null);
    for (let i = 0; i < 105; i++) await app.services.users.create({ email: `paged${i}@example.com` });
    const users = await list('/admin/users');
    assert.equal((users.users as unknown[]).length, 100);
    assert.equal(typeof users.next_cursor, 'string');
    const rest = await list(`/admin/users?cursor=${users.next_cursor}`);
    assert.ok((rest.users as unknown[]).length >= 5);
    assert.equal(rest.next_cursor, null);
    const all = await walk('/admin/users', 'users', 'id', 1000);
    assert.equal(new Set(all).size, all.length);
    assert.equal(all.length, (users.users as unknown[]).length + (rest.users as unknown[]).length);
  });

  it('users filtered by email page too', async () => {
    const body = await list('/admin/users?email=paged1@example.com&limit=1');
    assert.deepEqual([(body.users as unknown[]).length, body.next_cursor], [1, null]);
  });

  it('members, PINs and sessions of a project page with the same cursor', async () => {
    const password = 'paging members password';
    for (let i = 0; i < 5; i++) await createUser(app, `member${i}@example.com`, password, project.id);
    const members = await walk(`/admin/projects/${project.id}/members`, 'members', 'user_id', 2);
    assert.equal(members.length, 5);
    assert.equal(new Set(members).size, 5);

    for (let i = 0; i < 5; i++) assert.equal((await call(app, admin, 'POST', `/admin/projects/${project.id}/pins`, { label: `pin ${i}` })).statusCode, 201);
    const pins = await walk(`/admin/projects/${project.id}/pins`, 'pins', 'id', 2);
    assert.equal(new Set(pins).size, 5);

    for (let i = 0; i < 5; i++) {
      await passwordTokens(app, project, `member${i}@example.com`, password);
      app.clock.advance(i % 2 === 0 ? 0 : 1);
    }
    const sessions = await walk(`/admin/projects/${project.id}/sessions`, 'sessions', 'id', 2);
    assert.equal(new Set(sessions).size, 5);
    const all = (await list(`/admin/projects/${project.id}/sessions`)).sessions as Array<{ id: string; created_at: string }>;
    assert.deepEqual(sessions, all.map((s) => s.id), 'the same order as one page: newest first');
  });

  it('the audit log pages with the same cursor', async () => {
    for (let i = 0; i < 7; i++) await app.services.audit.record({ type: 'keys.rotated', outcome: 'info', subject: `a${i}` });
    // All in one millisecond: the id breaks the tie, so a page boundary inside it loses nothing.
    const seen = await walk('/admin/audit?type=keys.rotated', 'events', 'subject', 3);
    const onePage = ((await list('/admin/audit?type=keys.rotated')).events as Array<{ subject: string }>).map((e) => e.subject);
    assert.deepEqual(seen, onePage);
    assert.deepEqual([...seen].sort(), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  });

  it('a limit outside 1–1000, or a cursor this server did not give, answers 400 Invalid request on every list', async () => {
    const lists = ['/admin/projects', '/admin/users', `/admin/projects/${project.id}/members`, `/admin/projects/${project.id}/pins`, `/admin/projects/${project.id}/sessions`, '/admin/audit'];
    const forged = Buffer.from('{"not":"a position"}').toString('base64url');
    for (const url of lists) {
      for (const query of ['limit=0', 'limit=1001', 'limit=-1', 'limit=1.5', 'limit=abc', 'cursor=', 'cursor=%%%', `cursor=${forged}`, 'cursor=bm9wZQ']) {
        const res = await call(app, admin, 'GET', `${url}?${query}`);
        assert.equal(res.statusCode, 400, `${url}?${query}: ${res.body}`);
        assert.equal(res.json<{ error: string }>().error, 'Invalid request');
      }
      assert.equal((await call(app, admin, 'GET', `${url}?limit=1000`)).statusCode, 200);
      assert.equal((await call(app, admin, 'GET', `${url}?limit=1`)).statusCode, 200);
    }
  });
});
