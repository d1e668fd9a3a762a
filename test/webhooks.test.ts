// Webhooks (docs/webhooks.md): the admin API, and what a receiver gets: the audit event exactly
// as GET /admin/audit shows it, signed, for the webhooks whose filters it matches.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry } from '../src/audit/audit-log.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, createProject, type TestProject } from './support/flow.ts';
import { startReceiver, verifySignature, type Receiver } from './support/webhook-receiver.ts';

interface CreatedWebhook {
  id: string;
  url: string;
  events: string[];
  project: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
  secret: string;
}

async function auditEntry(app: TestApp, token: string, id: string): Promise<AuditEntry> {
  const res = await call(app, token, 'GET', '/admin/audit?limit=100');
  const entry = res.json<{ events: AuditEntry[] }>().events.find((e) => e.id === id);
  assert.ok(entry, `audit event ${id} is listed`);
  return entry;
}

describe('webhooks: the admin API', () => {
  let app: TestApp;
  let token: string;
  let project: TestProject;
  let receiver: Receiver;

  before(async () => {
    app = await createTestApp();
    token = await adminToken(app);
    project = await createProject(app);
    receiver = await startReceiver();
  });
  after(async () => {
    await app.close();
    await receiver.close();
  });

  it('creates a webhook (201, the secret shown once), lists, shows, changes and deletes it', async () => {
    const res = await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['pin.created'], project: project.id, description: 'billing' });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['cache-control'], 'no-store');
    const created = res.json<CreatedWebhook>();
    assert.deepEqual(Object.keys(created).sort(), ['created_at', 'description', 'events', 'id', 'project', 'secret', 'updated_at', 'url']);
    assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{43,}$/);
    assert.deepEqual([created.url, created.events, created.project, created.description], [receiver.url, ['pin.created'], project.id, 'billing']);

    const listed = (await call(app, token, 'GET', '/admin/webhooks')).json<{ webhooks: Array<Record<string, unknown>> }>().webhooks;
    const mine = listed.find((w) => w.id === created.id);
    assert.ok(mine);
    assert.equal('secret' in mine, false);
    const shown = await call(app, token, 'GET', `/admin/webhooks/${created.id}`);
    assert.equal(shown.statusCode, 200);
    assert.equal(JSON.stringify(shown.json()).includes(created.secret), false);

    app.clock.advance(1000);
    const changed = await call(app, token, 'PATCH', `/admin/webhooks/${created.id}`, { events: ['*'], project: null, description: null });
    assert.equal(changed.statusCode, 200);
    assert.deepEqual([changed.json().events, changed.json().project, changed.json().description], [['*'], null, null]);
    assert.notEqual(changed.json().updated_at, created.updated_at);

    assert.equal((await call(app, token, 'DELETE', `/admin/webhooks/${created.id}`)).statusCode, 204);
    assert.equal((await call(app, token, 'GET', `/admin/webhooks/${created.id}`)).statusCode, 404);
    assert.equal((await call(app, token, 'DELETE', `/admin/webhooks/${created.id}`)).statusCode, 404);

    const types = (await call(app, token, 'GET', '/admin/audit?limit=100')).json<{ events: AuditEntry[] }>().events.map((e) => e.type);
    for (const type of ['admin.webhook.created', 'admin.webhook.updated', 'admin.webhook.deleted']) assert.ok(types.includes(type), type);
  });

  it('refuses a bad url, bad events or an unknown field with 400 Invalid request, and nothing is created', async () => {
    const before = (await call(app, token, 'GET', '/admin/webhooks')).json<{ webhooks: unknown[] }>().webhooks.length;
    const bad: Array<Record<string, unknown>> = [
      { url: 'http://example.com/hook', events: ['*'] }, // http off loopback
      { url: 'ftp://127.0.0.1/hook', events: ['*'] },
      { url: 'not a url', events: ['*'] },
      { url: 'https://user:pw@example.com/hook', events: ['*'] },
      { url: 'https://example.com/hook#x', events: ['*'] },
      { url: 'http://127.0.0.1.example.com/hook', events: ['*'] },
      { url: 'https://example.com/hook', events: [] },
      { url: 'https://example.com/hook', events: ['no.such.event'] },
      { url: 'https://example.com/hook', events: ['*', 'pin.created'] },
      { url: 'https://example.com/hook', events: ['pin.created', 'pin.created'] },
      { url: 'https://example.com/hook', events: 'pin.created' },
      { url: 'https://example.com/hook' },
      { events: ['*'] },
      { url: 'https://example.com/hook', events: ['*'], secret: 'mine' },
      { url: 'https://example.com/hook', events: ['*'], description: 'x'.repeat(201) },
      { url: `https://example.com/${'a'.repeat(2048)}`, events: ['*'] },
    ];
    for (const body of bad) {
      const res = await call(app, token, 'POST', '/admin/webhooks', body);
      assert.deepEqual([res.statusCode, res.json().error], [400, 'Invalid request'], JSON.stringify(body).slice(0, 120));
    }
    const after = (await call(app, token, 'GET', '/admin/webhooks')).json<{ webhooks: unknown[] }>().webhooks.length;
    assert.equal(after, before);
  });

  it('takes https anywhere and http on loopback (127.0.0.0/8, ::1, localhost)', async () => {
    for (const url of ['https://hooks.example.com/in', 'http://127.0.0.1:9/in', 'http://127.8.9.10/in', 'http://[::1]:8080/in', 'http://localhost/in']) {
      const res = await call(app, token, 'POST', '/admin/webhooks', { url, events: ['login.password'] });
      assert.equal(res.statusCode, 201, url);
      await call(app, token, 'DELETE', `/admin/webhooks/${res.json<CreatedWebhook>().id}`);
    }
  });

  it('an unknown project filter or webhook answers 404 Not found; a bad change answers 400', async () => {
    const unknownProject = await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['*'], project: 'no-such-project' });
    assert.deepEqual([unknownProject.statusCode, unknownProject.json().error], [404, 'Not found']);
    for (const [method, path] of [['GET', ''], ['PATCH', ''], ['POST', '/secret'], ['POST', '/test'], ['GET', '/deliveries']] as const) {
      const res = await call(app, token, method, `/admin/webhooks/nope${path}`, method === 'PATCH' ? { description: 'x' } : undefined);
      assert.deepEqual([res.statusCode, res.json().error], [404, 'Not found'], `${method} ${path}`);
    }
    const created = (await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['pin.created'] })).json<CreatedWebhook>();
    for (const body of [{ url: 'http://example.com/x' }, { events: [] }, { events: ['nope'] }, { other: 1 }]) {
      const res = await call(app, token, 'PATCH', `/admin/webhooks/${created.id}`, body);
      assert.deepEqual([res.statusCode, res.json().error], [400, 'Invalid request'], JSON.stringify(body));
    }
    const unknownProjectChange = await call(app, token, 'PATCH', `/admin/webhooks/${created.id}`, { project: 'no-such-project' });
    assert.equal(unknownProjectChange.statusCode, 404);
    assert.deepEqual((await call(app, token, 'GET', `/admin/webhooks/${created.id}`)).json().events, ['pin.created']);
    await call(app, token, 'DELETE', `/admin/webhooks/${created.id}`);
  });

  it('every route needs an admin token', async () => {
    for (const [method, path] of [['GET', '/admin/webhooks'], ['POST', '/admin/webhooks'], ['GET', '/admin/webhooks/x/deliveries'], ['POST', '/admin/webhooks/x/test']] as const) {
      const res = await call(app, undefined, method, path, method === 'POST' ? { url: receiver.url, events: ['*'] } : undefined);
      assert.equal(res.statusCode, 401, `${method} ${path}`);
    }
  });
});

describe('webhooks: what the receiver gets', () => {
  let app: TestApp;
  let token: string;
  let receiver: Receiver;
  let other: Receiver;

  before(async () => {
    app = await createTestApp();
    token = await adminToken(app);
    receiver = await startReceiver();
    other = await startReceiver('/other');
  });
  after(async () => {
    await app.close();
    await receiver.close();
    await other.close();
  });

  it('each matching event is POSTed at once: signed, with Gatehouse-Event-Id, the body the audit entry exactly', async () => {
    const created = (await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['*'] })).json<CreatedWebhook>();
    // The webhook's own creation is its first event.
    await app.services.webhooks.deliverDue();
    assert.equal(receiver.received.length, 1);
    const [got] = receiver.received;
    assert.ok(got);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.json.type, 'admin.webhook.created');
    const eventId = String(got.json.id);
    assert.equal(got.headers['gatehouse-event-id'], eventId);
    const { valid, t } = verifySignature(created.secret, got.headers['gatehouse-signature'], got.body);
    assert.equal(valid, true);
    assert.equal(t, Math.floor(app.clock.now() / 1000));
    assert.equal(verifySignature('whsec_another', got.headers['gatehouse-signature'], got.body).valid, false);
    assert.deepEqual(got.json, await auditEntry(app, token, eventId));

    const deliveries = (await call(app, token, 'GET', `/admin/webhooks/${created.id}/deliveries`)).json<{ deliveries: Array<Record<string, unknown>> }>().deliveries;
    assert.equal(deliveries.length, 1);
    assert.deepEqual(
      { ...deliveries[0], duration_ms: typeof deliveries[0]?.duration_ms },
      {
        id: `${eventId}:${created.id}`,
        event_id: eventId,
        event_type: 'admin.webhook.created',
        attempt: 1,
        status: 'delivered',
        last_status: 200,
        last_error: null,
        duration_ms: 'number',
        next_attempt_at: null,
        created_at: new Date(app.clock.now()).toISOString(),
        delivered_at: new Date(app.clock.now()).toISOString(),
      },
    );
    await call(app, token, 'DELETE', `/admin/webhooks/${created.id}`);
    receiver.received.length = 0;
  });

  it('filters: by event type and by project; ["*"] without a project takes everything', async () => {
    const shop = await createProject(app);
    const blog = await createProject(app);
    const narrow = (await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['pin.created', 'login.password'], project: shop.id })).json<CreatedWebhook>();
    const wide = (await call(app, token, 'POST', '/admin/webhooks', { url: other.url, events: ['*'] })).json<CreatedWebhook>();
    await app.services.webhooks.deliverDue();
    receiver.received.length = 0;
    other.received.length = 0;

    const { audit } = app.services;
    await audit.record({ type: 'pin.created', outcome: 'success', projectId: shop.id, detail: { n: 1 } });
    await audit.record({ type: 'pin.created', outcome: 'success', projectId: blog.id, detail: { n: 2 } });
    await audit.record({ type: 'pin.revoked', outcome: 'success', projectId: shop.id, detail: { n: 3 } });
    await audit.record({ type: 'login.password', outcome: 'failure', projectId: shop.id, detail: { n: 4 } });
    await audit.record({ type: 'login.password', outcome: 'failure', detail: { n: 5 } });
    await app.services.webhooks.deliverDue();

    const numbers = (r: Receiver) => r.received.map((got) => (got.json.detail as { n: number }).n).sort();
    assert.deepEqual(numbers(receiver), [1, 4]);
    assert.deepEqual(numbers(other), [1, 2, 3, 4, 5]);
    for (const got of receiver.received) assert.equal(verifySignature(narrow.secret, got.headers['gatehouse-signature'], got.body).valid, true);
    for (const got of other.received) assert.equal(verifySignature(wide.secret, got.headers['gatehouse-signature'], got.body).valid, true);
    await call(app, token, 'DELETE', `/admin/webhooks/${narrow.id}`);
    await call(app, token, 'DELETE', `/admin/webhooks/${wide.id}`);
    receiver.received.length = 0;
    other.received.length = 0;
  });

  it('a new secret signs from then on; the old one no longer verifies', async () => {
    const created = (await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['pin.revoked'] })).json<CreatedWebhook>();
    const rotated = await call(app, token, 'POST', `/admin/webhooks/${created.id}/secret`);
    assert.equal(rotated.statusCode, 200);
    assert.equal(rotated.headers['cache-control'], 'no-store');
    const { secret } = rotated.json<{ id: string; secret: string }>();
    assert.notEqual(secret, created.secret);
    await app.services.audit.record({ type: 'pin.revoked', outcome: 'success' });
    await app.services.webhooks.deliverDue();
    const [got] = receiver.received;
    assert.ok(got);
    assert.equal(verifySignature(secret, got.headers['gatehouse-signature'], got.body).valid, true);
    assert.equal(verifySignature(created.secret, got.headers['gatehouse-signature'], got.body).valid, false);
    await call(app, token, 'DELETE', `/admin/webhooks/${created.id}`);
    receiver.received.length = 0;
  });

  it('POST /admin/webhooks/:id/test sends a webhook.test event now and answers how it went, once', async () => {
    const created = (await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['pin.revoked'] })).json<CreatedWebhook>();
    const ok = await call(app, token, 'POST', `/admin/webhooks/${created.id}/test`);
    assert.equal(ok.statusCode, 200);
    const answer = ok.json<{ event_id: string; delivered: boolean; status: number; error: string | null; duration_ms: number }>();
    assert.deepEqual([answer.delivered, answer.status, answer.error], [true, 200, null]);
    const [got] = receiver.received;
    assert.ok(got);
    assert.equal(got.json.type, 'webhook.test');
    assert.equal(got.headers['gatehouse-event-id'], answer.event_id);
    assert.equal(verifySignature(created.secret, got.headers['gatehouse-signature'], got.body).valid, true);

    receiver.answer = 503;
    app.clock.advance(1000);
    const refused = (await call(app, token, 'POST', `/admin/webhooks/${created.id}/test`)).json<typeof answer>();
    assert.deepEqual([refused.delivered, refused.status, refused.error], [false, 503, 'HTTP 503']);
    receiver.answer = 200;
    // A test is never tried again.
    app.clock.advance(10 * 60_000);
    await app.services.webhooks.deliverDue();
    assert.equal(receiver.received.length, 2);
    const deliveries = (await call(app, token, 'GET', `/admin/webhooks/${created.id}/deliveries`)).json<{ deliveries: Array<Record<string, unknown>> }>().deliveries;
    assert.deepEqual(
      deliveries.map((d) => [d.event_type, d.status, d.attempt, d.last_status]),
      [
        ['webhook.test', 'failed', 1, 503],
        ['webhook.test', 'delivered', 1, 200],
      ],
    );
    await call(app, token, 'DELETE', `/admin/webhooks/${created.id}`);
    receiver.received.length = 0;
  });
});

describe('webhooks: the secret at rest', () => {
  it('is sealed under GATEHOUSE_SECRET_KEY, and still signs', async () => {
    const app = await createTestApp({ env: { GATEHOUSE_SECRET_KEY: randomBytes(32).toString('base64') } });
    const receiver = await startReceiver();
    try {
      const token = await adminToken(app);
      const created = (await call(app, token, 'POST', '/admin/webhooks', { url: receiver.url, events: ['pin.created'] })).json<CreatedWebhook>();
      const row = await app.services.database.db.selectFrom('webhooks').select('secret').where('id', '=', created.id).executeTakeFirstOrThrow();
      assert.match(row.secret, /^sealed:v1:/);
      assert.equal(row.secret.includes(created.secret.slice(6)), false);
      await app.services.audit.record({ type: 'pin.created', outcome: 'success' });
      await app.services.webhooks.deliverDue();
      const [got] = receiver.received;
      assert.ok(got);
      assert.equal(verifySignature(created.secret, got.headers['gatehouse-signature'], got.body).valid, true);
    } finally {
      await app.close();
      await receiver.close();
    }
  });
});
