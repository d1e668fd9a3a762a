// Who may use the admin API: a Bearer access token issued for the console project to a
// user who is an admin now (checked on every request, so demotion takes effect at once), or a
// project's own client_credentials token with the scope `admin` of a project that has admin_api
// now (docs/machines.md "Service access to the admin API"; checked against the project at every
// request, docs/decisions/0102).
// Every refusal is recorded: a 401 or 403 here is someone trying the keys of the whole server.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { Forbidden, HttpError, Unauthorized } from '../errors.ts';
import { clientInfo } from '../http/negotiation.ts';
import { CONSOLE_PROJECT_ID } from '../projects/projects.ts';
import { ADMIN_SCOPE } from '../projects/project-rules.ts';
import type { Services } from '../services.ts';
import { isPinSubject } from '../sessions/subject.ts';
import { verifyAccessToken } from '../oauth/access-tokens.ts';
import { clientOfSubject, clientTokenStillGood } from '../oauth/client-credentials.ts';
import type { AdminActor } from './context.ts';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/** The subject the token claims, read without trusting it: only to pick which check verifies it. */
function claimedSubject(request: FastifyRequest): string | undefined {
  const match = request.headers.authorization ? BEARER.exec(request.headers.authorization.trim()) : null;
  if (!match?.[1]) return undefined;
  try {
    const { sub } = decodeJwt(match[1]);
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

async function checkAdmin(services: Services, request: FastifyRequest): Promise<AdminActor> {
  const claimed = claimedSubject(request);
  if (claimed !== undefined && clientOfSubject(claimed) !== undefined) return checkService(services, request);
  const claims = await verifyAccessToken(services, request, CONSOLE_PROJECT_ID);
  if (isPinSubject(claims.sub)) throw Forbidden({ subject: claims.sub });
  const record = await services.users.find(claims.sub);
  if (!record) throw Unauthorized();
  if (!record.user.is_admin) throw Forbidden({ subject: claims.sub });
  return { subject: record.user.id };
}

/**
 * A project's own token: valid (signature, issuer, expiry), its subject its audience, and the
 * project still allowing the grant (else 401, as any token that no longer works); the scope
 * `admin` and the project's admin_api (else 403, as a console token of a non-admin).
 */
async function checkService(services: Services, request: FastifyRequest): Promise<AdminActor> {
  const match = BEARER.exec((request.headers.authorization ?? '').trim());
  if (!match?.[1]) throw Unauthorized();
  const payload = await services.keys.verifyJwt(match[1], { issuer: services.config.issuer, typ: 'at+jwt' }).catch(() => {
    throw Unauthorized();
  });
  const { sub, aud, scope } = payload;
  if (typeof sub !== 'string' || typeof aud !== 'string' || typeof scope !== 'string' || clientOfSubject(sub) !== aud) throw Unauthorized();
  const record = await services.projects.find(aud);
  if (!clientTokenStillGood(record, '')) throw Unauthorized();
  if (!scope.split(' ').includes(ADMIN_SCOPE) || !record.project.admin_api) throw Forbidden({ subject: sub });
  return { subject: sub };
}

export async function requireAdmin(services: Services, request: FastifyRequest, reply: FastifyReply): Promise<AdminActor> {
  try {
    return await checkAdmin(services, request);
  } catch (error) {
    if (!(error instanceof HttpError) || (error.statusCode !== 401 && error.statusCode !== 403)) throw error;
    const { ip, userAgent } = clientInfo(request);
    // The subject of a valid token (a 403) is known; a 401 has none worth trusting. Never the token.
    const subject = typeof error.extra.subject === 'string' ? error.extra.subject : null;
    await services.audit.record({
      type: 'admin.access_refused',
      outcome: 'failure',
      subject,
      ip,
      userAgent,
      detail: { status: error.statusCode, method: request.method, route: request.routeOptions.url ?? 'unmatched' },
    });
    // RFC 6750 §3: a 401 of a Bearer-protected resource says which scheme, and why.
    if (error.statusCode === 401) {
      void reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw Unauthorized();
    }
    throw Forbidden();
  }
}
