// gatehouse keys rotate | list
import type { KeySummary } from '../../crypto/keys.ts';
import { table, type Command } from '../command.ts';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function summary(key: KeySummary) {
  return {
    kid: key.kid,
    alg: key.alg,
    signing: key.signing,
    published: key.published,
    created_at: iso(key.created_at),
    retired_at: iso(key.retired_at),
    unpublish_at: iso(key.unpublish_at),
  };
}

export const keysRotate: Command = {
  name: 'keys rotate',
  summary: 'Make a new signing key. The old one stops signing but stays in the JWKS until every token it signed has expired.',
  usage: 'gatehouse keys rotate',
  details: 'Running servers start signing with the new key at their next key reload (GATEHOUSE_KEY_RELOAD_SECONDS, default 60),\nand verify its tokens at once.',
  async run({ config, out, services, audit }) {
    const kid = await services.keys.rotate();
    const keys = await services.keys.list();
    await audit('keys.rotated', { detail: { kid } });
    const retiring = keys.filter((k) => k.retired_at !== null && k.published);
    out.result(
      { kid, keys: keys.map(summary) },
      [
        `new signing key: ${kid}`,
        ...retiring.map((k) => `retired key ${k.kid} stays published until ${iso(k.unpublish_at)}`),
        `running servers sign with the new key after their next key reload (within ${config.keyReloadSeconds} s)`,
      ].join('\n'),
    );
  },
};

export const keysList: Command = {
  name: 'keys list',
  summary: 'List the signing keys: the one that signs, and retired ones with the time they leave the JWKS.',
  usage: 'gatehouse keys list',
  async run({ out, services }) {
    const keys = await services.keys.list();
    out.result(
      { keys: keys.map(summary) },
      table(
        ['KID', 'STATUS', 'CREATED', 'RETIRED', 'PUBLISHED UNTIL'],
        keys.map((k) => [
          k.kid,
          k.signing ? 'signing' : k.published ? 'retired, published' : 'retired',
          iso(k.created_at) ?? '',
          iso(k.retired_at) ?? '',
          k.signing ? '' : (iso(k.unpublish_at) ?? ''),
        ]),
      ),
    );
  },
};
