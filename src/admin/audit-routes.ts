// GET /admin/audit: security events, newest first, filtered and paged.
import { InvalidRequest } from '../errors.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { AuditQueryString, parseInstant, parseLimit } from './schemas.ts';

export function registerAuditRoutes(server: AdminServer, context: AdminContext): void {
  const { audit } = context.services;

  server.get('/admin/audit', { schema: { querystring: AuditQueryString } }, async (request) => {
    const query = request.query;
    const since = parseInstant('since', query.since);
    const until = parseInstant('until', query.until);
    const before = parseInstant('before', query.before);
    const limit = parseLimit(query.limit);
    if (query.before_id !== undefined && before === undefined) throw InvalidRequest({ detail: 'before_id needs before' });
    const events = await audit.list({
      ...(query.project !== undefined ? { projectId: query.project } : {}),
      ...(query.subject !== undefined ? { subject: query.subject } : {}),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(before !== undefined ? { before } : {}),
      ...(query.before_id !== undefined ? { beforeId: query.before_id } : {}),
      limit,
    });
    return { events };
  });
}
