// /admin/keys: the signing keys (never their private parts) and their rotation.
import type { KeySummary } from '../crypto/keys.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { RotateKeysBody } from './schemas.ts';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** What the admin API shows of a key: its kid, algorithm, state and times, nothing private. */
export function keyAnswer(key: KeySummary) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: iso(key.created_at),
    signs_from: iso(key.signs_from),
    published_until: iso(key.unpublish_at),
  };
}

export function registerKeyRoutes(server: AdminServer, context: AdminContext): void {
  const { keys, config } = context.services;

  server.get('/admin/keys', async () => ({ keys: (await keys.list()).map(keyAnswer) }));

  const rotateOptions = {
    schema: { body: RotateKeysBody },
    // No body is the same as {}: a pre-published rotation.
    preValidation: async (request: { body: unknown }) => {
      request.body ??= {};
    },
  };
  server.post('/admin/keys/rotate', rotateOptions, async (request) => {
    const immediately = request.body?.immediately === true;
    const rotated = await keys.rotate(immediately ? { withdraw: true } : { signsInMs: config.keyPrepublishSeconds * 1000 });
    const kids = { ES256: rotated.ES256, RS256: rotated.RS256 };
    await context.recordChange(request, 'keys.rotated', { detail: { kids, immediately, signs_from: iso(rotated.signs_from) } });
    if (immediately) await context.recordChange(request, 'keys.withdrawn', { detail: { kids: rotated.withdrawn } });
    return { kids, signs_from: iso(rotated.signs_from), withdrawn: rotated.withdrawn, keys: (await keys.list()).map(keyAnswer) };
  });
}
