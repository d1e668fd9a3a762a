// Rows that can no longer mean anything are deleted now and then, so tables do not grow
// without bound: every rotation leaves a spent refresh token behind, and codes or magic links
// that nobody redeemed stay in the kv table.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database } from './schema.ts';

export interface PurgedRows {
  refreshTokens: number;
  sessions: number;
  kv: number;
}

/**
 * A refresh token past its expiry is refused whatever its state, so it goes (a replay of it
 * then answers "Invalid refresh token" instead of ending its session, which has expired or
 * moved on to newer tokens). A session goes once it and all its tokens have expired.
 */
export async function purgeExpiredState(db: Kysely<Database>, clock: Clock): Promise<PurgedRows> {
  const now = clock.now();
  const refreshTokens = await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst();
  const sessions = await db
    .deleteFrom('sessions')
    .where('expires_at', '<', now)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('refresh_tokens').select('token_hash').whereRef('refresh_tokens.session_id', '=', 'sessions.id'))))
    .executeTakeFirst();
  const kv = await db.deleteFrom('kv').where('expires_at', '<=', now).executeTakeFirst();
  return {
    refreshTokens: Number(refreshTokens.numDeletedRows),
    sessions: Number(sessions.numDeletedRows),
    kv: Number(kv.numDeletedRows),
  };
}
