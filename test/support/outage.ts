// A real outage of the database for one request, made from another connection (see
// test/magic-link-outage.test.ts): the request's statements wait past GATEHOUSE_STORE_TIMEOUT_MS.
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import type { TestApp } from './app.ts';

/**
 * Holds the database from another connection, from the moment the request under test first
 * reads the clock until released. On PostgreSQL `pgTable` (the users table unless named) is
 * locked before the request (a magic link itself is in Redis). On SQLite the link is in the same file, and a lock taken before
 * the request would stop the link being taken at all; so the lock is taken when the request
 * first reads the injected clock, which it does once it has read the link and before it writes
 * anything (better-sqlite3 is synchronous, so the lock is held from that instant).
 */
export async function holdDatabaseDuringRequest(app: TestApp, pgTable = 'users'): Promise<() => Promise<void>> {
  const url = app.config.databaseUrl;
  if (url.startsWith('sqlite:')) {
    const other = new Sqlite(url.slice('sqlite:'.length));
    const clock = app.clock;
    const now = clock.now.bind(clock);
    let locked = false;
    clock.now = () => {
      if (!locked) {
        other.exec('begin immediate');
        locked = true;
      }
      return now();
    };
    return async () => {
      clock.now = now;
      if (locked) other.exec('rollback');
      other.close();
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  await client.query(`lock table ${pgTable} in access exclusive mode`);
  return async () => {
    await client.query('rollback');
    await client.end();
  };
}

