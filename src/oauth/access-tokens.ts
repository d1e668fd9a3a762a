// The Bearer access tokens that Gatehouse's own endpoints accept (/userinfo, the admin API): an
// ES256 JWT of this issuer whose session is still live and whose subject still passes the checks
// of a refresh (a revoked PIN, a deleted or blocked user).
import type { FastifyRequest } from 'fastify';
import { HttpError, Unauthorized } from '../errors.ts';
import type { Services } from '../services.ts';
import type { UserClaims } from '../sessions/sessions.ts';

export interface AccessTokenClaims {
  sub: string;
  aud: string;
  sid: string;
  scope: string;
  /** the user's claims as of this request (none for a PIN's token) */
  user?: UserClaims;
}

/** Verifies a Bearer access token of this issuer whose session is still live; throws Unauthorized. */
export async function verifyAccessToken(services: Services, request: FastifyRequest, audience?: string): Promise<AccessTokenClaims> {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim()) : null;
  if (!match?.[1]) throw Unauthorized();
  let payload;
  try {
    payload = await services.keys.verifyJwt(match[1], {
      issuer: services.config.issuer,
      typ: 'at+jwt',
      ...(audience !== undefined ? { audience } : {}),
    });
  } catch {
    throw Unauthorized();
  }
  const { sub, aud, sid, scope } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof aud !== 'string' || typeof sid !== 'string' || typeof scope !== 'string') throw Unauthorized();
  // The session, and the same subject checks as a refresh: a revoked PIN, a deleted or blocked user.
  // A refusal of the subject is a token that no longer works; an outage stays an outage (503).
  const live = await services.sessions.findLiveWithSubject(sid).catch((error: unknown) => {
    throw error instanceof HttpError && error.statusCode < 500 ? Unauthorized() : error;
  });
  if (!live) throw Unauthorized();
  return { sub, aud, sid, scope, ...(live.user ? { user: live.user } : {}) };
}
