import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';
import { createProject, createUser, exchangeCode, passwordCode, passwordTokens, post, refresh, REDIRECT_URI, type TestProject } from './support/flow.ts';

const PASSWORD = 'a long enough passphrase';

describe('POST /token', () => {
  let app: TestApp;
  let userId: string;
  before(async () => {
    app = await createTestApp();
    userId = await createUser(app, 'grace@example.com', PASSWORD);
  });
  after(() => app.close());

  /** A project of its own per test, so the 20-per-minute client limit never interferes. */
  async function freshProject(options: { confidential?: boolean } = {}): Promise<TestProject> {
    const project = await createProject(app, options);
    await app.services.users.addMember(project.id, userId);
    return project;
  }

  const exchange = (project: TestProject, fields: Record<string, string>) =>
    post(app, '/token', { grant_type: 'authorization_code', client_id: project.id, redirect_uri: REDIRECT_URI, ...fields });

  it('no client_id in the body nor in Basic answers 400 Missing client_id', async () => {
    const res = await post(app, '/token', { grant_type: 'authorization_code' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Missing client_id' });
  });

  it('an unknown client answers 400 Invalid client_id', async () => {
    const res = await post(app, '/token', { grant_type: 'authorization_code', client_id: 'nobody-here' });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }]);
  });

  it('the 21st request within 60 s for one client answers 429 Rate limited without Retry-After', async () => {
    const project = await freshProject();
    for (let i = 0; i < 20; i++) {
      const res = await post(app, '/token', { client_id: project.id, grant_type: 'password' });
      assert.equal(res.json().error, 'Unsupported grant_type');
    }
    const limited = await post(app, '/token', { client_id: project.id, grant_type: 'password' });
    assert.equal(limited.statusCode, 429);
    assert.deepEqual(limited.json(), { error: 'Rate limited' });
    assert.equal(limited.headers['retry-after'], undefined);
    assert.match(String(limited.headers['content-type']), /application\/json/);
  });

  it('the client limit comes before the client lookup: unknown clients are limited too', async () => {
    for (let i = 0; i < 20; i++) await post(app, '/token', { client_id: 'ghost-client' });
    const res = await post(app, '/token', { client_id: 'ghost-client' });
    assert.equal(res.statusCode, 429);
  });

  it('a confidential client with a missing or wrong secret answers 401 Invalid client_secret', async () => {
    const project = await freshProject({ confidential: true });
    const missing = await post(app, '/token', { client_id: project.id, grant_type: 'authorization_code' });
    assert.deepEqual([missing.statusCode, missing.json()], [401, { error: 'Invalid client_secret' }]);
    const wrong = await post(app, '/token', { client_id: project.id, client_secret: 'nope', grant_type: 'authorization_code' });
    assert.deepEqual([wrong.statusCode, wrong.json()], [401, { error: 'Invalid client_secret' }]);
  });

  it('client credentials work in HTTP Basic (RFC 6749 §2.3.1) and in the body', async () => {
    const project = await freshProject({ confidential: true });
    const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
    const basic = Buffer.from(`${encodeURIComponent(project.id)}:${encodeURIComponent(project.clientSecret ?? '')}`).toString('base64');
    const res = await post(app, '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, { authorization: `Basic ${basic}` });
    assert.equal(res.statusCode, 200);
    const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
    assert.ok(tokens.access_token);
  });

  it('form-encoded bodies work like JSON ones', async () => {
    const project = await freshProject();
    const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
    const res = await app.server.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'authorization_code', client_id: project.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }).toString(),
    });
    assert.equal(res.statusCode, 200);
  });

  it('an unknown grant_type answers 400 Unsupported grant_type after client authentication', async () => {
    const project = await freshProject({ confidential: true });
    const unauthenticated = await post(app, '/token', { client_id: project.id, grant_type: 'client_credentials' });
    assert.equal(unauthenticated.json().error, 'Invalid client_secret');
    const res = await post(app, '/token', { client_id: project.id, client_secret: project.clientSecret ?? '', grant_type: 'client_credentials' });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Unsupported grant_type' }]);
  });

  it('a missing code, verifier or redirect_uri answers 400 Missing required fields', async () => {
    const project = await freshProject();
    const incomplete: Array<Record<string, string>> = [{ code_verifier: 'v', code: '' }, { code: 'c' }, { code: 'c', code_verifier: 'v', redirect_uri: '' }];
    for (const fields of incomplete) {
      const res = await exchange(project, fields);
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing required fields' }]);
    }
  });

  it('an unknown code answers 400 Invalid or expired code', async () => {
    const project = await freshProject();
    const res = await exchange(project, { code: 'made-up', code_verifier: 'x'.repeat(43) });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid or expired code' }]);
  });

  it('a code past its 60 s lifetime answers Invalid or expired code', async () => {
    const project = await freshProject();
    const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
    app.clock.advance(61_000);
    const res = await exchange(project, { code, code_verifier: verifier });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid or expired code' }]);
  });

  it('a code issued to another project answers 400 project mismatch', async () => {
    const issuedTo = await freshProject();
    const other = await freshProject();
    const { code, verifier } = await passwordCode(app, issuedTo.id, 'grace@example.com', PASSWORD);
    const res = await exchange(other, { code, code_verifier: verifier });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'project mismatch' }]);
  });

  it('a different redirect_uri answers 400 redirect_uri mismatch', async () => {
    const project = await freshProject();
    const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
    const res = await exchange(project, { code, code_verifier: verifier, redirect_uri: 'https://app.example.com/other' });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'redirect_uri mismatch' }]);
  });

  it('a verifier that does not match answers 400 PKCE verification failed, and burns the code', async () => {
    const project = await freshProject();
    const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
    const wrong = await exchange(project, { code, code_verifier: 'A'.repeat(43) });
    assert.deepEqual([wrong.statusCode, wrong.json()], [400, { error: 'PKCE verification failed' }]);
    const retry = await exchange(project, { code, code_verifier: verifier });
    assert.deepEqual([retry.statusCode, retry.json()], [400, { error: 'Invalid or expired code' }]);
  });

  it('a verifier outside RFC 7636 (shorter than 43 characters or other characters) fails PKCE', async () => {
    const project = await freshProject();
    for (const bad of ['short', `${'a'.repeat(42)}!`, 'a'.repeat(129)]) {
      const { code } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
      const res = await exchange(project, { code, code_verifier: bad });
      assert.equal(res.json().error, 'PKCE verification failed');
    }
  });

  it('a member blocked after the login cannot exchange the code: 403 Account blocked', async () => {
    const project = await freshProject();
    const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
    await app.services.users.setBlocked(project.id, userId, true);
    const res = await exchange(project, { code, code_verifier: verifier });
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Account blocked' }]);
    await app.services.users.setBlocked(project.id, userId, false);
  });

  describe('refresh_token grant', () => {
    it('a missing refresh_token answers 400 Missing refresh_token', async () => {
      const project = await freshProject();
      const res = await post(app, '/token', { grant_type: 'refresh_token', client_id: project.id });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Missing refresh_token' }]);
    });

    it('an unknown refresh token answers 401 Invalid refresh token', async () => {
      const project = await freshProject();
      const res = await refresh(app, project, 'not-a-token');
      assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid refresh token' }]);
    });

    it('a refresh token of another project answers 401 Invalid refresh token', async () => {
      const project = await freshProject();
      const other = await freshProject();
      const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
      const res = await refresh(app, other, tokens.refresh_token);
      assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid refresh token' }]);
      assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 200, 'the token still works for its own project');
    });

    it('a refresh token past its lifetime answers 401 Refresh token expired', async () => {
      const project = await freshProject();
      const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
      app.clock.advance(2_592_000_000 + 1000);
      const res = await refresh(app, project, tokens.refresh_token);
      assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Refresh token expired' }]);
    });

    it('a project lifetime override is honoured', async () => {
      const project = await freshProject();
      await app.services.projects.update(project.id, { refresh_token_ttl_seconds: 60, access_token_ttl_seconds: 120 });
      const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
      assert.equal(tokens.expires_in, 120);
      app.clock.advance(61_000);
      assert.equal((await refresh(app, project, tokens.refresh_token)).json().error, 'Refresh token expired');
    });

    it('a member blocked in the project answers 403 Account blocked; unblocked, the token works again', async () => {
      const project = await freshProject();
      const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
      await app.services.users.setBlocked(project.id, userId, true);
      const res = await refresh(app, project, tokens.refresh_token);
      assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Account blocked' }]);
      await app.services.users.setBlocked(project.id, userId, false);
      assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 200);
    });

    it('a deleted user answers 401 User not found', async () => {
      const project = await freshProject();
      const doomed = await createUser(app, 'doomed@example.com', PASSWORD, project.id);
      const tokens = await passwordTokens(app, project, 'doomed@example.com', PASSWORD);
      await app.services.users.delete(doomed);
      const res = await refresh(app, project, tokens.refresh_token);
      assert.deepEqual([res.statusCode, res.json()], [401, { error: 'User not found' }]);
    });

    it('the refresh answer has the token fields and no-store', async () => {
      const project = await freshProject();
      const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
      const res = await refresh(app, project, tokens.refresh_token);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      for (const key of ['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope', 'id_token']) assert.ok(key in body, key);
    });

    it('two concurrent uses of one refresh token: at most one succeeds and the session is revoked', async () => {
      const project = await freshProject();
      const tokens = await passwordTokens(app, project, 'grace@example.com', PASSWORD);
      const results = await Promise.all([refresh(app, project, tokens.refresh_token), refresh(app, project, tokens.refresh_token)]);
      assert.ok(results.filter((r) => r.statusCode === 200).length <= 1);
      const winner = results.find((r) => r.statusCode === 200);
      if (winner) assert.equal((await refresh(app, project, winner.json().refresh_token)).statusCode, 401, 'reuse ended the session');
    });

    it('the database holds only hashes of refresh tokens', async () => {
      const project = await freshProject();
      const { code, verifier } = await passwordCode(app, project.id, 'grace@example.com', PASSWORD);
      const tokens = await exchangeCode(app, project, code, verifier);
      const rows = await app.services.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
      assert.ok(rows.length > 0);
      assert.ok(rows.every((r) => r.token_hash !== tokens.refresh_token));
      const kv = await app.services.database.db.selectFrom('kv').select(['key', 'value']).execute();
      assert.ok(kv.every((r) => !r.key.includes(code) && !r.value.includes(code)));
    });
  });
});
