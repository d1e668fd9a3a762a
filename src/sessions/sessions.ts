// Sessions and their refresh-token chains. A refresh token is stored only as a hash and is
// used once: each use marks it used and issues the next; presenting a used one again is
// treated as theft (RFC 9700 §4.14.2) and ends the whole session.
import type { Kysely, Selectable } from 'kysely';
import type { Clock, Ids } from '../clock.ts';
import { sha256 } from '../crypto/tokens.ts';
import {
  AccountBlocked,
  InvalidRefreshToken,
  PinRevoked,
  RefreshTokenExpired,
  UserNotFound,
} from '../errors.ts';
import { subjectId, type LoginMethod, type Subject } from '../oauth/codes.ts';
import type { Database, SessionsTable } from '../storage/schema.ts';

export type Session = Selectable<SessionsTable>;

export interface SessionSummary {
  id: string;
  subject: string;
  method: string;
  created_at: string;
  expires_at: string;
}

export interface StartedSession {
  session: Session;
  refreshToken: string;
}

export interface SessionEvents {
  /** a used refresh token came back: the session was revoked */
  onReuseDetected?(session: Session): void;
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
  ) {}

  /**
   * The checks on who the tokens are for, at every code exchange and refresh:
   * a revoked PIN, a deleted user, a member blocked in the project.
   */
  async checkSubject(subject: Subject, projectId: string): Promise<void> {
    if (subject.kind === 'pin') {
      const pin = await this.db.selectFrom('pins').select(['revoked_at', 'project_id']).where('id', '=', subject.pinId).executeTakeFirst();
      if (!pin || pin.revoked_at !== null || pin.project_id !== projectId) throw PinRevoked();
      return;
    }
    const user = await this.db.selectFrom('users').select('id').where('id', '=', subject.userId).executeTakeFirst();
    if (!user) throw UserNotFound();
    const membership = await this.db
      .selectFrom('memberships')
      .select('blocked')
      .where('project_id', '=', projectId)
      .where('user_id', '=', subject.userId)
      .executeTakeFirst();
    if (membership?.blocked === 1) throw AccountBlocked();
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
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('sessions').values(session).execute();
      await trx
        .insertInto('refresh_tokens')
        .values({
          token_hash: sha256(refreshToken),
          session_id: session.id,
          project_id: input.projectId,
          created_at: now,
          expires_at: now + input.refreshTtlMs,
          used_at: null,
        })
        .execute();
    });
    return { session, refreshToken };
  }

  /**
   * Exchanges a refresh token for the next one, with the checks of SPEC.md in order:
   * unknown / other project / revoked, expired, then the subject.
   */
  async rotate(presented: string, projectId: string, refreshTtlMs: number): Promise<StartedSession> {
    const now = this.clock.now();
    const tokenHash = sha256(presented);
    const row = await this.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select([
        'refresh_tokens.expires_at as token_expires_at',
        'refresh_tokens.used_at',
        'refresh_tokens.project_id as token_project_id',
      ])
      .selectAll('sessions')
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();

    if (!row || row.token_project_id !== projectId || row.revoked_at !== null) throw InvalidRefreshToken();
    const { token_expires_at: tokenExpiresAt, used_at: usedAt, token_project_id: _p, ...session } = row;
    if (usedAt !== null) {
      await this.reuseDetected(session);
      throw InvalidRefreshToken();
    }
    if (tokenExpiresAt <= now) throw RefreshTokenExpired();
    await this.checkSubject(sessionSubject(session), projectId);

    const next = this.ids.token();
    const expiresAt = now + refreshTtlMs;
    const rotated = await this.db.transaction().execute(async (trx) => {
      // The conditional update is the lock: of two concurrent uses, one sees zero rows.
      const marked = await trx
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) return false;
      await trx
        .insertInto('refresh_tokens')
        .values({ token_hash: sha256(next), session_id: session.id, project_id: projectId, created_at: now, expires_at: expiresAt, used_at: null })
        .execute();
      await trx.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', session.id).execute();
      return true;
    });
    if (!rotated) {
      await this.reuseDetected(session);
      throw InvalidRefreshToken();
    }
    return { session: { ...session, expires_at: expiresAt }, refreshToken: next };
  }

  private async reuseDetected(session: Session): Promise<void> {
    await this.revoke(session.id);
    this.events.onReuseDetected?.(session);
  }

  async find(id: string): Promise<Session | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
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
  async listActive(projectId: string): Promise<SessionSummary[]> {
    const rows = await this.db
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
      )
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      subject: r.subject,
      method: r.method,
      created_at: new Date(r.created_at).toISOString(),
      expires_at: new Date(r.expires_at).toISOString(),
    }));
  }
}
