// Users: search by email, a new account, and one account: its profile and admin flag, a password
// reset mail, its second factors, its sessions and browser sessions, and deleting it.
import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, patch, post, type BrowserSession, type Session, type User } from './api.ts';
import { fieldOfDetail } from './project-fields.ts';
import { SessionTable } from './projects.tsx';
import { go, href } from './router.ts';
import { Button, Confirm, describedBy, ErrorText, Field, Listing, Loading, Table, useAction, useLoad, usePaging, when } from './ui.tsx';

interface UserList {
  users: User[];
  next_cursor: string | null;
}

export function UsersScreen({ email }: { email: string }) {
  const [text, setText] = useState(email);
  const { cursor, pager } = usePaging([email]);
  const loaded = useLoad(() => get<UserList>('/admin/users', { email, cursor, limit: 50 }), [email, cursor]);
  return (
    <section aria-labelledby="users-title">
      <div class="screen-head">
        <h1 id="users-title">Users</h1>
        <a class="button" href={href(['users', 'new'])}>
          New user
        </a>
      </div>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go(['users'], { email: text.trim() });
        }}
      >
        <label for="user-search">Find a user by email</label>
        <div class="search-row">
          <input id="user-search" type="search" value={text} autocomplete="off" onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit" class="button">
            Find
          </button>
        </div>
      </form>
      <Listing loaded={{ ...loaded, data: loaded.data?.users }} what="users" empty={email !== '' ? `No account has the email ${email}.` : 'No users yet.'}>
        {(users) => (
          <Table label="Users" head={['Email', 'Verified', 'Admin', 'Created']}>
            {users.map((u) => (
              <tr key={u.id}>
                <td>
                  <a href={href(['users', u.id])}>{u.email}</a>
                </td>
                <td>{u.email_verified ? 'yes' : 'no'}</td>
                <td>{u.is_admin ? 'admin' : ''}</td>
                <td>{when(u.created_at)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </section>
  );
}

const PROFILE = [
  ['name', 'Name'],
  ['given_name', 'Given name'],
  ['family_name', 'Family name'],
  ['picture', 'Picture URL'],
  ['locale', 'Locale (e.g. en, de-CH)'],
] as const;

type UserForm = { email: string; password: string; is_admin: boolean; email_verified: boolean } & Record<(typeof PROFILE)[number][0], string>;

const FORM_FIELDS = ['email', 'password', 'is_admin', 'email_verified', ...PROFILE.map(([name]) => name)];

function formOf(user?: User): UserForm {
  return {
    email: user?.email ?? '',
    password: '',
    is_admin: user?.is_admin ?? false,
    email_verified: user?.email_verified ?? false,
    name: user?.name ?? '',
    given_name: user?.given_name ?? '',
    family_name: user?.family_name ?? '',
    picture: user?.picture ?? '',
    locale: user?.locale ?? '',
  };
}

function UserFields({ form, setForm, error, prefix, creating }: { form: UserForm; setForm: (f: UserForm) => void; error: unknown; prefix: string; creating: boolean }) {
  const culprit = error instanceof ApiError ? (error.error === 'Invalid password' ? 'password' : error.error === 'Email already registered' ? 'email' : fieldOfDetail(error.detail, FORM_FIELDS)) : undefined;
  const errorOf = (name: string) => (culprit === name && error instanceof ApiError ? { error: error.message } : {});
  const text = (name: keyof UserForm, label: string, type: 'text' | 'email' | 'password' = 'text', hint?: string) => {
    const id = `${prefix}-${name}`;
    const problem = errorOf(name);
    return (
      <Field id={id} label={label} {...(hint !== undefined ? { hint } : {})} {...problem}>
        <input
          id={id}
          // One control for the three kinds; Preact's types tell input kinds apart by their attributes.
          type={type as 'text'}
          value={String(form[name])}
          autocomplete={type === 'password' ? 'new-password' : 'off'}
          aria-describedby={describedBy(id, hint, problem.error)}
          aria-invalid={problem.error !== undefined ? 'true' : undefined}
          onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })}
        />
      </Field>
    );
  };
  const check = (name: 'is_admin' | 'email_verified', label: string) => (
    <div class="field check">
      <input id={`${prefix}-${name}`} type="checkbox" checked={form[name]} onChange={(e) => setForm({ ...form, [name]: e.currentTarget.checked })} />
      <label for={`${prefix}-${name}`}>{label}</label>
    </div>
  );
  return (
    <>
      <fieldset class="group">
        <legend>Account</legend>
        {text('email', 'Email', 'email')}
        {text('password', creating ? 'Password (optional)' : 'New password (optional)', 'password', creating ? 'Without one, the person signs in by magic link or sets one with a reset.' : 'Setting one ends every session of the account.')}
        {check('email_verified', 'Email verified')}
        {check('is_admin', 'Administrator (may use the admin API and this console)')}
      </fieldset>
      <fieldset class="group">
        <legend>Profile</legend>
        {PROFILE.map(([name, label]) => text(name, label))}
      </fieldset>
      {culprit === undefined ? <ErrorText error={error} /> : <p class="error" role="alert">{`Not saved: see ${culprit.replace('_', ' ')}.`}</p>}
    </>
  );
}

function bodyOf(form: UserForm, before: UserForm | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const initial = before ?? formOf();
  if (form.email.trim() !== initial.email || !before) body.email = form.email.trim();
  if (form.password !== '') body.password = form.password;
  if (form.is_admin !== initial.is_admin) body.is_admin = form.is_admin;
  if (form.email_verified !== initial.email_verified) body.email_verified = form.email_verified;
  for (const [name] of PROFILE) {
    const value = form[name].trim();
    if (value !== initial[name]) body[name] = value === '' ? null : value;
  }
  return body;
}

export function NewUserScreen() {
  const [form, setForm] = useState(formOf());
  const [run, busy, error] = useAction(async () => {
    const user = await post<User>('/admin/users', bodyOf(form, undefined));
    go(['users', user.id]);
    return `User ${user.email} created.`;
  });
  return (
    <section aria-labelledby="new-user-title">
      <p class="crumbs">
        <a href={href(['users'])}>Users</a>
      </p>
      <h1 id="new-user-title">New user</h1>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <UserFields form={form} setForm={setForm} error={error} prefix="new-user" creating />
        <button type="submit" class="button" disabled={busy}>
          Create user
        </button>
      </form>
    </section>
  );
}

export function UserScreen({ id }: { id: string }) {
  const loaded = useLoad(() => get<User>(`/admin/users/${enc(id)}`), [id]);
  if (loaded.error !== undefined) {
    return (
      <section>
        <p class="crumbs">
          <a href={href(['users'])}>Users</a>
        </p>
        <h1>User</h1>
        <ErrorText error={loaded.error} />
      </section>
    );
  }
  if (!loaded.data) return <Loading what="the user" />;
  return <UserDetail key={loaded.data.id + loaded.data.created_at} user={loaded.data} reload={loaded.reload} />;
}

function UserDetail({ user, reload }: { user: User; reload: () => void }) {
  const [form, setForm] = useState(formOf(user));
  const [save, saving, saveError] = useAction(async () => {
    const body = bodyOf(form, formOf(user));
    if (Object.keys(body).length === 0) return 'Nothing changed.';
    await patch<User>(`/admin/users/${enc(user.id)}`, body);
    setForm({ ...form, password: '' });
    reload();
    return `Saved ${Object.keys(body).join(', ')}.`;
  });
  const [reset, resetting, resetError] = useAction(async () => {
    await post(`/admin/users/${enc(user.id)}/password-reset`);
    return `A password reset link was mailed to ${user.email}.`;
  });
  const mfa = user.mfa;
  const hasFactors = mfa !== undefined && (mfa.totp || mfa.passkeys > 0 || mfa.recovery_codes_left > 0);
  return (
    <section aria-labelledby="user-title">
      <p class="crumbs">
        <a href={href(['users'])}>Users</a>
      </p>
      <h1 id="user-title">{user.email}</h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd>
          <code>{user.id}</code>
        </dd>
        <dt>Password</dt>
        <dd>{user.has_password ? 'set' : 'none'}</dd>
        <dt>Created</dt>
        <dd>{when(user.created_at)}</dd>
        <dt>Audit</dt>
        <dd>
          <a href={href(['audit'], { subject: user.id })}>Events of this user</a>
        </dd>
      </dl>
      <h2>Profile and admin flag</h2>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <UserFields form={form} setForm={setForm} error={saveError} prefix="user" creating={false} />
        <button type="submit" class="button" disabled={saving}>
          Save changes
        </button>
      </form>
      <h2>Password reset</h2>
      <p class="hint">Mails {user.email} a link to choose a new password, as “Forgot password?” does.</p>
      <Button busy={resetting} onClick={() => void reset()}>
        Send a password reset
      </Button>
      <ErrorText error={resetError} />
      <h2>Second factors</h2>
      <p>
        {mfa === undefined
          ? 'Unknown.'
          : hasFactors
            ? `Authenticator app: ${mfa.totp ? 'yes' : 'no'}; passkeys: ${mfa.passkeys}; recovery codes left: ${mfa.recovery_codes_left}.`
            : 'None.'}
      </p>
      {hasFactors ? (
        <Confirm
          label="Remove second factors"
          question={`Remove every second factor and recovery code of ${user.email}?`}
          confirmLabel="Remove them"
          action={async () => {
            await del(`/admin/users/${enc(user.id)}/mfa`);
            reload();
            return `The second factors of ${user.email} were removed.`;
          }}
        />
      ) : null}
      <UserSessions user={user} />
      <UserBrowserSessions user={user} />
      <h2>Delete the user</h2>
      <Confirm
        label="Delete user"
        question={`Delete ${user.email} and their memberships? They are signed out everywhere.`}
        confirmLabel="Delete this user"
        action={async () => {
          await del(`/admin/users/${enc(user.id)}`);
          go(['users']);
          return `User ${user.email} deleted.`;
        }}
      />
    </section>
  );
}

interface UserSessionList {
  sessions: Session[];
  next_cursor: string | null;
}

function UserSessions({ user }: { user: User }) {
  const { cursor, pager } = usePaging([user.id]);
  const loaded = useLoad(() => get<UserSessionList>(`/admin/users/${enc(user.id)}/sessions`, { cursor, limit: 100 }), [user.id, cursor]);
  return (
    <>
      <h2>Sessions in projects</h2>
      <Listing loaded={{ ...loaded, data: loaded.data?.sessions }} what="sessions" empty="Not signed in to any project.">
        {(sessions) => (
          <>
            <SessionTable sessions={sessions} reload={loaded.reload} showProject />
            <Confirm
              label="End all sessions"
              question={`End every session of ${user.email} in every project?`}
              confirmLabel="End them all"
              action={async () => {
                await del(`/admin/users/${enc(user.id)}/sessions`);
                loaded.reload();
                return `Every session of ${user.email} ended.`;
              }}
            />
          </>
        )}
      </Listing>
      {pager(loaded.data?.next_cursor)}
    </>
  );
}

function UserBrowserSessions({ user }: { user: User }) {
  const loaded = useLoad(() => get<{ browser_sessions: BrowserSession[] }>(`/admin/users/${enc(user.id)}/browser-sessions`), [user.id]);
  return (
    <>
      <h2>Browser sessions</h2>
      <Listing loaded={{ ...loaded, data: loaded.data?.browser_sessions }} what="browser sessions" empty="Signed in in no browser.">
        {(sessions) => (
          <Table label="Browser sessions" head={['Started', 'Last used', 'Browser', 'Actions']}>
            {sessions.map((s) => (
              <tr key={s.id}>
                <td>{when(s.created_at)}</td>
                <td>{when(typeof s.last_used_at === 'string' ? s.last_used_at : undefined)}</td>
                <td>{typeof s.user_agent === 'string' ? s.user_agent : ''}</td>
                <td class="row-actions">
                  <Confirm
                    label="Sign out"
                    question="Sign this browser out?"
                    confirmLabel="Sign it out"
                    action={async () => {
                      await del(`/admin/browser-sessions/${enc(s.id)}`);
                      loaded.reload();
                      return 'Browser session ended.';
                    }}
                  />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
    </>
  );
}
