// The instance's PIN key (the HMAC key of every PIN hash), kept in the database so that every
// instance hashes alike: sealed under GATEHOUSE_SECRET_KEY when one is set (crypto/sealed.ts),
// so that a copy of the database alone is not enough to test PIN guesses offline.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/sealed.ts';
import { loadInstanceSecret, sealInstanceSecret } from '../storage/instance-secrets.ts';
import type { Database } from '../storage/schema.ts';

const PIN_KEY = 'pin_hmac_key';

/** The PIN key, made on first start (instances starting together keep the first one written). */
export async function loadPinKey(db: Kysely<Database>, clock: Clock, box: SecretBox): Promise<Buffer> {
  return loadInstanceSecret(db, clock, box, PIN_KEY, 'The PIN key (instance_secrets.pin_hmac_key)');
}

/** Seals the PIN key if it is stored in plain text (gatehouse keys encrypt); answers whether it did. */
export async function sealPinKey(db: Kysely<Database>, box: SecretBox): Promise<boolean> {
  return sealInstanceSecret(db, box, PIN_KEY);
}
