// Sessions and their refresh-token chains. A refresh token is stored only as a hash and is
// used once: each use marks it used and issues the next; presenting a used one again is
// treated as theft (RFC 9700 §4.14.2) and ends the whole session.
//
// A session's id (the `sid` claim) is a 256-bit random value that exists only in its tokens: the
// database keeps its SHA-256 (`sessions.id`, the key every lookup uses), and each refresh token
// carries the sid in front of its own secret (`<sid>.<secret>`), so that a rotation can put the
// sid into the next tokens without the database knowing it (docs/decisions/0044-hashed-session-ids.md).
// Beside it the row keeps the sid sealed (sid_sealed, AES-256-GCM under the session id key,
// sessions/sid-key.ts), opened only by the admin listing, which shows sessions by their sid.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import { sha256 } from '../crypto/tokens.ts';
import { SealedSecretError, type SecretBox } from '../crypto/sealed.ts';
import {
  AccountBlocked,
  InvalidRefreshToken,
  NotAMember,
  PinRevoked,
  RefreshTokenExpired,
  UserNotFound,
} from '../errors.ts';
import { onSqlite, param, prepare, step, writeAtomically, type WriteStep } from '../storage/prepared.ts';
import { profileClaims } from '../users/profile.ts';
import type { Database, SessionsTable } from '../storage/schema.ts';
import { type Subject, subjectId } from './subject.ts';
import type { Ids } from '../crypto/random.ts';
import { after, allPages, toPage, type Page, type PageRequest } from '../storage/paging.ts';
import { SessionEndings } from './session-endings.ts';

export type Session = Selectable<SessionsTable>;

export interface SessionSummary {
  /** the sid of the session's tokens; for a session stored before sids were sealed, its stored key */
  id: string;
  subject: string;
  method: string;
  created_at: string;
  expires_at: string;
}

interface StartedSession {
  session: Session;
  /** the session's id as its tokens carry it (`sid`); the database has only its hash, session.id */
  sid: string;
  refreshToken: string;
}

/** A person's own view of one of their live project sessions (the account page). */
export interface OwnSessionSummary {
  /** the stored key (Session.id), never the sid */
  id: string;
  project_id: string;
  /** null when the project has gone */
  project_name: string | null;
  method: string;
  created_at: number;
  /** the last refresh, or the start */
  last_used_at: number;
  /** where the sign-in came from: its browser session's address and user agent, while that row is kept */
  ip: string | null;
  user_agent: string | null;
}

/** A refresh token as stored (findRefreshToken). */
export interface StoredRefreshToken {
  session: Session;
  projectId: string;
  /** epoch milliseconds */
  issuedAt: number;
  expiresAt: number;
  used: boolean;
  /** the sid of the session's access tokens */
  sid?: string;
}

/** The most sessions the account page lists (newest first). */
export const MAX_OWN_SESSIONS_LISTED = 100;

/** Where a request came from, for the audit log. */
export interface ClientFacts {
  ip?: string | null;
  userAgent?: string | null;
}

interface SessionEvents {
  /** a used refresh token came back: the session was revoked */
  onReuseDetected?(session: Session, client: ClientFacts): void;
}

/** What a project asks of its refresh tokens beyond the token's own lifetime. */
export interface RotationRules {
  /** a session ends this long after it began, however often it was refreshed (none: no bound) */
  sessionMaxMs?: number;
  /** the project's registration is closed: only members may refresh (SPEC: the subject checks) */
  membersOnly?: boolean;
  /** who is asking, for the audit event of a reuse */
  client?: ClientFacts;
  /** more writes for the rotation's transaction (the refresh's audit event), given the session */
  alsoWrite?: (session: Session) => WriteStep[];
  /**
   * PostgreSQL: the revision of the project the client was judged by, when it was a remembered
   * one; a project with another revision (or none) throws StaleProject before anything is written.
   */
  projectRevision?: string;
}

/** The key a session is stored under: the SHA-256 of its sid. */
export function sessionKey(sid: string): string {
  return sha256(sid);
}

/** The associated data of a session's sealed sid: its row, so a sealed sid moved to another row does not open. */
export function sealedSidRow(key: string): string {
  return `sessions:${key}`;
}

const SID_SEPARATOR = '.';

/** The sid a refresh token carries, or undefined for a token issued before sids were hashed. */
function sidOf(refreshToken: string): string | undefined {
  const at = refreshToken.indexOf(SID_SEPARATOR);
  return at > 0 ? refreshToken.slice(0, at) : undefined;
}

/** What the ID token and /userinfo say about a user. */
export interface UserClaims {
  email: string;
  email_verified: boolean;
  /** the profile claims that are set, and `updated_at` (seconds): what the `profile` scope releases */
  profile: Record<string, string | number>;
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
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  locale: string | null;
  user_updated_at: number | null;
  blocked: number | null;
  /** the membership's user id: null when the user is not a member of the project */
  member_found: string | null;
}

function judgeSubject(subject: Subject, projectId: string, facts: Partial<SubjectFacts> | undefined, membersOnly: boolean): UserClaims | undefined {
  if (subject.kind === 'pin') {
    if (!facts?.pin_found || facts.pin_revoked_at !== null || facts.pin_project_id !== projectId) throw PinRevoked();
    return undefined;
  }
  if (!facts?.user_found) throw UserNotFound();
  if (facts.blocked === 1) throw AccountBlocked();
  // A closed project admits members only, at login and at every use of its tokens (hardening M2).
  if (membersOnly && !facts.member_found) throw NotAMember();
  return { email: facts.email ?? '', email_verified: facts.email_verified === 1, profile: profileClaims(facts, Number(facts.user_updated_at ?? 0)) };
}

/** The profile claims' columns, read with the subject checks (one row either way). */
const PROFILE_COLUMNS = ['users.name', 'users.given_name', 'users.family_name', 'users.picture', 'users.locale', 'users.updated_at as user_updated_at'] as const;

/** What the subject checks read of a session's PIN, user and membership, joined to the session (one row either way). */
const SUBJECT_FACT_COLUMNS = [
  'pins.id as pin_found',
  'pins.revoked_at as pin_revoked_at',
  'pins.project_id as pin_project_id',
  'users.id as user_found',
  'users.email',
  'users.email_verified',
  ...PROFILE_COLUMNS,
  'memberships.blocked',
  'memberships.user_id as member_found',
] as const;

/** A refresh token's read: the token, its session, and what the subject checks look at. */
type TokenRow = Session & SubjectFacts & { token_expires_at: number; used_at: number | null; token_project_id: string };

/**
 * The project a refresh was judged by (ProjectService.findForRefresh) is not the project's current
 * revision: nothing was written, and the grant starts again with the project read afresh.
 */
export class StaleProject extends Error {
  constructor() {
    super('the remembered project has another revision');
  }
}

/** The queries of the hot paths (every refresh, every access token checked), compiled once. */
function sessionQueries(db: Kysely<Database>) {
  return {
    session: prepare<{ id: string }, Session>(db.selectFrom('sessions').selectAll().where('id', '=', param<string>('id'))),
    // Every access token checked (/userinfo, the admin API, introspection): the session and its
    // subject's facts in one read instead of two.
    sessionWithSubject: prepare<{ id: string }, Session & SubjectFacts>(
      db
        .selectFrom('sessions')
        .leftJoin('users', 'users.id', 'sessions.user_id')
        .leftJoin('memberships', (join) => join.onRef('memberships.project_id', '=', 'sessions.project_id').onRef('memberships.user_id', '=', 'sessions.user_id'))
        .leftJoin('pins', 'pins.id', 'sessions.pin_id')
        .select(SUBJECT_FACT_COLUMNS)
        .selectAll('sessions')
        .where('sessions.id', '=', param<string>('id')),
    ),
    pinFacts: prepare<{ pinId: string }, Partial<SubjectFacts>>(
      db.selectFrom('pins').select(['id as pin_found', 'revoked_at as pin_revoked_at', 'project_id as pin_project_id']).where('id', '=', param<string>('pinId')),
    ),
    userFacts: prepare<{ userId: string; projectId: string }, Partial<SubjectFacts>>(
      db
        .selectFrom('users')
        .leftJoin('memberships', (join) => join.onRef('memberships.user_id', '=', 'users.id').on('memberships.project_id', '=', param<string>('projectId')))
        .select(['users.id as user_found', 'users.email', 'users.email_verified', ...PROFILE_COLUMNS, 'memberships.blocked', 'memberships.user_id as member_found'])
        .where('users.id', '=', param<string>('userId')),
    ),
    tokenWithSession: prepare<{ tokenHash: string }, TokenRow>(
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
          ...SUBJECT_FACT_COLUMNS,
        ])
        .selectAll('sessions')
        .where('refresh_tokens.token_hash', '=', param<string>('tokenHash')),
    ),
    // PostgreSQL, a refresh judged by a remembered project (ProjectService.findForRefresh): the
    // same read, driven by the project's row so that its revision comes back whether or not the
    // token is known (token and session columns are then null).
    tokenWithRevision: onSqlite(db)
      ? undefined
      : prepare<{ tokenHash: string; projectId: string }, TokenRow & { project_revision: string; token_found: string | null; session_found: string | null }>(
          db
            .selectFrom('projects')
            .leftJoin('refresh_tokens', (join) => join.on('refresh_tokens.token_hash', '=', param<string>('tokenHash')))
            .leftJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
            .leftJoin('users', 'users.id', 'sessions.user_id')
            .leftJoin('memberships', (join) => join.onRef('memberships.project_id', '=', 'sessions.project_id').onRef('memberships.user_id', '=', 'sessions.user_id'))
            .leftJoin('pins', 'pins.id', 'sessions.pin_id')
            .select([
              'projects.revision as project_revision',
              'refresh_tokens.token_hash as token_found',
              'sessions.id as session_found',
              'refresh_tokens.expires_at as token_expires_at',
              'refresh_tokens.used_at',
              'refresh_tokens.project_id as token_project_id',
              ...SUBJECT_FACT_COLUMNS,
            ])
            .selectAll('sessions')
            .where('projects.id', '=', param<string>('projectId')),
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
        sid_sealed: param('sid_sealed'),
        browser_session_id: param('browser_session_id'),
      }),
    ),
    markUsed: prepare<{ now: number; tokenHash: string; newHash: string }, never>(
      db.updateTable('refresh_tokens').set({ used_at: param('now'), successor_hash: param('newHash') }).where('token_hash', '=', param<string>('tokenHash')).where('used_at', 'is', null),
    ),
    insertToken: prepare<{ tokenHash: string; sessionId: string; projectId: string; now: number; expiresAt: number }, never>(
      db.insertInto('refresh_tokens').values({
        token_hash: param('tokenHash'),
        session_id: param('sessionId'),
        project_id: param('projectId'),
        created_at: param('now'),
        expires_at: param('expiresAt'),
        used_at: null,
        successor_hash: null,
      }),
    ),
    extendSession: prepare<{ expiresAt: number; sessionId: string }, never>(
      db.updateTable('sessions').set({ expires_at: param('expiresAt') }).where('id', '=', param<string>('sessionId')),
    ),
    // PostgreSQL: a rotation's writes (the token marked used, its successor inserted, the
    // session's expiry moved when it must) in one statement, so one round trip instead of a
    // transaction's five (docs/decisions/0121-postgresql-hot-paths-in-fewer-round-trips.md).
    // The statements of a WITH all run, on one snapshot, and all or none: the successor and the
    // expiry are written only when the conditional update found the token unused, which is the
    // lock as in the transaction (of two concurrent uses, one sees zero rows). SQLite has no
    // writing WITH; its rotations commit in groups instead (prepared.ts).
    rotateInOne: onSqlite(db)
      ? undefined
      : prepare<{ now: number; tokenHash: string; newHash: string; projectId: string; expiresAt: number; extend: boolean; sessionExpiresAt: number; sessionId: string }, { n: number }>(
          db
            .with('used', (qc) =>
              qc.updateTable('refresh_tokens').set({ used_at: param<number>('now'), successor_hash: param<string>('newHash') }).where('token_hash', '=', param<string>('tokenHash')).where('used_at', 'is', null).returning('session_id'),
            )
            .with('inserted', (qc) =>
              qc
                .insertInto('refresh_tokens')
                .columns(['token_hash', 'session_id', 'project_id', 'created_at', 'expires_at'])
                .expression((eb) =>
                  eb
                    .selectFrom('used')
                    .select([
                      sql<string>`cast(${param<string>('newHash')} as text)`.as('token_hash'),
                      'used.session_id',
                      sql<string>`cast(${param<string>('projectId')} as text)`.as('project_id'),
                      sql<number>`cast(${param<number>('now')} as bigint)`.as('created_at'),
                      sql<number>`cast(${param<number>('expiresAt')} as bigint)`.as('expires_at'),
                    ]),
                )
                .returning('token_hash'),
            )
            .with('extended', (qc) =>
              qc
                .updateTable('sessions')
                .set({ expires_at: param<number>('sessionExpiresAt') })
                .where('id', '=', param<string>('sessionId'))
                .where(sql<boolean>`cast(${param<boolean>('extend')} as boolean)`)
                .where((eb) => eb.exists(eb.selectFrom('used').select('used.session_id')))
                .returning('id'),
            )
            .selectFrom('used')
            .select((eb) => eb.fn.countAll<number>().as('n')),
        ),
    // A session from before sids were hashed gets a new sid at its first rotation (its old one
    // is known only as a hash since migration 0004): once per such session, never on the hot path.
    rekeySession: prepare<{ to: string; sidSealed: string; from: string }, never>(
      db.updateTable('sessions').set({ id: param('to'), sid_sealed: param('sidSealed') }).where('id', '=', param<string>('from')),
    ),
    // A session started before sids were sealed (migration 0006) gets its sealed sid at its first
    // rotation, from the sid its token carries: once per such session, never on the hot path.
    sealSid: prepare<{ sidSealed: string; sessionId: string }, never>(
      db.updateTable('sessions').set({ sid_sealed: param('sidSealed') }).where('id', '=', param<string>('sessionId')),
    ),
    rekeyTokens: prepare<{ to: string; from: string }, never>(
      db.updateTable('refresh_tokens').set({ session_id: param('to') }).where('session_id', '=', param<string>('from')),
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
    sid_sealed: row.sid_sealed,
    browser_session_id: row.browser_session_id,
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

/**
 * A refresh token's expiry: the refresh lifetime from now, but never past the session's
 * absolute end (created + sessionMaxMs), so a sliding chain cannot outlive it.
 */
function tokenExpiry(now: number, createdAt: number, refreshTtlMs: number, sessionMaxMs: number | undefined): number {
  const sliding = now + refreshTtlMs;
  return sessionMaxMs === undefined ? sliding : Math.min(sliding, createdAt + sessionMaxMs);
}

export function sessionSubject(session: Session): Subject {
  return session.pin_id !== null ? { kind: 'pin', pinId: session.pin_id } : { kind: 'user', userId: session.user_id ?? '' };
}

export class SessionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    /** seals each session's sid beside its row (sessions/sid-key.ts) */
    private readonly sidBox: SecretBox,
    private readonly events: SessionEvents = {},
    /** how sessions end, and what goes with it (a back-channel logout) */
    private readonly endings: SessionEndings = new SessionEndings(db, clock),
  ) {
    this.queries = sessionQueries(db);
  }

  private readonly queries: ReturnType<typeof sessionQueries>;

  /**
   * The checks on who the tokens are for, at every code exchange, refresh and use of an access
   * token: a revoked PIN, a deleted user, a member blocked in the project. Answers the user's
   * claims for the ID token and /userinfo (none for a PIN).
   */
  async checkSubject(subject: Subject, projectId: string, membersOnly = false): Promise<UserClaims | undefined> {
    if (subject.kind === 'pin') {
      return judgeSubject(subject, projectId, await this.queries.pinFacts.first(this.db, { pinId: subject.pinId }), membersOnly);
    }
    return judgeSubject(subject, projectId, await this.queries.userFacts.first(this.db, { userId: subject.userId, projectId }), membersOnly);
  }

  async start(input: {
    projectId: string;
    subject: Subject;
    /** the amr, as methodText joins it */
    method: string;
    scope: string;
    authTime: number;
    refreshTtlMs: number;
    /** the project's absolute session lifetime, if it has one */
    sessionMaxMs?: number;
    /** the browser session the sign-in came from (docs/sso.md), for logout */
    browserSessionId?: string | null;
    /** more writes for the same transaction (the grant's audit event), made once the session is known */
    alsoWrite?: (session: Session) => WriteStep[];
  }): Promise<StartedSession> {
    const now = this.clock.now();
    const sid = this.ids.token();
    const refreshToken = `${sid}${SID_SEPARATOR}${this.ids.token()}`;
    const id = sessionKey(sid);
    const session: Session = {
      id,
      project_id: input.projectId,
      subject: subjectId(input.subject),
      user_id: input.subject.kind === 'user' ? input.subject.userId : null,
      pin_id: input.subject.kind === 'pin' ? input.subject.pinId : null,
      method: input.method,
      scope: input.scope,
      auth_time: input.authTime,
      created_at: now,
      expires_at: tokenExpiry(now, now, input.refreshTtlMs, input.sessionMaxMs),
      revoked_at: null,
      sid_sealed: this.sidBox.seal(sid, sealedSidRow(id)),
      browser_session_id: input.browserSessionId ?? null,
    };
    await writeAtomically(this.db, [
      step(this.queries.insertSession, session),
      step(this.queries.insertToken, { tokenHash: sha256(refreshToken), sessionId: session.id, projectId: input.projectId, now, expiresAt: session.expires_at }),
      ...(input.alsoWrite?.(session) ?? []),
    ]);
    return { session, sid, refreshToken };
  }

  /**
   * Exchanges a refresh token for the next one, with the checks of SPEC.md in order:
   * unknown / other project / revoked, expired (the token, or the session past its absolute
   * lifetime), then the subject.
   */
  async rotate(presented: string, projectId: string, refreshTtlMs: number, rules: RotationRules = {}): Promise<RotatedSession> {
    const now = this.clock.now();
    const tokenHash = sha256(presented);
    // The token, its session and everything the subject checks look at, in one read.
    const { tokenWithRevision } = this.queries;
    let row: TokenRow | undefined;
    if (rules.projectRevision !== undefined && tokenWithRevision) {
      const read = await tokenWithRevision.first(this.db, { tokenHash, projectId });
      if (!read || read.project_revision !== rules.projectRevision) throw new StaleProject();
      row = read.token_found !== null && read.session_found !== null ? read : undefined;
    } else {
      row = await this.queries.tokenWithSession.first(this.db, { tokenHash });
    }

    if (!row || row.token_project_id !== projectId || row.revoked_at !== null) throw InvalidRefreshToken();
    const { token_expires_at: tokenExpiresAt, used_at: usedAt } = row;
    const session = sessionColumns(row);
    if (usedAt !== null) {
      await this.reuseDetected(session, rules.client ?? {});
      throw InvalidRefreshToken();
    }
    if (tokenExpiresAt <= now) throw RefreshTokenExpired();
    if (rules.sessionMaxMs !== undefined && now >= session.created_at + rules.sessionMaxMs) throw RefreshTokenExpired();
    const user = judgeSubject(sessionSubject(session), projectId, row, rules.membersOnly === true);

    const { markUsed, insertToken, extendSession, rekeySession, rekeyTokens, sealSid, rotateInOne } = this.queries;
    let sid = sidOf(presented);
    // The hot path on PostgreSQL: nothing but the three writes.
    const inOne = rotateInOne !== undefined && sid !== undefined && session.sid_sealed !== null && !rules.alsoWrite;
    const steps: WriteStep[] = [];
    if (sid === undefined) {
      sid = this.ids.token();
      const from = session.id;
      session.id = sessionKey(sid);
      session.sid_sealed = this.sidBox.seal(sid, sealedSidRow(session.id));
      steps.push(step(rekeySession, { to: session.id, sidSealed: session.sid_sealed, from }), step(rekeyTokens, { to: session.id, from }));
    } else if (session.sid_sealed === null) {
      session.sid_sealed = this.sidBox.seal(sid, sealedSidRow(session.id));
      steps.push(step(sealSid, { sidSealed: session.sid_sealed, sessionId: session.id }));
    }
    const next = `${sid}${SID_SEPARATOR}${this.ids.token()}`;
    const expiresAt = tokenExpiry(now, session.created_at, refreshTtlMs, rules.sessionMaxMs);
    // The session's row is rewritten only when its expiry must move (see sessionExpiryFor).
    const sessionExpiresAt = sessionExpiryFor(session.expires_at, expiresAt, refreshTtlMs);
    const newHash = sha256(next);
    let rotated: boolean;
    if (inOne) {
      const values = { now, tokenHash, newHash, projectId, expiresAt, extend: sessionExpiresAt !== session.expires_at, sessionExpiresAt, sessionId: session.id };
      rotated = Number((await rotateInOne.first(this.db, values))?.n ?? 0) > 0;
    } else {
      // The conditional update is the lock: of two concurrent uses, one sees zero rows.
      steps.unshift(step(markUsed, { now, tokenHash, newHash }, true));
      steps.push(step(insertToken, { tokenHash: newHash, sessionId: session.id, projectId, now, expiresAt }));
      if (sessionExpiresAt !== session.expires_at) steps.push(step(extendSession, { expiresAt: sessionExpiresAt, sessionId: session.id }));
      if (rules.alsoWrite) steps.push(...rules.alsoWrite(session));
      rotated = await writeAtomically(this.db, steps);
    }
    if (!rotated) {
      await this.reuseDetected(row, rules.client ?? {});
      throw InvalidRefreshToken();
    }
    session.expires_at = sessionExpiresAt;
    return { session, sid, refreshToken: next, ...(user ? { user } : {}) };
  }

  private async reuseDetected(session: Session, client: ClientFacts): Promise<void> {
    await this.revokeStored(session.id);
    this.events.onReuseDetected?.(sessionColumns(session), client);
  }

  /**
   * A refresh token as stored, without using it (introspection, RFC 7662): its session, its
   * issue and expiry times, whether it was used, and the sid it carries. Undefined when unknown.
   */
  async findRefreshToken(presented: string): Promise<StoredRefreshToken | undefined> {
    const row = await this.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .selectAll('sessions')
      .select(['refresh_tokens.project_id as token_project_id', 'refresh_tokens.created_at as token_created_at', 'refresh_tokens.expires_at as token_expires_at', 'refresh_tokens.used_at'])
      .where('refresh_tokens.token_hash', '=', sha256(presented))
      .executeTakeFirst();
    if (!row) return undefined;
    const sid = sidOf(presented);
    return {
      session: sessionColumns(row),
      projectId: row.token_project_id,
      issuedAt: Number(row.token_created_at),
      expiresAt: Number(row.token_expires_at),
      used: row.used_at !== null,
      // A token from before sids were hashed carries none; its session's tokens carry another.
      ...(sid !== undefined && sessionKey(sid) === row.id ? { sid } : {}),
    };
  }

  /**
   * The live session of an access token's `sid` and its subject's claims, after the subject
   * checks of a refresh (checkSubject); undefined when the session is unknown or was ended.
   */
  async findLiveWithSubject(sid: string): Promise<{ session: Session; user?: UserClaims } | undefined> {
    const row = await this.queries.sessionWithSubject.first(this.db, { id: sessionKey(sid) });
    if (!row || row.revoked_at !== null) return undefined;
    const session = sessionColumns(row);
    const user = judgeSubject(sessionSubject(session), session.project_id, row, false);
    return { session, ...(user ? { user } : {}) };
  }

  /** The session of a token's `sid`. */
  async find(sid: string): Promise<Session | undefined> {
    return this.queries.session.first(this.db, { id: sessionKey(sid) });
  }

  /**
   * The session an admin names: by the id the listing shows (the sid of its tokens, or the stored
   * key of a session from before sids were sealed), or by its stored key.
   */
  async findByHandle(handle: string): Promise<Session | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', 'in', [handle, sessionKey(handle)]).executeTakeFirst();
  }

  /** Ends the session of a token's `sid`: all its refresh tokens stop working. */
  async revoke(sid: string): Promise<boolean> {
    return this.revokeStored(sessionKey(sid));
  }

  /** Ends a session by its stored key (Session.id, the key audit events name). */
  async revokeStored(id: string): Promise<boolean> {
    return (await this.endings.end({ id })).length > 0;
  }

  /**
   * RFC 7009: revoking a refresh token ends its session. Unknown tokens are ignored. Answers the
   * session that was ended (for the audit log), if one was.
   */
  async revokeByRefreshToken(presented: string, projectId: string): Promise<Session | undefined> {
    const row = await this.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .selectAll('sessions')
      .select('refresh_tokens.project_id as token_project_id')
      .where('refresh_tokens.token_hash', '=', sha256(presented))
      .executeTakeFirst();
    if (!row || row.token_project_id !== projectId) return undefined;
    return (await this.revokeStored(row.id)) ? sessionColumns(row) : undefined;
  }

  /** Ends the live project sessions started from a browser session (a logout); answers their stored keys. */
  async revokeStartedFrom(browserSessionId: string): Promise<string[]> {
    return (await this.endings.end({ browserSessionId })).map((r) => r.id);
  }

  /**
   * A user's live project sessions, newest first, for the account page. The last use is the
   * newest refresh token's issue time (each rotation writes one), so no write is added to a refresh.
   */
  async listForUser(userId: string): Promise<OwnSessionSummary[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .leftJoin('projects', 'projects.id', 'sessions.project_id')
      .leftJoin('browser_sessions', 'browser_sessions.id', 'sessions.browser_session_id')
      .select(['sessions.id', 'sessions.project_id', 'projects.name as project_name', 'sessions.method', 'sessions.created_at', 'browser_sessions.ip', 'browser_sessions.user_agent'])
      .select((eb) =>
        eb.selectFrom('refresh_tokens').select((inner) => inner.fn.max('refresh_tokens.created_at').as('newest')).whereRef('refresh_tokens.session_id', '=', 'sessions.id').as('last_used_at'),
      )
      .where('sessions.user_id', '=', userId)
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.expires_at', '>', this.clock.now())
      .orderBy('sessions.created_at', 'desc')
      .orderBy('sessions.id')
      .limit(MAX_OWN_SESSIONS_LISTED)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      project_id: row.project_id,
      project_name: row.project_name,
      method: row.method,
      created_at: Number(row.created_at),
      last_used_at: Number(row.last_used_at ?? row.created_at),
      ip: row.ip,
      user_agent: row.user_agent,
    }));
  }

  /** Ends one of a user's sessions by its stored key; answers whether it was theirs and still live. */
  async revokeOwn(userId: string, id: string): Promise<boolean> {
    return (await this.endings.end({ id, userId })).length > 0;
  }

  /** Ends every live session of a subject in a project (for example when a member is removed). */
  async revokeWhere(filter: { projectId?: string; userId?: string; pinId?: string }): Promise<void> {
    await this.endings.end(filter);
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
      .select(['id', 'sid_sealed', 'subject', 'method', 'created_at', 'expires_at'])
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
      id: this.listedId(r.id, r.sid_sealed),
      subject: r.subject,
      method: r.method,
      created_at: new Date(r.created_at).toISOString(),
      expires_at: new Date(r.expires_at).toISOString(),
    }));
  }

  /**
   * Live sessions of a user in every project, newest first, a page at a time (GET
   * /admin/users/:id/sessions): those of listActivePage, with the project each is in.
   */
  async listActivePageForUser(userId: string, page: PageRequest): Promise<Page<SessionSummary & { project_id: string }>> {
    let query = this.db
      .selectFrom('sessions')
      .select(['id', 'sid_sealed', 'subject', 'method', 'created_at', 'expires_at', 'project_id'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now());
    if (page.after) query = query.where(after('created_at', 'id', 'desc', page.after));
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
    return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), (r) => ({
      id: this.listedId(r.id, r.sid_sealed),
      project_id: r.project_id,
      subject: r.subject,
      method: r.method,
      created_at: new Date(r.created_at).toISOString(),
      expires_at: new Date(r.expires_at).toISOString(),
    }));
  }

  /**
   * The id the admin listing shows for a session: its sid, opened from the sealed copy; its
   * stored key when it has none (started before migration 0006 and not rotated since) or when
   * that copy does not open (altered, moved from another row, or sealed under a session id key
   * since replaced). Either is accepted by findByHandle.
   */
  private listedId(key: string, sidSealed: string | null): string {
    if (sidSealed === null) return key;
    try {
      const sid = this.sidBox.open(sidSealed, sealedSidRow(key), 'A session id');
      // A copy that opens but is not this row's sid (it cannot be, short of the key) is not shown.
      return sessionKey(sid) === key ? sid : key;
    } catch (error) {
      if (error instanceof SealedSecretError) return key;
      throw error;
    }
  }
}
