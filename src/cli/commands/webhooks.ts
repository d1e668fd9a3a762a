// gatehouse webhook list | show | create | update | delete | rotate-secret | test | deliveries
// (the /admin/webhooks routes, docs/webhooks.md). What the admin API shows of a webhook and of a
// delivery is its webhookAnswer and deliveryAnswer; the command line prints the same.
import { NewWebhookBody, WebhookChangesBody } from '../../admin/schemas.ts';
import { deliveryAnswer, webhookAnswer } from '../../admin/webhook-routes.ts';
import type { Services } from '../../services.ts';
import type { Webhook, WebhookFields } from '../../webhooks/webhooks.ts';
import { asCommandError, checkShape, CommandFailed, flag, requireProject, stringList, stringOption, table, UsageError, type Command } from '../command.ts';

/** Each option and the admin API field it sets. */
const OPTION_FIELDS = { url: 'url', event: 'events', project: 'project', description: 'description' } as const;

async function requireWebhook(services: Services, id: string): Promise<Webhook> {
  const webhook = await services.webhooks.find(id);
  if (!webhook) throw new CommandFailed(`no webhook with id ${id}`);
  return webhook;
}

function describeWebhook(answer: ReturnType<typeof webhookAnswer>): string {
  return [
    `id:          ${answer.id}`,
    `url:         ${answer.url}`,
    `events:      ${answer.events.join(' ')}`,
    `project:     ${answer.project ?? '(every project)'}`,
    ...(answer.description !== null ? [`description: ${answer.description}`] : []),
    `created:     ${answer.created_at ?? ''}`,
    `updated:     ${answer.updated_at ?? ''}`,
  ].join('\n');
}

/** The project a --project option names: it must exist, as the API's 404 asks. */
async function projectFilter(services: Services, project: string | null | undefined): Promise<string | null | undefined> {
  if (project !== undefined && project !== null) await requireProject(services, project);
  return project;
}

const EVENT_DETAILS = [
  '  --event TYPE             an audit event type to send (admin.user.created, login.password, …); repeat for',
  '                           more, or --event "*" for every type',
];

export const webhookList: Command = {
  name: 'webhook list',
  routes: ['GET /admin/webhooks'],
  summary: 'List the webhooks (never their secrets).',
  usage: 'gatehouse webhook list',
  async run({ out, services }) {
    const webhooks = (await services.webhooks.list()).map(webhookAnswer);
    out.result(
      { webhooks },
      webhooks.length === 0
        ? 'no webhooks'
        : table(
            ['ID', 'URL', 'PROJECT', 'EVENTS', 'DESCRIPTION'],
            webhooks.map((w) => [w.id, w.url, w.project ?? '(every)', w.events.join(' '), w.description ?? '']),
          ),
    );
  },
};

export const webhookShow: Command = {
  name: 'webhook show',
  routes: ['GET /admin/webhooks/:id'],
  summary: 'Show one webhook (never its secret).',
  usage: 'gatehouse webhook show ID',
  positionals: ['ID'],
  async run({ positionals, out, services }) {
    const answer = webhookAnswer(await requireWebhook(services, positionals[0] ?? ''));
    out.result(answer, describeWebhook(answer));
  },
};

export const webhookCreate: Command = {
  name: 'webhook create',
  routes: ['POST /admin/webhooks'],
  summary: 'Add a receiver of audit events. Its signing secret is printed once (stored sealed).',
  usage: 'gatehouse webhook create --url URL --event TYPE [--event TYPE2 …] [--project ID] [--description TEXT]',
  details: [
    'Options:',
    '  --url URL                where events are POSTed: https, or http on a loopback address',
    ...EVENT_DETAILS,
    '  --project ID             only the events of this project (default: every project)',
    '  --description TEXT       a note for people, at most 200 characters',
  ].join('\n'),
  required: ['url', 'event'],
  options: { url: { type: 'string' }, event: { type: 'string', multiple: true }, project: { type: 'string' }, description: { type: 'string' } },
  async run({ values, out, services, audit }) {
    const description = stringOption(values, 'description');
    const project = stringOption(values, 'project');
    const body = checkShape<{ url: string; events: string[]; project?: string; description?: string }>(
      NewWebhookBody,
      {
        url: stringOption(values, 'url', true),
        events: stringList(values, 'event'),
        ...(project !== undefined ? { project } : {}),
        ...(description !== undefined ? { description } : {}),
      },
      OPTION_FIELDS,
    );
    const projectId = (await projectFilter(services, body.project)) ?? null;
    const { webhook, secret } = await services.webhooks
      .create({ url: body.url, events: body.events, projectId, description: body.description ?? null })
      .catch((error: unknown) => {
        throw asCommandError(error);
      });
    await audit('admin.webhook.created', { ...(projectId ? { projectId } : {}), detail: { webhook_id: webhook.id, url: body.url, events: body.events } });
    const answer = webhookAnswer(webhook);
    out.result(
      { ...answer, secret },
      [`created webhook ${webhook.id}`, describeWebhook(answer), '', `secret: ${secret}`, '(shown this once: it signs every delivery, Gatehouse-Signature)'].join('\n'),
    );
  },
};

export const webhookUpdate: Command = {
  name: 'webhook update',
  routes: ['PATCH /admin/webhooks/:id'],
  summary: 'Change a webhook as PATCH /admin/webhooks/:id does; the options not given are left as they are.',
  usage: 'gatehouse webhook update ID [--url URL] [--event TYPE …] [--project ID | --every-project] [--description TEXT | --no-description]',
  details: [
    'Options (--event given replaces the whole list):',
    '  --url URL                where events are POSTed: https, or http on a loopback address',
    ...EVENT_DETAILS,
    '  --project ID             only the events of this project',
    '  --every-project          the events of every project',
    '  --description TEXT       a note for people, at most 200 characters',
    '  --no-description         remove the note',
  ].join('\n'),
  positionals: ['ID'],
  options: {
    url: { type: 'string' },
    event: { type: 'string', multiple: true },
    project: { type: 'string' },
    'every-project': { type: 'boolean' },
    description: { type: 'string' },
    'no-description': { type: 'boolean' },
  },
  async run({ positionals, values, out, services, audit }) {
    const id = positionals[0] ?? '';
    const url = stringOption(values, 'url');
    const events = stringList(values, 'event');
    const project = stringOption(values, 'project');
    const description = stringOption(values, 'description');
    if (project !== undefined && flag(values, 'every-project')) throw new UsageError('give --project or --every-project, not both');
    if (description !== undefined && flag(values, 'no-description')) throw new UsageError('give --description or --no-description, not both');
    const fields = {
      ...(url !== undefined ? { url } : {}),
      ...(events.length > 0 ? { events } : {}),
      ...(project !== undefined ? { project } : flag(values, 'every-project') ? { project: null } : {}),
      ...(description !== undefined ? { description } : flag(values, 'no-description') ? { description: null } : {}),
    };
    if (Object.keys(fields).length === 0) throw new UsageError(`nothing to change: give at least one option (see 'gatehouse webhook update --help')`);
    const body = checkShape<{ url?: string; events?: string[]; project?: string | null; description?: string | null }>(WebhookChangesBody, fields, OPTION_FIELDS);
    await requireWebhook(services, id);
    const changes: Partial<WebhookFields> = {
      ...(body.url !== undefined ? { url: body.url } : {}),
      ...(body.events !== undefined ? { events: body.events } : {}),
      ...(body.project !== undefined ? { projectId: await projectFilter(services, body.project) } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
    };
    const webhook = await services.webhooks.update(id, changes).catch((error: unknown) => {
      throw asCommandError(error);
    });
    if (!webhook) throw new CommandFailed(`no webhook with id ${id}`);
    await audit('admin.webhook.updated', { ...(webhook.project_id ? { projectId: webhook.project_id } : {}), detail: { webhook_id: webhook.id, fields: Object.keys(body) } });
    const answer = webhookAnswer(webhook);
    out.result(answer, [`updated webhook ${id}`, describeWebhook(answer)].join('\n'));
  },
};

export const webhookDelete: Command = {
  name: 'webhook delete',
  routes: ['DELETE /admin/webhooks/:id'],
  summary: 'Delete a webhook and its deliveries, pending retries included.',
  usage: 'gatehouse webhook delete ID',
  positionals: ['ID'],
  async run({ positionals, out, services, audit }) {
    const webhook = await requireWebhook(services, positionals[0] ?? '');
    if (await services.webhooks.remove(webhook.id)) {
      await audit('admin.webhook.deleted', { ...(webhook.project_id ? { projectId: webhook.project_id } : {}), detail: { webhook_id: webhook.id } });
    }
    out.result({ id: webhook.id, deleted: true }, `deleted webhook ${webhook.id}`);
  },
};

export const webhookRotateSecret: Command = {
  name: 'webhook rotate-secret',
  routes: ['POST /admin/webhooks/:id/secret'],
  summary: 'Give a webhook a new signing secret, printed once; the old one signs nothing more, pending retries included.',
  usage: 'gatehouse webhook rotate-secret ID',
  positionals: ['ID'],
  async run({ positionals, out, services, audit }) {
    const webhook = await requireWebhook(services, positionals[0] ?? '');
    const secret = await services.webhooks.rotateSecret(webhook.id);
    if (secret === undefined) throw new CommandFailed(`no webhook with id ${webhook.id}`);
    await audit('admin.webhook.secret_rotated', { ...(webhook.project_id ? { projectId: webhook.project_id } : {}), detail: { webhook_id: webhook.id } });
    out.result({ id: webhook.id, secret }, [`new secret of webhook ${webhook.id}: ${secret}`, '(shown this once)'].join('\n'));
  },
};

export const webhookTest: Command = {
  name: 'webhook test',
  routes: ['POST /admin/webhooks/:id/test'],
  summary: 'Send a webhook.test event to a webhook now, once, and say how it went (status, error, time). It is in no audit log.',
  usage: 'gatehouse webhook test ID',
  details: 'The exit status is 0 when the receiver answered 2xx, else 1.',
  positionals: ['ID'],
  async run({ positionals, out, services }) {
    const webhook = await requireWebhook(services, positionals[0] ?? '');
    // No subject: the command line acts as no account (its audit events have none either).
    const sent = await services.webhooks.test(webhook, { subject: null, ip: null, user_agent: null });
    const result = {
      event_id: sent.event_id,
      delivered: sent.outcome.ok,
      status: sent.outcome.status,
      error: sent.outcome.error,
      duration_ms: Math.round(sent.outcome.durationMs),
    };
    out.result(
      result,
      result.delivered
        ? `delivered: ${webhook.url} answered ${result.status ?? ''} in ${result.duration_ms} ms`
        : `not delivered: ${result.error ?? `status ${result.status ?? '?'}`} (${result.duration_ms} ms)`,
    );
    if (!result.delivered) throw new CommandFailed(`the test event was not delivered to ${webhook.url}`);
  },
};

export const webhookDeliveries: Command = {
  name: 'webhook deliveries',
  routes: ['GET /admin/webhooks/:id/deliveries'],
  summary: "A webhook's latest deliveries, newest first: their attempts, state and the last answer.",
  usage: 'gatehouse webhook deliveries ID',
  positionals: ['ID'],
  async run({ positionals, out, services }) {
    const webhook = await requireWebhook(services, positionals[0] ?? '');
    const deliveries = (await services.webhooks.deliveries(webhook.id)).map(deliveryAnswer);
    out.result(
      { deliveries },
      deliveries.length === 0
        ? 'no deliveries'
        : table(
            ['EVENT', 'TYPE', 'STATUS', 'ATTEMPT', 'LAST ANSWER', 'NEXT TRY', 'CREATED'],
            deliveries.map((d) => [d.event_id, d.event_type, d.status, String(d.attempt), d.last_error ?? (d.last_status !== null ? String(d.last_status) : ''), d.next_attempt_at ?? '', d.created_at ?? '']),
          ),
    );
  },
};
