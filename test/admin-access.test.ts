import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';
import { call, consoleTokens, type Method } from './support/admin.ts';
import { adminToken, createProject, passwordTokens } from './support/flow.ts';

// Every admin route of this module (the PIN routes are tested with the PINs).
const ROUTES: Array<[Method, string, object?]> = [
  ['POST', '/admin/projects', { name: 'X', redirect_uris: ['https://x.example/cb'] }],
  ['GET', '/admin/projects'],
  ['GET', '/admin/projects/console'],
  ['PATCH', '/admin/projects/console', { name: 'Renamed' }],
  ['DELETE', '/admin/projects/some-project'],
  ['POST', '/admin/projects/some-project/secret'],
  ['GET', '/admin/projects/console/members'],
  ['PUT', '/admin/projects/console/members/someone'],
  ['DELETE', '/admin/projects/console/members/someone'],
  ['POST', '/admin/projects/console/members/someone/block'],
  ['POST', '/admin/projects/console/members/someone/unblock'],
  ['GET', '/admin/users?email=a@example.com'],
  ['POST', '/admin/users', { email: 'new@example.com' }],
  ['GET', '/admin/users/someone'],
  ['PATCH', '/admin/users/someone', { is_admin: true }],
  ['DELETE', '/admin/users/someone'],
  ['GET', '/admin/projects/console/sessions'],
  ['DELETE', '/admin/sessions/some-session'],
  ['GET', '/admin/audit'],
];

function claims(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

async function assertEveryRouteAnswers(app: TestApp, token: string | undefined, status: number, error: string, headers?: Record<string, string>): Promise<void> {
  for (const [method, url, payload] of ROUTES) {
    const res = headers
      ? await app.server.inject({ method, url, headers, ...(payload ? { payload: payload as Record<string, unknown> } : {}) })
      : await call(app, token, method, url, payload);
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
    assert.deepEqual(res.json(), { error }, `${method} ${url}`);
  }
}

describe('admin API access', () => {
  let app: TestApp;
  let admin: string;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
  });
  after(() => app.close());

  it('every route answers 401 Unauthorized without a token', async () => {
    await assertEveryRouteAnswers(app, undefined, 401, 'Unauthorized');
  });

  it('every route answers 401 Unauthorized with a garbage token or another scheme', async () => {
    await assertEveryRouteAnswers(app, 'not-a-jwt', 401, 'Unauthorized');
    await assertEveryRouteAnswers(app, `${admin.slice(0, -4)}AAAA`, 401, 'Unauthorized');
    await assertEveryRouteAnswers(app, undefined, 401, 'Unauthorized', { authorization: 'Basic YWRtaW46YWRtaW4=' });
  });

  it('no token answers 401 before the body is looked at', async () => {
    const res = await call(app, undefined, 'POST', '/admin/projects', { name: 42 });
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), { error: 'Unauthorized' });
  });

  it("an admin's token issued for another project answers 401 Unauthorized", async () => {
    const project = await createProject(app, { registrationOpen: true });
    const tokens = await passwordTokens(app, project, app.config.adminEmail ?? '', app.config.adminPassword ?? '');
    await assertEveryRouteAnswers(app, tokens.access_token, 401, 'Unauthorized');
  });

  it('a non-admin console member answers 403 Forbidden on every route', async () => {
    const created = await call(app, admin, 'POST', '/admin/users', { email: 'viewer@example.com', password: 'plain member of console' });
    assert.equal(created.statusCode, 201);
    const userId = created.json<{ id: string }>().id;
    assert.equal((await call(app, admin, 'PUT', `/admin/projects/console/members/${userId}`)).statusCode, 200);
    const tokens = await consoleTokens(app, 'viewer@example.com', 'plain member of console');
    await assertEveryRouteAnswers(app, tokens.access_token, 403, 'Forbidden');
  });

  it('demoting an admin makes their existing token answer 403 at once; promoting restores it', async () => {
    const created = await call(app, admin, 'POST', '/admin/users', { email: 'second-admin@example.com', password: 'second admin password', is_admin: true });
    assert.equal(created.statusCode, 201);
    const userId = created.json<{ id: string }>().id;
    await call(app, admin, 'PUT', `/admin/projects/console/members/${userId}`);
    const second = (await consoleTokens(app, 'second-admin@example.com', 'second admin password')).access_token;
    assert.equal((await call(app, second, 'GET', '/admin/projects')).statusCode, 200);

    const demoted = await call(app, admin, 'PATCH', `/admin/users/${userId}`, { is_admin: false });
    assert.equal(demoted.statusCode, 200);
    assert.equal(demoted.json<{ is_admin: boolean }>().is_admin, false);
    const refused = await call(app, second, 'GET', '/admin/projects');
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(refused.json(), { error: 'Forbidden' });

    await call(app, admin, 'PATCH', `/admin/users/${userId}`, { is_admin: true });
    assert.equal((await call(app, second, 'GET', '/admin/projects')).statusCode, 200);
  });

  it("an admin token whose session was ended, or whose account was deleted, answers 401", async () => {
    const created = await call(app, admin, 'POST', '/admin/users', { email: 'third-admin@example.com', password: 'third admin password', is_admin: true });
    const userId = created.json<{ id: string }>().id;
    await call(app, admin, 'PUT', `/admin/projects/console/members/${userId}`);
    const first = (await consoleTokens(app, 'third-admin@example.com', 'third admin password')).access_token;
    const second = (await consoleTokens(app, 'third-admin@example.com', 'third admin password')).access_token;

    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${String(claims(first).sid)}`)).statusCode, 204);
    const ended = await call(app, first, 'GET', '/admin/projects');
    assert.equal(ended.statusCode, 401);
    assert.deepEqual(ended.json(), { error: 'Unauthorized' });
    assert.equal((await call(app, second, 'GET', '/admin/projects')).statusCode, 200);

    assert.equal((await call(app, admin, 'DELETE', `/admin/users/${userId}`)).statusCode, 204);
    const deleted = await call(app, second, 'GET', '/admin/projects');
    assert.equal(deleted.statusCode, 401);
    assert.deepEqual(deleted.json(), { error: 'Unauthorized' });
  });

  it('NUL and other control characters anywhere answer 400 Invalid request, never a storage error', async () => {
    const cases: Array<[Method, string, object?]> = [
      ['GET', '/admin/projects/bad%00id'],
      ['GET', '/admin/users/bad%00id'],
      ['PUT', '/admin/projects/console/members/bad%00id'],
      ['DELETE', '/admin/sessions/bad%01id'],
      ['GET', '/admin/users?email=a%00b%40example.com'],
      ['GET', '/admin/audit?project=a%00b'],
      ['GET', '/admin/audit?before=1&before_id=a%00b'],
      ['POST', '/admin/projects', { name: 'Nul\u0000name', redirect_uris: ['https://x.example/cb'] }],
      ['POST', '/admin/projects', { name: 'Tab\tname', redirect_uris: ['https://x.example/cb'] }],
      ['POST', '/admin/projects', { name: 'Fine', redirect_uris: ['https://x.example/c\u0000b'] }],
      ['POST', '/admin/users', { email: 'nul\u0000@example.com' }],
      ['PATCH', '/admin/projects/console', { name: '\u0000' }],
    ];
    for (const [method, url, payload] of cases) {
      const res = await call(app, admin, method, url, payload);
      assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`);
      assert.equal(res.json().error, 'Invalid request');
    }
  });

  it('unknown admin paths answer 404 Not found', async () => {
    const res = await call(app, admin, 'GET', '/admin/nothing-here');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'Not found' });
  });

  // Last: it moves the clock past the lifetime of every token issued above.
  it('an expired admin token answers 401 Unauthorized on every route', async () => {
    assert.equal((await call(app, admin, 'GET', '/admin/projects')).statusCode, 200);
    app.clock.advance(901 * 1000);
    await assertEveryRouteAnswers(app, admin, 401, 'Unauthorized');
  });
});
