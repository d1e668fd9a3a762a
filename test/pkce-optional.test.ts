// sso.md "PKCE for confidential clients that cannot send it": require_pkce per project.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pkcePair, type TestApp } from './support/app.ts';
import { authParams, bearer, createUser, post, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { adminProject, ssoSetup } from './support/sso.ts';

const PASSWORD = 'no verifier in this old library';

describe('require_pkce', () => {
  let app: TestApp;
  let admin: string;
  let relaxed: TestProject;
  let strict: TestProject;
  before(async () => {
    ({ app, admin } = await ssoSetup());
    relaxed = await adminProject(app, admin, { name: 'Legacy', confidential: true, require_pkce: false });
    strict = await adminProject(app, admin, { name: 'Strict', confidential: true });
    const userId = await createUser(app, 'ada@example.com', PASSWORD, relaxed.id);
    await app.services.users.addMember(strict.id, userId);
  });
  after(() => app.close());

  /** The authorization parameters without PKCE. */
  function withoutPkce(clientId: string): Record<string, string> {
    const params: Record<string, string> = { ...authParams(clientId, 'unused') };
    delete params.code_challenge;
    delete params.code_challenge_method;
    return params;
  }

  function exchange(project: TestProject, code: string, verifier?: string) {
    return post(app, '/token', {
      grant_type: 'authorization_code',
      client_id: project.id,
      client_secret: project.clientSecret ?? '',
      code,
      redirect_uri: REDIRECT_URI,
      ...(verifier !== undefined ? { code_verifier: verifier } : {}),
    });
  }

  it('defaults to true; only a confidential project may set false (400 Invalid request otherwise)', async () => {
    assert.equal(
      (await app.server.inject({ method: 'GET', url: `/admin/projects/${strict.id}`, headers: bearer(admin) })).json<{ require_pkce: boolean }>().require_pkce,
      true,
    );
    assert.equal(
      (await app.server.inject({ method: 'GET', url: `/admin/projects/${relaxed.id}`, headers: bearer(admin) })).json<{ require_pkce: boolean }>().require_pkce,
      false,
    );
    const publicOne = await post(app, '/admin/projects', { name: 'SPA', redirect_uris: [REDIRECT_URI], require_pkce: false }, bearer(admin));
    assert.deepEqual([publicOne.statusCode, publicOne.json<{ error: string }>().error], [400, 'Invalid request']);
    const spa = await post(app, '/admin/projects', { name: 'SPA', redirect_uris: [REDIRECT_URI] }, bearer(admin));
    const spaId = spa.json<{ id: string }>().id;
    const patched = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${spaId}`, headers: bearer(admin), payload: { require_pkce: false } });
    assert.deepEqual([patched.statusCode, patched.json<{ error: string }>().error], [400, 'Invalid request']);
    const missing = await app.server.inject({ method: 'PATCH', url: '/admin/projects/no-such-project', headers: bearer(admin), payload: { require_pkce: false } });
    assert.equal(missing.statusCode, 404);
    const back = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${strict.id}`, headers: bearer(admin), payload: { require_pkce: true } });
    assert.equal(back.statusCode, 200);
  });

  it('such a project may leave the challenge out at /authorize, /login and /token', async () => {
    const page = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams(withoutPkce(relaxed.id)).toString()}` });
    assert.equal(page.statusCode, 200);
    const login = await post(app, '/login', { ...withoutPkce(relaxed.id), email: 'ada@example.com', password: PASSWORD });
    assert.equal(login.statusCode, 200);
    const res = await exchange(relaxed, login.json<{ code: string }>().code);
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.json<{ access_token: string }>().access_token);
  });

  it('a code issued without a challenge refuses a verifier; one issued with a challenge still needs its verifier', async () => {
    const login = await post(app, '/login', { ...withoutPkce(relaxed.id), email: 'ada@example.com', password: PASSWORD });
    const downgrade = await exchange(relaxed, login.json<{ code: string }>().code, pkcePair().verifier);
    assert.deepEqual([downgrade.statusCode, downgrade.json()], [400, { error: 'PKCE verification failed' }]);
    const { verifier, challenge } = pkcePair();
    const withPkce = await post(app, '/login', { ...authParams(relaxed.id, challenge), email: 'ada@example.com', password: PASSWORD });
    const noVerifier = await exchange(relaxed, withPkce.json<{ code: string }>().code);
    assert.deepEqual([noVerifier.statusCode, noVerifier.json()], [400, { error: 'PKCE verification failed' }]);
    const again = await post(app, '/login', { ...authParams(relaxed.id, challenge), email: 'ada@example.com', password: PASSWORD });
    assert.equal((await exchange(relaxed, again.json<{ code: string }>().code, verifier)).statusCode, 200);
  });

  it('a challenge that is given is checked as before', async () => {
    const bad = await post(app, '/login', { ...authParams(relaxed.id, 'too-short'), email: 'ada@example.com', password: PASSWORD });
    assert.deepEqual([bad.statusCode, bad.json()], [400, { error: 'Missing or invalid parameters' }]);
    const plain = await post(app, '/login', { ...withoutPkce(relaxed.id), code_challenge: pkcePair().challenge, code_challenge_method: 'plain', email: 'ada@example.com', password: PASSWORD });
    assert.deepEqual([plain.statusCode, plain.json()], [400, { error: 'Only S256 code_challenge_method is supported' }]);
    const plainAlone = await post(app, '/login', { ...withoutPkce(relaxed.id), code_challenge_method: 'plain', email: 'ada@example.com', password: PASSWORD });
    assert.deepEqual([plainAlone.statusCode, plainAlone.json()], [400, { error: 'Only S256 code_challenge_method is supported' }]);
  });

  it('every other project keeps check 1: no challenge is 400 Missing or invalid parameters, no verifier 400 Missing required fields', async () => {
    for (const clientId of [strict.id, 'no-such-project']) {
      const res = await post(app, '/login', { ...withoutPkce(clientId), email: 'ada@example.com', password: PASSWORD });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing or invalid parameters' }], clientId);
    }
    const { challenge } = pkcePair();
    const login = await post(app, '/login', { ...authParams(strict.id, challenge), email: 'ada@example.com', password: PASSWORD });
    const res = await exchange(strict, login.json<{ code: string }>().code);
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing required fields' }]);
  });

  it('the error page for a missing or plain challenge tells the developer to send code_challenge_method=S256, under the reference message', async () => {
    const missing = withoutPkce(strict.id);
    const plain = { ...authParams(strict.id, pkcePair().challenge), code_challenge_method: 'plain' };
    for (const [params, message] of [
      [missing, 'Missing or invalid parameters'],
      [plain, 'Only S256 code_challenge_method is supported'],
    ] as const) {
      const res = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams(params).toString()}`, headers: { accept: 'text/html' } });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, new RegExp(`<h1[^>]*>${message}</h1>`));
      assert.match(res.body, /code_challenge_method=S256/);
    }
    // Another shape problem gets no such hint.
    const other = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(strict.id, pkcePair().challenge), response_type: 'token' }).toString()}`, headers: { accept: 'text/html' } });
    assert.equal(other.statusCode, 400);
    assert.doesNotMatch(other.body, /code_challenge_method=S256/);
  });
});
