// gatehouse audit list: the audit log as GET /admin/audit answers it (same filters, same cursors).
import { searchAudit, type AuditQuery } from '../../admin/audit-routes.ts';
import { AuditQueryString } from '../../admin/schemas.ts';
import type { AuditEntry } from '../../audit/audit-log.ts';
import { MAX_PAGE_SIZE } from '../../storage/paging.ts';
import { asCommandError, checkShape, flag, nextPageLine, PAGING_DETAILS, PAGING_OPTIONS, stringOption, table, UsageError, type Command } from '../command.ts';

/** Each option and the query field of GET /admin/audit it sets. */
const QUERY_FIELDS = { project: 'project', subject: 'subject', type: 'type', since: 'since', until: 'until', before: 'before', limit: 'limit', cursor: 'cursor' } as const;

export const auditList: Command = {
  name: 'audit list',
  routes: ['GET /admin/audit'],
  summary: 'List audit events, newest first: the latest 100, or those the filters ask for, a page at a time.',
  usage: 'gatehouse audit list [--project ID] [--subject SUBJECT] [--type TYPE] [--since WHEN] [--until WHEN] [--before WHEN] [--limit N] [--cursor CURSOR | --all]',
  details: [
    'Options:',
    '  --project ID             events of this project',
    '  --subject SUBJECT        events of this subject (a user id, pin:<id>, client:<project>)',
    '  --type TYPE              events of this type (admin.user.created, login.password, …)',
    '  --since WHEN             at or after WHEN: epoch milliseconds or an ISO 8601 date / date-time with a zone',
    '  --until WHEN             at or before WHEN',
    '  --before WHEN            strictly before WHEN',
    ...PAGING_DETAILS,
    '  --all                    every matching event, following the cursor to the end (the log may be long)',
    'Without --limit, one page of 100; the cursor of the next page is printed after the table.',
  ].join('\n'),
  options: {
    project: { type: 'string' },
    subject: { type: 'string' },
    type: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    before: { type: 'string' },
    all: { type: 'boolean' },
    ...PAGING_OPTIONS,
  },
  async run({ values, out, services }) {
    const all = flag(values, 'all');
    if (all && (values.limit !== undefined || values.cursor !== undefined)) throw new UsageError('give --all or --limit/--cursor, not both');
    const given = Object.fromEntries(
      Object.keys(QUERY_FIELDS)
        .map((option) => [option, stringOption(values, option)] as const)
        .filter((entry): entry is readonly [string, string] => entry[1] !== undefined),
    );
    const query = checkShape<AuditQuery>(AuditQueryString, all ? { ...given, limit: String(MAX_PAGE_SIZE) } : given, QUERY_FIELDS);
    const events: AuditEntry[] = [];
    let next: string | null;
    try {
      let page = await searchAudit(services.audit, query);
      events.push(...page.events);
      while (all && page.next_cursor !== null) {
        page = await searchAudit(services.audit, { ...query, cursor: page.next_cursor });
        events.push(...page.events);
      }
      next = page.next_cursor;
    } catch (error) {
      throw asCommandError(error);
    }
    out.result(
      { events, next_cursor: next },
      events.length === 0
        ? 'no events'
        : [
            table(
              ['AT', 'TYPE', 'OUTCOME', 'PROJECT', 'SUBJECT', 'DETAIL'],
              events.map((e) => [e.at, e.type, e.outcome, e.project_id ?? '', e.subject ?? '', e.detail ? JSON.stringify(e.detail) : '']),
            ),
            ...nextPageLine(next),
          ].join('\n'),
    );
  },
};
