// The SQL the services rely on, proven on the backend of this pass (SQLite, then PostgreSQL):
// the same queries must mean the same thing on both, including under concurrency.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../src/storage/database.ts';
import { RedisKeyValueStore, SqlKeyValueStore } from '../src/storage/kv.ts';
import { migrateDatabase } from '../src/storage/migrations.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { createProject, createUser, passwordCode, passwordTokens, post, REDIRECT_URI, refresh } from './support/flow.ts';
import { EmailAlreadyRegistered, ProjectAlreadyExists, isError } from '../src/errors.ts';

describe(`SQL storage on ${testBackend}`, () => {
  let app: TestApp;
  let kv: SqlKeyValueStore;
  before(async () => {
    app = await createTestApp();
    kv = new SqlKeyValueStore(app.services.database.db, app.clock);
  });
  after(() => app.close());

  it('this pass runs on the backend it names: SQLite alone, or PostgreSQL with Redis', () => {
    assert.equal(app.services.database.kind, testBackend);
    if (testBackend === 'postgres') assert.ok(app.services.kv instanceof RedisKeyValueStore);
    else assert.ok(app.services.kv instanceof SqlKeyValueStore);
  });

  it('take() hands a value to exactly one of twenty concurrent callers (DELETE … RETURNING)', async () => {
    await kv.put('race', 'the prize', 60_000);
    const takes = await Promise.all(Array.from({ length: 20 }, () => kv.take('race')));
    assert.deepEqual(
      takes.filter((v) => v !== null),
      ['the prize'],
    );
    assert.equal(await kv.get('race'), null);
  });

  it('put() on an existing key replaces value and expiry (ON CONFLICT … DO UPDATE)', async () => {
    await kv.put('replaced', 'first', 1_000);
    await kv.put('replaced', 'second', 120_000);
    app.clock.advance(5_000);
    assert.equal(await kv.get('replaced'), 'second');
    assert.equal(await kv.take('replaced'), 'second');
  });

  it('an expired value is neither read nor taken', async () => {
    await kv.put('short', 'gone soon', 1_000);
    app.clock.advance(1_001);
    assert.equal(await kv.get('short'), null);
    assert.equal(await kv.take('short'), null);
  });

  it('times come back as numbers, 0/1 flags as booleans, and count(*) as a number', async () => {
    const project = await createProject(app, { registrationOpen: false });
    const row = await app.services.database.db
      .selectFrom('projects')
      .select(['registration_open', 'created_at'])
      .where('id', '=', project.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { registration_open: 0, created_at: app.clock.now() });
    assert.equal((await app.services.projects.find(project.id))?.project.registration_open, false);
    const { n } = await app.services.database.db
      .selectFrom('projects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(typeof n, 'number');
    assert.ok(n >= 2);
  });

  it('a taken id or email is refused with the catalogue error, not a storage error (ON CONFLICT DO NOTHING … RETURNING)', async () => {
    const project = await createProject(app);
    await assert.rejects(app.services.projects.create({ id: project.id, name: 'again', redirect_uris: ['https://x.example/cb'] }), (e) => isError(e, ProjectAlreadyExists));
    assert.equal((await app.services.projects.find(project.id))?.project.name, 'Test App');
    await createUser(app, 'Twice@Example.com', 'a long enough passphrase');
    await assert.rejects(app.services.users.create({ email: ' twice@example.COM ' }), (e) => isError(e, EmailAlreadyRegistered));
    assert.equal((await app.services.users.list('twice@example.com')).length, 1);
  });

  it('a transaction that fails leaves nothing behind', async () => {
    const now = app.clock.now();
    await assert.rejects(
      app.services.database.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('projects')
          .values({ id: 'rolled-back', name: 'x', redirect_uris: '[]', secret_hash: null, registration_open: 1, code_ttl_seconds: null, access_token_ttl_seconds: null, refresh_token_ttl_seconds: null, created_at: now, updated_at: now })
          .execute();
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal(await app.services.projects.find('rolled-back'), undefined);
  });

  it('ten concurrent refreshes with one refresh token: one rotates, the rest are reuse, and the session ends', async () => {
    const project = await createProject(app);
    await createUser(app, 'racer@example.com', 'a long enough passphrase', project.id);
    const tokens = await passwordTokens(app, project, 'racer@example.com', 'a long enough passphrase');
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(app, project, tokens.refresh_token)));
    const rotated = answers.filter((r) => r.statusCode === 200);
    assert.equal(rotated.length, 1, answers.map((r) => r.body).join('\n'));
    for (const r of answers.filter((r) => r.statusCode !== 200)) assert.deepEqual([r.statusCode, r.json()], [401, { error: 'Invalid refresh token' }]);
    // Concurrent use of one refresh token is indistinguishable from theft: the whole session ends.
    const next = await refresh(app, project, rotated[0]!.json<{ refresh_token: string }>().refresh_token);
    assert.deepEqual([next.statusCode, next.json()], [401, { error: 'Invalid refresh token' }]);
    const { rows } = await sql<{ live: number }>`select count(*) as live from sessions where project_id = ${project.id} and revoked_at is null`.execute(app.services.database.db);
    assert.equal(Number(rows[0]?.live), 0);
  });
});

describe('PostgreSQL without Redis: codes and counters in SQL, shared by the instances', { skip: testBackend === 'postgres' ? false : 'a PostgreSQL deployment; runs in the Postgres+Redis pass (npm run test:postgres)' }, () => {
  let first: TestApp;
  let second: TestApp;
  before(async () => {
    const env = { ...testEnv(), GATEHOUSE_REDIS_URL: '' };
    // Started together: the rate-limit table is created once, under the start-up lock.
    [first, second] = await Promise.all([createTestApp({ env }), createTestApp({ env })]);
  });
  after(async () => {
    await first?.close();
    await second?.close();
  });

  it('codes live in the kv table and are redeemed once, whichever instance is asked', async () => {
    assert.equal(first.services.kv instanceof SqlKeyValueStore, true);
    const project = await createProject(first);
    await createUser(first, 'sql@example.com', 'a long enough passphrase', project.id);
    const { code, verifier } = await passwordCode(first, project.id, 'sql@example.com', 'a long enough passphrase');
    const attempts = await Promise.all(
      [first, second, first, second].map((app) =>
        post(app, '/token', { grant_type: 'authorization_code', client_id: project.id, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }),
      ),
    );
    assert.equal(attempts.filter((r) => r.statusCode === 200).length, 1);
  });

  it('failed logins counted by one instance limit the other', async () => {
    const ip = '198.51.100.23';
    for (let n = 0; n < 5; n++) assert.equal(await (n % 2 ? first : second).services.limits.passwordFailuresPerIp.hit(ip), true);
    assert.equal(await first.services.limits.passwordFailuresPerIp.exhausted(ip), true);
    assert.equal(await second.services.limits.passwordFailuresPerIp.exhausted(ip), true);
  });
});

describe('the store timeout on PostgreSQL', { skip: testBackend === 'postgres' ? false : 'a PostgreSQL setting; runs in the Postgres+Redis pass (npm run test:postgres)' }, () => {
  let database: OpenedDatabase;
  before(async () => {
    const url = testEnv().GATEHOUSE_DATABASE_URL ?? '';
    // Generous enough that a fresh connection's first query fits on a loaded 2-core machine.
    database = openDatabase(url, { poolSize: 2, timeoutMs: 1000 });
    await migrateDatabase(database);
  });
  after(() => database?.close());

  it('a query slower than GATEHOUSE_STORE_TIMEOUT_MS fails instead of holding its request', async () => {
    await assert.rejects(sql`select pg_sleep(2)`.execute(database.db), /timeout/i);
    // The pool is usable at once afterwards.
    assert.equal((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows[0]?.one, 1);
  });

  it('start-up work under the lock (a long migration) is not cut short', async () => {
    const slept = await database.withLock('test', (unhurried) => sql`select pg_sleep(2), 1 as done`.execute(unhurried));
    assert.equal(slept.rows.length, 1);
  });
});
