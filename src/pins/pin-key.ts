// The instance's PIN key (the HMAC key of every PIN hash), kept in the database so that every
// instance hashes alike: sealed under GATEHOUSE_SECRET_KEY when one is set (crypto/sealed.ts),
// so that a copy of the database alone is not enough to test PIN guesses offline.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { isSealed, type SecretBox } from '../crypto/sealed.ts';
import type { Database } from '../storage/schema.ts';

const PIN_KEY = 'pin_hmac_key';
/** The row's identity, bound into its ciphertext. */
const PIN_KEY_ROW = `instance_secrets:${PIN_KEY}`;

/** The PIN key, made on first start (instances starting together keep the first one written). */
export async function loadPinKey(db: Kysely<Database>, clock: Clock, box: SecretBox): Promise<Buffer> {
  await db
    .insertInto('instance_secrets')
    .values({ name: PIN_KEY, value: box.seal(randomBytes(32).toString('base64url'), PIN_KEY_ROW), created_at: clock.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('instance_secrets').select('value').where('name', '=', PIN_KEY).executeTakeFirstOrThrow();
  return Buffer.from(box.open(row.value, PIN_KEY_ROW, 'The PIN key (instance_secrets.pin_hmac_key)'), 'base64url');
}

/** Seals the PIN key if it is stored in plain text (gatehouse keys encrypt); answers whether it did. */
export async function sealPinKey(db: Kysely<Database>, box: SecretBox): Promise<boolean> {
  const row = await db.selectFrom('instance_secrets').select('value').where('name', '=', PIN_KEY).executeTakeFirst();
  if (!row) return false;
  if (isSealed(row.value) || !box.sealing) return false;
  const sealed = box.seal(row.value, PIN_KEY_ROW);
  // Only the value read is replaced: a concurrent change is not overwritten.
  const result = await db.updateTable('instance_secrets').set({ value: sealed }).where('name', '=', PIN_KEY).where('value', '=', row.value).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
