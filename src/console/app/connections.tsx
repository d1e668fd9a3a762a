// Connections: the upstream OpenID providers a project may offer ("Continue with …",
// docs/federation.md). Made with the provider's client secret, which is never shown back; the
// redirect URI to register at the provider is shown on each.
import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, patch, post, type Connection } from './api.ts';
import { fieldOfDetail } from './project-fields.ts';
import { go, href } from './router.ts';
import { Confirm, ErrorText, Listing, Loading, Table, TextField, useAction, useLoad } from './ui.tsx';

interface ConnectionForm extends Record<string, string> {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes: string;
}

const NAMES = ['id', 'name', 'issuer', 'client_id', 'client_secret', 'scopes'];
const DEFAULT_SCOPES = 'openid email profile';

function formOf(connection?: Connection): ConnectionForm {
  return { id: connection?.id ?? '', name: connection?.name ?? '', issuer: connection?.issuer ?? '', client_id: connection?.client_id ?? '', client_secret: '', scopes: connection?.scopes ?? DEFAULT_SCOPES };
}

/** What the form changes: on a new connection every field; on an existing one only those changed (an empty secret keeps the old). */
function bodyOf(form: ConnectionForm, existing?: Connection): Record<string, string> {
  const body: Record<string, string> = {};
  for (const name of NAMES) {
    const value = (form[name] ?? '').trim();
    if (existing) {
      if (name === 'id') continue;
      if (name === 'client_secret' ? value === '' : value === String(existing[name as keyof Connection])) continue;
    }
    body[name] = value;
  }
  return body;
}

function ConnectionFields({ form, setForm, error, prefix, existing }: { form: ConnectionForm; setForm: (f: ConnectionForm) => void; error: unknown; prefix: string; existing?: Connection }) {
  const culprit = error instanceof ApiError ? fieldOfDetail(error.detail, NAMES) : undefined;
  const common = { form, setForm, prefix, error, culprit };
  return (
    <>
      {existing ? null : <TextField {...common} name="id" label="Id" hint="3–64 letters, digits, _ or -; part of the redirect URI, so it cannot be changed later." />}
      <TextField {...common} name="name" label="Name" hint={'Shown on the sign-in page as "Continue with <name>".'} />
      <TextField {...common} name="issuer" label="Issuer" hint="The provider's issuer URL (https); its discovery document is fetched when saved." />
      <TextField {...common} name="client_id" label="Client id" hint="The client id the provider gave Gatehouse." />
      <TextField
        {...common}
        name="client_secret"
        label={existing ? 'New client secret (optional)' : 'Client secret'}
        hint={existing ? 'Empty keeps the current one, which is never shown.' : 'Kept encrypted when GATEHOUSE_SECRET_KEY is set; never shown again.'}
        secret
      />
      <TextField {...common} name="scopes" label="Scopes" hint="Space-separated; openid is needed." />
      {culprit === undefined ? <ErrorText error={error} /> : null}
    </>
  );
}

export function ConnectionsScreen() {
  const loaded = useLoad(() => get<{ connections: Connection[] }>('/admin/connections'), []);
  const [form, setForm] = useState(formOf());
  const [create, creating, error] = useAction(async () => {
    const connection = await post<Connection>('/admin/connections', bodyOf(form));
    setForm(formOf());
    go(['connections', connection.id]);
    return `Connection ${connection.name} created: register ${connection.redirect_uri} at the provider.`;
  });
  return (
    <section aria-labelledby="connections-title">
      <h1 id="connections-title">Connections</h1>
      <p>Upstream OpenID providers a project can offer on its sign-in page (the project's "Sign-in providers").</p>
      <Listing loaded={{ ...loaded, data: loaded.data?.connections }} what="connections" empty="No connections yet: add one below.">
        {(connections) => (
          <Table label="Connections" head={['Name', 'Id', 'Issuer', 'Redirect URI']}>
            {connections.map((c) => (
              <tr key={c.id}>
                <td>
                  <a href={href(['connections', c.id])}>{c.name}</a>
                </td>
                <td>{c.id}</td>
                <td>{c.issuer}</td>
                <td>{c.redirect_uri}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      <h2>New connection</h2>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <ConnectionFields form={form} setForm={setForm} error={error} prefix="new-connection" />
        <button type="submit" class="button" disabled={creating}>
          Create connection
        </button>
      </form>
    </section>
  );
}

export function ConnectionScreen({ id }: { id: string }) {
  const loaded = useLoad(() => get<Connection>(`/admin/connections/${enc(id)}`), [id]);
  if (loaded.error !== undefined) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="the connection" />;
  return <ConnectionDetail key={loaded.data.updated_at} connection={loaded.data} reload={loaded.reload} />;
}

function ConnectionDetail({ connection, reload }: { connection: Connection; reload: () => void }) {
  const [form, setForm] = useState(formOf(connection));
  const [save, saving, saveError] = useAction(async () => {
    const body = bodyOf(form, connection);
    if (Object.keys(body).length === 0) return 'Nothing to save: no field was changed.';
    await patch<Connection>(`/admin/connections/${enc(connection.id)}`, body);
    reload();
    return 'Connection saved.';
  });
  return (
    <section aria-labelledby="connection-title">
      <p class="crumbs">
        <a href={href(['connections'])}>Connections</a>
      </p>
      <h1 id="connection-title">Connection {connection.name}</h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd>{connection.id}</dd>
        <dt>Redirect URI</dt>
        <dd>
          <code>{connection.redirect_uri}</code> (register it at the provider)
        </dd>
      </dl>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <ConnectionFields form={form} setForm={setForm} error={saveError} prefix="connection" existing={connection} />
        <button type="submit" class="button" disabled={saving}>
          Save changes
        </button>
      </form>
      <h2>Delete the connection</h2>
      <Confirm
        label="Delete connection"
        question={`Delete ${connection.name}? People linked to it keep their accounts and other ways in; projects stop offering it.`}
        confirmLabel="Delete this connection"
        action={async () => {
          await del(`/admin/connections/${enc(connection.id)}`);
          go(['connections']);
          return 'Connection deleted.';
        }}
      />
    </section>
  );
}
