// Webhooks (docs/webhooks.md): receivers of the audit events, each with a filter (event types,
// a project) and a secret the receiver checks the signature with. The secret must be read back
// to sign, so it is sealed under GATEHOUSE_SECRET_KEY (crypto/sealed.ts), never hashed. The
// deliveries go through the outbox (outbox.ts); this module says what a delivery looks like on
// the wire: a signed JSON POST.
import { createHmac } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { AUDIT_EVENT_TYPES } from '../audit/events.ts';
import type { AuditEntry } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import type { Ids } from '../crypto/random.ts';
import type { SecretBox } from '../crypto/sealed.ts';
import { InvalidRequest } from '../errors.ts';
import type { Database, WebhooksTable } from '../storage/schema.ts';
import type { Deliverer, DeliveryRow, Outbox, TryOutcome } from './outbox.ts';
import { postOnce } from './post.ts';

export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 200;
/** The type of the event POST /admin/webhooks/:id/test sends; never an audit event. */
export const TEST_EVENT_TYPE = 'webhook.test';
/** Deliveries claimed per statement; they are sent concurrently. */
export const DELIVERY_BATCH = 20;
/** The most deliveries one instance sends at once (of every kind). */
export const DELIVERIES_IN_FLIGHT = 50;
/** Deliveries GET /admin/webhooks/:id/deliveries shows. */
export const LATEST_DELIVERIES = 50;

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  project_id: string | null;
  description: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookFields {
  url: string;
  events: string[];
  projectId: string | null;
  description: string | null;
}

const KNOWN_TYPES = new Set<string>(AUDIT_EVENT_TYPES);
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

/**
 * A receiver's URL (a webhook's `url`, a project's `backchannel_logout_uri`): `https`, or `http`
 * on a loopback address (127.0.0.0/8, ::1, localhost); no credentials, no fragment. Else 400
 * `Invalid request`, the detail naming `field`.
 */
export function checkReceiverUrl(raw: string, field: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw InvalidRequest({ detail: `${field} must be an absolute URL` });
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw InvalidRequest({ detail: `${field} must be https, or http on a loopback address` });
  }
  if (url.username !== '' || url.password !== '') throw InvalidRequest({ detail: `${field} must not carry credentials` });
  if (url.hash !== '') throw InvalidRequest({ detail: `${field} must not have a fragment` });
  return raw;
}

/** A webhook's `url` (checkReceiverUrl). */
export function checkWebhookUrl(raw: string): string {
  return checkReceiverUrl(raw, 'url');
}

/** A non-empty list of known audit event types without repeats, or exactly ["*"]; else 400 `Invalid request`. */
export function checkEvents(events: string[]): string[] {
  if (events.length === 1 && events[0] === '*') return events;
  if (events.length === 0) throw InvalidRequest({ detail: 'events must list at least one event type, or be ["*"]' });
  const unknown = events.filter((type) => !KNOWN_TYPES.has(type));
  if (unknown.length > 0) throw InvalidRequest({ detail: `unknown event types: ${unknown.join(', ')}` });
  if (new Set(events).size !== events.length) throw InvalidRequest({ detail: 'events lists a type twice' });
  return events;
}

/** The `Gatehouse-Signature` header of `body` sent at `t` (unix seconds). */
export function signature(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

function webhookOf(row: Selectable<WebhooksTable>): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    project_id: row.project_id,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The row a sealed secret belongs to (its associated data). */
function secretRow(id: string): string {
  return `webhooks:${id}`;
}

/** How long a claim on a delivery lasts: it outlasts the longest try by a margin, so a claim is never taken over while its try can still answer. */
export function deliveryLeaseMs(timeoutMs: number): number {
  return timeoutMs + 60_000;
}

export class WebhookService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly secretBox: SecretBox,
    private readonly outbox: Outbox,
    /** the process's one deliverer, shared with the other kinds of delivery */
    private readonly deliverer: Deliverer,
    private readonly options: { timeoutMs: number },
  ) {
    deliverer.handle('webhook', (row) => this.send(row));
  }

  async create(fields: WebhookFields): Promise<{ webhook: Webhook; secret: string }> {
    const now = this.clock.now();
    const id = this.ids.id();
    const secret = this.newSecret();
    const row: Selectable<WebhooksTable> = {
      id,
      url: checkWebhookUrl(fields.url),
      events: JSON.stringify(checkEvents(fields.events)),
      project_id: fields.projectId,
      description: fields.description,
      secret: this.secretBox.seal(secret, secretRow(id)),
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('webhooks').values(row).execute();
    return { webhook: webhookOf(row), secret };
  }

  async list(): Promise<Webhook[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(webhookOf);
  }

  async find(id: string): Promise<Webhook | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? webhookOf(row) : undefined;
  }

  /** Changes the fields given; answers the webhook as it now is, or undefined when there is none. */
  async update(id: string, changes: Partial<WebhookFields>): Promise<Webhook | undefined> {
    const set: Partial<Selectable<WebhooksTable>> = { updated_at: this.clock.now() };
    if (changes.url !== undefined) set.url = checkWebhookUrl(changes.url);
    if (changes.events !== undefined) set.events = JSON.stringify(checkEvents(changes.events));
    if (changes.projectId !== undefined) set.project_id = changes.projectId;
    if (changes.description !== undefined) set.description = changes.description;
    const result = await this.db.updateTable('webhooks').set(set).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0 ? this.find(id) : undefined;
  }

  /** Deletes the webhook and its deliveries, pending ones included; false when there was none. */
  async remove(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      await trx.deleteFrom('webhook_deliveries').where('kind', '=', 'webhook').where('webhook_id', '=', id).execute();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /** A new secret (shown once); the old one no longer signs anything, pending retries included. */
  async rotateSecret(id: string): Promise<string | undefined> {
    const secret = this.newSecret();
    const result = await this.db
      .updateTable('webhooks')
      .set({ secret: this.secretBox.seal(secret, secretRow(id)), updated_at: this.clock.now() })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0 ? secret : undefined;
  }

  deliveries(id: string): Promise<DeliveryRow[]> {
    return this.outbox.latest(id, LATEST_DELIVERIES);
  }

  /**
   * Sends a `webhook.test` event to the webhook now, once (it is not retried), and answers how
   * it went. The event has the shape of an audit entry but is not one: it is in no audit log.
   */
  async test(webhook: Webhook, facts: Pick<AuditEntry, 'subject' | 'ip' | 'user_agent'>): Promise<{ event_id: string; status: DeliveryRow['status']; outcome: TryOutcome }> {
    const eventId = this.ids.id();
    const entry: AuditEntry = {
      id: eventId,
      at: new Date(this.clock.now()).toISOString(),
      type: TEST_EVENT_TYPE,
      outcome: 'info',
      project_id: webhook.project_id,
      subject: facts.subject,
      ip: facts.ip,
      user_agent: facts.user_agent,
      detail: { webhook_id: webhook.id },
    };
    const { row, lease } = await this.outbox.addClaimed(
      { id: `${eventId}:${webhook.id}`, webhook_id: webhook.id, event_id: eventId, event_type: TEST_EVENT_TYPE, payload: JSON.stringify(entry) },
      this.deliverer.leaseMs,
    );
    const { outcome, status } = await this.deliverer.deliverNow(row, lease);
    return { event_id: eventId, status, outcome };
  }

  /** Sends every delivery due now, of every kind, and waits until they are tried (tests call it after moving the clock). */
  deliverDue(): Promise<number> {
    return this.deliverer.deliverDue();
  }

  /** Claims what is due now and starts sending it, without waiting for the answers (the periodic job). */
  kick(): Promise<number> {
    return this.deliverer.kick();
  }

  /** A server starts: on SQLite, the claims of a process that died mid-delivery are let go (Outbox.releaseClaimsOfTheDead). */
  releaseClaimsOfTheDead(): Promise<number> {
    return this.outbox.releaseClaimsOfTheDead();
  }

  /** Stops delivering; waits for the run under way. */
  stop(): Promise<void> {
    return this.deliverer.stop();
  }

  /** Deletes settled deliveries of events before `cutoff` (the audit retention). */
  purgeDeliveriesBefore(cutoff: number): Promise<number> {
    return this.outbox.purgeSettledBefore(cutoff);
  }

  private newSecret(): string {
    return `whsec_${this.ids.token()}`;
  }

  /** One try: the body as it was fixed at record time, signed now; redirects are not followed. */
  private async send(row: DeliveryRow): Promise<TryOutcome> {
    const webhook = await this.db.selectFrom('webhooks').select(['url', 'secret']).where('id', '=', row.webhook_id).executeTakeFirst();
    if (!webhook) return { ok: false, status: null, error: 'the webhook was deleted', durationMs: 0, giveUp: true };
    let secret: string;
    try {
      secret = this.secretBox.open(webhook.secret, secretRow(row.webhook_id), `the secret of webhook ${row.webhook_id}`);
    } catch (error) {
      return { ok: false, status: null, error: (error as Error).message, durationMs: 0 };
    }
    const t = Math.floor(this.clock.now() / 1000);
    return postOnce(webhook.url, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Gatehouse-Webhooks',
        'gatehouse-event-id': row.event_id,
        'gatehouse-signature': signature(secret, t, row.payload),
      },
      body: row.payload,
      timeoutMs: this.options.timeoutMs,
    });
  }
}
