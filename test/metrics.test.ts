import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, bearer, createProject, createUser, passwordCode, passwordTokens, post, refresh, type TestProject } from './support/flow.ts';

const TOKEN = 'metrics-scraper-token-0123456789';
const PASSWORD = 'lovelace notes g 1843';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(app: TestApp): Promise<Sample[]> {
  const res = await app.server.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) });
  assert.equal(res.statusCode, 200, res.body);
  return parseExposition(res.body);
}

/** The value of the one sample with this name whose labels include `labels` (0 when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

describe('GET /metrics', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_METRICS_TOKEN: TOKEN, GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    await createUser(app, 'ada@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it('is absent (404 Not found) unless GATEHOUSE_METRICS_TOKEN is set', async () => {
    const plain = await createTestApp();
    try {
      const res = await plain.server.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), { error: 'Not found' });
    } finally {
      await plain.close();
    }
  });

  it('answers 401 Unauthorized without the right Bearer token', async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN]) {
      const res = await app.server.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
      assert.equal(res.statusCode, 401, String(authorization));
      assert.deepEqual(res.json(), { error: 'Unauthorized' });
    }
  });

  it('answers the Prometheus text format with the right token', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'gatehouse_http_requests_total',
      'gatehouse_http_request_duration_seconds',
      'gatehouse_logins_total',
      'gatehouse_rate_limited_total',
      'gatehouse_tokens_issued_total',
      'gatehouse_refresh_token_reuse_detected_total',
      'gatehouse_process_resident_memory_bytes',
    ]) {
      assert.match(res.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
  });

  it('counts requests and latency by route pattern and status, never by raw URL', async () => {
    await app.server.inject({ method: 'GET', url: '/admin/projects/secret-looking-id-123' });
    await app.server.inject({ method: 'GET', url: '/no/such/path/at-all' });
    await app.server.inject({ method: 'GET', url: '/healthz?probe=1' });
    const samples = await scrape(app);
    assert.equal(value(samples, 'gatehouse_http_requests_total', { method: 'GET', route: '/admin/projects/:id', status: '401' }), 1);
    assert.equal(value(samples, 'gatehouse_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.equal(value(samples, 'gatehouse_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 1);
    assert.equal(value(samples, 'gatehouse_http_request_duration_seconds_count', { route: '/healthz', status: '200' }), 1);
    assert.equal(value(samples, 'gatehouse_http_request_duration_seconds_bucket', { route: '/healthz', status: '200', le: '+Inf' }), 1);
    const routes = new Set(samples.map((s) => s.labels.route).filter(Boolean));
    for (const route of routes) assert.ok(!/secret-looking|no\/such|probe/.test(route!), `raw URL in a label: ${route}`);
  });

  it('counts logins by method and outcome, and rate-limit refusals by route', async () => {
    const before = await scrape(app);
    await passwordCode(app, project.id, 'ada@example.com', PASSWORD);
    const login = (password: string) => {
      const { challenge } = pkcePair();
      return post(app, '/login', { ...authParams(project.id, challenge), email: 'ada@example.com', password }, { 'x-forwarded-for': '203.0.113.9' });
    };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login('wrong password')).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const { challenge } = pkcePair();
    assert.equal((await post(app, '/login/pin', { ...authParams(project.id, challenge), pin: '00000000' })).statusCode, 401);

    const now = await scrape(app);
    const delta = (name: string, labels: Record<string, string>) => value(now, name, labels) - value(before, name, labels);
    assert.equal(delta('gatehouse_logins_total', { method: 'password', outcome: 'success' }), 1);
    assert.equal(delta('gatehouse_logins_total', { method: 'password', outcome: 'failure' }), 5);
    assert.equal(delta('gatehouse_logins_total', { method: 'password', outcome: 'rate_limited' }), 1);
    assert.equal(delta('gatehouse_logins_total', { method: 'pin', outcome: 'failure' }), 1);
    assert.equal(delta('gatehouse_rate_limited_total', { route: '/login' }), 1);
    assert.equal(value(now, 'gatehouse_logins_total', { method: 'magic_link', outcome: 'success' }), 0, 'every series exists from the start');
  });

  it('counts tokens issued by grant type and refresh-token reuse detections', async () => {
    const before = await scrape(app);
    const tokens = await passwordTokens(app, project, 'ada@example.com', PASSWORD);
    assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 200);
    assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 401, 'a replay');

    const now = await scrape(app);
    const delta = (name: string, labels: Record<string, string> = {}) => value(now, name, labels) - value(before, name, labels);
    assert.equal(delta('gatehouse_tokens_issued_total', { grant_type: 'authorization_code' }), 1);
    assert.equal(delta('gatehouse_tokens_issued_total', { grant_type: 'refresh_token' }), 1);
    assert.equal(delta('gatehouse_refresh_token_reuse_detected_total'), 1);
  });

  it('two apps in one process keep separate counts', async () => {
    const other = await createTestApp({ env: { GATEHOUSE_METRICS_TOKEN: TOKEN } });
    try {
      await other.server.inject({ method: 'GET', url: '/healthz' });
      await other.server.inject({ method: 'GET', url: '/healthz' });
      const mine = value(await scrape(app), 'gatehouse_http_requests_total', { route: '/healthz', status: '200' });
      const theirs = value(await scrape(other), 'gatehouse_http_requests_total', { route: '/healthz', status: '200' });
      assert.equal(theirs, 2);
      assert.equal(mine, 1, 'the first app saw only its own /healthz');
    } finally {
      await other.close();
    }
  });
});
