// A person's passkeys (mfa.md): read, named and used here; added and removed through SecondFactors,
// which keeps the rule that the recovery codes come with the first factor and go with the last.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';

/** What a person calls a passkey ("Phone", "Work laptop"): shown on the account page. */
export const MAX_PASSKEY_NAME_LENGTH = 64;

export interface Passkey {
  /** the credential id, base64url */
  id: string;
  userId: string;
  /** the COSE public key, base64url */
  publicKey: string;
  signCount: number;
  transports: string[];
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A name as typed: trimmed, control characters refused (undefined), at most MAX_PASSKEY_NAME_LENGTH. */
export function passkeyName(typed: string | undefined): string | undefined {
  const name = (typed ?? '').trim();
  // eslint-disable-next-line no-control-regex
  if (name === '' || name.length > MAX_PASSKEY_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) return undefined;
  return name;
}

function parseTransports(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

type PasskeyRow = Database['passkeys'];

function fromRow(row: PasskeyRow): Passkey {
  return {
    id: row.id,
    userId: row.user_id,
    publicKey: row.public_key,
    signCount: Number(row.sign_count),
    transports: parseTransports(row.transports),
    name: row.name,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

export class Passkeys {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  /** The person's passkeys, oldest first. */
  async listForUser(userId: string): Promise<Passkey[]> {
    const rows = await this.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
    return rows.map(fromRow);
  }

  async find(credentialId: string): Promise<Passkey | undefined> {
    const row = await this.db.selectFrom('passkeys').selectAll().where('id', '=', credentialId).executeTakeFirst();
    return row && fromRow(row);
  }

  /** Renames one passkey of the person's; answers whether it was theirs. */
  async rename(userId: string, credentialId: string, name: string): Promise<boolean> {
    const result = await this.db.updateTable('passkeys').set({ name }).where('id', '=', credentialId).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * A verified use: the new sign count is stored only over the count the verification read, so of
   * two uses racing with the same counter one is refused (a cloned authenticator, WebAuthn §6.1.1).
   */
  async recordUse(passkey: Passkey, newSignCount: number): Promise<boolean> {
    const result = await this.db
      .updateTable('passkeys')
      .set({ sign_count: newSignCount, last_used_at: this.clock.now() })
      .where('id', '=', passkey.id)
      .where('sign_count', '=', passkey.signCount)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
