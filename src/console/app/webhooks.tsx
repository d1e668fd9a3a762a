// Webhooks: the receivers of audit events; created with a secret shown once, edited, tested, their deliveries listed.
import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, patch, post, type Delivery, type Webhook } from './api.ts';
import { fieldOfDetail } from './project-fields.ts';
import { go, href } from './router.ts';
import { Button, Confirm, ErrorText, Listing, Loading, SecretOnce, Table, TextField, useAction, useLoad, when } from './ui.tsx';

interface WebhookForm extends Record<string, string> {
  url: string;
  events: string;
  project: string;
  description: string;
}

const NAMES = ['url', 'events', 'project', 'description'];

function formOf(webhook?: Webhook): WebhookForm {
  return { url: webhook?.url ?? '', events: (webhook?.events ?? ['*']).join('\n'), project: webhook?.project ?? '', description: webhook?.description ?? '' };
}

function bodyOf(form: WebhookForm): Record<string, unknown> {
  return {
    url: form.url.trim(),
    events: form.events.split(/[\n,]/).map((e) => e.trim()).filter(Boolean),
    project: form.project.trim() === '' ? null : form.project.trim(),
    description: form.description.trim() === '' ? null : form.description.trim(),
  };
}

function WebhookFields({ form, setForm, error, prefix }: { form: WebhookForm; setForm: (f: WebhookForm) => void; error: unknown; prefix: string }) {
  const culprit = error instanceof ApiError ? (error.error === 'Not found' ? 'project' : fieldOfDetail(error.detail, NAMES)) : undefined;
  const common = { form, setForm, prefix, error, culprit };
  return (
    <>
      <TextField {...common} name="url" label="URL" hint="https, or http on localhost." />
      <TextField {...common} name="events" label="Events" hint="Audit event types, one per line; * for every event." lines />
      <TextField {...common} name="project" label="Project id (optional)" hint="Only the events of this project; empty for all." />
      <TextField {...common} name="description" label="Description (optional)" />
      {culprit === undefined ? <ErrorText error={error} /> : null}
    </>
  );
}

export function WebhooksScreen() {
  const loaded = useLoad(() => get<{ webhooks: Webhook[] }>('/admin/webhooks'), []);
  const [form, setForm] = useState(formOf());
  const [created, setCreated] = useState<Webhook & { secret: string }>();
  const [create, creating, error] = useAction(async () => {
    const webhook = await post<Webhook & { secret: string }>('/admin/webhooks', bodyOf(form));
    setCreated(webhook);
    setForm(formOf());
    loaded.reload();
    return `Webhook for ${webhook.url} created.`;
  });
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <Listing loaded={{ ...loaded, data: loaded.data?.webhooks }} what="webhooks" empty="No webhooks yet: add one below.">
        {(webhooks) => (
          <Table label="Webhooks" head={['URL', 'Events', 'Project', 'Description']}>
            {webhooks.map((w) => (
              <tr key={w.id}>
                <td>
                  <a href={href(['webhooks', w.id])}>{w.url}</a>
                </td>
                <td>{w.events.join(', ')}</td>
                <td>{w.project ?? 'all'}</td>
                <td>{w.description ?? ''}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      <h2>New webhook</h2>
      {created ? <SecretOnce label="Signing secret" value={created.secret} onDone={() => setCreated(undefined)} /> : null}
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <WebhookFields form={form} setForm={setForm} error={error} prefix="new-webhook" />
        <button type="submit" class="button" disabled={creating}>
          Create webhook
        </button>
      </form>
    </section>
  );
}

export function WebhookScreen({ id }: { id: string }) {
  const loaded = useLoad(() => get<Webhook>(`/admin/webhooks/${enc(id)}`), [id]);
  if (loaded.error !== undefined) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="the webhook" />;
  return <WebhookDetail key={loaded.data.updated_at} webhook={loaded.data} reload={loaded.reload} />;
}

function WebhookDetail({ webhook, reload }: { webhook: Webhook; reload: () => void }) {
  const [form, setForm] = useState(formOf(webhook));
  const [secret, setSecret] = useState<string>();
  const deliveries = useLoad(() => get<{ deliveries: Delivery[] }>(`/admin/webhooks/${enc(webhook.id)}/deliveries`), [webhook.id]);
  const [save, saving, saveError] = useAction(async () => {
    await patch<Webhook>(`/admin/webhooks/${enc(webhook.id)}`, bodyOf(form));
    reload();
    return 'Webhook saved.';
  });
  const [test, testing, testError] = useAction(async () => {
    const answer = await post<{ delivered: boolean; status: number | null; error: string | null }>(`/admin/webhooks/${enc(webhook.id)}/test`);
    deliveries.reload();
    return answer.delivered ? `Test event delivered (HTTP ${answer.status ?? ''}).` : `Test event not delivered: ${answer.error ?? `HTTP ${answer.status ?? ''}`}.`;
  });
  return (
    <section aria-labelledby="webhook-title">
      <p class="crumbs">
        <a href={href(['webhooks'])}>Webhooks</a>
      </p>
      <h1 id="webhook-title">Webhook {webhook.url}</h1>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <WebhookFields form={form} setForm={setForm} error={saveError} prefix="webhook" />
        <button type="submit" class="button" disabled={saving}>
          Save changes
        </button>
      </form>
      <h2>Test</h2>
      <Button busy={testing} onClick={() => void test()}>
        Send a test event
      </Button>
      <ErrorText error={testError} />
      <h2>Signing secret</h2>
      {secret !== undefined ? (
        <SecretOnce label="Signing secret" value={secret} onDone={() => setSecret(undefined)} />
      ) : (
        <Confirm
          label="Issue a new signing secret"
          question="Issue a new secret? Deliveries are signed with it from now on."
          confirmLabel="Issue the secret"
          action={async () => {
            setSecret((await post<{ secret: string }>(`/admin/webhooks/${enc(webhook.id)}/secret`)).secret);
            return 'A new signing secret was issued.';
          }}
        />
      )}
      <h2>Latest deliveries</h2>
      <Listing loaded={{ ...deliveries, data: deliveries.data?.deliveries }} what="deliveries" empty="Nothing delivered yet.">
        {(list) => (
          <Table label="Deliveries" head={['Created', 'Event', 'State', 'Attempts', 'Last answer']}>
            {list.map((d) => (
              <tr key={d.id}>
                <td>{when(d.created_at)}</td>
                <td>{d.event_type}</td>
                <td>{d.status}</td>
                <td>{d.attempt}</td>
                <td>{d.last_error ?? (d.last_status !== null ? `HTTP ${d.last_status}` : '')}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
      <h2>Delete the webhook</h2>
      <Confirm
        label="Delete webhook"
        question={`Delete the webhook for ${webhook.url} and its deliveries?`}
        confirmLabel="Delete this webhook"
        action={async () => {
          await del(`/admin/webhooks/${enc(webhook.id)}`);
          go(['webhooks']);
          return 'Webhook deleted.';
        }}
      />
    </section>
  );
}
