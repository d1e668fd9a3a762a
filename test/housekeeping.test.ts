import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_EXPIRY_SLACK_MAX_MS, type SessionSummary } from '../src/sessions/sessions.ts';
import { PURGE_BATCH } from '../src/storage/batches.ts';
import { purgeExpiredState } from '../src/storage/housekeeping.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, createProject, createUser, passwordCode, passwordTokens, refresh, sessionIdOf, type TestProject } from './support/flow.ts';

const PASSWORD = 'housekeeping is a virtue';

describe('purging expired tokens and sessions', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'tidy@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  const count = async (table: 'refresh_tokens' | 'sessions' | 'kv') =>
    Number((await app.services.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('removes expired refresh tokens, sessions and unredeemed codes, and keeps what still works', async () => {
    await app.services.projects.update(project.id, { refresh_token_ttl_seconds: 3600 });
    const oldTokens = await passwordTokens(app, project, 'tidy@example.com', PASSWORD);
    const rotated = await refresh(app, project, oldTokens.refresh_token);
    assert.equal(rotated.statusCode, 200);
    await passwordCode(app, project.id, 'tidy@example.com', PASSWORD); // a code nobody redeems

    app.clock.advance(2 * 3600 * 1000);
    const live = await passwordTokens(app, project, 'tidy@example.com', PASSWORD);

    const purged = await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.equal(purged.refreshTokens, 2, 'the spent and the rotated token of the old session');
    assert.equal(purged.sessions, 1);
    if (app.config.redisUrl === undefined) assert.ok(purged.kv >= 1, 'the unredeemed code');
    assert.equal(await count('sessions'), 1);
    assert.equal(await count('refresh_tokens'), 1);
    assert.equal((await refresh(app, project, live.refresh_token)).statusCode, 200, 'the live session still refreshes');
    assert.equal((await refresh(app, project, oldTokens.refresh_token)).json().error, 'Invalid refresh token');
  });

  it('a spent token that outlives its session (the lifetime was shortened) still answers Invalid refresh token once the session is purged', async () => {
    await app.services.projects.update(project.id, { refresh_token_ttl_seconds: 30 * 24 * 3600 });
    const first = await passwordTokens(app, project, 'tidy@example.com', PASSWORD);
    await app.services.projects.update(project.id, { refresh_token_ttl_seconds: 3600 });
    const second = await refresh(app, project, first.refresh_token); // spends the 30-day token
    assert.equal(second.statusCode, 200);
    const sid = sessionIdOf(String(second.json().access_token));

    app.clock.advance(2 * 3600 * 1000);
    const before = await count('refresh_tokens');
    const purged = await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.ok(purged.sessions >= 1);
    assert.equal(await app.services.sessions.find(sid), undefined, 'the session went with its expiry');
    assert.equal(await count('refresh_tokens'), before - purged.refreshTokens - purged.spentTokens);
    assert.equal((await refresh(app, project, first.refresh_token)).json().error, 'Invalid refresh token', 'the spent 30-day token');
    assert.equal((await refresh(app, project, String(second.json().refresh_token))).json().error, 'Invalid refresh token', 'the expired one, purged');
  });

  it('purges more rows than one batch, and requests get turns of the event loop between batches', async () => {
    const db = app.services.database.db;
    const expired = app.clock.now() - 1000;
    const rows = PURGE_BATCH * 2 + 100;
    const sessionRows = Array.from({ length: rows }, (_, i) => ({
      id: `bulk-session-${i}`,
      project_id: project.id,
      subject: 'user:bulk',
      user_id: 'bulk',
      pin_id: null,
      method: 'pwd',
      scope: 'openid',
      auth_time: expired,
      created_at: expired,
      expires_at: expired,
      revoked_at: null,
    }));
    for (let i = 0; i < rows; i += 500) {
      await db.insertInto('sessions').values(sessionRows.slice(i, i + 500)).execute();
      await db
        .insertInto('refresh_tokens')
        .values(sessionRows.slice(i, i + 500).map((s) => ({ token_hash: `bulk-hash-${s.id}`, session_id: s.id, project_id: project.id, created_at: expired, expires_at: expired, used_at: null })))
        .execute();
    }
    let turns = 0;
    let purging = true;
    const turn = () => {
      if (!purging) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    const purged = await purgeExpiredState(db, app.clock);
    purging = false;
    assert.equal(purged.refreshTokens, rows);
    assert.equal(purged.sessions, rows);
    // Two yields per table holding 2 × PURGE_BATCH + 100 rows; on SQLite nothing else gives a turn.
    assert.ok(turns >= 4, `the event loop turned ${turns} times during the purge`);
    const left = await db.selectFrom('sessions').select('id').where('id', 'like', 'bulk-session-%').execute();
    assert.equal(left.length, 0);
  });

  it('a session whose refresh token is still valid is never purged, even when revoked', async () => {
    const tokens = await passwordTokens(app, project, 'tidy@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    await app.services.sessions.revoke(sid);
    await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.ok(await app.services.sessions.find(sid));
    assert.equal((await refresh(app, project, tokens.refresh_token)).json().error, 'Invalid refresh token');
  });
});

describe("a session's recorded expiry", () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'steady@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  const minutes = (n: number) => n * 60_000;
  const recorded = async (sid: string) => (await app.services.sessions.find(sid))?.expires_at;

  it('runs at most an hour ahead of its refresh token, and its row is rewritten only when it must move', async () => {
    const ttl = app.config.refreshTokenTtlSeconds * 1000;
    assert.equal(ttl, 30 * 24 * 3600 * 1000, 'the default lifetime, where the slack is its cap of an hour');
    let tokens = await passwordTokens(app, project, 'steady@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    assert.equal(await recorded(sid), app.clock.now() + ttl, 'a new session ends with its first token');

    const next = async () => {
      const res = await refresh(app, project, tokens.refresh_token);
      assert.equal(res.statusCode, 200);
      tokens = res.json();
      return app.clock.now() + ttl; // the new token's expiry
    };

    app.clock.advance(minutes(10));
    const first = await next();
    assert.equal(await recorded(sid), first + SESSION_EXPIRY_SLACK_MAX_MS, 'moved past the new token by the slack');
    for (const step of [15, 15, 15]) {
      app.clock.advance(minutes(step));
      await next();
      assert.equal(await recorded(sid), first + SESSION_EXPIRY_SLACK_MAX_MS, 'within the slack: the row is left alone');
    }
    app.clock.advance(minutes(15)); // 60 min after the first refresh: still inside (equal)
    assert.equal(await next(), first + SESSION_EXPIRY_SLACK_MAX_MS);
    assert.equal(await recorded(sid), first + SESSION_EXPIRY_SLACK_MAX_MS);
    app.clock.advance(1);
    const later = await next();
    assert.equal(await recorded(sid), later + SESSION_EXPIRY_SLACK_MAX_MS, 'the new token would outlive it: moved');

    // The purge never takes a session whose token still works, up to the token's last millisecond.
    app.clock.advance(ttl - 1);
    await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.ok(await recorded(sid));
    const admin = await adminToken(app);
    const listed = (await call(app, admin, 'GET', `/admin/projects/${project.id}/sessions`)).json<{ sessions: SessionSummary[] }>().sessions;
    assert.equal(listed.find((s) => s.id === sid)?.expires_at, new Date(later + SESSION_EXPIRY_SLACK_MAX_MS).toISOString());
    const last = await next();
    assert.equal(await recorded(sid), last + SESSION_EXPIRY_SLACK_MAX_MS);
  });

  it('a shortened lifetime pulls it back at the next rotation, with a slack of a hundredth of the lifetime', async () => {
    const tokens = await passwordTokens(app, project, 'steady@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    await app.services.projects.update(project.id, { refresh_token_ttl_seconds: 3600 });
    const res = await refresh(app, project, tokens.refresh_token);
    assert.equal(res.statusCode, 200);
    assert.equal(await recorded(sid), app.clock.now() + 3600_000 + 36_000);
    // Within 36 s the row stays; a minute later it moves again.
    app.clock.advance(30_000);
    const again = await refresh(app, project, res.json().refresh_token);
    assert.equal(await recorded(sid), app.clock.now() - 30_000 + 3600_000 + 36_000);
    app.clock.advance(30_000);
    assert.equal((await refresh(app, project, again.json().refresh_token)).statusCode, 200);
    assert.equal(await recorded(sid), app.clock.now() + 3600_000 + 36_000);
  });
});

describe('spent refresh tokens do not pile up', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    // A day of refreshes in a moment of real time: the token limiter counts real minutes.
    app = await createTestApp({ env: { GATEHOUSE_TOKEN_RATE_LIMIT: '1000' } });
    project = await createProject(app);
    await createUser(app, 'often@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  const minutes = (n: number) => n * 60_000;
  const rows = async () => Number((await app.services.database.db.selectFrom('refresh_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  /** One session refreshed every 15 minutes for a day; answers every refresh token it was given, oldest first. */
  async function aDayOfRefreshes(): Promise<string[]> {
    const tokens = [(await passwordTokens(app, project, 'often@example.com', PASSWORD)).refresh_token];
    for (let i = 0; i < 96; i++) {
      app.clock.advance(minutes(15));
      const res = await refresh(app, project, tokens[tokens.length - 1] ?? '');
      assert.equal(res.statusCode, 200);
      tokens.push(String(res.json().refresh_token));
    }
    return tokens;
  }

  it('a session refreshed every 15 minutes for a day keeps its live token, its latest spent one and those spent within the hour', async () => {
    const tokens = await aDayOfRefreshes();
    assert.equal(await rows(), 97, 'every rotation left its spent token');
    const purged = await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.equal(purged.refreshTokens, 0, 'nothing has expired');
    // Spent 60, 45, 30, 15 and 0 minutes ago (the window is an hour, its edge kept), and the live one.
    assert.equal(purged.spentTokens, 97 - 6);
    assert.equal(await rows(), 6);
    const live = tokens[tokens.length - 1] ?? '';
    assert.equal((await refresh(app, project, live)).statusCode, 200, 'the live token still refreshes');
  });

  it('a spent token within the hour, not the latest, still ends the session when presented again', async () => {
    const tokens = await aDayOfRefreshes();
    await purgeExpiredState(app.services.database.db, app.services.clock);
    const thirtyMinutesAgo = tokens[tokens.length - 3] ?? '';
    assert.equal((await refresh(app, project, thirtyMinutesAgo)).json().error, 'Invalid refresh token');
    assert.equal((await refresh(app, project, tokens[tokens.length - 1] ?? '')).json().error, 'Invalid refresh token', 'the session was ended');
  });

  it('the latest spent token is kept until it expires: a thief who refreshed first is found out when the client comes back days later', async () => {
    const tokens = await aDayOfRefreshes();
    const clients = tokens[tokens.length - 1] ?? '';
    const stolen = await refresh(app, project, clients); // the thief spends the client's token first
    assert.equal(stolen.statusCode, 200);
    app.clock.advance(3 * 24 * 3600 * 1000);
    await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.equal((await refresh(app, project, clients)).json().error, 'Invalid refresh token');
    assert.equal((await refresh(app, project, String(stolen.json().refresh_token))).json().error, 'Invalid refresh token', "the thief's chain ended with the session");
  });

  it('what is given up: a token spent more than an hour ago, not the latest, answers Invalid refresh token without ending the session', async () => {
    const tokens = await aDayOfRefreshes();
    await purgeExpiredState(app.services.database.db, app.services.clock);
    assert.equal((await refresh(app, project, tokens[0] ?? '')).json().error, 'Invalid refresh token');
    assert.equal((await refresh(app, project, tokens[tokens.length - 1] ?? '')).statusCode, 200, 'the session goes on');
  });
});
