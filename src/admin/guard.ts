// Who may use the admin API: a Bearer access token issued for the console project to a
// user who is an admin now (checked on every request, so demotion takes effect at once).
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthorized } from '../errors.ts';
import { CONSOLE_PROJECT_ID } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import { isPinSubject } from '../sessions/subject.ts';
import type { User } from '../users/users.ts';
import { verifyAccessToken } from '../oauth/access-tokens.ts';

export async function requireAdmin(services: Services, request: FastifyRequest): Promise<User> {
  const claims = await verifyAccessToken(services, request, CONSOLE_PROJECT_ID);
  if (isPinSubject(claims.sub)) throw Forbidden();
  const record = await services.users.find(claims.sub);
  if (!record) throw Unauthorized();
  if (!record.user.is_admin) throw Forbidden();
  return record.user;
}
