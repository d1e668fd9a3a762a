// GATEHOUSE_KEY_ROTATION_DAYS: every instance checks on its periodic job; exactly one rotates,
// with pre-publication.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, type App } from '../src/app.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { periodicJobs } from '../src/jobs.ts';
import { testEnv } from './support/app.ts';
import { testBackend } from './support/backend.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

function rotationJob(app: App) {
  const job = periodicJobs(app.services, app.server.log).find((j) => j.name === 'signing key rotation');
  assert.ok(job, 'signing key rotation is one of the periodic jobs');
  return job;
}

/**
 * The instances' checks: at once on PostgreSQL. On SQLite one process has the file to itself
 * (two in-process connections would wait for each other's lock synchronously, blocking the
 * event loop), so the instances check one after the other there.
 */
async function checkAll(jobs: Array<{ run(): Promise<void> }>): Promise<void> {
  if (testBackend === 'postgres') await Promise.all(jobs.map((j) => j.run()));
  else for (const job of jobs) await job.run();
}

async function keyStates(app: App): Promise<string[]> {
  return (await app.services.keys.list()).map((k) => `${k.alg}:${k.state}`).sort();
}

describe('scheduled signing-key rotation, two instances on one database', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const env = testEnv({ GATEHOUSE_KEY_ROTATION_DAYS: '30', GATEHOUSE_KEY_PREPUBLISH_SECONDS: '900' });
  let a: App;
  let b: App;
  before(async () => {
    a = await buildApp({ config: loadConfig(env), clock });
    b = await buildApp({ config: loadConfig(env), clock });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('runs hourly; nothing is due before the keys are 30 days old', async () => {
    assert.equal(rotationJob(a).intervalMs, 60 * 60 * 1000);
    clock.advance(30 * DAY_MS - 60_000);
    await checkAll([rotationJob(a), rotationJob(b)]);
    assert.deepEqual(await keyStates(a), ['ES256:current', 'RS256:current']);
  });

  it('when due, both instances check (at once on PostgreSQL) and exactly one rotates, pre-publishing a next key of each algorithm', async () => {
    const oldKid = a.services.keys.kid;
    clock.advance(120_000);
    await checkAll([rotationJob(a), rotationJob(b), rotationJob(a), rotationJob(b)]);
    assert.deepEqual(await keyStates(a), ['ES256:current', 'ES256:next', 'RS256:current', 'RS256:next']);
    const events = await a.services.audit.list({ limit: 10, type: 'keys.rotated' });
    assert.equal(events.length, 1, 'one rotation recorded');
    assert.equal(events[0]?.detail?.scheduled, true);
    // The key lock is the database's lock (an advisory lock on PostgreSQL), not a row of instance_secrets.
    const secrets = await a.services.database.db.selectFrom('instance_secrets').select('name').execute();
    assert.ok(!secrets.some((row) => row.name === 'signing_keys_lock'));

    // Checked again later: the next keys are new, nothing more is due.
    clock.advance(60 * 60 * 1000);
    await checkAll([rotationJob(a), rotationJob(b)]);
    assert.equal((await a.services.audit.list({ limit: 10, type: 'keys.rotated' })).length, 1);

    // The pre-publication is over (it was 900 s): both instances sign with the new ES256 key
    // once their periodic reload has run (either of them may be the one that rotated).
    await Promise.all([a.services.keys.reload(), b.services.keys.reload()]);
    const next = (await a.services.keys.list()).find((k) => k.alg === 'ES256' && k.kid !== oldKid)!;
    assert.ok(next.signs_from <= clock.now());
    assert.equal(a.services.keys.kid, next.kid);
    assert.equal(b.services.keys.kid, next.kid);
    assert.deepEqual(await keyStates(b), ['ES256:current', 'ES256:retired', 'RS256:current', 'RS256:retired']);
  });

  it('the next rotation is due 30 days after the last', async () => {
    clock.advance(29 * DAY_MS);
    await rotationJob(b).run();
    assert.equal((await a.services.audit.list({ limit: 10, type: 'keys.rotated' })).length, 1);
    clock.advance(DAY_MS);
    await checkAll([rotationJob(b), rotationJob(a)]);
    assert.equal((await a.services.audit.list({ limit: 10, type: 'keys.rotated' })).length, 2);
  });
});

describe('GATEHOUSE_KEY_ROTATION_DAYS=0', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let app: App;
  before(async () => {
    app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_KEY_ROTATION_DAYS: '0' })), clock });
  });
  after(() => app.close());

  it('never rotates', async () => {
    const kid = app.services.keys.kid;
    clock.advance(1000 * DAY_MS);
    await rotationJob(app).run();
    assert.equal(app.services.keys.kid, kid);
    assert.deepEqual(await keyStates(app), ['ES256:current', 'RS256:current']);
  });

  it('defaults to 90 days', () => {
    assert.equal(loadConfig(testEnv()).keyRotationDays, 90);
  });
});
