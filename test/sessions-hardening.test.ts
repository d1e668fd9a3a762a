// Sessions and tokens after the hardening: session ids kept only as hashes, a replayed code
// revoking what its first use issued, the absolute session lifetime, removed members, and the
// audit events of the token endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../src/crypto/tokens.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createTestApp, pkcePair, TEST_ARGON2, testEnv, type TestApp } from './support/app.ts';
import { releaseTestStorage } from './support/backend.ts';
import { runCli } from '../src/cli/run.ts';
import { call } from './support/admin.ts';
import {
  adminToken,
  authParams,
  bearer,
  createProject,
  createUser,
  exchangeCode,
  passwordCode,
  passwordTokens,
  post,
  refresh,
  REDIRECT_URI,
  sessionIdOf,
  type TestProject,
  type Tokens,
} from './support/flow.ts';

const PASSWORD = 'a sturdy passphrase';

async function userinfoStatus(app: TestApp, accessToken: string): Promise<number> {
  return (await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(accessToken) })).statusCode;
}

async function auditTypes(app: TestApp, projectId: string) {
  return app.services.audit.list({ projectId, limit: 100 });
}

describe('session ids at rest', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'hashed@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it('the database keeps only the SHA-256 of a session id; the sid is a 256-bit value found only in the tokens', async () => {
    const tokens = await passwordTokens(app, project, 'hashed@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    assert.ok(Buffer.from(sid, 'base64url').length >= 32, 'a 256-bit sid');
    const rows = await app.services.database.db.selectFrom('sessions').select('id').where('project_id', '=', project.id).execute();
    assert.deepEqual(rows.map((r) => r.id), [sha256(sid)]);
    const tokenRows = await app.services.database.db.selectFrom('refresh_tokens').select('session_id').where('project_id', '=', project.id).execute();
    assert.deepEqual(tokenRows.map((r) => r.session_id), [sha256(sid)]);
    // The tokens still work through it, and a rotation keeps the sid.
    assert.equal(await userinfoStatus(app, tokens.access_token), 200);
    const next = await refresh(app, project, tokens.refresh_token);
    assert.equal(next.statusCode, 200);
    assert.equal(sessionIdOf(next.json<Tokens>().access_token), sid);
  });

  it('an admin ends a session by its listed id or by the sid of its tokens', async () => {
    const admin = await adminToken(app);
    const first = await passwordTokens(app, project, 'hashed@example.com', PASSWORD);
    const second = await passwordTokens(app, project, 'hashed@example.com', PASSWORD);
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${sha256(sessionIdOf(first.access_token))}`)).statusCode, 204);
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${sessionIdOf(second.access_token)}`)).statusCode, 204);
    for (const t of [first, second]) assert.equal((await refresh(app, project, t.refresh_token)).statusCode, 401);
  });

  it('a session stored before the ids were hashed (migration 0004) keeps refreshing, under a new sid', async () => {
    const tokens = await passwordTokens(app, project, 'hashed@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    // What migration 0004 leaves of an older session: its row under the hash of its old id, and
    // a refresh token that does not carry the id.
    const legacyToken = 'legacy-refresh-token-without-a-session-id-0123456789';
    const { db } = app.services.database;
    await db
      .updateTable('refresh_tokens')
      .set({ token_hash: sha256(legacyToken) })
      .where('session_id', '=', sha256(sid))
      .execute();
    const res = await refresh(app, project, legacyToken);
    assert.equal(res.statusCode, 200, res.body);
    const renewed = res.json<Tokens>();
    const newSid = sessionIdOf(renewed.access_token);
    assert.notEqual(newSid, sid);
    assert.ok(await app.services.sessions.find(newSid));
    assert.equal(await app.services.sessions.find(sid), undefined);
    assert.equal((await refresh(app, project, renewed.refresh_token)).statusCode, 200);
    // The legacy token was spent: presenting it again is reuse, and ends the re-keyed session.
    assert.equal((await refresh(app, project, legacyToken)).statusCode, 401);
    assert.ok((await app.services.sessions.find(newSid))?.revoked_at);
  });
});

describe('a replayed authorization code', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'replay@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  function exchange(code: string, verifier: string) {
    return post(app, '/token', { grant_type: 'authorization_code', client_id: project.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI });
  }

  it('answers 400 Invalid or expired code and ends the session its first use started', async () => {
    const { code, verifier } = await passwordCode(app, project.id, 'replay@example.com', PASSWORD);
    const tokens = await exchangeCode(app, project, code, verifier);
    assert.equal(await userinfoStatus(app, tokens.access_token), 200);

    const again = await exchange(code, verifier);
    assert.equal(again.statusCode, 400);
    assert.deepEqual(again.json(), { error: 'Invalid or expired code' });

    const refused = await refresh(app, project, tokens.refresh_token);
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(refused.json(), { error: 'Invalid refresh token' });
    assert.equal(await userinfoStatus(app, tokens.access_token), 401);
    const replayed = (await auditTypes(app, project.id)).find((e) => e.type === 'token.code_replayed');
    assert.equal(replayed?.detail?.session_id, sha256(sessionIdOf(tokens.access_token)));
    assert.equal(replayed?.ip, '127.0.0.1');
  });

  it('other sessions of the same person are untouched', async () => {
    const kept = await passwordTokens(app, project, 'replay@example.com', PASSWORD);
    const { code, verifier } = await passwordCode(app, project.id, 'replay@example.com', PASSWORD);
    await exchangeCode(app, project, code, verifier);
    assert.equal((await exchange(code, verifier)).statusCode, 400);
    assert.equal((await refresh(app, project, kept.refresh_token)).statusCode, 200);
  });

  it('a code that was never used answers the same and ends nothing', async () => {
    const kept = await passwordTokens(app, project, 'replay@example.com', PASSWORD);
    const res = await exchange('never-issued-code-abcdefghijklmnopqrstuvwxyz', 'v'.repeat(43));
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Invalid or expired code' });
    assert.equal((await refresh(app, project, kept.refresh_token)).statusCode, 200);
  });
});

describe('a replayed code, across instances', () => {
  it('a replay at another instance sharing the storage ends the session the first instance started', async () => {
    // Two instances on one database and (on PostgreSQL) one Redis, as in a scaled-out deployment.
    const config = loadConfig(testEnv());
    const first = await buildApp({ config, logger: false });
    const second = await buildApp({ config, logger: false });
    try {
      const project = await first.services.projects.create({ id: 'two-instances', name: 'Two', redirect_uris: [REDIRECT_URI] });
      const user = await first.services.users.create({ email: 'twice@example.com', password: PASSWORD });
      await first.services.users.addMember(project.project.id, user.id);
      const { verifier, challenge } = pkcePair();
      const login = await first.server.inject({ method: 'POST', url: '/login', payload: { ...authParams('two-instances', challenge), email: 'twice@example.com', password: PASSWORD } });
      const code = login.json<{ code: string }>().code;
      const exchange = { grant_type: 'authorization_code', client_id: 'two-instances', code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
      const tokens = (await first.server.inject({ method: 'POST', url: '/token', payload: exchange })).json<Tokens>();
      const replay = await second.server.inject({ method: 'POST', url: '/token', payload: exchange });
      assert.deepEqual(replay.json(), { error: 'Invalid or expired code' });
      const refused = await first.server.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', client_id: 'two-instances', refresh_token: tokens.refresh_token } });
      assert.equal(refused.statusCode, 401);
      assert.deepEqual(refused.json(), { error: 'Invalid refresh token' });
    } finally {
      await second.close();
      await first.close();
      await releaseTestStorage(config);
    }
  });
});

describe('the absolute session lifetime', () => {
  let app: TestApp;
  let project: TestProject;
  const DAY = 86_400_000;
  before(async () => {
    // Refresh tokens live 10 days and slide; sessions end 30 days after they began.
    app = await createTestApp({ env: { GATEHOUSE_REFRESH_TOKEN_TTL_SECONDS: String(10 * 86_400), GATEHOUSE_SESSION_MAX_SECONDS: String(30 * 86_400) } });
    project = await createProject(app);
    await createUser(app, 'lifetime@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  async function slideUntilRefused(project: TestProject, tokens: Tokens, stepMs: number): Promise<{ elapsed: number; body: unknown; status: number }> {
    let current = tokens;
    for (let elapsed = stepMs; ; elapsed += stepMs) {
      app.clock.advance(stepMs);
      const res = await refresh(app, project, current.refresh_token);
      if (res.statusCode !== 200) return { elapsed, body: res.json(), status: res.statusCode };
      current = res.json<Tokens>();
    }
  }

  it('a session refreshed every day ends GATEHOUSE_SESSION_MAX_SECONDS after it began: 401 Refresh token expired', async () => {
    const tokens = await passwordTokens(app, project, 'lifetime@example.com', PASSWORD);
    // Every other day: fewer requests than the per-client limit of /token, which counts real time.
    const end = await slideUntilRefused(project, tokens, 2 * DAY);
    assert.equal(end.elapsed, 30 * DAY);
    assert.equal(end.status, 401);
    assert.deepEqual(end.body, { error: 'Refresh token expired' });
  });

  it('session_max_seconds of a project overrides it, through the admin API (create, update, read)', async () => {
    const admin = await adminToken(app);
    const created = await call(app, admin, 'POST', '/admin/projects', { id: 'short-sessions', name: 'Short', redirect_uris: [REDIRECT_URI], session_max_seconds: 3 * 86_400 });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json<{ session_max_seconds: number }>().session_max_seconds, 3 * 86_400);
    const patched = await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { session_max_seconds: 5 * 86_400 });
    assert.equal(patched.json<{ session_max_seconds: number }>().session_max_seconds, 5 * 86_400);
    assert.equal((await call(app, admin, 'GET', `/admin/projects/${project.id}`)).json<{ session_max_seconds: number }>().session_max_seconds, 5 * 86_400);
    const bad = await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { session_max_seconds: 0 });
    assert.equal(bad.statusCode, 400);
    // null goes back to the instance default.
    const reset = await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { session_max_seconds: null });
    assert.equal(reset.json<{ session_max_seconds: null }>().session_max_seconds, null);

    const short = { id: 'short-sessions' };
    const tokens = await passwordTokens(app, short, 'lifetime@example.com', PASSWORD);
    const end = await slideUntilRefused(short, tokens, DAY);
    assert.equal(end.elapsed, 3 * DAY);
    assert.deepEqual(end.body, { error: 'Refresh token expired' });

  });
});

describe('a removed member', () => {
  let app: TestApp;
  let closed: TestProject;
  let admin: string;
  let userId: string;
  before(async () => {
    app = await createTestApp();
    closed = await createProject(app, { registrationOpen: false });
    userId = await createUser(app, 'removed@example.com', PASSWORD, closed.id);
    admin = await adminToken(app);
  });
  after(() => app.close());

  it('loses their sessions in the project when the admin API removes them', async () => {
    const tokens = await passwordTokens(app, closed, 'removed@example.com', PASSWORD);
    assert.equal((await call(app, admin, 'DELETE', `/admin/projects/${closed.id}/members/${userId}`)).statusCode, 204);
    assert.equal((await refresh(app, closed, tokens.refresh_token)).statusCode, 401);
    assert.equal(await userinfoStatus(app, tokens.access_token), 401);
    await app.services.users.addMember(closed.id, userId);
  });

  it('loses their sessions in the project when the command line removes them (gatehouse user remove)', async () => {
    const tokens = await passwordTokens(app, closed, 'removed@example.com', PASSWORD);
    const { config } = app;
    const env = {
      ...TEST_ARGON2,
      GATEHOUSE_ISSUER: config.issuer,
      GATEHOUSE_DATABASE_URL: config.databaseUrl,
      GATEHOUSE_REDIS_PREFIX: config.redisPrefix,
      ...(config.redisUrl ? { GATEHOUSE_REDIS_URL: config.redisUrl } : {}),
    };
    let stderr = '';
    const code = await runCli(['user', 'remove', '--project', closed.id, '--user', 'removed@example.com'], { stdout: () => {}, stderr: (t) => (stderr += t), env });
    assert.equal(code, 0, stderr);
    assert.equal((await refresh(app, closed, tokens.refresh_token)).statusCode, 401);
    assert.equal(await app.services.users.membership(closed.id, userId), undefined);
    await app.services.users.addMember(closed.id, userId);
  });

  it('cannot exchange a code issued before the removal: 403 Not a member', async () => {
    const { code, verifier } = await passwordCode(app, closed.id, 'removed@example.com', PASSWORD);
    assert.equal(await app.services.users.removeMember(closed.id, userId), true);
    const res = await post(app, '/token', { grant_type: 'authorization_code', client_id: closed.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: 'Not a member' });
    await app.services.users.addMember(closed.id, userId);
  });

  it('cannot refresh a session of a closed project they are no longer a member of: 403 Not a member', async () => {
    const tokens = await passwordTokens(app, closed, 'removed@example.com', PASSWORD);
    // The membership went some other way than the removal (which ends the sessions too).
    await app.services.database.db.deleteFrom('memberships').where('project_id', '=', closed.id).where('user_id', '=', userId).execute();
    const res = await refresh(app, closed, tokens.refresh_token);
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: 'Not a member' });
    await app.services.users.addMember(closed.id, userId);
  });
});

describe('audit of the token endpoints', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_AUDIT_REFRESHES: 'true' } });
    project = await createProject(app);
    await createUser(app, 'audited@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it('records code exchanges, refreshes (GATEHOUSE_AUDIT_REFRESHES=true), revocations, and the address of a reuse', async () => {
    const tokens = await passwordTokens(app, project, 'audited@example.com', PASSWORD);
    const key = sha256(sessionIdOf(tokens.access_token));
    const rotated = await refresh(app, project, tokens.refresh_token);
    assert.equal(rotated.statusCode, 200);
    await app.server.inject({
      method: 'POST',
      url: '/token',
      remoteAddress: '203.0.113.9',
      payload: { grant_type: 'refresh_token', client_id: project.id, refresh_token: tokens.refresh_token },
    });
    const other = await passwordTokens(app, project, 'audited@example.com', PASSWORD);
    assert.equal((await post(app, '/revoke', { token: other.refresh_token, client_id: project.id })).statusCode, 200);

    const events = await auditTypes(app, project.id);
    const of = (type: string) => events.filter((e) => e.type === type);
    assert.equal(of('token.code_exchanged').length, 2);
    assert.ok(of('token.code_exchanged').some((e) => e.detail?.session_id === key && e.subject !== null));
    assert.equal(of('token.refreshed').length, 1);
    assert.equal(of('refresh_token.reuse_detected')[0]?.ip, '203.0.113.9');
    assert.equal(of('token.revoked')[0]?.detail?.session_id, sha256(sessionIdOf(other.access_token)));
  });

  it('records no refreshes by default', async () => {
    const quiet = await createTestApp();
    try {
      const p = await createProject(quiet);
      await createUser(quiet, 'quiet@example.com', PASSWORD, p.id);
      const tokens = await passwordTokens(quiet, p, 'quiet@example.com', PASSWORD);
      assert.equal((await refresh(quiet, p, tokens.refresh_token)).statusCode, 200);
      assert.equal((await auditTypes(quiet, p.id)).filter((e) => e.type === 'token.refreshed').length, 0);
    } finally {
      await quiet.close();
    }
  });
});
