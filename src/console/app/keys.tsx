// Signing keys: every stored key with its state, and a rotation (pre-published, or at once for a leaked key).
import { get, post, type SigningKey } from './api.ts';
import { Confirm, Listing, Table, useLoad, when } from './ui.tsx';

export function KeysScreen() {
  const loaded = useLoad(() => get<{ keys: SigningKey[] }>('/admin/keys'), []);
  const rotate = (immediately: boolean) => async () => {
    const answer = await post<{ kids: Record<string, string>; signs_from: string }>('/admin/keys/rotate', immediately ? { immediately: true } : {});
    loaded.reload();
    return `New keys ${Object.values(answer.kids).join(', ')} sign from ${when(answer.signs_from)}.`;
  };
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">Signing keys</h1>
      <p class="hint">A rotation adds a next key of each algorithm, published at once and signing after the pre-publication time; the keys that signed stay published until their tokens expire.</p>
      <div class="actions">
        <Confirm label="Rotate keys" question="Rotate the signing keys? The new keys start signing after the pre-publication time." confirmLabel="Rotate" action={rotate(false)} />
        <Confirm
          label="Rotate immediately (leaked key)"
          question="Rotate now and withdraw the keys that signed? Every token they signed stops verifying at once."
          confirmLabel="Rotate and withdraw"
          action={rotate(true)}
        />
      </div>
      <Listing loaded={{ ...loaded, data: loaded.data?.keys }} what="signing keys" empty="No signing keys.">
        {(keys) => (
          <Table label="Signing keys" head={['Key id', 'Algorithm', 'State', 'Created', 'Signs from', 'Published until']}>
            {keys.map((k) => (
              <tr key={k.kid}>
                <td>
                  <code>{k.kid}</code>
                </td>
                <td>{k.alg}</td>
                <td>{k.state}</td>
                <td>{when(k.created_at)}</td>
                <td>{when(k.signs_from)}</td>
                <td>{when(k.published_until)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Listing>
    </section>
  );
}
