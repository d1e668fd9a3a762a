// GET /admin/audit: security events, newest first, filtered and paged.
import type { Static } from 'typebox';
import type { AuditLog } from '../audit/audit-log.ts';
import { InvalidRequest } from '../errors.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { AuditQueryString, parseInstant } from './schemas.ts';
import { pagedAnswer, pageRequest } from './paging.ts';

export type AuditQuery = Static<typeof AuditQueryString>;

/** One page of the events a query asks for (the route's, and `gatehouse audit list`'s). Throws 400 for a bad instant or cursor. */
export async function searchAudit(audit: AuditLog, query: AuditQuery) {
  const since = parseInstant('since', query.since);
  const until = parseInstant('until', query.until);
  const before = parseInstant('before', query.before);
  const page = pageRequest(query);
  if (query.before_id !== undefined && before === undefined) throw InvalidRequest({ detail: 'before_id needs before' });
  // before + before_id (the older way to page) is a position like a cursor's; a cursor, which
  // comes from a later page, wins.
  const position = page.after ?? (before !== undefined && query.before_id !== undefined ? { at: before, id: query.before_id } : undefined);
  const result = await audit.listPage({
    ...(query.project !== undefined ? { projectId: query.project } : {}),
    ...(query.subject !== undefined ? { subject: query.subject } : {}),
    ...(query.type !== undefined ? { type: query.type } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(before !== undefined ? { before } : {}),
  }, { limit: page.limit, after: position });
  return pagedAnswer('events', result);
}

export function registerAuditRoutes(server: AdminServer, context: AdminContext): void {
  const { audit } = context.services;

  server.get('/admin/audit', { schema: { querystring: AuditQueryString } }, async (request) => searchAudit(audit, request.query));
}
