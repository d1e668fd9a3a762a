// Projects: the list with search, a new project, and one project's settings, secret, members,
// PINs and sessions.
import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, patch, post, put, type Member, type Pin, type Project, type Session, type User } from './api.ts';
import { apiValue, FIELD_GROUPS, fieldOfDetail, formValue, PROJECT_FIELDS, sameValue, type FormValue, type ProjectField } from './project-fields.ts';
import { go, href } from './router.ts';
import { Button, Confirm, describedBy, Empty, ErrorText, Field, Listing, Loading, SecretOnce, Table, useAcknowledge, useAction, useLoad, usePaging, when } from './ui.tsx';

interface ProjectList {
  projects: Project[];
  next_cursor: string | null;
}

const BUILT_IN = new Set(['console', 'account']);

export function ProjectsScreen({ search }: { search: string }) {
  const [text, setText] = useState(search);
  const { cursor, pager } = usePaging([search]);
  const loaded = useLoad(() => get<ProjectList>('/admin/projects', { search, cursor, limit: 50 }), [search, cursor]);
  return (
    <section aria-labelledby="projects-title">
      <div class="screen-head">
        <h1 id="projects-title">Projects</h1>
        <a class="button" href={href(['projects', 'new'])}>
          New project
        </a>
      </div>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go(['projects'], { search: text.trim() });
        }}
      >
        <label for="project-search">Search projects by id or name</label>
        <div class="search-row">
          <input id="project-search" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit" class="button">
            Search
          </button>
        </div>
      </form>
      <Listing
        loaded={{ ...loaded, data: loaded.data?.projects }}
        what="projects"
        empty={search !== '' ? `No project's id or name contains “${search}”.` : 'No projects yet. Create the first one with “New project”.'}
      >
        {(projects) => (
          <Table label="Projects" head={['Id', 'Name', 'Type', 'Registration', 'Created']}>
            {projects.map((p) => (
              <tr key={p.id}>
                <td>
                  <a href={href(['projects', p.id])}>{p.id}</a>
                </td>
                <td>{p.name}</td>
                <td>{p.confidential ? 'confidential' : 'public'}</td>
                <td>{p.registration_open ? 'open' : 'closed'}</td>
                <td>{when(p.created_at)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </section>
  );
}

type Values = Record<string, FormValue>;

function FieldControl({ field, value, onChange, error, prefix }: { field: ProjectField; value: FormValue; onChange: (value: FormValue) => void; error?: string; prefix: string }) {
  const id = `${prefix}-${field.name}`;
  const described = describedBy(id, field.hint, error);
  const invalid = error !== undefined ? 'true' : undefined;
  if (field.kind === 'boolean') {
    return (
      <div class="field check">
        <input id={id} type="checkbox" checked={value === true} aria-describedby={described} aria-invalid={invalid} onChange={(e) => onChange(e.currentTarget.checked)} />
        <label for={id}>{field.label}</label>
        {field.hint !== undefined ? (
          <p class="hint" id={`${id}-hint`}>
            {field.hint}
          </p>
        ) : null}
        {error !== undefined ? (
          <p class="error" id={`${id}-error`}>
            {error}
          </p>
        ) : null}
      </div>
    );
  }
  if (field.kind === 'choices') {
    const chosen = value as string[];
    return (
      <fieldset class="field choices" aria-describedby={described}>
        <legend>{field.label}</legend>
        {(field.choices ?? []).map((choice) => (
          <div class="check" key={choice}>
            <input
              id={`${id}-${choice}`}
              type="checkbox"
              checked={chosen.includes(choice)}
              onChange={(e) => onChange(e.currentTarget.checked ? [...chosen, choice] : chosen.filter((c) => c !== choice))}
            />
            <label for={`${id}-${choice}`}>{choice}</label>
          </div>
        ))}
        {error !== undefined ? (
          <p class="error" id={`${id}-error`}>
            {error}
          </p>
        ) : null}
      </fieldset>
    );
  }
  return (
    <Field id={id} label={field.label} {...(field.hint !== undefined ? { hint: field.hint } : {})} {...(error !== undefined ? { error } : {})}>
      {field.kind === 'lines' ? (
        <textarea id={id} rows={3} value={(value as string[] | string) instanceof Array ? (value as string[]).join('\n') : String(value)} aria-describedby={described} aria-invalid={invalid} spellcheck={false} onInput={(e) => onChange(e.currentTarget.value)} />
      ) : field.kind === 'choice' ? (
        <select id={id} value={String(value)} aria-describedby={described} aria-invalid={invalid} onChange={(e) => onChange(e.currentTarget.value)}>
          {(field.choices ?? []).map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      ) : (
        <input id={id} type="text" inputMode={field.kind === 'seconds' ? 'numeric' : undefined} value={String(value)} aria-describedby={described} aria-invalid={invalid} spellcheck={false} onInput={(e) => onChange(e.currentTarget.value)} />
      )}
    </Field>
  );
}

/** The fields of a form, grouped; the API's error is shown under the field it names (or above the button). */
function ProjectForm({ fields, values, setValues, error, prefix, submitLabel, busy, onSubmit }: { fields: readonly ProjectField[]; values: Values; setValues: (v: Values) => void; error: unknown; prefix: string; submitLabel: string; busy: boolean; onSubmit: () => void }) {
  const detail = error instanceof ApiError ? error.detail : undefined;
  const culprit = fieldOfDetail(detail, fields.map((f) => f.name));
  return (
    <form
      class="project-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {FIELD_GROUPS.map((group) => {
        const inGroup = fields.filter((f) => f.group === group);
        if (inGroup.length === 0) return null;
        return (
          <fieldset class="group" key={group}>
            <legend>{group}</legend>
            {inGroup.map((field) => (
              <FieldControl
                key={field.name}
                prefix={prefix}
                field={field}
                value={values[field.name] ?? formValue(field, undefined)}
                onChange={(value) => setValues({ ...values, [field.name]: value })}
                {...(culprit === field.name && error instanceof ApiError ? { error: error.message } : {})}
              />
            ))}
          </fieldset>
        );
      })}
      {culprit === undefined ? <ErrorText error={error} /> : <p class="error" role="alert">{`Not saved: see ${culprit}.`}</p>}
      <button type="submit" class="button" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  );
}

export function NewProjectScreen() {
  const fields = PROJECT_FIELDS.filter((f) => f.create);
  const [values, setValues] = useState<Values>(() => Object.fromEntries(fields.map((f) => [f.name, formValue(f, undefined)])));
  const [created, setCreated] = useState<{ id: string; secret: string | undefined } | undefined>(undefined);
  const [run, busy, error] = useAction(async () => {
    const body: Record<string, unknown> = {};
    for (const field of fields) {
      const value = apiValue(field, values[field.name] ?? formValue(field, undefined));
      const initial = apiValue(field, formValue(field, undefined));
      // Left as the default: not sent, so the server's default applies.
      if (field.name !== 'name' && field.name !== 'redirect_uris' && sameValue(value, initial)) continue;
      if (field.name === 'id' && value === '') continue;
      body[field.name] = value;
    }
    const project = await post<Project & { client_secret?: string }>('/admin/projects', body);
    if (project.client_secret !== undefined) setCreated({ id: project.id, secret: project.client_secret });
    else go(['projects', project.id]);
    return `Project ${project.id} created.`;
  });
  if (created?.secret !== undefined) {
    return (
      <section aria-labelledby="new-project-title">
        <h1 id="new-project-title">Project {created.id} created</h1>
        <SecretOnce label="Client secret" value={created.secret} onDone={() => go(['projects', created.id])} />
      </section>
    );
  }
  return (
    <section aria-labelledby="new-project-title">
      <p class="crumbs">
        <a href={href(['projects'])}>Projects</a>
      </p>
      <h1 id="new-project-title">New project</h1>
      <p class="hint">The lifetimes of codes and tokens are set after the project is created (its settings).</p>
      <ProjectForm fields={fields} values={values} setValues={setValues} error={error} prefix="new" submitLabel="Create project" busy={busy} onSubmit={() => void run()} />
    </section>
  );
}

const TABS = [
  ['settings', 'Settings'],
  ['members', 'Members'],
  ['pins', 'PINs'],
  ['sessions', 'Sessions'],
] as const;

export function ProjectScreen({ id, tab }: { id: string; tab: string }) {
  const loaded = useLoad(() => get<Project>(`/admin/projects/${enc(id)}`), [id]);
  if (loaded.error !== undefined) {
    return (
      <section>
        <p class="crumbs">
          <a href={href(['projects'])}>Projects</a>
        </p>
        <h1>Project {id}</h1>
        <ErrorText error={loaded.error} />
      </section>
    );
  }
  if (!loaded.data) return <Loading what="the project" />;
  const project = loaded.data;
  const current = TABS.some(([t]) => t === tab) ? tab : 'settings';
  return (
    <section aria-labelledby="project-title">
      <p class="crumbs">
        <a href={href(['projects'])}>Projects</a>
      </p>
      <h1 id="project-title">
        {project.name} <span class="muted">({project.id})</span>
      </h1>
      <nav class="tabs" aria-label="Project">
        {TABS.map(([t, label]) => (
          <a key={t} href={href(['projects', id, ...(t === 'settings' ? [] : [t])])} aria-current={t === current ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {current === 'settings' ? <ProjectSettings project={project} reload={loaded.reload} /> : null}
      {current === 'members' ? <Members projectId={id} /> : null}
      {current === 'pins' ? <Pins projectId={id} /> : null}
      {current === 'sessions' ? <ProjectSessions projectId={id} /> : null}
    </section>
  );
}

function ProjectSettings({ project, reload }: { project: Project; reload: () => void }) {
  const fields = PROJECT_FIELDS.filter((f) => f.edit);
  const initial = () => Object.fromEntries(fields.map((f) => [f.name, formValue(f, project[f.name])]));
  const [values, setValues] = useState<Values>(initial);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [save, saving, saveError] = useAction(async () => {
    const body: Record<string, unknown> = {};
    for (const field of fields) {
      const value = apiValue(field, values[field.name] ?? formValue(field, undefined));
      if (!sameValue(value, apiValue(field, formValue(field, project[field.name])))) body[field.name] = value;
    }
    if (Object.keys(body).length === 0) return 'Nothing changed.';
    await patch<Project>(`/admin/projects/${enc(project.id)}`, body);
    reload();
    return `Saved ${Object.keys(body).join(', ')}.`;
  });
  const builtIn = BUILT_IN.has(project.id);
  return (
    <>
      <dl class="facts">
        <dt>Client type</dt>
        <dd>{project.confidential ? 'confidential (has a client secret)' : 'public (no secret)'}</dd>
        <dt>Created</dt>
        <dd>{when(project.created_at)}</dd>
        <dt>Updated</dt>
        <dd>{when(project.updated_at)}</dd>
      </dl>
      <h2>Settings</h2>
      <ProjectForm fields={fields} values={values} setValues={setValues} error={saveError} prefix="edit" submitLabel="Save changes" busy={saving} onSubmit={() => void save()} />
      {!builtIn ? (
        <>
          <h2>Client secret</h2>
          <p class="hint">A new secret replaces the old one at once{project.confidential ? '' : ', and makes the project confidential'}.</p>
          {secret !== undefined ? (
            <SecretOnce label="Client secret" value={secret} onDone={() => setSecret(undefined)} />
          ) : (
            <Confirm
              label="Issue a new client secret"
              question={`Issue a new secret for ${project.id}? The old one stops working at once.`}
              confirmLabel="Issue the secret"
              action={async () => {
                const answer = await post<{ client_secret: string }>(`/admin/projects/${enc(project.id)}/secret`);
                setSecret(answer.client_secret);
                reload();
                return 'A new client secret was issued.';
              }}
            />
          )}
          <h2>Delete the project</h2>
          <p class="hint">Its members and sessions go with it; the audit log keeps its events.</p>
          <Confirm
            label="Delete project"
            question={`Delete ${project.id} with its memberships and sessions?`}
            typed={project.id}
            confirmLabel="Delete this project"
            action={async () => {
              await del(`/admin/projects/${enc(project.id)}`);
              go(['projects']);
              return `Project ${project.id} deleted.`;
            }}
          />
        </>
      ) : (
        <p class="hint">This built-in project cannot be deleted or given a secret.</p>
      )}
    </>
  );
}

interface MemberList {
  members: Member[];
  next_cursor: string | null;
}

function Members({ projectId }: { projectId: string }) {
  const { cursor, pager } = usePaging([projectId]);
  const loaded = useLoad(() => get<MemberList>(`/admin/projects/${enc(projectId)}/members`, { cursor, limit: 100 }), [projectId, cursor]);
  const [email, setEmail] = useState('');
  const [add, adding, addError] = useAction(async () => {
    const wanted = email.trim();
    const found = await get<{ users: User[] }>('/admin/users', { email: wanted });
    const user = found.users[0];
    if (!user) throw new Error(`No account has the email ${wanted}. Create it under Users first.`);
    await put<Member>(`/admin/projects/${enc(projectId)}/members/${enc(user.id)}`);
    setEmail('');
    loaded.reload();
    return `${user.email} is a member of ${projectId}.`;
  });
  return (
    <>
      <h2>Members</h2>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <Field id="member-email" label="Add a member by email">
          <input id="member-email" type="email" autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="button" disabled={adding || email.trim() === ''}>
          Add member
        </button>
        <ErrorText error={addError} />
      </form>
      <Listing loaded={{ ...loaded, data: loaded.data?.members }} what="members" empty="No members yet.">
        {(members) => (
          <Table label="Members" head={['Email', 'State', 'Actions']}>
            {members.map((m) => (
              <MemberRow key={m.user_id} projectId={projectId} member={m} reload={loaded.reload} />
            ))}
          </Table>
        )}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </>
  );
}

function MemberRow({ projectId, member, reload }: { projectId: string; member: Member; reload: () => void }) {
  const path = `/admin/projects/${enc(projectId)}/members/${enc(member.user_id)}`;
  const [toggle, busy, error] = useAction(async () => {
    await post<Member>(`${path}/${member.blocked ? 'unblock' : 'block'}`);
    reload();
    return `${member.email} ${member.blocked ? 'unblocked' : 'blocked'} in ${projectId}.`;
  });
  return (
    <tr>
      <td>
        <a href={href(['users', member.user_id])}>{member.email}</a>
      </td>
      <td>{member.blocked ? 'blocked' : 'active'}</td>
      <td class="row-actions">
        <Button class="secondary" busy={busy} onClick={() => void toggle()} aria-label={`${member.blocked ? 'Unblock' : 'Block'} ${member.email}`}>
          {member.blocked ? 'Unblock' : 'Block'}
        </Button>
        <Confirm
          label="Remove"
          question={`Remove ${member.email} from ${projectId}? Their sessions in it end.`}
          confirmLabel={`Remove ${member.email}`}
          action={async () => {
            await del(path);
            reload();
            return `${member.email} removed from ${projectId}.`;
          }}
        />
        <ErrorText error={error} />
      </td>
    </tr>
  );
}

interface PinList {
  pins: Pin[];
  next_cursor: string | null;
}

function Pins({ projectId }: { projectId: string }) {
  const { cursor, pager } = usePaging([projectId]);
  const loaded = useLoad(() => get<PinList>(`/admin/projects/${enc(projectId)}/pins`, { cursor, limit: 100 }), [projectId, cursor]);
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<{ pin: string; id: string } | undefined>(undefined);
  const [create, creating, createError] = useAction(async () => {
    const answer = await post<{ id: string; pin: string; label: string | null }>(`/admin/projects/${enc(projectId)}/pins`, label.trim() !== '' ? { label: label.trim() } : {});
    setCreated(answer);
    setLabel('');
    loaded.reload();
    return `PIN ${answer.id} created.`;
  });
  return (
    <>
      <h2>PINs</h2>
      {created ? <SecretOnce label="PIN" value={created.pin} onDone={() => setCreated(undefined)} /> : null}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <Field id="pin-label" label="Label of a new PIN (optional)" hint="A note for people, e.g. “kiosk, front desk”.">
          <input id="pin-label" value={label} aria-describedby="pin-label-hint" onInput={(e) => setLabel(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="button" disabled={creating}>
          Create PIN
        </button>
        <ErrorText error={createError} />
      </form>
      <Listing loaded={{ ...loaded, data: loaded.data?.pins }} what="PINs" empty="No PINs in this project.">
        {(pins) => (
          <Table label="PINs" head={['Id', 'Label', 'Created', 'State']}>
            {pins.map((p) => (
              <tr key={p.id}>
                <td>
                  <code>{p.id}</code>
                </td>
                <td>{p.label ?? ''}</td>
                <td>{when(p.created_at)}</td>
                <td class="row-actions">
                  {p.revoked_at !== null ? (
                    `revoked ${when(p.revoked_at)}`
                  ) : (
                    <Confirm
                      label="Revoke"
                      question={`Revoke PIN ${p.label ?? p.id}? It stops signing in, and its sessions end.`}
                      confirmLabel="Revoke the PIN"
                      action={async () => {
                        await del(`/admin/projects/${enc(projectId)}/pins/${enc(p.id)}`);
                        loaded.reload();
                        return `PIN ${p.id} revoked.`;
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </>
  );
}

interface SessionList {
  sessions: Session[];
  next_cursor: string | null;
}

function ProjectSessions({ projectId }: { projectId: string }) {
  const { cursor, pager } = usePaging([projectId]);
  const loaded = useLoad(() => get<SessionList>(`/admin/projects/${enc(projectId)}/sessions`, { cursor, limit: 100 }), [projectId, cursor]);
  return (
    <>
      <h2>Live sessions</h2>
      <Listing loaded={{ ...loaded, data: loaded.data?.sessions }} what="sessions" empty="Nobody is signed in to this project.">
        {(sessions) => <SessionTable sessions={sessions} reload={loaded.reload} />}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </>
  );
}

/** Sessions with a button to end each (a project's, or a user's across projects). */
export function SessionTable({ sessions, reload, showProject }: { sessions: Session[]; reload: () => void; showProject?: boolean }) {
  const acknowledge = useAcknowledge();
  if (sessions.length === 0) return <Empty>No live sessions.</Empty>;
  return (
    <Table label="Sessions" head={[...(showProject ? ['Project'] : ['Subject']), 'Method', 'Started', 'Expires', 'Actions']}>
      {sessions.map((s) => (
        <tr key={s.id}>
          <td>{showProject ? <a href={href(['projects', s.project_id ?? ''])}>{s.project_id}</a> : s.subject.startsWith('pin:') ? s.subject : <a href={href(['users', s.subject])}>{s.subject}</a>}</td>
          <td>{s.method}</td>
          <td>{when(s.created_at)}</td>
          <td>{when(s.expires_at)}</td>
          <td class="row-actions">
            <Confirm
              label="End"
              question="End this session? Its refresh tokens stop working at once."
              confirmLabel="End the session"
              action={async () => {
                await del(`/admin/sessions/${enc(s.id)}`);
                reload();
                acknowledge('Session ended.');
              }}
            />
          </td>
        </tr>
      ))}
    </Table>
  );
}
