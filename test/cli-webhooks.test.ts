// `gatehouse webhook …`: the /admin/webhooks routes from the command line, run in this process
// on the database of an app that checks the result, with a real receiver on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { cliFor, type Cli } from './support/cli.ts';
import { adminToken, createProject } from './support/flow.ts';
import { startReceiver, verifySignature, type Receiver } from './support/webhook-receiver.ts';

interface WebhookAnswer {
  id: string;
  url: string;
  events: string[];
  project: string | null;
  description: string | null;
  secret?: string;
}

describe('gatehouse webhook commands', () => {
  const env = testEnv();
  let app: TestApp;
  let admin: string;
  let cli: Cli;
  let receiver: Receiver;
  before(async () => {
    app = await createTestApp({ env });
    admin = await adminToken(app);
    cli = cliFor(app, env);
    receiver = await startReceiver();
    await createProject(app, { id: 'shop' });
  });
  after(async () => {
    await receiver.close();
    await app.close();
  });

  let hook: WebhookAnswer & { secret: string };

  it('webhook create prints the secret once; list and show answer what the API answers, without it', async () => {
    hook = await cli.json<WebhookAnswer & { secret: string }>(
      'webhook', 'create', '--url', receiver.url, '--event', 'admin.user.created', '--event', 'admin.user.deleted', '--project', 'shop', '--description', 'CRM sync',
    );
    assert.match(hook.secret, /^whsec_/);
    assert.deepEqual([hook.url, hook.events, hook.project, hook.description], [receiver.url, ['admin.user.created', 'admin.user.deleted'], 'shop', 'CRM sync']);
    const { secret, ...shown } = hook;
    assert.deepEqual(await cli.json('webhook', 'show', hook.id), shown);
    assert.deepEqual(await cli.json('webhook', 'show', hook.id), (await call(app, admin, 'GET', `/admin/webhooks/${hook.id}`)).json());
    assert.deepEqual(await cli.json('webhook', 'list'), (await call(app, admin, 'GET', '/admin/webhooks')).json());
    const human = await cli('webhook', 'list');
    assert.match(human.stdout, /^ID +URL +PROJECT +EVENTS/);
    assert.doesNotMatch(human.stdout + JSON.stringify(await app.services.audit.list({ limit: 100 })), new RegExp(secret));
    const [event] = await app.services.audit.list({ limit: 1, type: 'admin.webhook.created' });
    assert.deepEqual([event?.project_id, event?.detail], ['shop', { webhook_id: hook.id, url: receiver.url, events: hook.events, via: 'cli' }]);
  });

  it('webhook create refuses a bad URL, an unknown event type or project, and stores nothing', async () => {
    for (const [args, code, message] of [
      [['--url', 'http://hooks.example.com/in', '--event', '*'], 2, /url must be https, or http on a loopback address/],
      [['--url', receiver.url, '--event', 'no.such.event'], 2, /unknown event types: no.such.event/],
      [['--url', receiver.url, '--event', '*', '--project', 'nope'], 1, /no project with id nope/],
      [['--url', receiver.url], 2, /--event is required/],
    ] as const) {
      const run = await cli('webhook', 'create', ...args);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
    }
    assert.equal((await app.services.webhooks.list()).length, 1);
  });

  it('webhook test sends a signed webhook.test event now and says how it went; a failing receiver exits 1', async () => {
    app.clock.advance(1000);
    const sent = await cli.json<{ event_id: string; delivered: boolean; status: number }>('webhook', 'test', hook.id);
    assert.deepEqual([sent.delivered, sent.status], [true, 200]);
    const got = receiver.received.at(-1);
    assert.ok(got);
    assert.equal(got.json.type, 'webhook.test');
    assert.equal(got.json.id, sent.event_id);
    assert.equal(verifySignature(hook.secret, got.headers['gatehouse-signature'], got.body).valid, true);

    receiver.answer = 500;
    app.clock.advance(1000);
    const failed = await cli('webhook', 'test', hook.id);
    receiver.answer = 200;
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /not delivered/);
    assert.match(failed.stderr, /the test event was not delivered/);
  });

  it('an event recorded by a command reaches the webhook before the command exits; webhook deliveries lists it as the API does', async () => {
    const before = receiver.received.length;
    await cli.json('user', 'create', '--email', 'ada@example.com');
    // admin.user.created has no project: a webhook of shop does not get it.
    assert.equal(receiver.received.length, before);
    await cli.json('webhook', 'update', hook.id, '--every-project', '--no-description');
    app.clock.advance(1000);
    await cli.json('user', 'create', '--email', 'grace@example.com');
    assert.equal(receiver.received.length, before + 1);
    assert.equal(receiver.received.at(-1)?.json.type, 'admin.user.created');
    const deliveries = await cli.json<{ deliveries: Array<{ event_type: string; status: string }> }>('webhook', 'deliveries', hook.id);
    assert.deepEqual(deliveries, (await call(app, admin, 'GET', `/admin/webhooks/${hook.id}/deliveries`)).json());
    assert.deepEqual(deliveries.deliveries.map((d) => [d.event_type, d.status]), [['admin.user.created', 'delivered'], ['webhook.test', 'failed'], ['webhook.test', 'delivered']]);
  });

  it('webhook update changes the fields given; rotate-secret signs with the new secret only; delete removes it', async () => {
    const updated = await cli.json<WebhookAnswer>('webhook', 'update', hook.id, '--event', '*', '--description', 'everything');
    assert.deepEqual([updated.events, updated.project, updated.description, updated.url], [['*'], null, 'everything', receiver.url]);
    const [event] = await app.services.audit.list({ limit: 1, type: 'admin.webhook.updated' });
    assert.deepEqual(event?.detail, { webhook_id: hook.id, fields: ['events', 'description'], via: 'cli' });
    for (const [args, message] of [
      [[], /nothing to change/],
      [['--project', 'shop', '--every-project'], /not both/],
      [['--url', 'ftp://127.0.0.1/x'], /url must be https/],
    ] as const) {
      const bad = await cli('webhook', 'update', hook.id, ...args);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }

    const { secret } = await cli.json<{ id: string; secret: string }>('webhook', 'rotate-secret', hook.id);
    assert.notEqual(secret, hook.secret);
    await cli.json('webhook', 'test', hook.id);
    const got = receiver.received.at(-1);
    assert.ok(got);
    assert.equal(verifySignature(secret, got.headers['gatehouse-signature'], got.body).valid, true);
    assert.equal(verifySignature(hook.secret, got.headers['gatehouse-signature'], got.body).valid, false);

    assert.deepEqual(await cli.json('webhook', 'delete', hook.id), { id: hook.id, deleted: true });
    assert.equal((await call(app, admin, 'GET', `/admin/webhooks/${hook.id}`)).statusCode, 404);
    const gone = await cli('webhook', 'show', hook.id);
    assert.deepEqual([gone.code, gone.stderr.trim()], [1, `gatehouse: no webhook with id ${hook.id}`]);
    const types = (await app.services.audit.list({ limit: 10 })).map((e) => e.type);
    assert.ok(types.includes('admin.webhook.secret_rotated') && types.includes('admin.webhook.deleted'));
  });
});
