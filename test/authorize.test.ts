import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, REDIRECT_URI, type TestProject } from './support/flow.ts';

function query(params: Record<string, string | undefined>): string {
  const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new URLSearchParams(clean).toString();
}

describe('GET /authorize', () => {
  let app: TestApp;
  let project: TestProject;
  let closed: TestProject;
  const { challenge } = pkcePair();
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    closed = await createProject(app, { registrationOpen: false });
  });
  after(() => app.close());

  const get = (params: Record<string, string | undefined>, accept = 'application/json') =>
    app.server.inject({ method: 'GET', url: `/authorize?${query(params)}`, headers: { accept } });

  it('a valid request answers 200 with the hosted login page naming the project', async () => {
    // The PIN form is shown to a project with an active PIN (sso.md "Sign-in methods per project").
    await app.services.pins.create(project.id);
    const res = await get({ ...authParams(project.id, challenge) }, 'text/html');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /<h1>Sign in to Test App<\/h1>/);
    assert.match(res.body, /action="\/login"/);
    assert.match(res.body, /action="\/magic-link"/);
    assert.match(res.body, /action="\/login\/pin"/);
    // "Create an account" is a page of its own (accounts.md), linked with the authorization parameters.
    assert.match(res.body, new RegExp(`href="/register\\?[^"]*client_id=${project.id}`));
  });

  it('the page of a closed project offers no registration', async () => {
    const res = await get({ ...authParams(closed.id, challenge) }, 'text/html');
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /action="\/register"/);
  });

  it('the page forbids framing and carries a strict Content-Security-Policy', async () => {
    const res = await get({ ...authParams(project.id, challenge) }, 'text/html');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it('authorization parameters are escaped in the page', async () => {
    const res = await get({ ...authParams(project.id, challenge), state: '"><script>alert(1)</script>' }, 'text/html');
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /<script>alert/);
  });

  const cases: Array<[string, Record<string, string | undefined>, number, string]> = [
    ['response_type other than code', { response_type: 'token' }, 400, 'Missing or invalid parameters'],
    ['missing client_id', { client_id: undefined }, 400, 'Missing or invalid parameters'],
    ['missing redirect_uri', { redirect_uri: undefined }, 400, 'Missing or invalid parameters'],
    ['missing code_challenge', { code_challenge: undefined }, 400, 'Missing or invalid parameters'],
    ['a code_challenge that is not 43 base64url characters', { code_challenge: 'short' }, 400, 'Missing or invalid parameters'],
    ['code_challenge_method plain', { code_challenge_method: 'plain' }, 400, 'Only S256 code_challenge_method is supported'],
    ['code_challenge_method absent', { code_challenge_method: undefined }, 400, 'Only S256 code_challenge_method is supported'],
    ['an unknown client_id', { client_id: 'no-such-project' }, 400, 'Invalid client_id'],
    ['a redirect_uri outside the allowlist', { redirect_uri: 'https://evil.example.com/callback' }, 400, 'Invalid redirect_uri'],
    ['a redirect_uri that only differs by a trailing slash', { redirect_uri: `${REDIRECT_URI}/` }, 400, 'Invalid redirect_uri'],
  ];
  for (const [name, change, status, message] of cases) {
    it(`${name} answers ${status} ${message}`, async () => {
      const res = await get({ ...authParams(project.id, challenge), ...change });
      assert.equal(res.statusCode, status);
      assert.deepEqual(res.json(), { error: message });
    });
  }

  it('the checks run in SPEC order: shape before method before client before redirect', async () => {
    const base = authParams('no-such-project', challenge, { redirect_uri: 'https://evil.example.com/' });
    assert.equal((await get({ ...base, code_challenge_method: 'plain', code_challenge: 'x' })).json().error, 'Missing or invalid parameters');
    assert.equal((await get({ ...base, code_challenge_method: 'plain' })).json().error, 'Only S256 code_challenge_method is supported');
    assert.equal((await get({ ...base })).json().error, 'Invalid client_id');
    assert.equal((await get({ ...base, client_id: project.id })).json().error, 'Invalid redirect_uri');
  });

  it('a browser gets the error as an HTML page with the same status and message', async () => {
    const res = await get({ ...authParams('no-such-project', challenge) }, 'text/html,application/xhtml+xml,*/*;q=0.8');
    assert.equal(res.statusCode, 400);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /Invalid client_id/);
  });
});

describe('hosted pages when storage fails', () => {
  it('a browser gets 503 Service unavailable as a page, an API client as JSON, never internals', async () => {
    const app = await createTestApp();
    const project = await createProject(app);
    const { challenge } = pkcePair();
    const url = `/authorize?${new URLSearchParams({ ...authParams(project.id, challenge) }).toString()}`;
    await app.services.database.db.destroy(); // the database goes away under the running app
    try {
      const page = await app.server.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
      assert.equal(page.statusCode, 503);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.match(page.body, /Service unavailable/);
      const api = await app.server.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
      assert.deepEqual([api.statusCode, api.json()], [503, { error: 'Service unavailable' }]);
      const form = await app.server.inject({
        method: 'POST',
        url: '/login',
        payload: new URLSearchParams({ ...authParams(project.id, challenge), email: 'a@example.com', password: 'x' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      });
      assert.equal(form.statusCode, 503);
      assert.match(form.body, /Service unavailable/);
      assert.doesNotMatch(form.body, /Error:|at \//);
    } finally {
      await app.close().catch(() => {});
    }
  });
});
