// The limits at the client's doors: /token counts per client and address (H2), a client_id no
// project can have is refused before any counter (M7), every 401 names its scheme, and what the
// audit log keeps of client-authentication failures and 429s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createTestApp, pkcePair, testEnv, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { adminToken, authParams, bearer, consoleTokens, createProject, createUser, post, type TestProject } from './support/flow.ts';

const PASSWORD = 'a long enough passphrase';
const MADE_UP_ID = 'x'.repeat(65);

const tokenFrom = (app: TestApp, clientId: string, ip: string, extra: Record<string, string> = {}) =>
  post(app, '/token', { client_id: clientId, grant_type: 'password', ...extra }, { 'x-forwarded-for': ip });

describe('the /token limit counts per client and address', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
  });
  after(() => app.close());

  it('the default scope is client_and_address; another value stops the start with a clear message', () => {
    assert.equal(loadConfig({}).tokenRateLimitScope, 'client_and_address');
    assert.equal(loadConfig({ GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE: 'client' }).tokenRateLimitScope, 'client');
    assert.throws(() => loadConfig({ GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE: 'address' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE must be client_and_address or client, got "address"/);
      return true;
    });
  });

  it('one address that used up its 20 requests gets 429; another address naming the same client is still answered', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await tokenFrom(app, project.id, '203.0.113.10')).json().error, 'Unsupported grant_type');
    const limited = await tokenFrom(app, project.id, '203.0.113.10');
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
    const other = await tokenFrom(app, project.id, '203.0.113.11');
    assert.deepEqual([other.statusCode, other.json()], [400, { error: 'Unsupported grant_type' }]);
  });

  it('a flood of 429s writes one audit event for that limit, address and window', async () => {
    const flooded = await createProject(app);
    for (let i = 0; i < 30; i++) await tokenFrom(app, flooded.id, '203.0.113.20');
    await tokenFrom(app, flooded.id, '203.0.113.21');
    const events = await app.services.audit.list({ projectId: flooded.id, type: 'rate_limit.refused', limit: 100 });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.ip, '203.0.113.20');
    assert.deepEqual(events[0]?.detail, { limit: 'tokenRequestsPerClient' });
  });
});

describe('GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE=client', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE: 'client' } });
  });
  after(() => app.close());

  it('counts per client_id alone, as the reference did: 20 requests from many addresses limit every address', async () => {
    const project = await createProject(app);
    for (let i = 0; i < 20; i++) await tokenFrom(app, project.id, `198.51.100.${i + 1}`);
    const limited = await tokenFrom(app, project.id, '198.51.100.200');
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
  });
});

describe('a client_id that cannot be a project id', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_TOKEN_RATE_LIMIT: '2' } });
    project = await createProject(app);
  });
  after(() => app.close());

  it('answers 400 Invalid client_id at /token before the limit: it never runs out, and no counter is kept for it', async () => {
    for (const clientId of [MADE_UP_ID, 'ab', 'has space', 'dots.are.not.allowed', 'é-accent']) {
      for (let i = 0; i < 4; i++) {
        const res = await tokenFrom(app, clientId, '192.0.2.1');
        assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }], clientId);
      }
    }
    // The check order of SPEC.md is kept for ids that could be a project: missing, then the limit.
    assert.deepEqual((await post(app, '/token', { grant_type: 'password' })).json(), { error: 'Missing client_id' });
    for (let i = 0; i < 2; i++) await tokenFrom(app, 'no-such-project', '192.0.2.2');
    assert.equal((await tokenFrom(app, 'no-such-project', '192.0.2.2')).statusCode, 429);
    await app.services.closeLimits(); // SQLite: writes the counters to their table now
    if (app.services.database.sqlite) {
      const keys = app.services.database.sqlite.prepare('SELECT key FROM rate_limits').all() as Array<{ key: string }>;
      assert.ok(keys.every((row) => !row.key.includes(MADE_UP_ID)), 'no counter for the made-up id');
    }
  });

  it('answers 400 Invalid client_id at /authorize, at the login endpoints and at /revoke', async () => {
    const { challenge } = pkcePair();
    const authorize = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(MADE_UP_ID, challenge) })}` });
    assert.deepEqual([authorize.statusCode, authorize.json()], [400, { error: 'Invalid client_id' }]);
    for (const url of ['/login', '/login/pin', '/register', '/magic-link']) {
      const res = await post(app, url, { ...authParams(MADE_UP_ID, challenge), email: 'a@example.com', password: PASSWORD, pin: '12345678' });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }], url);
    }
    const revoke = await post(app, '/revoke', { token: 'anything', client_id: MADE_UP_ID });
    assert.deepEqual([revoke.statusCode, revoke.json()], [400, { error: 'Invalid client_id' }]);
    assert.ok(project.id);
  });
});

describe('WWW-Authenticate on every 401, and the audit of client authentication', () => {
  let app: TestApp;
  let confidential: TestProject;
  before(async () => {
    app = await createTestApp();
    confidential = await createProject(app, { confidential: true });
    await createUser(app, 'nadia@example.com', PASSWORD, 'console');
  });
  after(() => app.close());

  it('/token and /revoke answer a failed client authentication with Basic realm="gatehouse", and record it without the secret', async () => {
    const wrong = 'not-the-secret-at-all';
    const token = await post(app, '/token', { client_id: confidential.id, client_secret: wrong, grant_type: 'refresh_token' });
    assert.deepEqual([token.statusCode, token.json()], [401, { error: 'Invalid client_secret' }]);
    assert.equal(token.headers['www-authenticate'], 'Basic realm="gatehouse"');
    const basic = Buffer.from(`${confidential.id}:${wrong}`).toString('base64');
    const revoke = await post(app, '/revoke', { token: 'anything' }, { authorization: `Basic ${basic}` });
    assert.deepEqual([revoke.statusCode, revoke.json()], [401, { error: 'Invalid client_secret' }]);
    assert.equal(revoke.headers['www-authenticate'], 'Basic realm="gatehouse"');
    const missing = await post(app, '/revoke', { token: 'anything', client_id: confidential.id });
    assert.equal(missing.headers['www-authenticate'], 'Basic realm="gatehouse"');

    const events = await app.services.audit.list({ projectId: confidential.id, type: 'client.authentication_failed', limit: 10 });
    const recorded = events.map((e) => JSON.stringify(e.detail)).sort();
    assert.deepEqual(recorded, [
      '{"endpoint":"/revoke","reason":"missing_secret"}',
      '{"endpoint":"/revoke","reason":"wrong_secret"}',
      '{"endpoint":"/token","reason":"wrong_secret"}',
    ]);
    assert.ok(!JSON.stringify(events).includes(wrong), 'the presented secret is never recorded');
  });

  it('the other 401s of /token carry the same challenge: an unknown refresh token', async () => {
    const res = await post(app, '/token', {
      client_id: confidential.id,
      client_secret: confidential.clientSecret ?? '',
      grant_type: 'refresh_token',
      refresh_token: 'no-such-refresh-token',
    });
    assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid refresh token' }]);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="gatehouse"');
  });

  it('a 400 at /token carries no challenge', async () => {
    const res = await post(app, '/token', { client_id: confidential.id, client_secret: confidential.clientSecret ?? '', grant_type: 'password' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  it('/userinfo and the admin API answer 401 with Bearer error="invalid_token"', async () => {
    for (const headers of [{}, bearer('not.a.token')]) {
      const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers });
      assert.equal(userinfo.statusCode, 401);
      assert.equal(userinfo.headers['www-authenticate'], 'Bearer error="invalid_token"');
      const admin = await app.server.inject({ method: 'GET', url: '/admin/projects', headers });
      assert.deepEqual([admin.statusCode, admin.json()], [401, { error: 'Unauthorized' }]);
      assert.equal(admin.headers['www-authenticate'], 'Bearer error="invalid_token"');
    }
  });

  it('admin-API 401s and 403s are recorded, with the subject of a valid token and never the token', async () => {
    const before = await app.services.audit.list({ type: 'admin.access_refused', limit: 100 });
    app.clock.advance(1000); // events of one millisecond have no order
    await app.server.inject({ method: 'GET', url: '/admin/users', headers: bearer('garbage.token.here') });
    const member = await consoleTokens(app, 'nadia@example.com', PASSWORD);
    app.clock.advance(1000);
    const forbidden = await app.server.inject({ method: 'GET', url: '/admin/users', headers: bearer(member.access_token) });
    assert.deepEqual([forbidden.statusCode, forbidden.json()], [403, { error: 'Forbidden' }]);
    assert.equal(forbidden.headers['www-authenticate'], undefined);
    const ok = await app.server.inject({ method: 'GET', url: '/admin/users', headers: bearer(await adminToken(app)) });
    assert.equal(ok.statusCode, 200);

    const all = await app.services.audit.list({ type: 'admin.access_refused', limit: 100 });
    const events = all.slice(0, all.length - before.length); // newest first: this test's own
    assert.equal(events.length, 2);
    const [refused403, refused401] = events;
    assert.deepEqual(refused401?.detail, { status: 401, method: 'GET', route: '/admin/users' });
    assert.equal(refused401?.subject, null);
    assert.deepEqual(refused403?.detail, { status: 403, method: 'GET', route: '/admin/users' });
    assert.ok(refused403?.subject);
    assert.ok(!JSON.stringify(events).includes(member.access_token));
  });
});

describe('PostgreSQL without Redis: the new counters and refusal marks are shared by the instances', {
  skip: testBackend === 'postgres' ? false : 'a PostgreSQL deployment; runs in the Postgres+Redis pass (npm run test:postgres)',
}, () => {
  let first: TestApp;
  let second: TestApp;
  before(async () => {
    const env = { ...testEnv({ GATEHOUSE_TRUST_PROXY: 'true' }), GATEHOUSE_REDIS_URL: '' };
    [first, second] = await Promise.all([createTestApp({ env }), createTestApp({ env })]);
  });
  after(async () => {
    await first?.close();
    await second?.close();
  });

  it('20 /token requests spread over two instances limit the address on both, and the window writes one event', async () => {
    const project = await createProject(first);
    for (let i = 0; i < 20; i++) await tokenFrom(i % 2 ? first : second, project.id, '203.0.113.90');
    for (const app of [first, second, first, second]) assert.equal((await tokenFrom(app, project.id, '203.0.113.90')).statusCode, 429);
    assert.equal((await tokenFrom(first, project.id, '203.0.113.91')).statusCode, 400, 'another address is answered');
    const events = await first.services.audit.list({ projectId: project.id, type: 'rate_limit.refused', limit: 100 });
    assert.equal(events.length, 1);
  });

  it('failed passwords of one account counted by one instance limit the other', async () => {
    const account = 'shared-account-id';
    for (let n = 0; n < 20; n++) assert.equal(await (n % 2 ? first : second).services.limits.passwordFailuresPerAccount.hit(account), true);
    assert.equal(await first.services.limits.passwordFailuresPerAccount.hit(account), false);
    assert.equal(await second.services.limits.passwordFailuresPerAccount.exhausted(account), true);
  });
});
