// Service access to the admin API (docs/machines.md): a client_credentials token with the scope
// `admin` of an admin_api project works as an admin's console token; audit events name
// `client:<id>`; the project's settings are checked at every request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Project } from '../src/projects/projects.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, post, REDIRECT_URI } from './support/flow.ts';

interface Service {
  id: string;
  secret: string;
}

interface AuditEvent {
  type: string;
  subject: string | null;
  project_id: string | null;
  detail: Record<string, unknown>;
}

describe('service access to the admin API', () => {
  let app: TestApp;
  let admin: string;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
  });
  after(() => app.close());

  let counter = 0;
  async function service(fields: Record<string, unknown> = {}): Promise<Service> {
    const res = await call(app, admin, 'POST', '/admin/projects', {
      id: `ci-${++counter}`,
      name: 'CI',
      redirect_uris: [REDIRECT_URI],
      confidential: true,
      client_credentials: true,
      admin_api: true,
      service_scopes: ['deploy'],
      ...fields,
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json<Project & { client_secret: string }>();
    return { id: body.id, secret: body.client_secret };
  }

  async function serviceToken(svc: Service, scope = 'admin'): Promise<string> {
    const res = await post(app, '/token', { grant_type: 'client_credentials', client_id: svc.id, client_secret: svc.secret, scope });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ access_token: string }>().access_token;
  }

  async function auditOf(query: string): Promise<AuditEvent[]> {
    return (await call(app, admin, 'GET', `/admin/audit?${query}`)).json<{ events: AuditEvent[] }>().events;
  }

  it('an admin-scoped token of an admin_api project manages projects and users as an admin does', async () => {
    const svc = await service();
    const token = await serviceToken(svc);
    const created = await call(app, token, 'POST', '/admin/projects', { id: 'made-by-ci', name: 'Made by CI', redirect_uris: [REDIRECT_URI] });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((await call(app, token, 'PATCH', '/admin/projects/made-by-ci', { name: 'Renamed by CI' })).json().name, 'Renamed by CI');
    assert.equal((await call(app, token, 'GET', '/admin/projects')).statusCode, 200);
    const user = await call(app, token, 'POST', '/admin/users', { email: 'robot-made@example.com' });
    assert.equal(user.statusCode, 201, user.body);
    assert.equal((await call(app, token, 'GET', '/admin/audit?limit=5')).statusCode, 200);
    assert.equal((await call(app, token, 'DELETE', '/admin/projects/made-by-ci')).statusCode, 204);
  });

  it('audit events of its changes name the subject client:<id>', async () => {
    const svc = await service();
    const token = await serviceToken(svc);
    assert.equal((await call(app, token, 'POST', '/admin/projects', { id: 'audited-by-ci', name: 'A', redirect_uris: [REDIRECT_URI] })).statusCode, 201);
    const [event] = await auditOf('project=audited-by-ci&type=admin.project.created');
    assert.ok(event);
    assert.equal(event.subject, `client:${svc.id}`);
    const [byCi] = await auditOf(`subject=${encodeURIComponent(`client:${svc.id}`)}&type=admin.project.created`);
    assert.equal(byCi?.project_id, 'audited-by-ci');
  });

  it('a token without the admin scope answers 403 Forbidden, recorded with its subject', async () => {
    const svc = await service();
    const token = await serviceToken(svc, 'deploy');
    const res = await call(app, token, 'GET', '/admin/projects');
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Forbidden' }]);
    const [refused] = await auditOf(`type=admin.access_refused&subject=${encodeURIComponent(`client:${svc.id}`)}`);
    assert.equal(refused?.detail.status, 403);
  });

  it('turning admin_api off stops its tokens at the next request (403), turning it on again lets them in', async () => {
    const svc = await service();
    const token = await serviceToken(svc);
    assert.equal((await call(app, token, 'GET', '/admin/users')).statusCode, 200);
    assert.equal((await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { admin_api: false })).statusCode, 200);
    assert.deepEqual((await call(app, token, 'GET', '/admin/users')).json(), { error: 'Forbidden' });
    // nor can it ask for a new one
    const again = await post(app, '/token', { grant_type: 'client_credentials', client_id: svc.id, client_secret: svc.secret, scope: 'admin' });
    assert.deepEqual([again.statusCode, again.json()], [400, { error: 'Invalid scope' }]);
    await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { admin_api: true });
    assert.equal((await call(app, token, 'GET', '/admin/users')).statusCode, 200);
  });

  it('switching client_credentials off or deleting the project stops its tokens (401)', async () => {
    const off = await service();
    const offToken = await serviceToken(off);
    await call(app, admin, 'PATCH', `/admin/projects/${off.id}`, { client_credentials: false });
    const refused = await call(app, offToken, 'GET', '/admin/projects');
    assert.deepEqual([refused.statusCode, refused.json()], [401, { error: 'Unauthorized' }]);
    assert.match(String(refused.headers['www-authenticate']), /^Bearer/);

    const gone = await service();
    const goneToken = await serviceToken(gone);
    assert.equal((await call(app, admin, 'DELETE', `/admin/projects/${gone.id}`)).statusCode, 204);
    assert.equal((await call(app, goneToken, 'GET', '/admin/projects')).statusCode, 401);
  });

  it('an expired service token answers 401 (the injected clock)', async () => {
    const svc = await service();
    const token = await serviceToken(svc);
    app.clock.advance(901_000);
    try {
      assert.equal((await call(app, token, 'GET', '/admin/projects')).statusCode, 401);
    } finally {
      app.clock.advance(-901_000);
    }
  });

  it('a forged or altered token answers 401', async () => {
    const svc = await service();
    const token = await serviceToken(svc);
    const [header, , signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'client:other' })).toString('base64url')}.${signature}`;
    assert.equal((await call(app, altered, 'GET', '/admin/projects')).statusCode, 401);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${token.split('.')[1]}.`;
    assert.equal((await call(app, unsigned, 'GET', '/admin/projects')).statusCode, 401);
  });

  it("the console's token still works as before, and audits the admin's id", async () => {
    assert.equal((await call(app, admin, 'GET', '/admin/projects')).statusCode, 200);
    assert.equal((await call(app, admin, 'POST', '/admin/projects', { id: 'by-person', name: 'P', redirect_uris: [REDIRECT_URI] })).statusCode, 201);
    const [event] = await auditOf('project=by-person&type=admin.project.created');
    assert.ok(event?.subject && !event.subject.startsWith('client:'));
  });
});
