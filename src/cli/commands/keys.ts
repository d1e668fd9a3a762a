// gatehouse keys rotate | list | encrypt
import type { KeySummary } from '../../crypto/keys.ts';
import { sealPinKey } from '../../pins/pin-key.ts';
import { sealSidKey } from '../../sessions/sid-key.ts';
import { CommandFailed, flag, table, type Command } from '../command.ts';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function summary(key: KeySummary) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    signs_from: iso(key.signs_from),
    signing: key.signing,
    published: key.published,
    created_at: iso(key.created_at),
    retired_at: iso(key.retired_at),
    unpublish_at: iso(key.unpublish_at),
  };
}

export const keysRotate: Command = {
  name: 'keys rotate',
  routes: ['POST /admin/keys/rotate'],
  summary:
    'Add a next signing key of each algorithm, in the JWKS at once, signing after GATEHOUSE_KEY_PREPUBLISH_SECONDS; the old ones stay published until every token they signed has expired.',
  usage: 'gatehouse keys rotate [--immediately]',
  details: [
    'Options:',
    '  --immediately   for a leaked key: the new keys sign at once and the old ones leave the JWKS at once (their tokens stop',
    '                  verifying; other running servers drop them at their next key reload, GATEHOUSE_KEY_RELOAD_SECONDS)',
  ].join('\n'),
  options: { immediately: { type: 'boolean' } },
  async run({ config, values, out, services, audit }) {
    const immediately = flag(values, 'immediately');
    const rotated = await services.keys.rotate(immediately ? { withdraw: true } : { signsInMs: config.keyPrepublishSeconds * 1000 });
    const kid = rotated.ES256;
    const kids = { ES256: rotated.ES256, RS256: rotated.RS256 };
    const keys = await services.keys.list();
    await audit('keys.rotated', { detail: { kids, immediately, signs_from: iso(rotated.signs_from) } });
    if (immediately) await audit('keys.withdrawn', { detail: { kids: rotated.withdrawn } });
    const retiring = keys.filter((k) => k.retired_at !== null && k.published);
    out.result(
      { kid, kids, signs_from: iso(rotated.signs_from), withdrawn: rotated.withdrawn, keys: keys.map(summary) },
      [
        `new signing keys: ${kid} (ES256), ${kids.RS256} (RS256), published now, signing from ${iso(rotated.signs_from)}`,
        ...(immediately ? [`withdrawn at once: ${rotated.withdrawn.join(', ') || '(none)'}`] : []),
        ...retiring.map((k) => `retired key ${k.kid} stays published until ${iso(k.unpublish_at)}`),
        `running servers load the new keys within ${config.keyReloadSeconds} s`,
      ].join('\n'),
    );
  },
};

export const keysList: Command = {
  name: 'keys list',
  routes: ['GET /admin/keys'],
  summary: 'List the signing keys: the one that signs, and retired ones with the time they leave the JWKS.',
  usage: 'gatehouse keys list',
  async run({ out, services }) {
    const keys = await services.keys.list();
    out.result(
      { keys: keys.map(summary) },
      table(
        ['KID', 'ALG', 'STATUS', 'CREATED', 'RETIRED', 'PUBLISHED UNTIL'],
        keys.map((k) => [
          k.kid,
          k.alg,
          k.state === 'next' ? `next, signs from ${iso(k.signs_from) ?? ''}` : k.signing ? 'signing' : k.published ? 'retired, published' : 'retired',
          iso(k.created_at) ?? '',
          iso(k.retired_at) ?? '',
          k.signing ? '' : (iso(k.unpublish_at) ?? ''),
        ]),
      ),
    );
  },
};

export const keysEncrypt: Command = {
  name: 'keys encrypt',
  summary:
    'Encrypt the private signing keys, the PIN key and the session id key stored in plain text with GATEHOUSE_SECRET_KEY (AES-256-GCM). Safe to run again.',
  usage: 'gatehouse keys encrypt',
  details: [
    'Needs GATEHOUSE_SECRET_KEY in the environment (32+ random bytes in base64: openssl rand -base64 32).',
    'Rows written since GATEHOUSE_SECRET_KEY was set are encrypted already; this converts the older ones.',
    'From then on every instance must start with the same GATEHOUSE_SECRET_KEY: without it, or with another, the start stops.',
  ].join('\n'),
  async run({ config, out, services, audit }) {
    if (!config.secretKey) throw new CommandFailed('GATEHOUSE_SECRET_KEY is not set: set it (openssl rand -base64 32) and run this again');
    const signingKeys = await services.keys.sealStored();
    const pinKey = config.pinSecret === undefined && (await sealPinKey(services.database.db, services.secretBox));
    const sidKey = await sealSidKey(services.database.db, services.secretBox);
    if (signingKeys > 0 || pinKey || sidKey) {
      await audit('keys.encrypted', { detail: { signing_keys: signingKeys, pin_key: pinKey, session_id_key: sidKey } });
    }
    const also = [pinKey ? 'the PIN key' : '', sidKey ? 'the session id key' : ''].filter((part) => part !== '');
    out.result(
      { signing_keys_encrypted: signingKeys, pin_key_encrypted: pinKey, session_id_key_encrypted: sidKey },
      signingKeys === 0 && !pinKey && !sidKey
        ? 'nothing to encrypt: every stored secret is encrypted already'
        : `encrypted ${signingKeys} signing key(s)${also.length > 0 ? ` and ${also.join(' and ')}` : ''}`,
    );
  },
};
