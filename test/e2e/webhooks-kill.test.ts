// Webhook and back-channel logout deliveries under failure (machines.md "Tests", docs/webhooks.md
// "At least once"), with real `gatehouse serve` processes and real receivers of the test's own:
// - a server killed with SIGKILL while a receiver holds its request open, then started again:
//   the delivery arrives (at least once; the repeat is counted and reported), on SQLite (at once)
//   and on PostgreSQL + Redis (once the dead server's claim has run out);
// - three instances on one PostgreSQL schema and Redis prefix: every one of N events and M
//   logouts arrives, and none twice (each row is claimed by exactly one instance: the lease).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { postgresRedisEnv, releaseTestStorage, testBackend } from '../support/backend.ts';
import { bearer } from '../support/flow.ts';
import { freePort } from '../support/server.ts';
import { adminTokenVia, call, exchange, passwordCode, startInstance, startInstances, stopInstances, type Instance, type InstanceSettings } from '../support/instances.ts';
import { startReceiver, verifySignature, type Receiver } from '../support/webhook-receiver.ts';
import { startLogoutReceiver, verifyLogoutToken, type LogoutReceiver } from '../support/backchannel-receiver.ts';

const ISSUER = 'http://gatehouse.kill.test';
const ADMIN_EMAIL = 'admin@kill.test';
const ADMIN_PASSWORD = 'kill it and start it again';
const REDIRECT_URI = 'https://app.kill.test/callback';
const PASSWORD = 'a person of the kill test';
/** The receiver's wait; a claim lasts this plus 60 s (docs/decisions/0107): on PostgreSQL the restarted server tries again after about a minute. */
const TIMEOUT_MS = 5000;

/** Waits until `done()` holds, looking every 200 ms; fails with `what` after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`not in ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How often each key came: the number of keys that came more than once, and how many extra arrivals. */
function repeats(keys: string[]): { distinct: number; repeated: number; extra: number } {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  const over = [...counts.values()].filter((n) => n > 1);
  return { distinct: counts.size, repeated: over.length, extra: over.reduce((sum, n) => sum + n - 1, 0) };
}

function sidOf(idToken: unknown): string {
  const claims = JSON.parse(Buffer.from(String(idToken).split('.')[1] ?? '', 'base64url').toString()) as { sid: string };
  return claims.sid;
}

/** The storage of one test: a SQLite file, or a fresh PostgreSQL schema and Redis prefix (the run's backend). */
function freshStorage(): Record<string, string> {
  if (testBackend === 'postgres') return postgresRedisEnv();
  return { GATEHOUSE_DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-kill-')), 'gatehouse.db')}` };
}

async function releaseStorage(storage: Record<string, string>): Promise<void> {
  if (testBackend === 'postgres') await releaseTestStorage({ databaseUrl: storage.GATEHOUSE_DATABASE_URL ?? '', redisPrefix: storage.GATEHOUSE_REDIS_PREFIX ?? '' });
}

/** A project listening for logout tokens, a member of it, and a signed-in session of theirs (its sid). */
async function projectWithSessions(base: string, admin: string, logoutUrl: string, alg: 'ES256' | 'RS256', sessions: Array<string>): Promise<{ projectId: string; sids: string[] }> {
  const project = await call(base, 'POST', '/admin/projects', { name: 'Kill App', redirect_uris: [REDIRECT_URI], token_signing_alg: alg, backchannel_logout_uri: logoutUrl }, bearer(admin));
  assert.equal(project.status, 201, JSON.stringify(project.body));
  const projectId = String(project.body.id);
  const sids: string[] = [];
  for (const [n, on] of sessions.entries()) {
    const email = `person-${n}-${Math.random().toString(36).slice(2, 8)}@kill.test`;
    const user = await call(base, 'POST', '/admin/users', { email, password: PASSWORD }, bearer(admin));
    assert.equal(user.status, 201, JSON.stringify(user.body));
    assert.ok((await call(base, 'PUT', `/admin/projects/${projectId}/members/${String(user.body.id)}`, undefined, bearer(admin))).status < 300);
    const login = await passwordCode(on, projectId, email, PASSWORD, REDIRECT_URI);
    const tokens = await exchange(on, projectId, login.code, login.verifier, REDIRECT_URI);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    sids.push(sidOf(tokens.body.id_token));
  }
  return { projectId, sids };
}

describe('a server killed with SIGKILL mid-delivery, then started again', () => {
  const storage = freshStorage();
  const settings: InstanceSettings = { storage, issuer: ISSUER, adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD, env: { GATEHOUSE_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) } };
  const running: Instance[] = [];
  let hooks: Receiver;
  let logouts: LogoutReceiver;

  before(async () => {
    hooks = await startReceiver();
    logouts = await startLogoutReceiver();
  });
  after(async () => {
    for (const instance of running) if (instance.child.exitCode === null) instance.child.kill('SIGKILL');
    await Promise.all(running.map((instance) => instance.exited));
    await hooks.close();
    await logouts.close();
    await releaseStorage(storage);
  });

  it('the webhook event and the logout token held open at the kill arrive after the restart (at least once; the repeat is counted)', { timeout: 180_000 }, async (t) => {
    const first = startInstance(await freePort(), settings);
    running.push(first);
    await waitHealthy(first);
    const admin = await adminTokenVia(first.url, first.url, settings);
    const webhook = await call(first.url, 'POST', '/admin/webhooks', { url: hooks.url, events: ['admin.user.created'] }, bearer(admin));
    assert.equal(webhook.status, 201, JSON.stringify(webhook.body));
    const { projectId, sids } = await projectWithSessions(first.url, admin, `${logouts.url}/rp`, 'RS256', [first.url]);
    // The users made for the session were events too: delivered, and forgotten here.
    await until(() => hooks.received.length === 1, 10_000, 'the set-up event delivered');
    hooks.received.length = 0;

    // Both receivers hold the next request open; the server is killed while it waits.
    hooks.answer = 'hang';
    logouts.answer = 'hang';
    const created = await call(first.url, 'POST', '/admin/users', { email: 'held@kill.test' }, bearer(admin));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call(first.url, 'DELETE', `/admin/sessions/${sids[0]}`, undefined, bearer(admin))).status, 204);
    await until(() => hooks.received.length === 1 && logouts.received.length === 1, 10_000, 'both requests under way');
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null, 'killed, not exited');
    const heldEventId = String(hooks.received[0]?.headers['gatehouse-event-id']);

    hooks.answer = 200;
    logouts.answer = 200;
    const second = startInstance(await freePort(), settings);
    running.push(second);
    const restarted = Date.now();
    await waitHealthy(second);
    // On SQLite (one server process) the new process lets the dead one's claims go and sends at
    // once; on PostgreSQL another instance might hold them, so they run out first (the timeout plus 60 s).
    await until(() => hooks.received.length >= 2 && logouts.received.length >= 2, 120_000, 'the deliveries sent again after the restart');
    const waited = Date.now() - restarted;
    t.diagnostic(`sent again ${Math.round(waited / 1000)} s after the restart`);
    if (testBackend === 'sqlite') assert.ok(waited < 30_000, `at once on SQLite, not after the lease (${waited} ms)`);
    else assert.ok(waited > 30_000, `after the lease on PostgreSQL, not before (${waited} ms)`);

    const hookRepeats = repeats(hooks.received.map((got) => String(got.headers['gatehouse-event-id'])));
    const logoutRepeats = repeats(logouts.received.map((got) => (got.token ? 'token' : 'none')));
    t.diagnostic(`webhook: ${hooks.received.length} arrivals of ${hookRepeats.distinct} event(s), ${hookRepeats.extra} repeat(s); logout: ${logouts.received.length} arrivals, ${logoutRepeats.extra} repeat(s)`);
    assert.deepEqual(hookRepeats, { distinct: 1, repeated: 1, extra: 1 }, 'the held event came again, once: at least once, at most one repeat');
    assert.equal(hooks.received.length, 2);
    for (const got of hooks.received) {
      assert.equal(got.headers['gatehouse-event-id'], heldEventId);
      assert.equal(verifySignature(String(webhook.body.secret), got.headers['gatehouse-signature'], got.body).valid, true);
      assert.equal(got.json.type, 'admin.user.created');
    }
    assert.equal(logouts.received.length, 2, 'the logout came again, once');
    const jwks = (await call(second.url, 'GET', '/.well-known/jwks.json')).body as unknown as JSONWebKeySet;
    const claims = await verifyLogoutToken(logouts.received[1]?.token, { jwks, issuer: ISSUER, audience: projectId, alg: 'RS256', now: Date.now() });
    assert.equal(claims.sid, sids[0]);

    // Recorded as delivered, by the second server's try.
    const listed = await call(second.url, 'GET', `/admin/webhooks/${String(webhook.body.id)}/deliveries`, undefined, bearer(await adminTokenVia(second.url, second.url, settings)));
    const held = (listed.body.deliveries as Array<{ event_id: string; status: string; attempt: number }>).find((d) => d.event_id === heldEventId);
    assert.deepEqual([held?.status, held?.attempt], ['delivered', 1]);
    await stopInstances([second]);
  });
});

/** Waits until an instance answers /healthz. */
async function waitHealthy(instance: Instance): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${instance.url}/healthz`).then((res) => res.status === 200, () => false);
    if (ok) return;
    if (instance.child.exitCode !== null) assert.fail(`instance exited during start:\n${instance.output()}`);
    if (Date.now() > deadline) assert.fail(`instance not healthy in time:\n${instance.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const skipUnlessPostgres =
  testBackend === 'postgres' ? false : 'three instances only mean something on a shared PostgreSQL + Redis: this runs in the Postgres+Redis pass (npm run test:postgres)';

describe('three instances delivering from one outbox', { skip: skipUnlessPostgres }, () => {
  const storage = testBackend === 'postgres' ? postgresRedisEnv() : {};
  const settings: InstanceSettings = { storage, issuer: ISSUER, adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD };
  const instances: Instance[] = [];
  let hooks: Receiver;
  let logouts: LogoutReceiver;

  before(async () => {
    hooks = await startReceiver();
    logouts = await startLogoutReceiver();
    await startInstances(3, settings, instances);
  });
  after(async () => {
    try {
      await stopInstances(instances);
    } finally {
      await hooks.close();
      await logouts.close();
      await releaseStorage(storage);
    }
  });

  it('N events and M logouts recorded across the three: each arrives, and none twice', { timeout: 180_000 }, async (t) => {
    const EVENTS = 60;
    const LOGOUTS = 15;
    const urls = instances.map((i) => i.url);
    const at = (n: number) => urls[n % urls.length] ?? '';
    const admin = await adminTokenVia(at(0), at(1), settings);
    const webhook = await call(at(2), 'POST', '/admin/webhooks', { url: hooks.url, events: ['admin.user.created'] }, bearer(admin));
    assert.equal(webhook.status, 201, JSON.stringify(webhook.body));
    const { projectId, sids } = await projectWithSessions(at(0), admin, `${logouts.url}/rp`, 'ES256', Array.from({ length: LOGOUTS }, (_, n) => at(n)));
    // The set-up's own users are events too: LOGOUTS of them.
    await until(() => new Set(hooks.received.map((got) => got.headers['gatehouse-event-id'])).size === LOGOUTS, 30_000, 'the set-up events delivered');

    // The events, ten at a time, each on the next instance; the logouts likewise.
    for (let n = 0; n < EVENTS; n += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const res = await call(at(n + k), 'POST', '/admin/users', { email: `event-${n + k}@kill.test` }, bearer(admin));
          assert.equal(res.status, 201, JSON.stringify(res.body));
        }),
      );
    }
    await Promise.all(sids.map(async (sid, n) => assert.equal((await call(at(n + 1), 'DELETE', `/admin/sessions/${sid}`, undefined, bearer(admin))).status, 204)));

    const hookIds = () => hooks.received.map((got) => String(got.headers['gatehouse-event-id']));
    await until(() => new Set(hookIds()).size === LOGOUTS + EVENTS && logouts.received.length >= LOGOUTS, 60_000, 'every event and logout delivered');
    // A few more ticks of every deliverer: a repeat would come now.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const jwks = (await call(at(0), 'GET', '/.well-known/jwks.json')).body as unknown as JSONWebKeySet;
    const logoutSids: string[] = [];
    for (const got of logouts.received) logoutSids.push(String((await verifyLogoutToken(got.token, { jwks, issuer: ISSUER, audience: projectId, alg: 'ES256', now: Date.now() })).sid));
    for (const got of hooks.received) assert.equal(verifySignature(String(webhook.body.secret), got.headers['gatehouse-signature'], got.body).valid, true);
    const hookRepeats = repeats(hookIds());
    const logoutRepeats = repeats(logoutSids);
    t.diagnostic(`webhooks: ${hooks.received.length} arrivals of ${hookRepeats.distinct} events, ${hookRepeats.extra} duplicate(s); logouts: ${logouts.received.length} arrivals of ${logoutRepeats.distinct} sessions, ${logoutRepeats.extra} duplicate(s)`);
    assert.equal(hookRepeats.distinct, LOGOUTS + EVENTS);
    assert.deepEqual(new Set(logoutSids), new Set(sids), 'a token for every session ended');
    // The design's guarantee without a crash: each row claimed by exactly one instance (FOR UPDATE SKIP LOCKED, a lease).
    assert.equal(hookRepeats.extra, 0, 'no event delivered twice');
    assert.equal(logoutRepeats.extra, 0, 'no logout delivered twice');
  });
});
