// The admin listing names each session by the sid of its tokens (SPEC.md), while the database
// holds no sid in plain text: beside its hashed id each session keeps its sid sealed
// (AES-256-GCM, the row as associated data) under the session id key, an instance secret sealed
// under GATEHOUSE_SECRET_KEY when that is set (docs/decisions/0044-hashed-session-ids.md).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/app.ts';
import { runCli } from '../src/cli/run.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { SecretBox } from '../src/crypto/sealed.ts';
import { sha256 } from '../src/crypto/tokens.ts';
import type { SessionSummary } from '../src/sessions/sessions.ts';
import { sealSidKey } from '../src/sessions/sid-key.ts';
import { call } from './support/admin.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { releaseTestStorage, testBackend } from './support/backend.ts';
import { adminToken, createProject, createUser, exchangeCode, passwordTokens, refresh, sessionIdOf, type TestProject, type Tokens } from './support/flow.ts';
import { createPin, pinLogin } from './pins-support.ts';

const PASSWORD = 'a sealed session passphrase';
const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
/** What sessions/sid-key.ts derives the sid key with: a database copy's reader can do the same. */
const SID_KEY_INFO = 'gatehouse session ids v1';

async function listedIds(app: TestApp, admin: string, projectId: string): Promise<string[]> {
  const res = await call(app, admin, 'GET', `/admin/projects/${projectId}/sessions`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ sessions: SessionSummary[] }>().sessions.map((s) => s.id);
}

async function storedSession(app: TestApp, sid: string) {
  return app.services.database.db.selectFrom('sessions').select(['id', 'sid_sealed']).where('id', '=', sha256(sid)).executeTakeFirstOrThrow();
}

describe('the admin session listing', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    project = await createProject(app);
    await createUser(app, 'sealed@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it("shows each session under the sid of its tokens, stored only sealed beside the sid's hash", async () => {
    const tokens = await passwordTokens(app, project, 'sealed@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    assert.ok((await listedIds(app, admin, project.id)).includes(sid));
    const row = await storedSession(app, sid);
    assert.match(row.sid_sealed ?? '', /^sealed:v1:/);
    assert.equal(row.sid_sealed?.includes(sid), false);
    // A refresh keeps the sid, and the listing still shows it.
    const next = await refresh(app, project, tokens.refresh_token);
    assert.equal(next.statusCode, 200);
    assert.equal(sessionIdOf(next.json<Tokens>().access_token), sid);
    assert.ok((await listedIds(app, admin, project.id)).includes(sid));
    assert.equal((await storedSession(app, sid)).sid_sealed, row.sid_sealed, 'a rotation does not rewrite it');
  });

  it('a session without a sealed sid (started before it was kept) is listed under its stored key until its next rotation', async () => {
    const tokens = await passwordTokens(app, project, 'sealed@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    await app.services.database.db.updateTable('sessions').set({ sid_sealed: null }).where('id', '=', sha256(sid)).execute();
    const ids = await listedIds(app, admin, project.id);
    assert.ok(ids.includes(sha256(sid)));
    assert.equal(ids.includes(sid), false);
    // Its next rotation, which knows the sid from the token, seals it once.
    const next = await refresh(app, project, tokens.refresh_token);
    assert.equal(next.statusCode, 200);
    assert.match((await storedSession(app, sid)).sid_sealed ?? '', /^sealed:v1:/);
    assert.ok((await listedIds(app, admin, project.id)).includes(sid));
    // Either id ends it.
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${sid}`)).statusCode, 204);
    assert.equal((await refresh(app, project, next.json<Tokens>().refresh_token)).statusCode, 401);
  });

  it('a session stored before the ids were hashed is listed under the new sid its first rotation gives it', async () => {
    const tokens = await passwordTokens(app, project, 'sealed@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    const legacyToken = 'legacy-refresh-token-without-a-session-id-sealed-listing';
    const { db } = app.services.database;
    await db.updateTable('sessions').set({ sid_sealed: null }).where('id', '=', sha256(sid)).execute();
    await db.updateTable('refresh_tokens').set({ token_hash: sha256(legacyToken) }).where('session_id', '=', sha256(sid)).execute();
    const res = await refresh(app, project, legacyToken);
    assert.equal(res.statusCode, 200, res.body);
    const newSid = sessionIdOf(res.json<Tokens>().access_token);
    assert.notEqual(newSid, sid);
    const ids = await listedIds(app, admin, project.id);
    assert.ok(ids.includes(newSid));
    assert.equal(ids.includes(sha256(sid)), false);
  });

  it('a sealed sid copied into another session does not open there: that session is listed under its stored key', async () => {
    const first = sessionIdOf((await passwordTokens(app, project, 'sealed@example.com', PASSWORD)).access_token);
    const second = sessionIdOf((await passwordTokens(app, project, 'sealed@example.com', PASSWORD)).access_token);
    const { sid_sealed: sealed } = await storedSession(app, first);
    await app.services.database.db.updateTable('sessions').set({ sid_sealed: sealed }).where('id', '=', sha256(second)).execute();
    const ids = await listedIds(app, admin, project.id);
    assert.ok(ids.includes(first));
    assert.ok(ids.includes(sha256(second)));
    assert.equal(ids.filter((id) => id === first).length, 1);
    assert.equal((await call(app, admin, 'DELETE', `/admin/sessions/${sha256(second)}`)).statusCode, 204);
  });
});

/** One database that apps start on in turn, with or without the secret key. */
function sharedDatabase() {
  const env = testEnv();
  const config = (extra: Record<string, string>) => loadConfig({ ...env, ...extra });
  after(() => releaseTestStorage(config({})));
  return {
    start: async (extra: Record<string, string> = {}): Promise<TestApp> => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const app = await buildApp({ config: config(extra), clock, logger: false });
      return { ...app, clock, config: app.services.config };
    },
    cli: async (extra: Record<string, string>, ...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli([...args, '--json'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { ...env, ...extra } });
      return { code, stdout, stderr };
    },
  };
}

/** Signs in by password and by PIN in a fresh project: the sids of both sessions, after a refresh each. */
async function signIns(app: TestApp, projectId: string): Promise<string[]> {
  const project = await createProject(app, { id: projectId });
  await createUser(app, `${projectId}@example.com`, PASSWORD, project.id);
  const byPassword = await passwordTokens(app, project, `${projectId}@example.com`, PASSWORD);
  const admin = await adminToken(app);
  const pin = await createPin(app, admin, project.id, 'Kiosk');
  const { response, verifier } = await pinLogin(app, project.id, pin.pin, '10.9.0.1');
  assert.equal(response.statusCode, 200, response.body);
  const byPin = await exchangeCode(app, project, response.json<{ code: string }>().code, verifier);
  for (const tokens of [byPassword, byPin]) assert.equal((await refresh(app, project, tokens.refresh_token)).statusCode, 200);
  const sids = [byPassword, byPin].map((t) => sessionIdOf(t.access_token));
  assert.deepEqual((await listedIds(app, admin, project.id)).sort(), [...sids].sort());
  return sids;
}

/** Every row of every table, as text: where a sid stored in plain text would show. */
async function everyRow(app: TestApp): Promise<string> {
  const { db } = app.services.database;
  const tables = ['projects', 'users', 'memberships', 'pins', 'sessions', 'refresh_tokens', 'kv', 'signing_keys', 'instance_secrets', 'audit_events'] as const;
  const rows = await Promise.all(tables.map((table) => db.selectFrom(table).selectAll().execute()));
  return JSON.stringify(rows);
}

/** The SQLite file and its WAL, as they are on disk now. */
function sqliteFiles(app: TestApp): string[] {
  const path = app.services.config.databaseUrl.slice('sqlite:'.length);
  const files = [path, `${path}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
  assert.ok(files.length > 0);
  return files;
}

async function sidKeyValue(app: TestApp): Promise<string> {
  const row = await app.services.database.db.selectFrom('instance_secrets').select('value').where('name', '=', 'session_sid_key').executeTakeFirstOrThrow();
  return row.value;
}

describe('sids at rest', () => {
  for (const withKey of [false, true]) {
    it(`no sid is in the database${testBackend === 'sqlite' ? ' file nor its WAL' : ''} after sign-ins, ${withKey ? 'with' : 'without'} GATEHOUSE_SECRET_KEY`, async () => {
      const db = sharedDatabase();
      const app = await db.start(withKey ? { GATEHOUSE_SECRET_KEY: KEY } : {});
      try {
        const sids = await signIns(app, withKey ? 'sealed-keyed' : 'sealed-plain');
        const rows = await everyRow(app);
        const files = testBackend === 'sqlite' ? sqliteFiles(app) : [];
        for (const sid of sids) {
          assert.equal(rows.includes(sid), false, 'no row holds the sid');
          for (const content of files) assert.equal(content.includes(sid), false, 'the sid is not in the SQLite file or its WAL');
        }
        const stored = await sidKeyValue(app);
        const sessions = await app.services.database.db.selectFrom('sessions').select(['id', 'sid_sealed']).where('id', 'in', sids.map(sha256)).execute();
        assert.equal(sessions.length, 2);
        if (withKey) {
          // A copy of the database holds the session id key only sealed under the secret key.
          assert.match(stored, /^sealed:v1:/);
        } else {
          // Without the secret key the copy holds the session id key too: its sids can be recovered.
          assert.doesNotMatch(stored, /^sealed:/);
          const box = new SecretBox(Buffer.from(stored, 'base64url'), SID_KEY_INFO);
          const opened = sessions.map((s) => box.open(s.sid_sealed ?? '', `sessions:${s.id}`, 'sid'));
          assert.deepEqual(opened.sort(), [...sids].sort());
        }
      } finally {
        await app.close();
      }
    });
  }

  it('with the secret key, a start without it or with another is refused (the session id key does not open)', async () => {
    const db = sharedDatabase();
    const app = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    let sids: string[];
    try {
      sids = await signIns(app, 'sealed-refused');
    } finally {
      await app.close();
    }
    await assert.rejects(db.start({ GATEHOUSE_SECRET_KEY: OTHER_KEY }), /cannot be decrypted: GATEHOUSE_SECRET_KEY is not the key it was encrypted with/);
    await assert.rejects(db.start(), /is encrypted, but GATEHOUSE_SECRET_KEY is not set/);
    // The right key lists them again.
    const again = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    try {
      assert.deepEqual((await listedIds(again, await adminToken(again), 'sealed-refused')).sort(), [...sids].sort());
    } finally {
      await again.close();
    }
  });

  it('a session id key sealed under one secret key refuses a start without it or with another, whatever else is plain', async () => {
    const db = sharedDatabase();
    const app = await db.start();
    try {
      await signIns(app, 'sealed-alone');
      // Only the session id key sealed: the signing keys and the PIN key stay plain and read with any key.
      assert.equal(await sealSidKey(app.services.database.db, new SecretBox(Buffer.from(KEY, 'base64'))), true);
    } finally {
      await app.close();
    }
    await assert.rejects(db.start({ GATEHOUSE_SECRET_KEY: OTHER_KEY }), /The session id key \(instance_secrets\.session_sid_key\) cannot be decrypted/);
    await assert.rejects(db.start(), /The session id key \(instance_secrets\.session_sid_key\) is encrypted, but GATEHOUSE_SECRET_KEY is not set/);
    const again = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    await again.close();
  });

  it('`gatehouse keys encrypt` seals a session id key stored before the secret key was set; the sids stay listed', async () => {
    const db = sharedDatabase();
    let app = await db.start();
    let sids: string[];
    try {
      sids = await signIns(app, 'sealed-later');
      assert.doesNotMatch(await sidKeyValue(app), /^sealed:/);
    } finally {
      await app.close();
    }
    const first = await db.cli({ GATEHOUSE_SECRET_KEY: KEY }, 'keys', 'encrypt');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).session_id_key_encrypted, true);
    const again = await db.cli({ GATEHOUSE_SECRET_KEY: KEY }, 'keys', 'encrypt');
    assert.equal(JSON.parse(again.stdout).session_id_key_encrypted, false);
    app = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    try {
      assert.match(await sidKeyValue(app), /^sealed:v1:/);
      assert.deepEqual((await listedIds(app, await adminToken(app), 'sealed-later')).sort(), [...sids].sort());
    } finally {
      await app.close();
    }
    await assert.rejects(db.start(), /is encrypted, but GATEHOUSE_SECRET_KEY is not set/);
  });
});
