// Short-lived state (authorization codes, magic-link tokens): a table in the SQL database,
// or Redis when configured. Single use is one atomic operation in both.
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { param, prepare } from './prepared.ts';
import type { Database } from './schema.ts';

export interface KeyValueStore {
  put(key: string, value: string, ttlMs: number): Promise<void>;
  /** the value if present and unexpired, without consuming it */
  get(key: string): Promise<string | null>;
  /** atomically read and delete: of many concurrent callers, at most one gets the value */
  take(key: string): Promise<string | null>;
}

export class SqlKeyValueStore implements KeyValueStore {
  // Prepared once: a code's issue, exchange and replay record are three of these per sign-in.
  private readonly queries;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {
    const key = param<string>('key');
    this.queries = {
      put: prepare<{ key: string; value: string; expiresAt: number }, never>(
        db
          .insertInto('kv')
          .values({ key, value: param('value'), expires_at: param('expiresAt') })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: param('value'), expires_at: param('expiresAt') })),
      ),
      get: prepare<{ key: string }, { value: string; expires_at: number }>(db.selectFrom('kv').select(['value', 'expires_at']).where('key', '=', key)),
      // DELETE ... RETURNING is a single statement: only one caller can delete the row.
      take: prepare<{ key: string }, { value: string; expires_at: number }>(db.deleteFrom('kv').where('key', '=', key).returning(['value', 'expires_at'])),
    };
  }

  async put(key: string, value: string, ttlMs: number): Promise<void> {
    await this.queries.put.execute(this.db, { key, value, expiresAt: this.clock.now() + ttlMs });
  }

  async get(key: string): Promise<string | null> {
    const row = await this.queries.get.first(this.db, { key });
    return row && row.expires_at > this.clock.now() ? row.value : null;
  }

  async take(key: string): Promise<string | null> {
    const row = await this.queries.take.first(this.db, { key });
    return row && row.expires_at > this.clock.now() ? row.value : null;
  }
}

export class RedisKeyValueStore implements KeyValueStore {
  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly prefix = 'gatehouse:',
  ) {}

  // The expiry also travels inside the value so that an injected clock governs it, as in SQL;
  // Redis's own TTL only reclaims the memory.
  async put(key: string, value: string, ttlMs: number): Promise<void> {
    const payload = JSON.stringify({ v: value, e: this.clock.now() + ttlMs });
    await this.redis.set(this.prefix + key, payload, 'PX', Math.max(1, ttlMs));
  }

  async get(key: string): Promise<string | null> {
    return this.unwrap(await this.redis.get(this.prefix + key));
  }

  async take(key: string): Promise<string | null> {
    return this.unwrap(await this.redis.getdel(this.prefix + key));
  }

  private unwrap(payload: string | null): string | null {
    if (payload === null) return null;
    const { v, e } = JSON.parse(payload) as { v: string; e: number };
    return e > this.clock.now() ? v : null;
  }
}
