// Large deletes in slices: each statement removes at most PURGE_BATCH rows, and the event loop
// gets a turn between statements. On PostgreSQL that keeps the write locks short; on SQLite,
// whose statements run on the event loop, it is what lets requests be answered during a purge
// of hundreds of thousands of rows (every refresh-token rotation leaves one behind).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Rows deleted per statement. On SQLite, deleting refresh tokens from a table of 200,000 took
 * a median 78 ms per statement of 5,000 rows, 38 ms per 2,000 and 17 ms per 1,000: one
 * statement is as long as a request may wait behind it.
 */
export const PURGE_BATCH = 1000;

/**
 * Runs `deleteSome(limit)` until it deletes fewer than `limit` rows, yielding to the event loop
 * (a macrotask, so that waiting I/O is served) between runs. Answers the rows deleted in all.
 */
async function deleteInBatches(deleteSome: (limit: number) => Promise<number>, limit = PURGE_BATCH): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await deleteSome(limit);
    deleted += n;
    if (n < limit) return deleted;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Deletes a table's rows matching `condition`, PURGE_BATCH at a time, by their key. */
export function purgeRows<T extends keyof Database>(db: Kysely<Database>, table: T, key: keyof Database[T] & string, condition: RawBuilder<unknown>): Promise<number> {
  return deleteInBatches(async (limit) => {
    const result = await sql`delete from ${sql.table(table)} where ${sql.ref(key)} in (select ${sql.ref(key)} from ${sql.table(table)} where ${condition} limit ${limit})`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  });
}
