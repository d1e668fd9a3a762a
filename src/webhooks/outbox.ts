// The outbox (docs/webhooks.md, docs/decisions/0106-webhook-outbox.md): deliveries written in
// the transaction of the event they carry, then claimed, sent and settled by a deliverer on each
// instance. A delivery row is claimed with a lease (`claimed_until`): on PostgreSQL the claim
// locks the rows it takes and skips those another instance is taking (FOR UPDATE SKIP LOCKED);
// on SQLite one process writes at a time anyway. A row is only settled by the claim that holds
// its lease, so a slow instance whose lease ran out cannot overwrite a later try's outcome.
//
// What is sent, and how, is the sender's business: each kind of delivery (`kind`, migration
// 0017) has one, registered with the one deliverer of the process (webhooks.ts signs and POSTs
// an audit event; oauth/backchannel-logout.ts signs and POSTs a logout token). The claiming, the
// retry schedule and the bookkeeping here are the same for every kind.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import type { AuditEntry } from '../audit/audit-log.ts';
import { onSqlite, param, prepare, step, type PreparedQuery, type WriteStep } from '../storage/prepared.ts';
import { purgeRows } from '../storage/batches.ts';
import type { Database, DeliveryKind, WebhookDeliveriesTable } from '../storage/schema.ts';

export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type { DeliveryKind };

/** What one try of a delivery came to. */
export interface TryOutcome {
  ok: boolean;
  /** the receiver's HTTP status, or null when no answer came (refused, timed out) */
  status: number | null;
  error: string | null;
  durationMs: number;
  /** no try can ever succeed (the receiver is gone): the delivery is failed now, not retried */
  giveUp?: boolean;
}

/** Sends one try of a delivery of its kind and says how it went; never throws for a failed try. */
export type Sender = (row: DeliveryRow) => Promise<TryOutcome>;

const MINUTE_MS = 60_000;
/** A delivery not made within this time of its event is given up (marked failed). */
export const GIVE_UP_AFTER_MS = 24 * 60 * MINUTE_MS;

/**
 * When a delivery whose try number `attempt` (1 for the first) has just failed is tried again:
 * 1, 2, 4, … minutes later, and once more exactly 24 hours after the event; undefined once that
 * last try has failed too (the delivery is then failed).
 */
export function nextTryAt(attempt: number, createdAt: number, now: number): number | undefined {
  const giveUpAt = createdAt + GIVE_UP_AFTER_MS;
  if (now >= giveUpAt) return undefined;
  // 2^20 minutes is far past the 24 hours: the exponent is bounded so the number stays finite.
  return Math.min(now + 2 ** Math.min(attempt - 1, 20) * MINUTE_MS, giveUpAt);
}

/** Answers that do not fit a column are cut (a receiver's error text is not ours to store whole). */
const MAX_ERROR_LENGTH = 500;

/** Escapes LIKE's wildcards (and the escape character) in a literal. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

interface EnqueueValues extends Record<string, unknown> {
  eventId: string;
  eventType: string;
  payload: string;
  now: number;
  typePattern: string;
  projectId: string | null;
}

export class Outbox {
  private readonly enqueue: PreparedQuery<EnqueueValues, unknown>;
  private readonly recordedListeners: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {
    // One delivery per matching webhook, chosen by the database in the event's transaction: a
    // webhook created on another instance a moment ago matches as exactly as one created here.
    // The row's id is the event's and the webhook's, so the same event can never be queued
    // twice for one webhook. The casts tell PostgreSQL what the parameters in the list are.
    this.enqueue = prepare<EnqueueValues, unknown>(
      db
        .insertInto('webhook_deliveries')
        .columns(['id', 'webhook_id', 'event_id', 'event_type', 'payload', 'attempt', 'status', 'next_attempt_at', 'created_at'])
        .expression(
          db
            .selectFrom('webhooks')
            .select([
              sql<string>`cast(${param('eventId')} as text) || ':' || id`.as('id'),
              'id as webhook_id',
              sql<string>`cast(${param('eventId')} as text)`.as('event_id'),
              sql<string>`cast(${param('eventType')} as text)`.as('event_type'),
              sql<string>`cast(${param('payload')} as text)`.as('payload'),
              sql<number>`0`.as('attempt'),
              sql<string>`'pending'`.as('status'),
              sql<number>`cast(${param('now')} as bigint)`.as('next_attempt_at'),
              sql<number>`cast(${param('now')} as bigint)`.as('created_at'),
            ])
            .where(sql<boolean>`(events = '["*"]' or events like ${param('typePattern')} escape '\\')`)
            .where(sql<boolean>`(project_id is null or project_id = ${param('projectId')})`),
        ),
    );
  }

  /**
   * The writes that queue `entry` for every webhook it matches, for the event's own transaction.
   * Once that commits, and only if a delivery was queued, the listeners hear of it.
   */
  stepsFor(entry: AuditEntry): WriteStep[] {
    return [
      step(
        this.enqueue,
        {
          eventId: entry.id,
          eventType: entry.type,
          payload: JSON.stringify(entry),
          now: this.clock.now(),
          typePattern: `%"${likeLiteral(entry.type)}"%`,
          projectId: entry.project_id,
        },
        false,
        () => this.recorded(),
      ),
    ];
  }

  /** Calls `listener` after an event's deliveries are committed in this process (the deliverer's nudge). */
  onRecorded(listener: () => void): void {
    this.recordedListeners.push(listener);
  }

  /** Deliveries of this process were committed: listeners hear of it. */
  recorded(): void {
    for (const listener of this.recordedListeners) listener();
  }

  /**
   * Queues one delivery outside any event (a webhook's test event), already claimed for
   * `leaseMs` by the caller, who sends it at once: no deliverer can take it meanwhile.
   */
  async addClaimed(row: Pick<DeliveryRow, 'id' | 'webhook_id' | 'event_id' | 'event_type' | 'payload'>, leaseMs: number): Promise<{ row: DeliveryRow; lease: number }> {
    const now = this.clock.now();
    const full: DeliveryRow = {
      ...row,
      kind: 'webhook',
      attempt: 0,
      status: 'pending',
      next_attempt_at: now,
      claimed_until: now + leaseMs,
      last_status: null,
      last_error: null,
      last_duration_ms: null,
      created_at: now,
      delivered_at: null,
    };
    await this.db.insertInto('webhook_deliveries').values(full).execute();
    return { row: full, lease: now + leaseMs };
  }

  /** Claims up to `limit` due deliveries for `leaseMs` and answers them with the lease they hold. */
  async claimDue(limit: number, leaseMs: number): Promise<{ rows: DeliveryRow[]; lease: number }> {
    const now = this.clock.now();
    const lease = now + leaseMs;
    let due = this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit);
    // Another instance's claim under way is skipped, not waited for (and never taken twice).
    if (!onSqlite(this.db)) due = due.forUpdate().skipLocked();
    const rows = await this.db.updateTable('webhook_deliveries').set({ claimed_until: lease }).where('id', 'in', due).returningAll().execute();
    return { rows, lease };
  }

  /**
   * Records a try's outcome, if the lease is still this claim's. A failure is tried again on
   * the schedule of nextTryAt, or given up; `final` gives up at once (a test event).
   */
  async settle(row: DeliveryRow, lease: number, outcome: TryOutcome, final = false): Promise<DeliveryRow['status']> {
    const now = this.clock.now();
    const attempt = row.attempt + 1;
    const next = outcome.ok || final || outcome.giveUp === true ? undefined : nextTryAt(attempt, row.created_at, now);
    const status: DeliveryRow['status'] = outcome.ok ? 'delivered' : next === undefined ? 'failed' : 'pending';
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        attempt,
        status,
        next_attempt_at: next ?? row.next_attempt_at,
        claimed_until: null,
        last_status: outcome.status,
        last_error: outcome.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
        last_duration_ms: Math.round(outcome.durationMs),
        delivered_at: outcome.ok ? now : null,
      })
      .where('id', '=', row.id)
      .where('claimed_until', '=', lease)
      .execute();
    return status;
  }

  /**
   * SQLite only, when a server starts: claims left by a process that died mid-delivery are let
   * go, so that the new process sends them now instead of when their lease would run out. One
   * server process uses a SQLite file (docs/scaling.md), so any claim found then is a dead
   * process's. On PostgreSQL other instances may be sending: their claims are left to run out.
   * Answers how many were let go.
   */
  async releaseClaimsOfTheDead(): Promise<number> {
    if (!onSqlite(this.db)) return 0;
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ claimed_until: null })
      .where('status', '=', 'pending')
      .where('claimed_until', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** A webhook's latest deliveries, newest first. */
  async latest(webhookId: string, limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('kind', '=', 'webhook')
      .where('webhook_id', '=', webhookId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /** Deletes the settled deliveries (delivered or failed) of events before `cutoff`; pending ones stay. */
  async purgeSettledBefore(cutoff: number): Promise<number> {
    return purgeRows(this.db, 'webhook_deliveries', 'id', sql`created_at < ${cutoff} and status <> 'pending'`);
  }
}

/**
 * Claims due deliveries of every kind and sends each with its kind's sender, on one instance:
 * the periodic job kicks it every second, and a nudge after each delivery queued here kicks it
 * at once. One per process (app.ts), shared by every kind.
 *
 * A claimed delivery is sent at once, beside the others under way (at most `maxInFlight`): one
 * receiver that holds its request open for the whole timeout delays nobody else's deliveries.
 * Claims are made one statement at a time; a kick while one is being made makes it look again
 * when it ends, and a send that ends while there was no room kicks again, so that nothing waits
 * for the next tick.
 */
export class Deliverer {
  private claiming: Promise<number> | undefined;
  private again = false;
  /** the last claim stopped for want of room: the next send that ends kicks again */
  private starved = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly senders = new Map<DeliveryKind, Sender>();

  constructor(
    private readonly outbox: Outbox,
    private readonly options: { batch: number; maxInFlight: number; leaseMs: number; onError: (error: unknown) => void },
  ) {
    outbox.onRecorded(() => this.nudge());
  }

  /** The sender of the deliveries of `kind` (one per kind). */
  handle(kind: DeliveryKind, sender: Sender): void {
    if (this.senders.has(kind)) throw new Error(`a second sender for ${kind} deliveries`);
    this.senders.set(kind, sender);
  }

  /** How long a claim lasts: past the longest try by a margin. */
  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /**
   * Claims what is due now, as much as there is room for, and starts sending it; resolves once
   * the claims are made (not the sends), with how many it claimed. The periodic job's run.
   */
  kick(): Promise<number> {
    if (this.claiming) {
      this.again = true;
      return this.claiming;
    }
    const run = async (): Promise<number> => {
      let claimed = 0;
      do {
        this.again = false;
        for (;;) {
          if (this.stopped) return claimed;
          const room = Math.min(this.options.batch, this.options.maxInFlight - this.inFlight.size);
          if (room <= 0) {
            this.starved = true;
            break;
          }
          const { rows, lease } = await this.outbox.claimDue(room, this.options.leaseMs);
          for (const row of rows) this.start(row, lease);
          claimed += rows.length;
          if (rows.length < room) break;
        }
      } while (this.again && !this.stopped);
      return claimed;
    };
    this.claiming = run().finally(() => {
      this.claiming = undefined;
    });
    return this.claiming;
  }

  /**
   * Sends every delivery due now and waits until they, and every send under way, have been
   * tried; answers how many it claimed (tests call it after moving the clock).
   */
  async deliverDue(): Promise<number> {
    let tried = 0;
    for (;;) {
      tried += await this.kick();
      if (this.inFlight.size === 0 || this.stopped) return tried;
      // What ends may have made room for more: look again once it has.
      await Promise.all([...this.inFlight]);
    }
  }

  /** A delivery was queued here: send it now rather than at the next tick. */
  nudge(): void {
    if (this.stopped) return;
    this.kick().catch(this.options.onError);
  }

  /** Sends a delivery its caller has claimed (a webhook's test event) once, never again, and answers how it went. */
  async deliverNow(row: DeliveryRow, lease: number): Promise<{ outcome: TryOutcome; status: DeliveryRow['status'] }> {
    const outcome = await this.send(row);
    return { outcome, status: await this.outbox.settle(row, lease, outcome, true) };
  }

  /** No new claims; waits for the claim and the sends under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.claiming?.catch(() => {});
    await Promise.all([...this.inFlight]);
  }

  /** One try of a claimed row, and its outcome recorded; never rejects. */
  private start(row: DeliveryRow, lease: number): void {
    const sending: Promise<void> = (async () => {
      const outcome = await this.send(row);
      await this.outbox.settle(row, lease, outcome);
    })()
      .catch(this.options.onError)
      .finally(() => {
        this.inFlight.delete(sending);
        if (this.starved && !this.stopped) {
          this.starved = false;
          this.nudge();
        }
      });
    this.inFlight.add(sending);
  }

  private send(row: DeliveryRow): Promise<TryOutcome> {
    const sender = this.senders.get(row.kind);
    // A row of a kind this version does not know (written by a newer one) waits for an instance that does.
    if (!sender) return Promise.resolve({ ok: false, status: null, error: `no sender for ${row.kind} deliveries here`, durationMs: 0 });
    return sender(row).catch((error: unknown) => ({ ok: false, status: null, error: `not sent: ${(error as Error).message}`, durationMs: 0 }));
  }
}
