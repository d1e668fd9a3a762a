// Secrets of the instance kept in the database (instance_secrets), so that every instance uses
// the same: made on the first start, sealed under GATEHOUSE_SECRET_KEY when one is set
// (crypto/sealed.ts), so that a copy of the database alone does not give them away. The PIN key
// (pins/pin-key.ts) and the key of the sealed session ids (sessions/sid-key.ts) are kept this way.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { isSealed, type SecretBox } from '../crypto/sealed.ts';
import type { Database } from './schema.ts';

/** The row's identity, bound into its ciphertext. */
function rowOf(name: string): string {
  return `instance_secrets:${name}`;
}

/**
 * The 256-bit secret `name`, made on first start (instances starting together keep the first one
 * written). `what` names it in the message that stops a start without the key, or with another.
 */
export async function loadInstanceSecret(db: Kysely<Database>, clock: Clock, box: SecretBox, name: string, what: string): Promise<Buffer> {
  await db
    .insertInto('instance_secrets')
    .values({ name, value: box.seal(randomBytes(32).toString('base64url'), rowOf(name)), created_at: clock.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('instance_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return Buffer.from(box.open(row.value, rowOf(name), what), 'base64url');
}

/** Seals the secret `name` if it is stored in plain text (gatehouse keys encrypt); answers whether it did. */
export async function sealInstanceSecret(db: Kysely<Database>, box: SecretBox, name: string): Promise<boolean> {
  const row = await db.selectFrom('instance_secrets').select('value').where('name', '=', name).executeTakeFirst();
  if (!row) return false;
  if (isSealed(row.value) || !box.sealing) return false;
  const sealed = box.seal(row.value, rowOf(name));
  // Only the value read is replaced: a concurrent change is not overwritten.
  const result = await db.updateTable('instance_secrets').set({ value: sealed }).where('name', '=', name).where('value', '=', row.value).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
