// Hardening M4: every login endpoint refuses a browser request from another site, whatever it
// accepts (a background `no-cors` JSON or form post too), before it spends anything.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, createUser, post, postForm, type TestProject } from './support/flow.ts';

const PASSWORD = 'tabulating machine 1890';

describe('cross-site browser requests to the login endpoints', () => {
  let app: TestApp;
  let project: TestProject;
  const { challenge } = pkcePair();
  let ip = 0;
  const nextIp = () => `10.9.0.${++ip}`;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    await createUser(app, 'ada@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  const bodies: Record<string, Record<string, string>> = {};
  const bodyOf = (path: string): Record<string, string> => {
    const params = authParams(project.id, challenge) as unknown as Record<string, string>;
    bodies['/login'] = { ...params, email: 'ada@example.com', password: PASSWORD };
    bodies['/login/pin'] = { ...params, pin: '12345678' };
    bodies['/register'] = { ...params, email: 'new@example.com', password: 'a fine long passphrase' };
    bodies['/magic-link'] = { ...params, email: 'ada@example.com' };
    bodies['/magic-link/verify'] = { token: 'whatever' };
    return bodies[path]!;
  };
  const endpoints = ['/login', '/login/pin', '/register', '/magic-link', '/magic-link/verify'];
  const crossSite: Array<[string, Record<string, string>]> = [
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['Origin: null', { origin: 'null' }],
    ['an Origin of the issuer on another port', { origin: `${ISSUER}:8443` }],
  ];

  for (const path of endpoints) {
    for (const [what, headers] of crossSite) {
      it(`${path}: a JSON post with ${what} answers 403 Forbidden`, async () => {
        const res = await post(app, path, bodyOf(path), { ...headers, 'x-forwarded-for': nextIp() });
        assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Forbidden' }]);
      });
    }
    it(`${path}: a no-cors form post (Accept */*) from another site answers 403 Forbidden`, async () => {
      const res = await postForm(app, path, bodyOf(path), { accept: '*/*', 'sec-fetch-site': 'cross-site', 'x-forwarded-for': nextIp() });
      assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Forbidden' }]);
    });
  }

  it('a cross-site JSON login neither signs in nor spends the address\'s failure budget', async () => {
    const from = nextIp();
    for (let i = 0; i < 8; i++) {
      const res = await post(app, '/login', { ...bodyOf('/login'), password: 'wrong' }, { 'sec-fetch-site': 'cross-site', 'x-forwarded-for': from });
      assert.equal(res.statusCode, 403);
    }
    const res = await post(app, '/login', bodyOf('/login'), { 'x-forwarded-for': from });
    assert.equal(res.statusCode, 200, res.body);
  });

  it('a hosted page form post from the issuer itself, and a request with neither header, still sign in', async () => {
    const same = await postForm(app, '/login', bodyOf('/login'), { accept: 'text/html', origin: ISSUER, 'sec-fetch-site': 'same-origin', 'x-forwarded-for': nextIp() });
    assert.equal(same.statusCode, 303);
    const typed = await post(app, '/login', bodyOf('/login'), { 'sec-fetch-site': 'none', 'x-forwarded-for': nextIp() });
    assert.equal(typed.statusCode, 200);
    const server = await post(app, '/login', bodyOf('/login'), { 'x-forwarded-for': nextIp() });
    assert.equal(server.statusCode, 200);
  });

  it('without those headers, SPEC\'s check order stays: the authorization parameters come first', async () => {
    const res = await post(app, '/login', { ...bodyOf('/login'), client_id: 'no-such' }, { 'x-forwarded-for': nextIp() });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }]);
  });

  it('a cross-site form post that prefers HTML gets the error page with 403', async () => {
    const res = await postForm(app, '/login', bodyOf('/login'), { accept: 'text/html', origin: 'https://evil.example', 'x-forwarded-for': nextIp() });
    assert.equal(res.statusCode, 403);
    assert.match(String(res.headers['content-type']), /^text\/html/);
  });

  it('other endpoints (/token, GET pages) are not concerned', async () => {
    // /token answers the origins its project allows (CORS, sso.md), whatever the issuer's origin.
    await app.services.projects.update(project.id, { allowed_origins: ['https://spa.example'] });
    const token = await post(app, '/token', { client_id: project.id, grant_type: 'refresh_token' }, { origin: 'https://spa.example' });
    assert.deepEqual([token.statusCode, token.json()], [400, { error: 'Missing refresh_token' }]);
    const verify = await app.server.inject({ method: 'GET', url: '/magic-link/verify?token=x', headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(verify.statusCode, 400);
  });
});
