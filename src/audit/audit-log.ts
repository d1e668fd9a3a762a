// Security events: who did what, from where, and how it ended.
import { sql, type Kysely, type Selectable } from 'kysely';
import { purgeRows } from '../storage/batches.ts';
import type { Clock } from '../clock.ts';
import { param, prepare, step, writeAtomically, type PreparedQuery, type WriteStep } from '../storage/prepared.ts';
import type { AuditEventsTable, Database } from '../storage/schema.ts';
import type { AuditEventType } from './events.ts';
import type { Ids } from '../crypto/random.ts';
import { toPage, type Page, type PageRequest } from '../storage/paging.ts';

export interface AuditEvent {
  type: AuditEventType;
  outcome: 'success' | 'failure' | 'info';
  projectId?: string | null;
  subject?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditEntry {
  id: string;
  at: string;
  type: string;
  outcome: string;
  project_id: string | null;
  subject: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown> | null;
}

interface AuditQuery {
  projectId?: string;
  subject?: string;
  type?: string;
  since?: number;
  until?: number;
  limit: number;
  /** epoch ms of the last entry of the previous page */
  before?: number;
  /**
   * id of that last entry: with it, entries at exactly `before` whose id sorts below it come
   * next too, so that a page boundary inside one millisecond loses nothing
   */
  beforeId?: string;
}

/**
 * Where an event's deliveries are queued (webhooks/outbox.ts): its writes go into the event's
 * own transaction, so that an event is delivered exactly when it is recorded.
 */
export interface EventOutbox {
  /** the writes that queue the event's deliveries; they tell the deliverer once committed, if they queued any */
  stepsFor(entry: AuditEntry): WriteStep[];
}

/** The event as GET /admin/audit shows it, and as a webhook receives it. */
function entryOf(r: Selectable<AuditEventsTable>): AuditEntry {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    type: r.type,
    outcome: r.outcome,
    project_id: r.project_id,
    subject: r.subject,
    ip: r.ip,
    user_agent: r.user_agent,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
  };
}

export class AuditLog {
  private readonly listeners: Array<(event: AuditEvent) => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly outbox?: EventOutbox,
  ) {
    this.insert = prepare<Selectable<AuditEventsTable>, never>(
      db.insertInto('audit_events').values({
        id: param('id'),
        at: param<number>('at'),
        type: param('type'),
        outcome: param('outcome'),
        project_id: param('project_id'),
        subject: param('subject'),
        ip: param('ip'),
        user_agent: param('user_agent'),
        detail: param('detail'),
      }),
    );
  }

  /** Calls `listener` with each event as it is recorded (the metrics count security events this way). */
  onRecord(listener: (event: AuditEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Deletes the events recorded before `cutoff` (epoch ms) and answers how many went. */
  async purgeOlderThan(cutoff: number): Promise<number> {
    return purgeRows(this.db, 'audit_events', 'id', sql`at < ${cutoff}`);
  }

  async record(event: AuditEvent): Promise<void> {
    // Listeners hear of the event as it happens, before (and whether or not) the row is written.
    for (const listener of this.listeners) listener(event);
    const row = this.row(event);
    if (!this.outbox) {
      await this.insert.execute(this.db, row);
      return;
    }
    await writeAtomically(this.db, [step(this.insert, row), ...this.outbox.stepsFor(entryOf(row))]);
  }

  /**
   * The event as one write of someone else's transaction (writeAtomically): a refresh grant
   * records its event in its own rotation's commit instead of a commit of its own, and records
   * nothing when the rotation is undone. Its deliveries (the outbox's writes) come with it, in
   * the same transaction, and the deliverer hears of them once it commits.
   */
  recordStep(event: AuditEvent): WriteStep[] {
    for (const listener of this.listeners) listener(event);
    const row = this.row(event);
    return [step(this.insert, row), ...(this.outbox ? this.outbox.stepsFor(entryOf(row)) : [])];
  }

  private row(event: AuditEvent): Selectable<AuditEventsTable> {
    return {
      id: this.ids.id(),
      at: this.clock.now(),
      type: event.type,
      outcome: event.outcome,
      project_id: event.projectId ?? null,
      subject: event.subject ?? null,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 512) ?? null,
      detail: event.detail ? JSON.stringify(event.detail) : null,
    };
  }

  private readonly insert: PreparedQuery<Selectable<AuditEventsTable>, never>;

  /** Events newest first, a page at a time: the page's position is the `before`/`beforeId` pair of the query (it replaces a `before` filter). */
  async listPage(filters: Omit<AuditQuery, 'limit' | 'before' | 'beforeId'> & Pick<AuditQuery, 'before'>, page: PageRequest): Promise<Page<AuditEntry>> {
    const position = page.after ? { before: page.after.at, beforeId: page.after.id } : {};
    const entries = await this.list({ ...filters, ...position, limit: page.limit + 1 });
    return toPage(entries, page.limit, (entry) => ({ at: Date.parse(entry.at), id: entry.id }), (entry) => entry);
  }

  /** One event by its id (GET /admin/audit/:id), or undefined. */
  async find(id: string): Promise<AuditEntry | undefined> {
    const row = await this.db.selectFrom('audit_events').selectAll().where('id', '=', id).executeTakeFirst();
    return row && entryOf(row);
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    if (query.projectId !== undefined) q = q.where('project_id', '=', query.projectId);
    if (query.subject !== undefined) q = q.where('subject', '=', query.subject);
    if (query.type !== undefined) q = q.where('type', '=', query.type);
    if (query.since !== undefined) q = q.where('at', '>=', query.since);
    if (query.until !== undefined) q = q.where('at', '<=', query.until);
    const { before, beforeId } = query;
    if (before !== undefined && beforeId !== undefined) {
      q = q.where((eb) => eb.or([eb('at', '<', before), eb.and([eb('at', '=', before), eb('id', '<', beforeId)])]));
    } else if (before !== undefined) {
      q = q.where('at', '<', before);
    }
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(entryOf);
  }
}

