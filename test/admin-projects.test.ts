import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ID_PATTERN, type Project } from '../src/projects/projects.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, bearer, createUser, passwordTokens, post, refresh, REDIRECT_URI } from './support/flow.ts';

type ProjectBody = Project & { client_secret?: string };

describe('admin API: projects', () => {
  let app: TestApp;
  let admin: string;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
  });
  after(() => app.close());

  function tokenWithSecret(clientId: string, clientSecret?: string) {
    return post(app, '/token', { grant_type: 'client_credentials', client_id: clientId, ...(clientSecret !== undefined ? { client_secret: clientSecret } : {}) });
  }

  it('creates a public project with the given id, open by default, and shows it', async () => {
    const res = await call(app, admin, 'POST', '/admin/projects', { id: 'shop-web', name: 'Shop', redirect_uris: [REDIRECT_URI] });
    assert.equal(res.statusCode, 201);
    const project = res.json<ProjectBody>();
    assert.equal(project.id, 'shop-web');
    assert.equal(project.name, 'Shop');
    assert.deepEqual(project.redirect_uris, [REDIRECT_URI]);
    assert.equal(project.confidential, false);
    assert.equal(project.registration_open, true);
    assert.equal(project.access_token_ttl_seconds, null);
    assert.equal('client_secret' in project, false);

    const shown = await call(app, admin, 'GET', '/admin/projects/shop-web');
    assert.equal(shown.statusCode, 200);
    assert.deepEqual(shown.json(), project);
    const list = await call(app, admin, 'GET', '/admin/projects');
    assert.equal(list.statusCode, 200);
    const ids = list.json<{ projects: ProjectBody[] }>().projects.map((p) => p.id);
    assert.ok(ids.includes('shop-web') && ids.includes('console'));
  });

  it('generates an id when none is given', async () => {
    const res = await call(app, admin, 'POST', '/admin/projects', { name: 'No id', redirect_uris: ['http://localhost:5173/callback'], registration_open: false });
    assert.equal(res.statusCode, 201);
    const project = res.json<ProjectBody>();
    assert.match(project.id, PROJECT_ID_PATTERN);
    assert.equal(project.registration_open, false);
  });

  it('a confidential project gets its client secret once, and /token asks for it', async () => {
    const res = await call(app, admin, 'POST', '/admin/projects', { id: 'billing', name: 'Billing', redirect_uris: [REDIRECT_URI], confidential: true });
    assert.equal(res.statusCode, 201);
    const created = res.json<ProjectBody>();
    assert.equal(created.confidential, true);
    assert.equal(typeof created.client_secret, 'string');
    assert.ok((created.client_secret ?? '').length >= 43);
    assert.equal('client_secret' in (await call(app, admin, 'GET', '/admin/projects/billing')).json(), false);

    const without = await tokenWithSecret('billing');
    assert.equal(without.statusCode, 401);
    assert.equal(without.json().error, 'Invalid client_secret');
    // The right secret gets past client authentication to the grant_type check.
    const withSecret = await tokenWithSecret('billing', created.client_secret);
    assert.equal(withSecret.json().error, 'Unsupported grant_type');
  });

  it('a taken id answers 409 Project already exists', async () => {
    await call(app, admin, 'POST', '/admin/projects', { id: 'taken-id', name: 'First', redirect_uris: [REDIRECT_URI] });
    for (const id of ['taken-id', 'console']) {
      const res = await call(app, admin, 'POST', '/admin/projects', { id, name: 'Second', redirect_uris: [REDIRECT_URI] });
      assert.equal(res.statusCode, 409);
      assert.deepEqual(res.json(), { error: 'Project already exists' });
    }
    assert.equal((await call(app, admin, 'GET', '/admin/projects/taken-id')).json<ProjectBody>().name, 'First');
  });

  it('accepts https redirect URIs anywhere and http ones only on the loopback host', async () => {
    const uris = ['https://app.example.com/cb?x=1', 'http://localhost/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]:3000/cb'];
    const res = await call(app, admin, 'POST', '/admin/projects', { name: 'Dev', redirect_uris: uris });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json<ProjectBody>().redirect_uris, uris);
  });

  it('refuses malformed project bodies with 400 Invalid request', async () => {
    const valid = { name: 'Valid', redirect_uris: [REDIRECT_URI] };
    const bad: object[] = [
      {},
      { redirect_uris: [REDIRECT_URI] },
      { ...valid, name: '' },
      { ...valid, name: '   ' },
      { ...valid, name: 42 },
      { ...valid, name: 'x'.repeat(201) },
      { name: 'No URIs' },
      { ...valid, redirect_uris: [] },
      { ...valid, redirect_uris: REDIRECT_URI },
      { ...valid, redirect_uris: [42] },
      { ...valid, redirect_uris: ['/relative/callback'] },
      { ...valid, redirect_uris: ['not a url'] },
      { ...valid, redirect_uris: ['http://app.example.com/cb'] },
      { ...valid, redirect_uris: ['https://app.example.com/cb#frag'] },
      { ...valid, redirect_uris: ['https://user:pw@app.example.com/cb'] },
      { ...valid, redirect_uris: ['javascript:alert(1)'] },
      { ...valid, redirect_uris: ['https://app.example.com/a b'] },
      { ...valid, redirect_uris: [REDIRECT_URI, REDIRECT_URI] },
      { ...valid, id: 'ab' },
      { ...valid, id: 'x'.repeat(65) },
      { ...valid, id: 'has space' },
      { ...valid, id: 'slash/inside' },
      { ...valid, id: 7 },
      { ...valid, registration_open: 'yes' },
      { ...valid, confidential: 1 },
      { ...valid, client_secret: 'chosen-by-caller' },
    ];
    for (const body of bad) {
      const res = await call(app, admin, 'POST', '/admin/projects', body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().error, 'Invalid request', JSON.stringify(body));
    }
    const malformed = await app.server.inject({ method: 'POST', url: '/admin/projects', payload: '{"name":', headers: { ...bearer(admin), 'content-type': 'application/json' } });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error, 'Invalid request');
  });

  it('reads an empty JSON body as no body: fine where none is needed, 400 where one is', async () => {
    const headers = { ...bearer(admin), 'content-type': 'application/json' };
    await call(app, admin, 'POST', '/admin/projects', { id: 'empty-body', name: 'Empty', redirect_uris: [REDIRECT_URI] });
    const secret = await app.server.inject({ method: 'POST', url: '/admin/projects/empty-body/secret', headers });
    assert.equal(secret.statusCode, 200, secret.body);
    const deleted = await app.server.inject({ method: 'DELETE', url: '/admin/projects/empty-body', headers });
    assert.equal(deleted.statusCode, 204, deleted.body);
    const create = await app.server.inject({ method: 'POST', url: '/admin/projects', headers });
    assert.equal(create.statusCode, 400);
    assert.equal(create.json().error, 'Invalid request');
    const poisoned = await app.server.inject({ method: 'POST', url: '/admin/projects', headers, payload: '{"name":"P","redirect_uris":["https://p.example/cb"],"__proto__":{"x":1}}' });
    assert.equal(poisoned.statusCode, 400);
    assert.equal(poisoned.json().error, 'Invalid request');
  });

  it('takes a form-encoded body with the same field names', async () => {
    const form = new URLSearchParams([
      ['id', 'form-made'],
      ['name', 'Form'],
      ['redirect_uris', 'https://a.example.com/cb'],
      ['redirect_uris', 'https://b.example.com/cb'],
      ['registration_open', 'false'],
      ['confidential', 'true'],
    ]);
    const res = await app.server.inject({
      method: 'POST',
      url: '/admin/projects',
      payload: form.toString(),
      headers: { ...bearer(admin), 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const project = res.json<ProjectBody>();
    assert.deepEqual(project.redirect_uris, ['https://a.example.com/cb', 'https://b.example.com/cb']);
    assert.equal(project.registration_open, false);
    assert.equal(project.confidential, true);
    assert.equal(typeof project.client_secret, 'string');

    const patchForm = (fields: string) =>
      app.server.inject({
        method: 'PATCH',
        url: '/admin/projects/form-made',
        payload: fields,
        headers: { ...bearer(admin), 'content-type': 'application/x-www-form-urlencoded' },
      });
    const set = await patchForm('access_token_ttl_seconds=300&registration_open=true');
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json<ProjectBody>().access_token_ttl_seconds, 300);
    assert.equal(set.json<ProjectBody>().registration_open, true);
    const cleared = await patchForm('access_token_ttl_seconds=');
    assert.equal(cleared.statusCode, 200, cleared.body);
    assert.equal(cleared.json<ProjectBody>().access_token_ttl_seconds, null);
    assert.equal((await patchForm('access_token_ttl_seconds=soon')).statusCode, 400);
  });

  it('PATCH changes name, redirect URIs, registration and lifetimes; null restores the default', async () => {
    await call(app, admin, 'POST', '/admin/projects', { id: 'patched', name: 'Before', redirect_uris: [REDIRECT_URI] });
    app.clock.advance(1000);
    const res = await call(app, admin, 'PATCH', '/admin/projects/patched', {
      name: 'After',
      redirect_uris: [REDIRECT_URI, 'https://other.example.com/cb'],
      registration_open: false,
      code_ttl_seconds: 30,
      access_token_ttl_seconds: 120,
      refresh_token_ttl_seconds: 3600,
    });
    assert.equal(res.statusCode, 200, res.body);
    const project = res.json<ProjectBody>();
    assert.equal(project.name, 'After');
    assert.deepEqual(project.redirect_uris, [REDIRECT_URI, 'https://other.example.com/cb']);
    assert.equal(project.registration_open, false);
    assert.equal(project.code_ttl_seconds, 30);
    assert.equal(project.access_token_ttl_seconds, 120);
    assert.equal(project.refresh_token_ttl_seconds, 3600);
    assert.notEqual(project.updated_at, project.created_at);
    assert.deepEqual((await call(app, admin, 'GET', '/admin/projects/patched')).json(), project);

    const reset = await call(app, admin, 'PATCH', '/admin/projects/patched', { access_token_ttl_seconds: null });
    assert.equal(reset.statusCode, 200);
    assert.equal(reset.json<ProjectBody>().access_token_ttl_seconds, null);
    assert.equal(reset.json<ProjectBody>().code_ttl_seconds, 30);
  });

  it('POST takes the lifetimes too; a bad one is 400 Invalid request and nothing is created', async () => {
    const res = await call(app, admin, 'POST', '/admin/projects', { id: 'born-short', name: 'Born short', redirect_uris: [REDIRECT_URI], code_ttl_seconds: 30, access_token_ttl_seconds: 120, refresh_token_ttl_seconds: 3600, session_max_seconds: 7200 });
    assert.equal(res.statusCode, 201, res.body);
    const project = res.json<ProjectBody>();
    assert.deepEqual([project.code_ttl_seconds, project.access_token_ttl_seconds, project.refresh_token_ttl_seconds], [30, 120, 3600]);
    await createUser(app, 'born@example.com', 'lifetime tester 2', 'born-short');
    assert.equal((await passwordTokens(app, { id: 'born-short' }, 'born@example.com', 'lifetime tester 2')).expires_in, 120);
    for (const bad of [{ code_ttl_seconds: 601 }, { access_token_ttl_seconds: 0 }, { refresh_token_ttl_seconds: '60' }]) {
      const refused = await call(app, admin, 'POST', '/admin/projects', { id: 'never-born', name: 'Never', redirect_uris: [REDIRECT_URI], ...bad });
      assert.equal(refused.statusCode, 400, JSON.stringify(bad));
      assert.equal(refused.json().error, 'Invalid request');
    }
    assert.equal((await call(app, admin, 'GET', '/admin/projects/never-born')).statusCode, 404);
  });

  it('a lifetime set by PATCH is the one tokens get', async () => {
    await call(app, admin, 'POST', '/admin/projects', { id: 'short-lived', name: 'Short', redirect_uris: [REDIRECT_URI] });
    await call(app, admin, 'PATCH', '/admin/projects/short-lived', { access_token_ttl_seconds: 120 });
    await createUser(app, 'ttl@example.com', 'lifetime tester 1', 'short-lived');
    const tokens = await passwordTokens(app, { id: 'short-lived' }, 'ttl@example.com', 'lifetime tester 1');
    assert.equal(tokens.expires_in, 120);
  });

  it('refuses bad PATCH bodies with 400 Invalid request and leaves the project as it was', async () => {
    await call(app, admin, 'POST', '/admin/projects', { id: 'steady', name: 'Steady', redirect_uris: [REDIRECT_URI] });
    const bad: object[] = [
      { code_ttl_seconds: 0 },
      { access_token_ttl_seconds: -5 },
      { refresh_token_ttl_seconds: 1.5 },
      { access_token_ttl_seconds: '60' },
      { access_token_ttl_seconds: 86_401 },
      { code_ttl_seconds: 601 },
      { refresh_token_ttl_seconds: 31_536_001 },
      { name: '' },
      { redirect_uris: [] },
      { redirect_uris: ['ftp://files.example.com/cb'] },
      { registration_open: 'false' },
      { confidential: true },
      { id: 'renamed' },
    ];
    for (const body of bad) {
      const res = await call(app, admin, 'PATCH', '/admin/projects/steady', body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().error, 'Invalid request', JSON.stringify(body));
    }
    const project = (await call(app, admin, 'GET', '/admin/projects/steady')).json<ProjectBody>();
    assert.equal(project.name, 'Steady');
    assert.equal(project.code_ttl_seconds, null);
    assert.deepEqual(project.redirect_uris, [REDIRECT_URI]);
  });

  it('unknown projects answer 404 Not found', async () => {
    const cases: Array<['GET' | 'PATCH' | 'DELETE' | 'POST', string, object?]> = [
      ['GET', '/admin/projects/no-such-project'],
      ['PATCH', '/admin/projects/no-such-project', { name: 'X' }],
      ['DELETE', '/admin/projects/no-such-project'],
      ['POST', '/admin/projects/no-such-project/secret'],
    ];
    for (const [method, url, payload] of cases) {
      const res = await call(app, admin, method, url, payload);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'Not found' });
    }
  });

  it('a new secret replaces the old one and makes a public project confidential', async () => {
    const created = (await call(app, admin, 'POST', '/admin/projects', { id: 'rotating', name: 'Rotating', redirect_uris: [REDIRECT_URI], confidential: true })).json<ProjectBody>();
    const rotated = await call(app, admin, 'POST', '/admin/projects/rotating/secret');
    assert.equal(rotated.statusCode, 200);
    const body = rotated.json<ProjectBody>();
    assert.equal(body.id, 'rotating');
    assert.equal(body.confidential, true);
    assert.notEqual(body.client_secret, created.client_secret);
    assert.equal((await tokenWithSecret('rotating', created.client_secret)).json().error, 'Invalid client_secret');
    assert.equal((await tokenWithSecret('rotating', body.client_secret)).json().error, 'Unsupported grant_type');

    await call(app, admin, 'POST', '/admin/projects', { id: 'was-public', name: 'Public', redirect_uris: [REDIRECT_URI] });
    const secret = (await call(app, admin, 'POST', '/admin/projects/was-public/secret')).json<ProjectBody>();
    assert.equal(secret.confidential, true);
    assert.equal((await tokenWithSecret('was-public')).json().error, 'Invalid client_secret');
  });

  it('DELETE removes the project: 204, then 404, and its refresh tokens stop working', async () => {
    await call(app, admin, 'POST', '/admin/projects', { id: 'doomed', name: 'Doomed', redirect_uris: [REDIRECT_URI] });
    const memberId = await createUser(app, 'doomed@example.com', 'doomed member pw', 'doomed');
    const tokens = await passwordTokens(app, { id: 'doomed' }, 'doomed@example.com', 'doomed member pw');

    const res = await call(app, admin, 'DELETE', '/admin/projects/doomed');
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal((await call(app, admin, 'GET', '/admin/projects/doomed')).statusCode, 404);
    assert.equal((await call(app, admin, 'DELETE', '/admin/projects/doomed')).statusCode, 404);
    const afterDelete = await refresh(app, { id: 'doomed' }, tokens.refresh_token);
    assert.equal(afterDelete.statusCode, 400);
    assert.equal(afterDelete.json().error, 'Invalid client_id');
    assert.equal(await app.services.users.membership('doomed', memberId), undefined);
    assert.deepEqual(await app.services.sessions.listActive('doomed'), []);
  });

  it('the console project can be neither deleted nor given a secret (409)', async () => {
    for (const [method, url] of [['DELETE', '/admin/projects/console'], ['POST', '/admin/projects/console/secret']] as const) {
      const res = await call(app, admin, method, url);
      assert.equal(res.statusCode, 409, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'The console project cannot be deleted or given a secret' });
    }
    const consoleProject = (await call(app, admin, 'GET', '/admin/projects/console')).json<ProjectBody>();
    assert.equal(consoleProject.confidential, false);
    assert.equal((await call(app, admin, 'GET', '/admin/projects')).statusCode, 200);
  });
});
