// The tokens mailed for an account (docs/accounts.md): a password reset, an email verification,
// an email change. 256 random bits handed out once in a mail; the `account_tokens` table keeps
// only their SHA-256, with the account, the address the account had when the link was mailed
// (a link works only while the account still has that address), and what using it does.
//
// Single use is one conditional UPDATE … RETURNING, on SQLite as on PostgreSQL: of many
// concurrent requests with one token exactly one gets the row.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Ids } from '../crypto/random.ts';
import { sha256 } from '../crypto/tokens.ts';
import type { AuthorizationRequest, StoredAuthorization } from '../oauth/authorization-request.ts';
import { storeAuthorization } from '../oauth/authorization-request.ts';
import type { AccountTokensTable, Database } from '../storage/schema.ts';
import { normalizeEmail } from './email.ts';
import type { User } from './users.ts';

export type AccountTokenPurpose = 'password_reset' | 'verify_email' | 'email_change';

export interface AccountToken {
  hash: string;
  purpose: AccountTokenPurpose;
  userId: string;
  /** email_change: the address the account switches to */
  newEmail: string | null;
  /** the authorization request a sign-in with the token finishes; null: the link only verifies */
  authorization: StoredAuthorization | null;
  createdAt: number;
}

interface NewAccountToken {
  purpose: AccountTokenPurpose;
  user: User;
  ttlMs: number;
  newEmail?: string;
  authorization?: AuthorizationRequest;
}

// ids.token() gives 43 characters; anything much longer is not one of ours and is not hashed.
const MAX_TOKEN_LENGTH = 128;

function hashOf(token: string | undefined): string | undefined {
  return token && token.length <= MAX_TOKEN_LENGTH ? sha256(token) : undefined;
}

// The account still has the address the link was mailed to: a link mailed before an email change
// must not verify, or reset the password of, the account under its new address.
const STILL_THE_ADDRESS = sql<boolean>`exists (select 1 from users where users.id = account_tokens.user_id and users.email_normalized = account_tokens.email)`;

function toToken(row: Selectable<AccountTokensTable>): AccountToken {
  return {
    hash: row.token_hash,
    purpose: row.purpose as AccountTokenPurpose,
    userId: row.user_id,
    newEmail: row.new_email,
    authorization: row.authorization === null ? null : (JSON.parse(row.authorization) as StoredAuthorization),
    createdAt: Number(row.created_at),
  };
}

export class AccountTokens {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
  ) {}

  /** Stores a new token; the token is to be mailed, never kept. */
  async issue(input: NewAccountToken): Promise<{ token: string; issued: AccountToken }> {
    const token = this.ids.token();
    const now = this.clock.now();
    const row = await this.db
      .insertInto('account_tokens')
      .values({
        token_hash: sha256(token),
        purpose: input.purpose,
        user_id: input.user.id,
        email: normalizeEmail(input.user.email),
        new_email: input.newEmail ?? null,
        authorization: input.authorization ? JSON.stringify(storeAuthorization(input.authorization)) : null,
        created_at: now,
        expires_at: now + input.ttlMs,
        used_at: null,
        ended_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { token, issued: toToken(row) };
  }

  /**
   * Ends the other unused tokens of the account and purpose, issued before `newest` or at the
   * same instant (a newer reset request ends the older links), as long as `newest` itself is
   * still live: of two requests racing, the one that ends first keeps its link and the other
   * ends nothing (on SQLite exactly so; on PostgreSQL two statements at the very same moment may
   * end each other's link, and the person asks again).
   */
  async endOlder(newest: AccountToken): Promise<void> {
    await this.db
      .updateTable('account_tokens')
      .set({ ended_at: this.clock.now() })
      .where('user_id', '=', newest.userId)
      .where('purpose', '=', newest.purpose)
      .where('token_hash', '!=', newest.hash)
      .where('used_at', 'is', null)
      .where('ended_at', 'is', null)
      .where('created_at', '<=', newest.createdAt)
      .where(sql<boolean>`exists (select 1 from account_tokens newest where newest.token_hash = ${newest.hash} and newest.ended_at is null)`)
      .execute();
  }

  /** Sends the mail of a token just issued; a failed send withdraws the token (deletes it) and throws. */
  async mail(issued: AccountToken, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (error) {
      await this.db.deleteFrom('account_tokens').where('token_hash', '=', issued.hash).execute().catch(() => {});
      throw error;
    }
  }

  /** A live token of one of these purposes, without using it up (mail scanners open links). */
  async peek(token: string | undefined, purposes: readonly AccountTokenPurpose[]): Promise<AccountToken | undefined> {
    const hash = hashOf(token);
    if (hash === undefined) return undefined;
    const row = await this.db
      .selectFrom('account_tokens')
      .selectAll()
      .where('token_hash', '=', hash)
      .where('purpose', 'in', purposes)
      .where('used_at', 'is', null)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .where(STILL_THE_ADDRESS)
      .executeTakeFirst();
    return row && toToken(row);
  }

  /** Uses a live token up: of many concurrent callers exactly one gets it. */
  async take(token: string | undefined, purposes: readonly AccountTokenPurpose[]): Promise<AccountToken | undefined> {
    const hash = hashOf(token);
    if (hash === undefined) return undefined;
    const now = this.clock.now();
    const row = await this.db
      .updateTable('account_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', hash)
      .where('purpose', 'in', purposes)
      .where('used_at', 'is', null)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', now)
      .where(STILL_THE_ADDRESS)
      .returningAll()
      .executeTakeFirst();
    return row && toToken(row);
  }

  /**
   * Makes a taken token usable again: the request that took it failed for an outage, and a 503
   * must not use up a link (as for magic links, docs/decisions/0042-a-503-keeps-the-link.md).
   */
  async giveBack(token: AccountToken): Promise<void> {
    await this.db.updateTable('account_tokens').set({ used_at: null }).where('token_hash', '=', token.hash).execute();
  }
}
