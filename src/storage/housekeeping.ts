// Rows that can no longer mean anything are deleted now and then, so tables do not grow
// without bound: every rotation leaves a spent refresh token behind, and codes or magic links
// that nobody redeemed stay in the kv table.
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { purgeRows } from './batches.ts';
import type { Database } from './schema.ts';

interface PurgedRows {
  refreshTokens: number;
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
    sessions: await purgeRows(db, 'sessions', 'id', sql`expires_at < ${now}`),
    kv: await purgeRows(db, 'kv', 'key', sql`expires_at <= ${now}`),
    // a mailed account token past its expiry can do nothing any more, used or not
    accountTokens: await purgeRows(db, 'account_tokens', 'token_hash', sql`expires_at <= ${now}`),
  };
}

