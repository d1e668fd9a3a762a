// POST /introspect (RFC 7662, docs/machines.md): access and refresh tokens in every state, who may
// ask about which token, the checks before the answer, its own rate limit, discovery.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Project } from '../src/projects/projects.ts';
import { createTestApp, ISSUER, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, createProject, createUser, passwordTokens, post, postForm, refresh, sessionIdOf, REDIRECT_URI, type TestProject, type Tokens } from './support/flow.ts';

const PASSWORD = 'analytical engine 1837';

describe('POST /introspect', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  let userId: string;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_INTROSPECTION_RATE_LIMIT: '30' } });
    admin = await adminToken(app);
    project = await createProject(app, { confidential: true });
    userId = await createUser(app, 'ada@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  function ask(caller: TestProject, token: string, extra: Record<string, string> = {}) {
    return post(app, '/introspect', { token, client_id: caller.id, ...(caller.clientSecret ? { client_secret: caller.clientSecret } : {}), ...extra });
  }

  async function activeOf(caller: TestProject, token: string): Promise<Record<string, unknown>> {
    const res = await ask(caller, token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Record<string, unknown>>();
  }

  async function inactive(caller: TestProject, token: string): Promise<void> {
    assert.deepEqual(await activeOf(caller, token), { active: false });
  }

  const tokens = (target: TestProject = project): Promise<Tokens> => passwordTokens(app, target, 'ada@example.com', PASSWORD, { scope: 'openid email' });

  let counter = 0;
  async function serviceProject(fields: Record<string, unknown>): Promise<TestProject> {
    const res = await call(app, admin, 'POST', '/admin/projects', { id: `ops-${++counter}`, name: 'Ops', redirect_uris: [REDIRECT_URI], confidential: true, ...fields });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json<Project & { client_secret: string }>();
    return { id: body.id, clientSecret: body.client_secret };
  }

  describe('access tokens', () => {
    it('an active one answers every field, token_type Bearer', async () => {
      const t = await tokens();
      const answer = await activeOf(project, t.access_token);
      const payload = JSON.parse(Buffer.from(t.access_token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
      assert.deepEqual(answer, {
        active: true,
        scope: 'openid email',
        client_id: project.id,
        sub: userId,
        exp: payload.exp,
        iat: payload.iat,
        iss: ISSUER,
        aud: project.id,
        jti: payload.jti,
        sid: sessionIdOf(t.access_token),
        token_type: 'Bearer',
      });
    });

    it('revoked (through /revoke) answers {active: false}', async () => {
      const t = await tokens();
      await ask(project, t.access_token);
      await post(app, '/revoke', { token: t.access_token, client_id: project.id, client_secret: project.clientSecret ?? '' });
      await inactive(project, t.access_token);
    });

    it('expired (the injected clock past exp) answers {active: false}', async () => {
      const t = await tokens();
      assert.equal((await activeOf(project, t.access_token)).active, true);
      app.clock.advance(901_000);
      try {
        await inactive(project, t.access_token);
      } finally {
        app.clock.advance(-901_000);
      }
    });

    it('of an ended session (an admin ended it) answers {active: false}', async () => {
      const t = await tokens();
      const ended = await call(app, admin, 'DELETE', `/admin/sessions/${sessionIdOf(t.access_token)}`);
      assert.equal(ended.statusCode, 204);
      await inactive(project, t.access_token);
      await inactive(project, t.refresh_token);
    });

    it('of a member since blocked answers {active: false}', async () => {
      const other = await createProject(app, { confidential: true });
      await app.services.users.addMember(other.id, userId);
      const t = await tokens(other);
      assert.equal((await activeOf(other, t.access_token)).active, true);
      assert.equal((await call(app, admin, 'POST', `/admin/projects/${other.id}/members/${userId}/block`)).statusCode, 200);
      await inactive(other, t.access_token);
      await inactive(other, t.refresh_token);
    });

    it("another project's token answers {active: false}", async () => {
      const other = await createProject(app, { confidential: true });
      const t = await tokens();
      await inactive(other, t.access_token);
      await inactive(other, t.refresh_token);
    });

    it('a client_credentials token is active while its project allows the grant', async () => {
      const svc = await serviceProject({ client_credentials: true, service_scopes: ['jobs:run'] });
      const granted = await post(app, '/token', { grant_type: 'client_credentials', client_id: svc.id, client_secret: svc.clientSecret ?? '' });
      const { access_token } = granted.json<{ access_token: string }>();
      const answer = await activeOf(svc, access_token);
      assert.deepEqual([answer.active, answer.sub, answer.client_id, answer.scope, answer.token_type, answer.sid], [true, `client:${svc.id}`, svc.id, 'jobs:run', 'Bearer', undefined]);
      await call(app, admin, 'PATCH', `/admin/projects/${svc.id}`, { client_credentials: false });
      await inactive(svc, access_token);
    });
  });

  describe('refresh tokens', () => {
    it('an active one answers token_type refresh_token, its session and its times', async () => {
      const t = await tokens();
      const answer = await activeOf(project, t.refresh_token);
      const now = Math.floor(app.clock.now() / 1000);
      assert.deepEqual(answer, {
        active: true,
        scope: 'openid email',
        client_id: project.id,
        sub: userId,
        exp: now + 2_592_000,
        iat: now,
        iss: ISSUER,
        aud: project.id,
        sid: sessionIdOf(t.access_token),
        token_type: 'refresh_token',
      });
      // introspection does not use the token
      assert.equal((await refresh(app, project, t.refresh_token)).statusCode, 200);
    });

    it('a rotated (used) one answers {active: false}, its successor is active', async () => {
      const t = await tokens();
      const next = (await refresh(app, project, t.refresh_token)).json<Tokens>();
      await inactive(project, t.refresh_token);
      assert.equal((await activeOf(project, next.refresh_token)).active, true);
    });

    it('revoked answers {active: false}', async () => {
      const t = await tokens();
      await post(app, '/revoke', { token: t.refresh_token, client_id: project.id, client_secret: project.clientSecret ?? '' });
      await inactive(project, t.refresh_token);
      await inactive(project, t.access_token);
    });

    it('expired (the injected clock past its expiry) answers {active: false}', async () => {
      const t = await tokens();
      app.clock.advance(2_592_001_000);
      try {
        await inactive(project, t.refresh_token);
      } finally {
        app.clock.advance(-2_592_001_000);
      }
    });

    it('of a deleted user answers {active: false}', async () => {
      const gone = await createProject(app, { confidential: true });
      const id = await createUser(app, 'charles@example.com', PASSWORD, gone.id);
      const t = await passwordTokens(app, gone, 'charles@example.com', PASSWORD);
      assert.equal((await call(app, admin, 'DELETE', `/admin/users/${id}`)).statusCode, 204);
      await inactive(gone, t.refresh_token);
      await inactive(gone, t.access_token);
    });
  });

  it('unknown and garbage tokens answer {active: false}', async () => {
    for (const token of ['never-issued', 'a.b', 'a.b.c', 'x'.repeat(5000), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '\u00e9t\u00e9', `${'A'.repeat(43)}.${'B'.repeat(43)}`]) {
      await inactive(project, token);
    }
  });

  it('an admin_api project may introspect any token; a public one with admin_api may not', async () => {
    const ops = await serviceProject({ admin_api: true });
    const t = await tokens();
    assert.equal((await activeOf(ops, t.access_token)).active, true);
    assert.equal((await activeOf(ops, t.refresh_token)).active, true);
    const spa = (await call(app, admin, 'POST', '/admin/projects', { id: 'public-ops', name: 'Spa', redirect_uris: [REDIRECT_URI], admin_api: true })).json<Project>();
    await inactive({ id: spa.id }, t.access_token);
  });

  it('a public project introspects its own tokens by client_id alone', async () => {
    const spa = await createProject(app);
    await app.services.users.addMember(spa.id, userId);
    const t = await tokens(spa);
    assert.equal((await activeOf(spa, t.access_token)).active, true);
  });

  it('token_type_hint is taken and not needed: a wrong hint still finds the token', async () => {
    const t = await tokens();
    assert.equal((await activeOf(project, t.access_token)).active, true);
    const hinted = await ask(project, t.refresh_token, { token_type_hint: 'access_token' });
    assert.equal(hinted.json().token_type, 'refresh_token');
  });

  describe('the checks before the answer', () => {
    it('no token or no client_id answers 400 Missing token or client_id', async () => {
      for (const body of [{ client_id: project.id }, { token: 'x' }, {}]) {
        const res = await post(app, '/introspect', body);
        assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing token or client_id' }]);
      }
    });

    it('an unknown client answers 400 Invalid client_id', async () => {
      const res = await post(app, '/introspect', { token: 'x', client_id: 'nobody-here' });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }]);
    });

    it('a confidential caller with a missing or wrong secret answers 401 Invalid client_secret, with Basic challenge', async () => {
      const missing = await post(app, '/introspect', { token: 'x', client_id: project.id });
      assert.deepEqual([missing.statusCode, missing.json()], [401, { error: 'Invalid client_secret' }]);
      const wrong = await ask({ id: project.id, clientSecret: 'wrong' }, 'x');
      assert.deepEqual([wrong.statusCode, wrong.json()], [401, { error: 'Invalid client_secret' }]);
      assert.match(String(wrong.headers['www-authenticate']), /^Basic/);
    });

    it('takes HTTP Basic and form bodies, and answers no-store', async () => {
      const t = await tokens();
      const basic = Buffer.from(`${encodeURIComponent(project.id)}:${encodeURIComponent(project.clientSecret ?? '')}`).toString('base64');
      const res = await postForm(app, '/introspect', { token: t.access_token }, { authorization: `Basic ${basic}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().active, true);
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  });

  it('its own limit: GATEHOUSE_INTROSPECTION_RATE_LIMIT per 60 s per project and address, then 429', async () => {
    const limited = await createProject(app);
    const from = (ip: string) => app.server.inject({ method: 'POST', url: '/introspect', payload: { token: 'x', client_id: limited.id }, remoteAddress: ip });
    for (let i = 0; i < 30; i++) assert.equal((await from('203.0.113.7')).statusCode, 200);
    const refused = await from('203.0.113.7');
    assert.deepEqual([refused.statusCode, refused.json()], [429, { error: 'Rate limited' }]);
    // another address, and the token endpoint, count apart
    assert.equal((await from('203.0.113.8')).statusCode, 200);
    const token = await app.server.inject({ method: 'POST', url: '/token', payload: { grant_type: 'x', client_id: limited.id }, remoteAddress: '203.0.113.7' });
    assert.equal(token.json().error, 'Unsupported grant_type');
  });

  it('discovery lists the endpoint and its authentication methods', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<Record<string, unknown>>();
    assert.equal(doc.introspection_endpoint, `${ISSUER}/introspect`);
    assert.deepEqual(doc.introspection_endpoint_auth_methods_supported, ['none', 'client_secret_post', 'client_secret_basic']);
  });
});
