// The audit log: filtered by project, user (subject), event type and time, paged; one event opened.
import { useState } from 'preact/hooks';
import { enc, get, type AuditEvent } from './api.ts';
import { go, href } from './router.ts';
import { ErrorText, Field, Listing, Loading, Table, useLoad, usePaging, when } from './ui.tsx';

const FILTERS = [
  ['project', 'Project id', 'text', undefined],
  ['subject', 'User id or subject', 'text', 'A user id, pin:<id>, or client:<project>.'],
  ['type', 'Event type', 'text', 'For example login.password or admin.project.created.'],
  ['since', 'From (UTC)', 'datetime-local', undefined],
  ['until', 'Until (UTC)', 'datetime-local', undefined],
] as const;

type FilterName = (typeof FILTERS)[number][0];
type Filters = Record<FilterName, string>;

/** A datetime-local value (no zone) read as UTC, as the API wants an instant with a zone. */
function instant(value: string): string | undefined {
  if (value === '') return undefined;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value}${value.length === 16 ? ':00' : ''}Z` : value;
}

export function AuditScreen({ query }: { query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map(([name]) => [name, query.get(name) ?? ''])) as Filters;
  const [form, setForm] = useState<Filters>(filters);
  const key = JSON.stringify(filters);
  const { cursor, pager } = usePaging([key]);
  const loaded = useLoad(
    () =>
      get<{ events: AuditEvent[]; next_cursor: string | null }>('/admin/audit', {
        project: filters.project,
        subject: filters.subject,
        type: filters.type,
        since: instant(filters.since),
        until: instant(filters.until),
        cursor,
        limit: 50,
      }),
    [key, cursor],
  );
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go(['audit'], Object.fromEntries(Object.entries(form).map(([k, v]) => [k, v.trim()])));
        }}
      >
        {FILTERS.map(([name, label, type, hint]) => (
          <Field key={name} id={`audit-${name}`} label={label} {...(hint !== undefined ? { hint } : {})}>
            {type === 'datetime-local' ? (
              <input id={`audit-${name}`} type="datetime-local" step={1} value={form[name]} onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })} />
            ) : (
              <input
                id={`audit-${name}`}
                type="text"
                value={form[name]}
                aria-describedby={hint !== undefined ? `audit-${name}-hint` : undefined}
                onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })}
              />
            )}
          </Field>
        ))}
        <div class="actions">
          <button type="submit" class="button">
            Show events
          </button>
          <a class="button secondary" href={href(['audit'])}>
            Clear filters
          </a>
        </div>
      </form>
      <Listing loaded={{ ...loaded, data: loaded.data?.events }} what="events" empty="No events match these filters.">
        {(events) => (
          <Table label="Audit events" head={['Time', 'Type', 'Outcome', 'Project', 'Subject']}>
            {events.map((e) => (
              <tr key={e.id}>
                <td>
                  <a href={href(['audit', e.id])}>{when(e.at)}</a>
                </td>
                <td>{e.type}</td>
                <td>{e.outcome}</td>
                <td>{e.project_id ?? ''}</td>
                <td>{e.subject ?? ''}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </section>
  );
}

export function AuditEventScreen({ id }: { id: string }) {
  const loaded = useLoad(() => get<AuditEvent>(`/admin/audit/${enc(id)}`), [id]);
  const event = loaded.data;
  return (
    <section aria-labelledby="event-title">
      <p class="crumbs">
        <a href={href(['audit'])}>Audit log</a>
      </p>
      <h1 id="event-title">Event {event?.type ?? id}</h1>
      <ErrorText error={loaded.error} />
      {loaded.error === undefined && !event ? <Loading what="the event" /> : null}
      {event ? (
        <dl class="facts">
          <dt>Id</dt>
          <dd>
            <code>{event.id}</code>
          </dd>
          <dt>Time</dt>
          <dd>{when(event.at)}</dd>
          <dt>Type</dt>
          <dd>
            <a href={href(['audit'], { type: event.type })}>{event.type}</a>
          </dd>
          <dt>Outcome</dt>
          <dd>{event.outcome}</dd>
          <dt>Project</dt>
          <dd>{event.project_id !== null ? <a href={href(['projects', event.project_id])}>{event.project_id}</a> : 'none'}</dd>
          <dt>Subject</dt>
          <dd>{event.subject !== null ? <a href={href(['audit'], { subject: event.subject })}>{event.subject}</a> : 'none'}</dd>
          <dt>IP address</dt>
          <dd>{event.ip ?? 'unknown'}</dd>
          <dt>User agent</dt>
          <dd>{event.user_agent ?? 'unknown'}</dd>
          <dt>Detail</dt>
          <dd>
            <pre class="detail">{event.detail ? JSON.stringify(event.detail, null, 2) : 'none'}</pre>
          </dd>
        </dl>
      ) : null}
    </section>
  );
}
