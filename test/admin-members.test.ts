import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, createProject, createUser, passwordTokens, post, refresh, type TestProject } from './support/flow.ts';

const PASSWORD = 'member password 42';

describe('admin API: members', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    // Closed, so that only the admin decides who is a member.
    project = await createProject(app, { registrationOpen: false });
  });
  after(() => app.close());

  function login(email: string) {
    return post(app, '/login', { ...authParams(project.id, pkcePair().challenge), email, password: PASSWORD });
  }

  async function memberTokens(email: string) {
    return passwordTokens(app, project, email, PASSWORD);
  }

  it('PUT adds a member, who can then sign in; GET lists them; PUT again changes nothing', async () => {
    const userId = await createUser(app, 'join@example.com', PASSWORD);
    const before = await login('join@example.com');
    assert.equal(before.statusCode, 403);
    assert.equal(before.json().error, 'Not a member');

    const added = await call(app, admin, 'PUT', `/admin/projects/${project.id}/members/${userId}`);
    assert.equal(added.statusCode, 200);
    assert.deepEqual(added.json(), { user_id: userId, email: 'join@example.com', blocked: false });
    assert.equal((await login('join@example.com')).statusCode, 200);

    const list = await call(app, admin, 'GET', `/admin/projects/${project.id}/members`);
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json<{ members: unknown[] }>().members, [{ user_id: userId, email: 'join@example.com', blocked: false }]);

    const again = await call(app, admin, 'PUT', `/admin/projects/${project.id}/members/${userId}`);
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), { user_id: userId, email: 'join@example.com', blocked: false });
    assert.equal((await call(app, admin, 'GET', `/admin/projects/${project.id}/members`)).json<{ members: unknown[] }>().members.length, 1);
  });

  it("blocking a member refuses their login and their refresh token with 403 Account blocked; unblocking restores both", async () => {
    const userId = await createUser(app, 'blocked@example.com', PASSWORD, project.id);
    const tokens = await memberTokens('blocked@example.com');

    const blocked = await call(app, admin, 'POST', `/admin/projects/${project.id}/members/${userId}/block`);
    assert.equal(blocked.statusCode, 200);
    assert.deepEqual(blocked.json(), { user_id: userId, email: 'blocked@example.com', blocked: true });

    const refusedLogin = await login('blocked@example.com');
    assert.equal(refusedLogin.statusCode, 403);
    assert.deepEqual(refusedLogin.json(), { error: 'Account blocked' });
    const refusedRefresh = await refresh(app, project, tokens.refresh_token);
    assert.equal(refusedRefresh.statusCode, 403);
    assert.deepEqual(refusedRefresh.json(), { error: 'Account blocked' });

    // Adding a blocked member again does not lift the block.
    const readded = await call(app, admin, 'PUT', `/admin/projects/${project.id}/members/${userId}`);
    assert.equal(readded.json<{ blocked: boolean }>().blocked, true);

    const unblocked = await call(app, admin, 'POST', `/admin/projects/${project.id}/members/${userId}/unblock`);
    assert.equal(unblocked.statusCode, 200);
    assert.deepEqual(unblocked.json(), { user_id: userId, email: 'blocked@example.com', blocked: false });
    assert.equal((await login('blocked@example.com')).statusCode, 200);
    assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 200);
  });

  it('a block applies to one project only', async () => {
    const other = await createProject(app, { registrationOpen: false });
    const userId = await createUser(app, 'two-projects@example.com', PASSWORD, project.id);
    await app.services.users.addMember(other.id, userId);
    await call(app, admin, 'POST', `/admin/projects/${project.id}/members/${userId}/block`);
    assert.equal((await login('two-projects@example.com')).statusCode, 403);
    const elsewhere = await post(app, '/login', { ...authParams(other.id, pkcePair().challenge), email: 'two-projects@example.com', password: PASSWORD });
    assert.equal(elsewhere.statusCode, 200);
    const members = (await call(app, admin, 'GET', `/admin/projects/${other.id}/members`)).json<{ members: Array<{ blocked: boolean }> }>().members;
    assert.deepEqual(members, [{ user_id: userId, email: 'two-projects@example.com', blocked: false }]);
  });

  it("removing a member ends their sessions in the project and keeps them out of a closed project", async () => {
    const userId = await createUser(app, 'leaving@example.com', PASSWORD, project.id);
    const tokens = await memberTokens('leaving@example.com');

    const removed = await call(app, admin, 'DELETE', `/admin/projects/${project.id}/members/${userId}`);
    assert.equal(removed.statusCode, 204);
    assert.equal(removed.body, '');
    const ended = await refresh(app, project, tokens.refresh_token);
    assert.equal(ended.statusCode, 401);
    assert.deepEqual(ended.json(), { error: 'Invalid refresh token' });
    assert.equal((await login('leaving@example.com')).json().error, 'Not a member');
    const members = (await call(app, admin, 'GET', `/admin/projects/${project.id}/members`)).json<{ members: Array<{ user_id: string }> }>().members;
    assert.equal(members.some((m) => m.user_id === userId), false);
    const sessions = (await call(app, admin, 'GET', `/admin/projects/${project.id}/sessions`)).json<{ sessions: Array<{ subject: string }> }>().sessions;
    assert.equal(sessions.some((s) => s.subject === userId), false);
  });

  it('unknown projects, users and memberships answer 404 Not found', async () => {
    const stranger = await createUser(app, 'stranger@example.com', PASSWORD);
    const member = await createUser(app, 'known@example.com', PASSWORD, project.id);
    const cases: Array<['GET' | 'PUT' | 'DELETE' | 'POST', string]> = [
      ['GET', '/admin/projects/no-such-project/members'],
      ['PUT', `/admin/projects/no-such-project/members/${member}`],
      ['PUT', `/admin/projects/${project.id}/members/no-such-user`],
      ['DELETE', `/admin/projects/no-such-project/members/${member}`],
      ['DELETE', `/admin/projects/${project.id}/members/no-such-user`],
      ['DELETE', `/admin/projects/${project.id}/members/${stranger}`],
      ['POST', `/admin/projects/no-such-project/members/${member}/block`],
      ['POST', `/admin/projects/${project.id}/members/no-such-user/block`],
      ['POST', `/admin/projects/${project.id}/members/${stranger}/block`],
      ['POST', `/admin/projects/${project.id}/members/${stranger}/unblock`],
    ];
    for (const [method, url] of cases) {
      const res = await call(app, admin, method, url);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'Not found' });
    }
    assert.equal(await app.services.users.membership(project.id, stranger), undefined);
  });
});
