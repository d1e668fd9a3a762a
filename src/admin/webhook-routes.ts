// /admin/webhooks: receivers of the audit events (docs/webhooks.md), their secrets (shown once)
// and their latest deliveries.
import { NotFound } from '../errors.ts';
import { clientInfo } from '../http/negotiation.ts';
import type { DeliveryRow } from '../webhooks/outbox.ts';
import type { Webhook, WebhookFields } from '../webhooks/webhooks.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams, NewWebhookBody, WebhookChangesBody } from './schemas.ts';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** What the admin API shows of a webhook: everything but its secret. */
export function webhookAnswer(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    project: webhook.project_id,
    description: webhook.description,
    created_at: iso(webhook.created_at),
    updated_at: iso(webhook.updated_at),
  };
}

/** What the admin API shows of a delivery: its attempts and how the last one went, never the payload. */
export function deliveryAnswer(row: DeliveryRow) {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    attempt: row.attempt,
    status: row.status,
    last_status: row.last_status,
    last_error: row.last_error,
    duration_ms: row.last_duration_ms,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    created_at: iso(row.created_at),
    delivered_at: iso(row.delivered_at),
  };
}

export function registerWebhookRoutes(server: AdminServer, context: AdminContext): void {
  const { webhooks, projects } = context.services;

  /** A project filter names an existing project (404 `Not found`, as for every admin route naming one). */
  async function projectFilter(project: string | null | undefined): Promise<string | null | undefined> {
    if (project === undefined || project === null) return project;
    if (!(await projects.find(project))) throw NotFound();
    return project;
  }

  async function existing(id: string): Promise<Webhook> {
    const webhook = await webhooks.find(id);
    if (!webhook) throw NotFound();
    return webhook;
  }

  server.post('/admin/webhooks', { schema: { body: NewWebhookBody } }, async (request, reply) => {
    const { url, events, project, description } = request.body;
    const projectId = (await projectFilter(project)) ?? null;
    const { webhook, secret } = await webhooks.create({ url, events, projectId, description: description ?? null });
    await context.recordChange(request, 'admin.webhook.created', { ...(projectId ? { projectId } : {}), detail: { webhook_id: webhook.id, url, events } });
    // The secret is in this answer and, sealed, in the database; nowhere else.
    return reply.code(201).header('cache-control', 'no-store').send({ ...webhookAnswer(webhook), secret });
  });

  server.get('/admin/webhooks', async () => ({ webhooks: (await webhooks.list()).map(webhookAnswer) }));

  server.get('/admin/webhooks/:id', { schema: { params: IdParams } }, async (request) => webhookAnswer(await existing(request.params.id)));

  server.patch('/admin/webhooks/:id', { schema: { params: IdParams, body: WebhookChangesBody } }, async (request) => {
    const { url, events, project, description } = request.body;
    await existing(request.params.id);
    const changes: Partial<WebhookFields> = {
      ...(url !== undefined ? { url } : {}),
      ...(events !== undefined ? { events } : {}),
      ...(project !== undefined ? { projectId: await projectFilter(project) } : {}),
      ...(description !== undefined ? { description } : {}),
    };
    const webhook = await webhooks.update(request.params.id, changes);
    if (!webhook) throw NotFound();
    await context.recordChange(request, 'admin.webhook.updated', {
      ...(webhook.project_id ? { projectId: webhook.project_id } : {}),
      detail: { webhook_id: webhook.id, fields: Object.keys(request.body) },
    });
    return webhookAnswer(webhook);
  });

  server.delete('/admin/webhooks/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const webhook = await existing(request.params.id);
    if (await webhooks.remove(webhook.id)) {
      await context.recordChange(request, 'admin.webhook.deleted', { ...(webhook.project_id ? { projectId: webhook.project_id } : {}), detail: { webhook_id: webhook.id } });
    }
    return reply.code(204).send();
  });

  server.post('/admin/webhooks/:id/secret', { schema: { params: IdParams } }, async (request, reply) => {
    const webhook = await existing(request.params.id);
    const secret = await webhooks.rotateSecret(webhook.id);
    if (secret === undefined) throw NotFound();
    await context.recordChange(request, 'admin.webhook.secret_rotated', { ...(webhook.project_id ? { projectId: webhook.project_id } : {}), detail: { webhook_id: webhook.id } });
    return reply.header('cache-control', 'no-store').send({ id: webhook.id, secret });
  });

  server.post('/admin/webhooks/:id/test', { schema: { params: IdParams } }, async (request) => {
    const webhook = await existing(request.params.id);
    const { ip, userAgent } = clientInfo(request);
    const sent = await webhooks.test(webhook, { subject: context.actor(request).subject, ip, user_agent: userAgent?.slice(0, 512) ?? null });
    return {
      event_id: sent.event_id,
      delivered: sent.outcome.ok,
      status: sent.outcome.status,
      error: sent.outcome.error,
      duration_ms: Math.round(sent.outcome.durationMs),
    };
  });

  server.get('/admin/webhooks/:id/deliveries', { schema: { params: IdParams } }, async (request) => {
    const webhook = await existing(request.params.id);
    return { deliveries: (await webhooks.deliveries(webhook.id)).map(deliveryAnswer) };
  });
}
