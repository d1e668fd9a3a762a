import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../src/app.ts';
import { periodicJobs, startJobs } from '../src/jobs.ts';
import { ManualClock } from '../src/clock.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createTestApp, testEnv } from './support/app.ts';

const DAY = 24 * 60 * 60 * 1000;

describe('audit retention', () => {
  it('keeps 90 days by default; GATEHOUSE_AUDIT_RETENTION_DAYS changes it and must be a whole number of at least 1', () => {
    assert.equal(loadConfig({}).auditRetentionDays, 90);
    assert.equal(loadConfig({ GATEHOUSE_AUDIT_RETENTION_DAYS: '7' }).auditRetentionDays, 7);
    assert.throws(() => loadConfig({ GATEHOUSE_AUDIT_RETENTION_DAYS: '0' }), ConfigError);
    assert.throws(() => loadConfig({ GATEHOUSE_AUDIT_RETENTION_DAYS: 'soon' }), ConfigError);
  });

  it('purgeOlderThan deletes the events before the cutoff and keeps the rest', async () => {
    const app = await createTestApp();
    try {
      const { audit } = app.services;
      await audit.record({ type: 'pin.created', outcome: 'info' });
      app.clock.advance(20 * DAY);
      await audit.record({ type: 'pin.revoked', outcome: 'info' });
      app.clock.advance(11 * DAY);
      const deleted = await audit.purgeOlderThan(app.clock.now() - 30 * DAY);
      assert.equal(deleted, 1);
      const types = (await audit.list({ limit: 100 })).map((e) => e.type);
      assert.ok(types.includes('pin.revoked'));
      assert.ok(!types.includes('pin.created'));
    } finally {
      await app.close();
    }
  });

  it('purges in batches until every old event is gone', async () => {
    const app = await createTestApp();
    try {
      const { audit } = app.services;
      const old = Array.from({ length: 5200 }, (_, i) => ({
        id: `old-${i}`,
        at: app.clock.now() - 100 * DAY,
        type: 'test.bulk',
        outcome: 'info',
        project_id: null,
        subject: null,
        ip: null,
        user_agent: null,
        detail: null,
      }));
      for (let i = 0; i < old.length; i += 500) {
        await app.services.database.db.insertInto('audit_events').values(old.slice(i, i + 500)).execute();
      }
      assert.equal(await audit.purgeOlderThan(app.clock.now() - 90 * DAY), 5200);
      assert.equal((await audit.list({ limit: 10, type: 'test.bulk' })).length, 0);
    } finally {
      await app.close();
    }
  });

  it('an app purges events past the retention when it starts, using its clock', async () => {
    const config = loadConfig(testEnv({ GATEHOUSE_AUDIT_RETENTION_DAYS: '30' }));
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const first = await buildApp({ config, clock });
    await first.services.audit.record({ type: 'pin.created', outcome: 'info' });
    clock.advance(25 * DAY);
    await first.services.audit.record({ type: 'pin.revoked', outcome: 'info' });
    await first.close();

    clock.advance(10 * DAY); // the first event is now 35 days old, the second 10
    const second = await buildApp({ config, clock });
    try {
      const types = (await second.services.audit.list({ limit: 100 })).map((e) => e.type);
      assert.ok(!types.includes('pin.created'), 'the 35-day-old event was purged at start');
      assert.ok(types.includes('pin.revoked'), 'the 10-day-old event is kept');
    } finally {
      await second.close();
    }
  });

  it('the purge runs again on its timer, with the cutoff from the injected clock', async () => {
    const app = await createTestApp();
    const retention = periodicJobs(app.services, app.server.log).find((job) => job.name === 'audit retention');
    assert.ok(retention, 'audit retention is one of the periodic jobs');
    assert.equal(retention.intervalMs, 60 * 60 * 1000, 'it runs every hour');
    const purges: number[] = [];
    let notify: () => void = () => {};
    const observed = {
      ...retention,
      intervalMs: 10,
      async run() {
        const before = await app.services.audit.list({ limit: 100, type: 'keys.rotated' });
        await retention.run();
        const deleted = before.length - (await app.services.audit.list({ limit: 100, type: 'keys.rotated' })).length;
        purges.push(deleted);
        if (deleted > 0) notify();
      },
    };
    const jobs = await startJobs([observed], app.server.log);
    try {
      assert.equal(purges[0], 0, 'the first purge ran at start and found nothing');
      await app.services.audit.record({ type: 'keys.rotated', outcome: 'info' });
      // The job's timer is unref'd; this timeout keeps the test's event loop alive meanwhile.
      let guard: NodeJS.Timeout | undefined;
      const purged = new Promise<void>((resolve, reject) => {
        notify = resolve;
        guard = setTimeout(() => reject(new Error('no purge within 5 s')), 5000);
      });
      app.clock.advance(91 * DAY);
      await purged.finally(() => clearTimeout(guard));
      assert.equal((await app.services.audit.list({ limit: 10, type: 'keys.rotated' })).length, 0);
    } finally {
      await jobs.stop();
      await app.close();
    }
  });
});
