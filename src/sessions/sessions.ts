// Sessions and their refresh-token chains. A refresh token is stored only as a hash and is
// used once: each use marks it used and issues the next; presenting a used one again is
// treated as theft (RFC 9700 §4.14.2) and ends the whole session.
import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import { sha256 } from '../crypto/tokens.ts';
import {
  AccountBlocked,
  InvalidRefreshToken,
  PinRevoked,
  RefreshTokenExpired,
  UserNotFound,
} from '../errors.ts';
import { param, prepare, step, writeAtomically } from '../storage/prepared.ts';
import type { Database, SessionsTable } from '../storage/schema.ts';
import { type LoginMethod, type Subject, subjectId } from './subject.ts';
import type { Ids } from '../crypto/random.ts';
import { after, allPages, toPage, type Page, type PageRequest } from '../storage/paging.ts';

export type Session = Selectable<SessionsTable>;

export interface SessionSummary {
  id: string;
  subject: string;
  method: string;
  created_at: string;
  expires_at: string;
}

interface StartedSession {
  session: Session;
  refreshToken: string;
}

interface SessionEvents {
  /** a used refresh token came back: the session was revoked */
  onReuseDetected?(session: Session): void;
}

/** What the ID token and /userinfo say about a user. */
export interface UserClaims {
  email: string;
  email_verified: boolean;
}

interface RotatedSession extends StartedSession {
  /** the user's claims; none for a PIN's session */
  user?: UserClaims;
}

/** The rows the subject checks look at (null where a left join found nothing). */
interface SubjectFacts {
  pin_found: string | null;
  pin_revoked_at: number | null;
  pin_project_id: string | null;
  user_found: string | null;
  email: string | null;
  email_verified: number | null;
  blocked: number | null;
}

function judgeSubject(subject: Subject, projectId: string, facts: Partial<SubjectFacts> | undefined): UserClaims | undefined {
  if (subject.kind === 'pin') {
    if (!facts?.pin_found || facts.pin_revoked_at !== null || facts.pin_project_id !== projectId) throw PinRevoked();
    return undefined;
  }
  if (!facts?.user_found) throw UserNotFound();
  if (facts.blocked === 1) throw AccountBlocked();
  return { email: facts.email ?? '', email_verified: facts.email_verified === 1 };
}

/** The queries of the hot paths (every refresh, every access token checked), compiled once. */
function sessionQueries(db: Kysely<Database>) {
  return {
    session: prepare<{ id: string }, Session>(db.selectFrom('sessions').selectAll().where('id', '=', param<string>('id'))),
    pinFacts: prepare<{ pinId: string }, Partial<SubjectFacts>>(
      db.selectFrom('pins').select(['id as pin_found', 'revoked_at as pin_revoked_at', 'project_id as pin_project_id']).where('id', '=', param<string>('pinId')),
    ),
    userFacts: prepare<{ userId: string; projectId: string }, Partial<SubjectFacts>>(
      db
        .selectFrom('users')
        .leftJoin('memberships', (join) => join.onRef('memberships.user_id', '=', 'users.id').on('memberships.project_id', '=', param<string>('projectId')))
        .select(['users.id as user_found', 'users.email', 'users.email_verified', 'memberships.blocked'])
        .where('users.id', '=', param<string>('userId')),
    ),
    tokenWithSession: prepare<{ tokenHash: string }, Session & SubjectFacts & { token_expires_at: number; used_at: number | null; token_project_id: string }>(
      db
        .selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .leftJoin('users', 'users.id', 'sessions.user_id')
        .leftJoin('memberships', (join) => join.onRef('memberships.project_id', '=', 'sessions.project_id').onRef('memberships.user_id', '=', 'sessions.user_id'))
        .leftJoin('pins', 'pins.id', 'sessions.pin_id')
        .select([
          'refresh_tokens.expires_at as token_expires_at',
          'refresh_tokens.used_at',
          'refresh_tokens.project_id as token_project_id',
          'pins.id as pin_found',
          'pins.revoked_at as pin_revoked_at',
          'pins.project_id as pin_project_id',
          'users.id as user_found',
          'users.email',
          'users.email_verified',
          'memberships.blocked',
        ])
        .selectAll('sessions')
        .where('refresh_tokens.token_hash', '=', param<string>('tokenHash')),
    ),
    insertSession: prepare<Session, never>(
      db.insertInto('sessions').values({
        id: param('id'),
        project_id: param('project_id'),
        subject: param('subject'),
        user_id: param('user_id'),
        pin_id: param('pin_id'),
        method: param('method'),
        scope: param('scope'),
        auth_time: param('auth_time'),
        created_at: param('created_at'),
        expires_at: param('expires_at'),
        revoked_at: param('revoked_at'),
      }),
    ),
    markUsed: prepare<{ now: number; tokenHash: string }, never>(
      db.updateTable('refresh_tokens').set({ used_at: param('now') }).where('token_hash', '=', param<string>('tokenHash')).where('used_at', 'is', null),
    ),
    insertToken: prepare<{ tokenHash: string; sessionId: string; projectId: string; now: number; expiresAt: number }, never>(
      db.insertInto('refresh_tokens').values({
        token_hash: param('tokenHash'),
        session_id: param('sessionId'),
        project_id: param('projectId'),
        created_at: param('now'),
        expires_at: param('expiresAt'),
        used_at: null,
      }),
    ),
    extendSession: prepare<{ expiresAt: number; sessionId: string }, never>(
      db.updateTable('sessions').set({ expires_at: param('expiresAt') }).where('id', '=', param<string>('sessionId')),
    ),
  };
}

/** The session's own columns out of a row joined with others (named, so a new column of sessions is a type error here). */
function sessionColumns(row: Session): Session {
  return {
    id: row.id,
    project_id: row.project_id,
    subject: row.subject,
    user_id: row.user_id,
    pin_id: row.pin_id,
    method: row.method,
    scope: row.scope,
    auth_time: row.auth_time,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
  };
}

/** The most a session's recorded expiry runs ahead of its last refresh token's. */
export const SESSION_EXPIRY_SLACK_MAX_MS = 3_600_000;

/**
 * A session's recorded expiry after a rotation that issues a token expiring at tokenExpiresAt.
 * The hourly purge deletes a session by it and the admin listing shows it, so it stays between
 * the unspent token's expiry (never below: the purge must not delete a session whose token still
 * works) and that plus a slack: a hundredth of the refresh lifetime, at most an hour. It is
 * rewritten only when it falls outside; then it is set to the end of the slack, so the rotations
 * that follow within the slack write two rows instead of three. A client that refreshes every
 * 15 minutes rewrites its session on one rotation in five. A shortened lifetime pulls it back at
 * the next rotation.
 */
export function sessionExpiryFor(recorded: number, tokenExpiresAt: number, refreshTtlMs: number): number {
  const latest = tokenExpiresAt + Math.min(SESSION_EXPIRY_SLACK_MAX_MS, Math.floor(refreshTtlMs / 100));
  return recorded >= tokenExpiresAt && recorded <= latest ? recorded : latest;
}

export function sessionSubject(session: Session): Subject {
  return session.pin_id !== null ? { kind: 'pin', pinId: session.pin_id } : { kind: 'user', userId: session.user_id ?? '' };
}

export class SessionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly events: SessionEvents = {},
  ) {
    this.queries = sessionQueries(db);
  }

  private readonly queries: ReturnType<typeof sessionQueries>;

  /**
   * The checks on who the tokens are for, at every code exchange, refresh and use of an access
   * token: a revoked PIN, a deleted user, a member blocked in the project. Answers the user's
   * claims for the ID token and /userinfo (none for a PIN).
   */
  async checkSubject(subject: Subject, projectId: string): Promise<UserClaims | undefined> {
    if (subject.kind === 'pin') {
      return judgeSubject(subject, projectId, await this.queries.pinFacts.first(this.db, { pinId: subject.pinId }));
    }
    return judgeSubject(subject, projectId, await this.queries.userFacts.first(this.db, { userId: subject.userId, projectId }));
  }

  async start(input: {
    projectId: string;
    subject: Subject;
    method: LoginMethod;
    scope: string;
    authTime: number;
    refreshTtlMs: number;
  }): Promise<StartedSession> {
    const now = this.clock.now();
    const refreshToken = this.ids.token();
    const session: Session = {
      id: this.ids.id(),
      project_id: input.projectId,
      subject: subjectId(input.subject),
      user_id: input.subject.kind === 'user' ? input.subject.userId : null,
      pin_id: input.subject.kind === 'pin' ? input.subject.pinId : null,
      method: input.method,
      scope: input.scope,
      auth_time: input.authTime,
      created_at: now,
      expires_at: now + input.refreshTtlMs,
      revoked_at: null,
    };
    await writeAtomically(this.db, [
      step(this.queries.insertSession, session),
      step(this.queries.insertToken, { tokenHash: sha256(refreshToken), sessionId: session.id, projectId: input.projectId, now, expiresAt: session.expires_at }),
    ]);
    return { session, refreshToken };
  }

  /**
   * Exchanges a refresh token for the next one, with the checks of SPEC.md in order:
   * unknown / other project / revoked, expired, then the subject.
   */
  async rotate(presented: string, projectId: string, refreshTtlMs: number): Promise<RotatedSession> {
    const now = this.clock.now();
    const tokenHash = sha256(presented);
    // The token, its session and everything the subject checks look at, in one read.
    const row = await this.queries.tokenWithSession.first(this.db, { tokenHash });

    if (!row || row.token_project_id !== projectId || row.revoked_at !== null) throw InvalidRefreshToken();
    const { token_expires_at: tokenExpiresAt, used_at: usedAt } = row;
    const session = sessionColumns(row);
    if (usedAt !== null) {
      await this.reuseDetected(session);
      throw InvalidRefreshToken();
    }
    if (tokenExpiresAt <= now) throw RefreshTokenExpired();
    const user = judgeSubject(sessionSubject(session), projectId, row);

    const next = this.ids.token();
    const expiresAt = now + refreshTtlMs;
    const { markUsed, insertToken, extendSession } = this.queries;
    const steps = [
      // The conditional update is the lock: of two concurrent uses, one sees zero rows.
      step(markUsed, { now, tokenHash }, true),
      step(insertToken, { tokenHash: sha256(next), sessionId: session.id, projectId, now, expiresAt }),
    ];
    // The session's row is rewritten only when its expiry must move (see sessionExpiryFor).
    const sessionExpiresAt = sessionExpiryFor(session.expires_at, expiresAt, refreshTtlMs);
    if (sessionExpiresAt !== session.expires_at) steps.push(step(extendSession, { expiresAt: sessionExpiresAt, sessionId: session.id }));
    const rotated = await writeAtomically(this.db, steps);
    if (!rotated) {
      await this.reuseDetected(session);
      throw InvalidRefreshToken();
    }
    session.expires_at = sessionExpiresAt;
    return { session, refreshToken: next, ...(user ? { user } : {}) };
  }

  private async reuseDetected(session: Session): Promise<void> {
    await this.revoke(session.id);
    this.events.onReuseDetected?.(session);
  }

  async find(id: string): Promise<Session | undefined> {
    return this.queries.session.first(this.db, { id });
  }

  /** Ends a session: all its refresh tokens stop working. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** RFC 7009: revoking a refresh token ends its session. Unknown tokens are ignored. */
  async revokeByRefreshToken(presented: string, projectId: string): Promise<void> {
    const row = await this.db
      .selectFrom('refresh_tokens')
      .select(['session_id', 'project_id'])
      .where('token_hash', '=', sha256(presented))
      .executeTakeFirst();
    if (row && row.project_id === projectId) await this.revoke(row.session_id);
  }

  /** Ends every live session of a subject in a project (for example when a member is removed). */
  async revokeWhere(filter: { projectId?: string; userId?: string; pinId?: string }): Promise<void> {
    let query = this.db.updateTable('sessions').set({ revoked_at: this.clock.now() }).where('revoked_at', 'is', null);
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.pinId !== undefined) query = query.where('pin_id', '=', filter.pinId);
    await query.execute();
  }

  /**
   * Live sessions of a project: not revoked, not past expiry, and not of a revoked PIN (those
   * stay on record only so that their refresh tokens answer "PIN revoked").
   */
  listActive(projectId: string): Promise<SessionSummary[]> {
    return allPages((page) => this.listActivePage(projectId, page));
  }

  /** Live sessions of a project, newest first, a page at a time (see listActive). */
  async listActivePage(projectId: string, page: PageRequest): Promise<Page<SessionSummary>> {
    let query = this.db
      .selectFrom('sessions')
      .select(['id', 'subject', 'method', 'created_at', 'expires_at'])
      .where('project_id', '=', projectId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .where((eb) =>
        eb.or([
          eb('pin_id', 'is', null),
          eb('pin_id', 'in', eb.selectFrom('pins').select('pins.id').where('pins.project_id', '=', projectId).where('pins.revoked_at', 'is', null)),
        ]),
      );
    if (page.after) query = query.where(after('created_at', 'id', 'desc', page.after));
    // Newest first; the id breaks ties within a millisecond, so a page boundary loses nothing.
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
    return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), (r) => ({
      id: r.id,
      subject: r.subject,
      method: r.method,
      created_at: new Date(r.created_at).toISOString(),
      expires_at: new Date(r.expires_at).toISOString(),
    }));
  }
}
