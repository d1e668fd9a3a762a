// Browser sessions (docs/sso.md): one signed-in person in one browser, so that the next app
// does not ask for the password again. The cookie carries 256 random bits; the database keeps
// only their SHA-256, so a copy of the database signs nobody in. A session ends after an idle
// time without use and at the latest after an absolute lifetime, both on the injected clock.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Ids } from '../crypto/random.ts';
import { sha256 } from '../crypto/tokens.ts';
import { purgeRows } from '../storage/batches.ts';
import type { BrowserSessionsTable, Database } from '../storage/schema.ts';

type BrowserSessionRow = Selectable<BrowserSessionsTable>;

export interface BrowserSession {
  id: string;
  userId: string;
  /** epoch milliseconds of the sign-in */
  authTime: number;
  amr: string[];
  createdAt: number;
  lastUsedAt: number;
  ip: string | null;
  userAgent: string | null;
}

/** What the admin API shows of a browser session (never its cookie or hash). */
export interface BrowserSessionSummary {
  id: string;
  user_id: string;
  auth_time: string;
  amr: string[];
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
}

export interface BrowserSessionLifetimes {
  idleMs: number;
  maxMs: number;
}

export class BrowserSessionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly lifetimes: BrowserSessionLifetimes,
  ) {}

  /**
   * A new browser session for a sign-in. The one the browser presented (if any) ends: a sign-in
   * always gets a fresh id, so a value planted before it is worth nothing after (no fixation).
   */
  async start(input: { userId: string; amr: string[]; ip: string | null; userAgent: string | null; replacing?: string }): Promise<{ session: BrowserSession; cookieValue: string }> {
    const now = this.clock.now();
    const cookieValue = this.ids.token();
    const row: BrowserSessionRow = {
      id: this.ids.id(),
      token_hash: sha256(cookieValue),
      user_id: input.userId,
      auth_time: now,
      amr: JSON.stringify(input.amr),
      created_at: now,
      last_used_at: now,
      ip: input.ip,
      user_agent: input.userAgent,
      ended_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      if (input.replacing) {
        await trx.updateTable('browser_sessions').set({ ended_at: now }).where('token_hash', '=', sha256(input.replacing)).where('ended_at', 'is', null).execute();
      }
      await trx.insertInto('browser_sessions').values(row).execute();
    });
    return { session: toSession(row), cookieValue };
  }

  /** The live session a cookie names, marked as used now; undefined when it has ended or expired. */
  async use(cookieValue: string): Promise<BrowserSession | undefined> {
    const now = this.clock.now();
    const row = await this.db.selectFrom('browser_sessions').selectAll().where('token_hash', '=', sha256(cookieValue)).executeTakeFirst();
    if (!row || !this.isLive(row, now)) return undefined;
    await this.db.updateTable('browser_sessions').set({ last_used_at: now }).where('id', '=', row.id).where('last_used_at', '<', now).execute();
    return toSession({ ...row, last_used_at: now });
  }

  /** The live browser sessions of a user, newest first. */
  async listForUser(userId: string): Promise<BrowserSessionSummary[]> {
    const now = this.clock.now();
    const rows = await this.db
      .selectFrom('browser_sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .where('last_used_at', '>', now - this.lifetimes.idleMs)
      .where('created_at', '>', now - this.lifetimes.maxMs)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(summary);
  }

  async find(id: string): Promise<BrowserSession | undefined> {
    const row = await this.db.selectFrom('browser_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.isLive(row, this.clock.now()) ? toSession(row) : undefined;
  }

  /** Ends one browser session; answers whether it was still going. */
  async end(id: string): Promise<boolean> {
    const result = await this.db.updateTable('browser_sessions').set({ ended_at: this.clock.now() }).where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Ends every browser session of a user (a password set for them, their mailbox proven, the
   * account deleted), or every one but `except` (a password changed on the account page).
   */
  async endForUser(userId: string, except?: string): Promise<void> {
    let query = this.db.updateTable('browser_sessions').set({ ended_at: this.clock.now() }).where('user_id', '=', userId).where('ended_at', 'is', null);
    if (except !== undefined) query = query.where('id', '!=', except);
    await query.execute();
  }

  /** Deletes the rows of ended and expired browser sessions (the housekeeping job); answers how many. */
  purgeDead(): Promise<number> {
    const now = this.clock.now();
    return purgeRows(
      this.db,
      'browser_sessions',
      'id',
      sql`(ended_at is not null or last_used_at <= ${now - this.lifetimes.idleMs} or created_at <= ${now - this.lifetimes.maxMs})`,
    );
  }

  private isLive(row: BrowserSessionRow, now: number): boolean {
    return row.ended_at === null && now - Number(row.last_used_at) < this.lifetimes.idleMs && now - Number(row.created_at) < this.lifetimes.maxMs;
  }
}

function toSession(row: BrowserSessionRow): BrowserSession {
  return {
    id: row.id,
    userId: row.user_id,
    authTime: Number(row.auth_time),
    amr: JSON.parse(row.amr) as string[],
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

function summary(row: BrowserSessionRow): BrowserSessionSummary {
  const session = toSession(row);
  return {
    id: session.id,
    user_id: session.userId,
    auth_time: new Date(session.authTime).toISOString(),
    amr: session.amr,
    created_at: new Date(session.createdAt).toISOString(),
    last_used_at: new Date(session.lastUsedAt).toISOString(),
    ip: session.ip,
    user_agent: session.userAgent,
  };
}
