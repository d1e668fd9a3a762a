// POST /introspect (RFC 7662, docs/machines.md): whether a token is still good, for the project
// it was issued to, or for any project when the caller has admin_api.
import type { JwtPayload } from '../crypto/jwt-verify.ts';
import { HttpError } from '../errors.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import { sessionSubject, type Session } from '../sessions/sessions.ts';
import { clientOfSubject, clientTokenStillGood } from './client-credentials.ts';

export type IntrospectionAnswer =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      exp: number;
      iat: number;
      iss: string;
      aud: string;
      jti?: string;
      sid?: string;
      token_type: 'Bearer' | 'refresh_token';
    };

const INACTIVE: IntrospectionAnswer = Object.freeze({ active: false });

/**
 * A project may look at the tokens issued to it; an admin_api project at any, but only a
 * confidential one: a public project authenticates by its id alone (docs/decisions/0103).
 */
function mayIntrospect(caller: ProjectRecord, projectId: string): boolean {
  return caller.project.id === projectId || (caller.project.admin_api && caller.project.confidential);
}

const seconds = (ms: number) => Math.floor(ms / 1000);

export async function introspect(services: Services, caller: ProjectRecord, token: string): Promise<IntrospectionAnswer> {
  // An access token is a JWT (three parts); a refresh token is `<sid>.<secret>` (two). A wrong
  // token_type_hint therefore costs nothing, and is not needed (RFC 7662 §2.1 allows ignoring it).
  const answer = token.split('.').length === 3 ? await accessTokenAnswer(services, caller, token) : await refreshTokenAnswer(services, caller, token);
  return answer ?? INACTIVE;
}

async function accessTokenAnswer(services: Services, caller: ProjectRecord, token: string): Promise<IntrospectionAnswer | undefined> {
  let payload: JwtPayload;
  try {
    payload = await services.keys.verifyJwt(token, { issuer: services.config.issuer, typ: 'at+jwt' });
  } catch {
    return undefined;
  }
  const { sub, aud, scope, sid, exp, iat, jti, iss, client_id: clientId } = payload;
  if (typeof sub !== 'string' || typeof aud !== 'string' || typeof scope !== 'string' || typeof exp !== 'number' || typeof iat !== 'number' || typeof iss !== 'string') return undefined;
  if (!mayIntrospect(caller, aud)) return undefined;
  const client = clientOfSubject(sub);
  if (client !== undefined) {
    // A project's own token: good while the project still allows it.
    if (client !== aud || !clientTokenStillGood(await services.projects.find(aud), scope)) return undefined;
  } else {
    // A person's or a PIN's: good while its session is live and its subject passes the checks of a refresh.
    if (typeof sid !== 'string') return undefined;
    const session = await services.sessions.find(sid);
    if (!session || session.revoked_at !== null || session.project_id !== aud) return undefined;
    if (!(await subjectStillGood(services, session))) return undefined;
  }
  return {
    active: true,
    scope,
    client_id: typeof clientId === 'string' ? clientId : aud,
    sub,
    exp,
    iat,
    iss,
    aud,
    ...(typeof jti === 'string' ? { jti } : {}),
    ...(typeof sid === 'string' ? { sid } : {}),
    token_type: 'Bearer',
  };
}

async function refreshTokenAnswer(services: Services, caller: ProjectRecord, token: string): Promise<IntrospectionAnswer | undefined> {
  // A refresh token is two base64url parts; anything else is not looked up.
  if (!/^[A-Za-z0-9_-]{16,128}(\.[A-Za-z0-9_-]{16,128})?$/.test(token)) return undefined;
  const stored = await services.sessions.findRefreshToken(token);
  if (!stored || !mayIntrospect(caller, stored.projectId)) return undefined;
  const { session } = stored;
  const now = services.clock.now();
  // What a refresh would refuse: used (rotated), revoked, expired, past the session's absolute end, the subject.
  if (stored.used || session.revoked_at !== null || stored.expiresAt <= now) return undefined;
  const record = await services.projects.find(stored.projectId);
  if (!record) return undefined;
  if (now >= session.created_at + services.projects.lifetimes(record.project).sessionMaxMs) return undefined;
  if (!(await subjectStillGood(services, session, !record.project.registration_open))) return undefined;
  return {
    active: true,
    scope: session.scope,
    client_id: stored.projectId,
    sub: session.subject,
    exp: seconds(stored.expiresAt),
    iat: seconds(stored.issuedAt),
    iss: services.config.issuer,
    aud: stored.projectId,
    ...(stored.sid !== undefined ? { sid: stored.sid } : {}),
    token_type: 'refresh_token',
  };
}

async function subjectStillGood(services: Services, session: Session, membersOnly = false): Promise<boolean> {
  return services.sessions.checkSubject(sessionSubject(session), session.project_id, membersOnly).then(
    () => true,
    // A refused subject is an inactive token; an outage stays an outage (503).
    (error: unknown) => {
      if (error instanceof HttpError) return false;
      throw error;
    },
  );
}
