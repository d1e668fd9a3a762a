// Every periodic job of a running server, in one list: what it does, how often, and what it
// logs. app.ts starts them after the services and stops them before storage closes. Each runs on
// a timer that never keeps the process alive, and a slow run is never joined by a second one
// (src/periodic.ts).
import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic, type PeriodicTask } from './periodic.ts';
import type { Services } from './services.ts';
import { purgeExpiredState } from './storage/housekeeping.ts';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

interface PeriodicJob {
  name: 'audit retention' | 'expired state purge' | 'signing key reload' | 'signing key rotation' | 'webhook delivery';
  intervalMs: number;
  /** false: the first run is one interval after the start (the start has just done the work) */
  atStart: boolean;
  run(): Promise<void>;
}

export function periodicJobs(services: Services, log: FastifyBaseLogger): PeriodicJob[] {
  const { config, clock } = services;
  return [
    {
      // Keeps GATEHOUSE_AUDIT_RETENTION_DAYS of audit history (docs/operations.md "Audit log retention").
      name: 'audit retention',
      intervalMs: HOUR_MS,
      atStart: true,
      async run() {
        const cutoff = clock.now() - config.auditRetentionDays * DAY_MS;
        const deleted = await services.audit.purgeOlderThan(cutoff);
        if (deleted > 0) log.info({ deleted, retention_days: config.auditRetentionDays }, 'old audit events purged');
        // The deliveries of those events go with them once settled (a pending one is still being tried).
        const deliveries = await services.webhooks.purgeDeliveriesBefore(cutoff);
        if (deliveries > 0) log.info({ deleted: deliveries, retention_days: config.auditRetentionDays }, 'old webhook deliveries purged');
      },
    },
    {
      // Expired refresh tokens, sessions, codes and magic links, and spent refresh tokens that
      // reuse detection no longer needs.
      name: 'expired state purge',
      intervalMs: HOUR_MS,
      atStart: true,
      async run() {
        const purged = { ...(await purgeExpiredState(services.database.db, clock)), browserSessions: await services.browserSessions.purgeDead() };
        if (purged.refreshTokens + purged.spentTokens + purged.sessions + purged.kv + purged.browserSessions > 0) log.info({ purged }, 'expired tokens and sessions purged');
      },
    },
    {
      // A rotation made by another instance or the command line changes the signer here too.
      name: 'signing key reload',
      intervalMs: config.keyReloadSeconds * 1000,
      atStart: false,
      run: () => services.keys.reload(),
    },
    {
      // GATEHOUSE_KEY_ROTATION_DAYS: every instance checks, exactly one rotates (the key lock in
      // the database), with pre-publication (docs/operations.md "Signing keys and rotation").
      name: 'signing key rotation',
      intervalMs: HOUR_MS,
      atStart: true,
      async run() {
        if (config.keyRotationDays === 0) return;
        const rotated = await services.keys.rotateIfDue(config.keyRotationDays * DAY_MS, config.keyPrepublishSeconds * 1000);
        if (!rotated) return;
        const kids = { ES256: rotated.ES256, RS256: rotated.RS256 };
        const signsFrom = new Date(rotated.signs_from).toISOString();
        await services.audit.record({ type: 'keys.rotated', outcome: 'info', detail: { kids, scheduled: true, immediately: false, signs_from: signsFrom } });
        log.info({ kids, signs_from: signsFrom }, 'signing keys rotated on schedule');
      },
    },
    {
      // Webhooks and back-channel logouts (docs/webhooks.md): the deliveries due, claimed by this instance alone. An event
      // recorded here also nudges the deliverer at once; this catches retries, the events of other
      // instances, and those recorded in another transaction (a refresh's).
      name: 'webhook delivery',
      intervalMs: 1000,
      atStart: false,
      async run() {
        // Claims and starts the sends; a slow receiver's answer is not waited for (outbox.ts).
        await services.webhooks.kick();
      },
    },
  ];
}

interface RunningJobs {
  /** runs one job now (or joins its run under way) */
  runNow(name: PeriodicJob['name']): Promise<void>;
  /** stops every timer and waits for the runs under way */
  stop(): Promise<void>;
}

export async function startJobs(jobs: PeriodicJob[], log: FastifyBaseLogger): Promise<RunningJobs> {
  const running = new Map<PeriodicJob['name'], PeriodicTask>();
  for (const job of jobs) {
    const onError = (err: unknown) => log.error({ err, job: job.name }, `${job.name} failed`);
    running.set(job.name, await startPeriodic(() => job.run(), job.intervalMs, onError, { atStart: job.atStart }));
  }
  return {
    runNow: async (name) => running.get(name)?.runNow(),
    stop: async () => {
      await Promise.all([...running.values()].map((task) => task.stop()));
    },
  };
}
