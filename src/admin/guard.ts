// Who may use the admin API: a Bearer access token issued for the console project to a
// user who is an admin now (checked on every request, so demotion takes effect at once).
// Every refusal is recorded: a 401 or 403 here is someone trying the keys of the whole server.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden, HttpError, Unauthorized } from '../errors.ts';
import { clientInfo } from '../http/negotiation.ts';
import { CONSOLE_PROJECT_ID } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import { isPinSubject } from '../sessions/subject.ts';
import type { User } from '../users/users.ts';
import { verifyAccessToken } from '../oauth/access-tokens.ts';

async function checkAdmin(services: Services, request: FastifyRequest): Promise<User> {
  const claims = await verifyAccessToken(services, request, CONSOLE_PROJECT_ID);
  if (isPinSubject(claims.sub)) throw Forbidden({ subject: claims.sub });
  const record = await services.users.find(claims.sub);
  if (!record) throw Unauthorized();
  if (!record.user.is_admin) throw Forbidden({ subject: claims.sub });
  return record.user;
}

export async function requireAdmin(services: Services, request: FastifyRequest, reply: FastifyReply): Promise<User> {
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
