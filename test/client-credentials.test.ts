// grant_type=client_credentials (docs/machines.md): the project fields that allow it, /token's
// five checks in their order, the scopes, and the token verified with jose against the JWKS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Project } from '../src/projects/projects.ts';
import { createTestApp, ISSUER, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, bearer, post, postForm, REDIRECT_URI } from './support/flow.ts';

interface Service {
  id: string;
  secret: string;
}

describe('grant_type=client_credentials', () => {
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
      id: `svc-${++counter}-${Math.random().toString(36).slice(2, 8)}`,
      name: 'Nightly job',
      redirect_uris: [REDIRECT_URI],
      confidential: true,
      client_credentials: true,
      ...fields,
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json<Project & { client_secret: string }>();
    return { id: body.id, secret: body.client_secret };
  }

  function grant(svc: Service, extra: Record<string, string> = {}) {
    return post(app, '/token', { grant_type: 'client_credentials', client_id: svc.id, client_secret: svc.secret, ...extra });
  }

  async function jwks(): Promise<JSONWebKeySet> {
    return (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<JSONWebKeySet>();
  }

  describe('the project fields', () => {
    it('default to off and empty, and are shown by GET', async () => {
      const res = await call(app, admin, 'POST', '/admin/projects', { name: 'Plain', redirect_uris: [REDIRECT_URI] });
      assert.equal(res.statusCode, 201);
      const created = res.json<Project>();
      assert.deepEqual([created.client_credentials, created.service_scopes, created.admin_api], [false, [], false]);
      const shown = (await call(app, admin, 'GET', `/admin/projects/${created.id}`)).json<Project>();
      assert.deepEqual([shown.client_credentials, shown.service_scopes, shown.admin_api], [false, [], false]);
    });

    it('a public project asking for client_credentials answers 400 Invalid request, on create and on update', async () => {
      const created = await call(app, admin, 'POST', '/admin/projects', { name: 'Spa', redirect_uris: [REDIRECT_URI], client_credentials: true });
      assert.deepEqual([created.statusCode, created.json().error], [400, 'Invalid request']);
      const spa = (await call(app, admin, 'POST', '/admin/projects', { name: 'Spa', redirect_uris: [REDIRECT_URI] })).json<Project>();
      const changed = await call(app, admin, 'PATCH', `/admin/projects/${spa.id}`, { client_credentials: true });
      assert.deepEqual([changed.statusCode, changed.json().error], [400, 'Invalid request']);
      assert.equal((await call(app, admin, 'GET', `/admin/projects/${spa.id}`)).json<Project>().client_credentials, false);
    });

    it('PATCH sets the three fields of a confidential project', async () => {
      const svc = await service({ client_credentials: false });
      const res = await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { client_credentials: true, service_scopes: ['reports:read', 'jobs:run'], admin_api: true });
      assert.equal(res.statusCode, 200, res.body);
      const project = res.json<Project>();
      assert.deepEqual([project.client_credentials, project.service_scopes, project.admin_api], [true, ['reports:read', 'jobs:run'], true]);
    });

    it('service_scopes must be scope tokens, each once, and never admin', async () => {
      const svc = await service();
      for (const service_scopes of [['has space'], ['a"b'], ['admin'], ['x', 'x'], [''], 'x']) {
        const res = await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { service_scopes });
        assert.deepEqual([res.statusCode, res.json().error], [400, 'Invalid request'], JSON.stringify(service_scopes));
      }
      const wrongType = await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { admin_api: 'yes' });
      assert.deepEqual([wrongType.statusCode, wrongType.json().error], [400, 'Invalid request']);
    });
  });

  describe("/token's checks in their order", () => {
    it('1. no client_id answers 400 Missing client_id', async () => {
      const res = await post(app, '/token', { grant_type: 'client_credentials' });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing client_id' }]);
    });

    it('2. the 21st request within 60 s answers 429 Rate limited, the limit of the other grants', async () => {
      const svc = await service();
      for (let i = 0; i < 20; i++) assert.equal((await grant(svc)).statusCode, 200);
      const limited = await grant(svc);
      assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
      // before the secret is looked at, as for the other grants
      assert.equal((await grant(svc, { client_secret: 'wrong' })).statusCode, 429);
    });

    it('3. an unknown client answers 400 Invalid client_id', async () => {
      const res = await post(app, '/token', { grant_type: 'client_credentials', client_id: 'no-such-service', client_secret: 'x' });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }]);
    });

    it('4. a missing or wrong secret answers 401 Invalid client_secret', async () => {
      const svc = await service();
      const missing = await post(app, '/token', { grant_type: 'client_credentials', client_id: svc.id });
      assert.deepEqual([missing.statusCode, missing.json()], [401, { error: 'Invalid client_secret' }]);
      const wrong = await grant(svc, { client_secret: 'not-the-secret' });
      assert.deepEqual([wrong.statusCode, wrong.json()], [401, { error: 'Invalid client_secret' }]);
    });

    it('5. a project without client_credentials answers 400 Unsupported grant_type', async () => {
      const svc = await service({ client_credentials: false });
      const res = await grant(svc);
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Unsupported grant_type' }]);
      // and a public project, whose id alone passes check 4
      const spa = (await call(app, admin, 'POST', '/admin/projects', { name: 'Spa', redirect_uris: [REDIRECT_URI] })).json<Project>();
      const publicGrant = await post(app, '/token', { grant_type: 'client_credentials', client_id: spa.id });
      assert.deepEqual([publicGrant.statusCode, publicGrant.json()], [400, { error: 'Unsupported grant_type' }]);
    });

    it('a wrong secret is answered before the missing grant, and the grant before the scope', async () => {
      const svc = await service({ client_credentials: false });
      assert.equal((await grant(svc, { client_secret: 'wrong', scope: 'nope' })).json().error, 'Invalid client_secret');
      assert.equal((await grant(svc, { scope: 'nope' })).json().error, 'Unsupported grant_type');
    });
  });

  describe('scopes', () => {
    it('a scope not in service_scopes answers 400 Invalid scope', async () => {
      const svc = await service({ service_scopes: ['reports:read'] });
      for (const scope of ['reports:write', 'reports:read reports:write', 'openid', 'admin']) {
        const res = await grant(svc, { scope });
        assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid scope' }], scope);
      }
    });

    it('the scopes asked for are granted, each once; none asked for is every service scope', async () => {
      const svc = await service({ service_scopes: ['reports:read', 'jobs:run'] });
      assert.equal((await grant(svc, { scope: 'jobs:run' })).json().scope, 'jobs:run');
      assert.equal((await grant(svc, { scope: 'jobs:run  reports:read jobs:run' })).json().scope, 'jobs:run reports:read');
      assert.equal((await grant(svc)).json().scope, 'reports:read jobs:run');
    });

    it('admin is granted to an admin_api project when asked for, never by default', async () => {
      const plain = await service({ service_scopes: ['jobs:run'] });
      assert.equal((await grant(plain, { scope: 'admin' })).json().error, 'Invalid scope');
      const ops = await service({ service_scopes: ['jobs:run'], admin_api: true });
      assert.equal((await grant(ops)).json().scope, 'jobs:run');
      const res = await grant(ops, { scope: 'admin jobs:run' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().scope, 'admin jobs:run');
    });
  });

  it('answers 200 {access_token, token_type, expires_in, scope}: no refresh token, no ID token', async () => {
    const svc = await service({ service_scopes: ['reports:read'] });
    const res = await grant(svc, { scope: 'reports:read' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.deepEqual([body.token_type, body.expires_in, body.scope], ['Bearer', 900, 'reports:read']);
  });

  it('the access token verifies against the JWKS: sub client:<id>, client_id, aud, scope, no sid', async () => {
    const svc = await service({ service_scopes: ['reports:read'] });
    const { access_token } = (await grant(svc, { scope: 'reports:read' })).json<{ access_token: string }>();
    assert.equal(decodeProtectedHeader(access_token).typ, 'at+jwt');
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(await jwks()), { issuer: ISSUER, audience: svc.id, currentDate: new Date(app.clock.now()) });
    assert.equal(payload.sub, `client:${svc.id}`);
    assert.equal(payload.client_id, svc.id);
    assert.equal(payload.aud, svc.id);
    assert.equal(payload.scope, 'reports:read');
    assert.equal(payload.exp, Math.floor(app.clock.now() / 1000) + 900);
    assert.equal(typeof payload.jti, 'string');
    assert.equal(payload.sid, undefined);
    assert.equal(payload.amr, undefined);
  });

  it('follows the project: RS256 and its access token lifetime', async () => {
    const svc = await service({ token_signing_alg: 'RS256' });
    await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { access_token_ttl_seconds: 120 });
    const res = await grant(svc);
    assert.equal(res.json().expires_in, 120);
    assert.equal(decodeProtectedHeader(res.json().access_token).alg, 'RS256');
  });

  it('takes HTTP Basic and form bodies like the other grants', async () => {
    const svc = await service();
    const basic = Buffer.from(`${encodeURIComponent(svc.id)}:${encodeURIComponent(svc.secret)}`).toString('base64');
    const res = await postForm(app, '/token', { grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` });
    assert.equal(res.statusCode, 200, res.body);
  });

  it('a client token is no user: /userinfo answers 401', async () => {
    const svc = await service();
    const { access_token } = (await grant(svc)).json<{ access_token: string }>();
    const res = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(access_token) });
    assert.equal(res.statusCode, 401);
  });

  it('each grant is in the audit log under the subject client:<id>', async () => {
    const svc = await service({ service_scopes: ['jobs:run'] });
    await grant(svc, { scope: 'jobs:run' });
    const res = await call(app, admin, 'GET', `/admin/audit?project=${svc.id}&type=token.client_credentials`);
    const [event] = res.json<{ events: Array<{ subject: string; outcome: string; detail: Record<string, unknown> }> }>().events;
    assert.ok(event);
    assert.deepEqual([event.subject, event.outcome, event.detail.scope], [`client:${svc.id}`, 'success', 'jobs:run']);
  });

  it('/revoke of a client token answers 200 {} and ends nothing (it has no session, docs/decisions/0102)', async () => {
    const svc = await service();
    const { access_token } = (await grant(svc)).json<{ access_token: string }>();
    const res = await post(app, '/revoke', { token: access_token, client_id: svc.id, client_secret: svc.secret });
    assert.deepEqual([res.statusCode, res.json()], [200, {}]);
    const introspected = await post(app, '/introspect', { token: access_token, client_id: svc.id, client_secret: svc.secret });
    assert.equal(introspected.json().active, true);
  });

  it('discovery lists the grant', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<{ grant_types_supported: string[] }>();
    assert.ok(doc.grant_types_supported.includes('client_credentials'));
  });
});
