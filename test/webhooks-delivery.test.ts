// Webhook deliveries (docs/webhooks.md): retried on the 1, 2, 4, … minute schedule of the
// injected clock, failed 24 hours after the event, cut off after GATEHOUSE_WEBHOOK_TIMEOUT_MS,
// written in the event's own transaction (an undone event is never delivered), and claimed by
// exactly one of two instances on the same database.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuditEntry } from '../src/audit/audit-log.ts';
import { param, prepare, step, writeAtomically } from '../src/storage/prepared.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, createProject, createUser, passwordTokens, refresh } from './support/flow.ts';
import { testBackend } from './support/backend.ts';
import { startReceiver, verifySignature, type Receiver } from './support/webhook-receiver.ts';

const MINUTE = 60_000;

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status: string;
  last_status: number | null;
  last_error: string | null;
  duration_ms: number | null;
  next_attempt_at: string | null;
  created_at: string;
}

const signedIn = new WeakMap<TestApp, { token: string; at: number }>();

/** An admin token, signed in again once the clock has moved on (the tests move it by hours). */
async function freshToken(app: TestApp): Promise<string> {
  const known = signedIn.get(app);
  if (known && app.clock.now() - known.at < 5 * MINUTE) return known.token;
  const token = await adminToken(app);
  signedIn.set(app, { token, at: app.clock.now() });
  return token;
}

async function deliveriesOf(app: TestApp, webhookId: string): Promise<Delivery[]> {
  const res = await call(app, await freshToken(app), 'GET', `/admin/webhooks/${webhookId}/deliveries`);
  assert.equal(res.statusCode, 200);
  return res.json<{ deliveries: Delivery[] }>().deliveries;
}

async function deleteWebhook(app: TestApp, webhookId: string): Promise<void> {
  assert.equal((await call(app, await freshToken(app), 'DELETE', `/admin/webhooks/${webhookId}`)).statusCode, 204);
}

async function newWebhook(app: TestApp, token: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await call(app, token, 'POST', '/admin/webhooks', { url, events });
  assert.equal(res.statusCode, 201);
  return res.json<{ id: string; secret: string }>();
}

describe('webhook deliveries: retries', () => {
  let app: TestApp;
  let token: string;
  let receiver: Receiver;

  before(async () => {
    app = await createTestApp();
    token = await adminToken(app);
    receiver = await startReceiver();
  });
  after(async () => {
    await app.close();
    await receiver.close();
  });
  // The clock moves by hours here: each test signs in again.
  beforeEach(async () => {
    token = await freshToken(app);
  });

  it('a receiver that fails and then recovers gets the same bytes again after 1, 2 and 4 minutes', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['pin.created']);
    receiver.answer = 500;
    const start = app.clock.now();
    await app.services.audit.record({ type: 'pin.created', outcome: 'success', detail: { pin_id: 'p1' } });
    await app.services.webhooks.deliverDue();
    assert.equal(receiver.received.length, 1, 'tried at once');

    const expectTries = async (ms: number, tries: number) => {
      app.clock.advance(ms);
      await app.services.webhooks.deliverDue();
      assert.equal(receiver.received.length, tries, `${tries} tries at +${(app.clock.now() - start) / 1000} s`);
    };
    await expectTries(MINUTE - 1000, 1);
    await expectTries(1000, 2); // +1 min
    const [first] = await deliveriesOf(app, webhook.id);
    assert.ok(first);
    assert.deepEqual([first.status, first.attempt, first.last_status, first.last_error], ['pending', 2, 500, 'HTTP 500']);
    assert.equal(first.next_attempt_at, new Date(start + 3 * MINUTE).toISOString());
    await expectTries(2 * MINUTE - 1000, 2);
    await expectTries(1000, 3); // +3 min
    receiver.answer = 200;
    await expectTries(4 * MINUTE - 1000, 3);
    await expectTries(1000, 4); // +7 min: delivered
    await expectTries(60 * MINUTE, 4); // and never again

    const bodies = new Set(receiver.received.map((got) => got.body));
    const ids = new Set(receiver.received.map((got) => got.headers['gatehouse-event-id']));
    assert.deepEqual([bodies.size, ids.size], [1, 1], 'every try carries the same event, byte for byte');
    // Each try is signed when it is sent: its own t, the same body.
    const times = receiver.received.map((got) => {
      const { valid, t } = verifySignature(webhook.secret, got.headers['gatehouse-signature'], got.body);
      assert.equal(valid, true);
      return t - Math.floor(start / 1000);
    });
    assert.deepEqual(times, [0, 60, 180, 420]);
    const [done] = await deliveriesOf(app, webhook.id);
    assert.deepEqual([done?.status, done?.attempt, done?.last_status, done?.next_attempt_at], ['delivered', 4, 200, null]);
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
  });

  it('a delivery still refused 24 hours after its event is failed, after one last try at 24 hours', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['pin.revoked']);
    receiver.answer = 503;
    const start = app.clock.now();
    await app.services.audit.record({ type: 'pin.revoked', outcome: 'success' });
    await app.services.webhooks.deliverDue();
    const tryTimes: number[] = [0];
    for (let guard = 0; guard < 40; guard++) {
      const [delivery] = await deliveriesOf(app, webhook.id);
      assert.ok(delivery);
      if (delivery.status !== 'pending') break;
      assert.ok(delivery.next_attempt_at);
      app.clock.advance(Date.parse(delivery.next_attempt_at) - app.clock.now());
      await app.services.webhooks.deliverDue();
      tryTimes.push((app.clock.now() - start) / MINUTE);
    }
    const [failed] = await deliveriesOf(app, webhook.id);
    assert.deepEqual([failed?.status, failed?.last_status, failed?.next_attempt_at], ['failed', 503, null]);
    // 0, 1, 3, 7, … minutes (the gaps double), then the last try exactly at 24 hours.
    assert.deepEqual(tryTimes, [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1440]);
    assert.equal(receiver.received.length, tryTimes.length);
    assert.equal(failed?.attempt, tryTimes.length);
    app.clock.advance(48 * 60 * MINUTE);
    await app.services.webhooks.deliverDue();
    assert.equal(receiver.received.length, tryTimes.length, 'a failed delivery is never tried again');
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
    receiver.answer = 200;
  });

  it('a redirect is not followed: it is a failed try like any other non-2xx', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['keys.withdrawn']);
    receiver.answer = 307;
    await app.services.audit.record({ type: 'keys.withdrawn', outcome: 'success' });
    await app.services.webhooks.deliverDue();
    const [delivery] = await deliveriesOf(app, webhook.id);
    assert.deepEqual([delivery?.status, delivery?.attempt, delivery?.last_status], ['pending', 1, 307]);
    assert.equal(receiver.received.length, 1);
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
    receiver.answer = 200;
  });

  it('settled deliveries older than the audit retention are deleted; pending ones stay', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['admin.access_refused']);
    receiver.answer = 200;
    await app.services.audit.record({ type: 'admin.access_refused', outcome: 'failure', detail: { n: 'delivered' } });
    await app.services.webhooks.deliverDue();
    receiver.answer = 500;
    await app.services.audit.record({ type: 'admin.access_refused', outcome: 'failure', detail: { n: 'pending' } });
    await app.services.webhooks.deliverDue();
    app.clock.advance(1000);
    const purged = await app.services.webhooks.purgeDeliveriesBefore(app.clock.now());
    assert.equal(purged, 1);
    const left = await deliveriesOf(app, webhook.id);
    assert.deepEqual(left.map((d) => d.status), ['pending']);
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
    receiver.answer = 200;
  });

  it('deleting a webhook removes its pending deliveries: nothing more is sent', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['keys.encrypted']);
    receiver.answer = 500;
    await app.services.audit.record({ type: 'keys.encrypted', outcome: 'success' });
    await app.services.webhooks.deliverDue();
    assert.equal(receiver.received.length, 1);
    await deleteWebhook(app, webhook.id);
    receiver.answer = 200;
    app.clock.advance(10 * MINUTE);
    await app.services.webhooks.deliverDue();
    assert.equal(receiver.received.length, 1);
    const left = await app.services.database.db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', webhook.id).execute();
    assert.deepEqual(left, []);
    receiver.received.length = 0;
  });
});

describe('webhook deliveries: timeout and the outbox transaction', () => {
  let app: TestApp;
  let token: string;
  let receiver: Receiver;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_WEBHOOK_TIMEOUT_MS: '300', GATEHOUSE_AUDIT_REFRESHES: 'true' } });
    token = await adminToken(app);
    receiver = await startReceiver();
  });
  after(async () => {
    await app.close();
    await receiver.close();
  });

  it('a receiver that never answers is cut off after GATEHOUSE_WEBHOOK_TIMEOUT_MS and tried again later', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['pin.created']);
    receiver.answer = 'hang';
    await app.services.audit.record({ type: 'pin.created', outcome: 'success' });
    await app.services.webhooks.deliverDue();
    const [delivery] = await deliveriesOf(app, webhook.id);
    assert.ok(delivery);
    assert.deepEqual([delivery.status, delivery.attempt, delivery.last_status, delivery.last_error], ['pending', 1, null, 'no answer within 300 ms']);
    assert.ok((delivery.duration_ms ?? 0) >= 250, `cut off after about 300 ms, took ${delivery.duration_ms}`);
    receiver.answer = 200;
    app.clock.advance(MINUTE);
    await app.services.webhooks.deliverDue();
    const [done] = await deliveriesOf(app, webhook.id);
    assert.deepEqual([done?.status, done?.attempt], ['delivered', 2]);
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
  });

  it('an event whose transaction is undone writes no delivery; one committed is delivered', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['token.refreshed']);
    const { db } = app.services.database;
    // A write that must change a row and changes none undoes the transaction (a lost race).
    const touchUser = prepare<{ id: string; now: number }, unknown>(db.updateTable('users').set({ updated_at: param<number>('now') }).where('id', '=', param<string>('id')));
    const event = { type: 'token.refreshed' as const, outcome: 'success' as const, subject: 'undone', detail: { n: 1 } };
    const undone = await writeAtomically(db, [step(touchUser, { id: 'no-such-user', now: app.clock.now() }, true), ...app.services.audit.recordStep(event)]);
    assert.equal(undone, false);
    const userId = await createUser(app, 'outbox@example.com', 'an outbox passphrase');
    const done = await writeAtomically(db, [step(touchUser, { id: userId, now: app.clock.now() }, true), ...app.services.audit.recordStep({ ...event, subject: 'done' })]);
    assert.equal(done, true);
    await app.services.webhooks.deliverDue();
    assert.deepEqual(
      receiver.received.map((got) => got.json.subject),
      ['done'],
    );
    const events = await app.services.audit.list({ type: 'token.refreshed', limit: 10 });
    assert.deepEqual(events.map((e) => e.subject), ['done']);
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
  });

  it('of two refreshes racing with one token, only the one that rotated is delivered (GATEHOUSE_AUDIT_REFRESHES)', async () => {
    const webhook = await newWebhook(app, token, receiver.url, ['token.refreshed', 'refresh_token.reuse_detected']);
    const project = await createProject(app);
    await createUser(app, 'racer@example.com', 'a racing passphrase', project.id);
    const tokens = await passwordTokens(app, project, 'racer@example.com', 'a racing passphrase');
    const answers = await Promise.all([refresh(app, project, tokens.refresh_token), refresh(app, project, tokens.refresh_token)]);
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 401]);
    assert.equal(answers.find((a) => a.statusCode === 401)?.json().error, 'Invalid refresh token');
    await app.services.webhooks.deliverDue();
    // The reuse is recorded after the refused grant answers; its delivery follows shortly.
    for (let i = 0; i < 50 && receiver.received.length < 2; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await app.services.webhooks.deliverDue();
    }
    const types = receiver.received.map((got) => got.json.type).sort();
    assert.deepEqual(types, ['refresh_token.reuse_detected', 'token.refreshed']);
    const audited = (await app.services.audit.list({ type: 'token.refreshed', projectId: project.id, limit: 10 })).map((e: AuditEntry) => e.id);
    assert.deepEqual(
      receiver.received.filter((got) => got.json.type === 'token.refreshed').map((got) => got.json.id),
      audited,
    );
    await deleteWebhook(app, webhook.id);
    receiver.received.length = 0;
  });
});

describe('webhook deliveries: two instances on one database', () => {
  let first: TestApp;
  let second: TestApp;
  let receiver: Receiver;

  before(async () => {
    const env = testEnv();
    first = await createTestApp({ env });
    second = await createTestApp({ env });
    receiver = await startReceiver();
  });
  after(async () => {
    await second.close();
    await first.close();
    await receiver.close();
  });

  it('claim every pending delivery exactly once between them', async () => {
    await first.services.webhooks.create({ url: receiver.url, events: ['*'], projectId: null, description: null });
    const { db } = first.services.database;
    // Queued without the nudge that follows a commit (each step's afterCommit left out, as when the
    // process that committed them stopped right after), so that both deliverers find them pending.
    const queued = (n: number) => first.services.audit.recordStep({ type: 'pin.created', outcome: 'success', detail: { n } }).map(({ afterCommit: _nudge, ...write }) => write);
    const count = 300;
    for (let n = 0; n < count; n += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => writeAtomically(db, queued(n + i))));
    }
    const [byFirst = 0, bySecond = 0] = await Promise.all([first.services.webhooks.deliverDue(), second.services.webhooks.deliverDue()]);
    // On PostgreSQL the two really run together (on SQLite, one statement at a time anyway).
    if (testBackend === 'postgres') assert.ok(byFirst > 0 && bySecond > 0, `both deliverers took a share: ${byFirst} and ${bySecond}`);
    await first.services.webhooks.deliverDue();
    await second.services.webhooks.deliverDue();

    const seen = new Map<string, number>();
    for (const got of receiver.received) {
      const id = String(got.headers['gatehouse-event-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    assert.equal(duplicates, 0, `${duplicates} events delivered more than once`);
    assert.equal(seen.size, count);
    const pending = await db.selectFrom('webhook_deliveries').select('id').where('status', '<>', 'delivered').execute();
    assert.deepEqual(pending, []);
  });
});
