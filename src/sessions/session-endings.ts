// Every way a project session ends goes through here, so that what must go with an ending (a
// back-channel logout token for the session's project, docs/backchannel-logout.md) is written in
// the ending's own transaction and cannot be forgotten by a new way of ending:
// - `end`: the sessions are revoked (a logout, an admin, a reuse, a password, a removed member);
// - `tell`: the sessions stay on record, so that their refresh tokens answer the reference's
//   error (a blocked member, a revoked PIN, a deleted user), but their apps are told at once.
import type { Expression, ExpressionBuilder, Kysely, Selectable, SqlBool } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database, SessionsTable } from '../storage/schema.ts';

/** What a listener hears of each session that ended (or that its app must be told of). */
export type EndedSession = Pick<Selectable<SessionsTable>, 'id' | 'project_id' | 'subject' | 'sid_sealed'>;

/** Which sessions: every condition given must hold. */
export interface SessionFilter {
  /** the stored key (Session.id) */
  id?: string;
  projectId?: string;
  userId?: string;
  pinId?: string;
  browserSessionId?: string;
}

/** What goes with the end of sessions (the back-channel logout queue). */
export interface SessionEndListener {
  /** Writes, in the ending's transaction `trx`, what must go with the end of `sessions`. */
  ended(trx: Kysely<Database>, sessions: EndedSession[]): Promise<void>;
  /** An ending's transaction committed (the deliverer's nudge). */
  committed(): void;
}

const ENDED_COLUMNS = ['id', 'project_id', 'subject', 'sid_sealed'] as const;

export class SessionEndings {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly listener?: SessionEndListener,
  ) {}

  /** Ends the sessions of `filter` not yet revoked, in a transaction of its own; answers them. */
  async end(filter: SessionFilter): Promise<EndedSession[]> {
    const ended = await this.db.transaction().execute((trx) => this.endIn(trx, filter));
    if (ended.length > 0) this.listener?.committed();
    return ended;
  }

  /**
   * Ends the not yet revoked sessions of `filter` within `trx` (the caller's transaction, which
   * must call `committed()` once it has committed); answers them.
   */
  async endIn(trx: Kysely<Database>, filter: SessionFilter): Promise<EndedSession[]> {
    const now = this.clock.now();
    const rows = await trx
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('revoked_at', 'is', null)
      .where(matching(filter))
      .returning([...ENDED_COLUMNS, 'expires_at'])
      .execute();
    const ended = rows.map(({ expires_at: _expiresAt, ...session }) => session);
    // A session past its expiry had ended already: its app is not told again now.
    const live = rows.filter((r) => Number(r.expires_at) > now).map(({ expires_at: _expiresAt, ...session }) => session);
    if (live.length > 0) await this.listener?.ended(trx, live);
    return ended;
  }

  /**
   * Tells the apps of the live sessions of `filter` (not revoked, not expired) that they ended,
   * within `trx`, without revoking them (the caller's transaction; it calls `committed()`).
   */
  async tellIn(trx: Kysely<Database>, filter: SessionFilter): Promise<void> {
    if (!this.listener) return;
    const live = await trx
      .selectFrom('sessions')
      .select([...ENDED_COLUMNS])
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .where(matching(filter))
      .execute();
    if (live.length > 0) await this.listener.ended(trx, live);
  }

  /** The transaction of an `endIn` or `tellIn` committed. */
  committed(): void {
    this.listener?.committed();
  }
}

/** The condition of a filter; an empty filter is a mistake (it would be every session), never run. */
function matching(filter: SessionFilter): (eb: ExpressionBuilder<Database, 'sessions'>) => Expression<SqlBool> {
  return (eb) => {
    const conditions: Array<Expression<SqlBool>> = [];
    if (filter.id !== undefined) conditions.push(eb('sessions.id', '=', filter.id));
    if (filter.projectId !== undefined) conditions.push(eb('sessions.project_id', '=', filter.projectId));
    if (filter.userId !== undefined) conditions.push(eb('sessions.user_id', '=', filter.userId));
    if (filter.pinId !== undefined) conditions.push(eb('sessions.pin_id', '=', filter.pinId));
    if (filter.browserSessionId !== undefined) conditions.push(eb('sessions.browser_session_id', '=', filter.browserSessionId));
    if (conditions.length === 0) throw new Error('a session filter without a condition');
    return eb.and(conditions);
  };
}
