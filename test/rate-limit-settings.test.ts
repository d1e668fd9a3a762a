// The rate-limit thresholds as settings (GATEHOUSE_TOKEN_RATE_LIMIT, GATEHOUSE_LOGIN_FAILURES_PER_IP):
// SPEC's numbers by default, another number when set, and the limiter consulted either way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, type App } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createTestApp, pkcePair, testEnv, type TestApp } from './support/app.ts';
import { releaseTestStorage } from './support/backend.ts';
import { authParams, createProject, createUser, post, type TestProject } from './support/flow.ts';

const PASSWORD = 'difference engine 1822';

describe('rate-limit settings', () => {
  let app: TestApp;
  let project: TestProject;
  const { challenge } = pkcePair();

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TOKEN_RATE_LIMIT: '3', GATEHOUSE_LOGIN_FAILURES_PER_IP: '2', GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    await createUser(app, 'charles@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it('the defaults are SPEC numbers: 20 /token requests per client per minute, 5 failed logins per address', () => {
    const config = loadConfig({});
    assert.equal(config.tokenRequestsPerMinute, 20);
    assert.equal(config.loginFailuresPerIp, 5);
  });

  it('a setting that is not a positive whole number is refused at start', () => {
    assert.throws(() => loadConfig({ GATEHOUSE_TOKEN_RATE_LIMIT: '0' }), ConfigError);
    assert.throws(() => loadConfig({ GATEHOUSE_LOGIN_FAILURES_PER_IP: 'many' }), ConfigError);
  });

  it('GATEHOUSE_TOKEN_RATE_LIMIT=3: the 4th /token request within 60 s for one client answers 429 Rate limited', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await post(app, '/token', { client_id: project.id, grant_type: 'password' });
      assert.deepEqual(res.json(), { error: 'Unsupported grant_type' });
    }
    const limited = await post(app, '/token', { client_id: project.id, grant_type: 'password' });
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
  });

  it('GATEHOUSE_LOGIN_FAILURES_PER_IP=2: after 2 failed logins from one address the right password answers 429', async () => {
    const login = (password: string) =>
      post(app, '/login', { ...authParams(project.id, challenge), email: 'charles@example.com', password }, { 'x-forwarded-for': '203.0.113.5' });
    for (let i = 0; i < 2; i++) assert.equal((await login('wrong')).statusCode, 401);
    const limited = await login(PASSWORD);
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
  });
});

describe('rate-limit counters across a restart', () => {
  it('a restarted server on the same storage goes on counting where the last one stopped', async () => {
    const config = loadConfig(testEnv({ GATEHOUSE_TOKEN_RATE_LIMIT: '2' }));
    const form = { client_id: 'restart-app', grant_type: 'password' };
    const tokenRequest = (app: App) =>
      app.server.inject({ method: 'POST', url: '/token', payload: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const first = await buildApp({ config });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await tokenRequest(first)).statusCode, 400);
    } finally {
      await first.close();
    }
    const second = await buildApp({ config });
    try {
      const limited = await tokenRequest(second);
      assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
    } finally {
      await second.close();
      await releaseTestStorage(config);
    }
  });
});
