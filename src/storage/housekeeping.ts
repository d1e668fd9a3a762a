// Rows that can no longer mean anything are deleted now and then, so tables do not grow
// without bound: every rotation leaves a spent refresh token behind, and codes or magic links
// that nobody redeemed stay in the kv table.
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { purgeRows, PURGE_BATCH } from './batches.ts';
import type { Database } from './schema.ts';

interface PurgedRows {
  refreshTokens: number;
  /** spent refresh tokens that reuse detection no longer needs (purgeSpentTokens) */
  spentTokens: number;
  sessions: number;
  kv: number;
  accountTokens: number;
}

/**
 * A refresh token past its expiry is refused whatever its state, so it goes (a replay of it
 * then answers "Invalid refresh token" instead of ending its session, which has expired or
 * moved on to newer tokens). A session goes once it has expired: its unspent refresh token
 * expires with it (a session's expiry is set with each token it is given). A spent token can
 * outlive its session only when the project's refresh lifetime was shortened; with the session
 * gone it answers "Invalid refresh token", as a spent token does anyway, and it goes at its own
 * expiry.
 */
export async function purgeExpiredState(db: Kysely<Database>, clock: Clock): Promise<PurgedRows> {
  const now = clock.now();
  return {
    refreshTokens: await purgeRows(db, 'refresh_tokens', 'token_hash', sql`expires_at < ${now}`),
    spentTokens: await purgeSpentTokens(db, clock),
    sessions: await purgeRows(db, 'sessions', 'id', sql`expires_at < ${now}`),
    kv: await purgeRows(db, 'kv', 'key', sql`expires_at <= ${now}`),
    // a mailed account token past its expiry can do nothing any more, used or not
    accountTokens: await purgeRows(db, 'account_tokens', 'token_hash', sql`expires_at <= ${now}`),
  };
}


/**
 * How long a spent refresh token is kept after it was spent, unless it is the latest spent token
 * of its chain (docs/decisions/0112-spent-refresh-tokens-kept-for-an-hour.md).
 */
export const SPENT_TOKEN_WINDOW_MS = 60 * 60 * 1000;

/**
 * Deletes the spent refresh tokens that reuse detection no longer needs: spent more than
 * SPENT_TOKEN_WINDOW_MS ago, and not the latest spent token of their chain (a token whose
 * successor is still unspent is kept until its own expiry: presenting it is the replay that
 * matters, by a thief after the client or by the client after a thief). A session so keeps its
 * unspent token, its latest spent one and those spent within the window, however often it
 * refreshes. Tokens spent before migration 0019 name no successor and go at their own expiry.
 *
 * Spent tokens are not indexed by when they were spent (an index more to write at every
 * rotation): the table is walked in key order, PURGE_BATCH keys per slice, with a turn of the
 * event loop between slices. The table holds a few rows per session, so the walk is short.
 */
export async function purgeSpentTokens(db: Kysely<Database>, clock: Clock): Promise<number> {
  const cut = clock.now() - SPENT_TOKEN_WINDOW_MS;
  let after = '';
  let deleted = 0;
  for (;;) {
    const edge = await db.selectFrom('refresh_tokens').select('token_hash').where('token_hash', '>', after).orderBy('token_hash').limit(1).offset(PURGE_BATCH - 1).executeTakeFirst();
    const upto = edge?.token_hash;
    const result = await sql`delete from refresh_tokens where token_hash in (
        select r.token_hash from refresh_tokens r
        where r.token_hash > ${after} ${upto === undefined ? sql`` : sql`and r.token_hash <= ${upto}`}
          and r.used_at < ${cut} and r.successor_hash is not null
          and not exists (select 1 from refresh_tokens s where s.token_hash = r.successor_hash and s.used_at is null))`.execute(db);
    deleted += Number(result.numAffectedRows ?? 0n);
    if (upto === undefined) return deleted;
    after = upto;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
