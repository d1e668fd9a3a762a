// Every rate limit of SPEC.md, on rate-limiter-flexible with the store that matches the
// deployment: Redis when configured; on PostgreSQL without Redis a table there; on SQLite the
// process's memory, kept in a table of the SQLite file across restarts (SqliteCounters below).
import type SqliteDatabase from 'better-sqlite3';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import type { OpenedDatabase } from './database.ts';

interface Limiter {
  /** counts one event; answers false when this one goes over the limit */
  hit(key: string): Promise<boolean>;
  /** true when the key has used all its points in the current window */
  exhausted(key: string): Promise<boolean>;
  /** gives back one point taken by hit (an attempt counted up front that turned out fine) */
  refund(key: string): Promise<void>;
}

export interface RateLimits {
  /** POST /token: 20 requests per 60 s per client_id (GATEHOUSE_TOKEN_RATE_LIMIT) */
  tokenRequestsPerClient: Limiter;
  /** POST /login: 5 failed attempts per 15 min per IP (GATEHOUSE_LOGIN_FAILURES_PER_IP) */
  passwordFailuresPerIp: Limiter;
  /** POST /login/pin: 5 failed attempts per 15 min per IP (GATEHOUSE_LOGIN_FAILURES_PER_IP) */
  pinFailuresPerIp: Limiter;
  /** POST /login/pin: failed PINs per project per day, whatever the address */
  pinFailuresPerProject: Limiter;
  /** POST /register: 3 attempts per hour per IP */
  signupsPerIp: Limiter;
  /** POST /magic-link: 3 links per hour per email */
  magicLinksPerEmail: Limiter;
}

interface RateLimitStore {
  limits: RateLimits;
  /** writes what is still only in memory (SQLite) and stops the timer; the limits keep working */
  close(): Promise<void>;
}

interface Rule {
  name: keyof RateLimits;
  points: number;
  duration: number;
}

function rateLimitRules(config: Config): Rule[] {
  return [
    { name: 'tokenRequestsPerClient', points: config.tokenRequestsPerMinute, duration: 60 },
    { name: 'passwordFailuresPerIp', points: config.loginFailuresPerIp, duration: 15 * 60 },
    { name: 'pinFailuresPerIp', points: config.loginFailuresPerIp, duration: 15 * 60 },
    { name: 'pinFailuresPerProject', points: config.pinFailuresPerDay, duration: 24 * 60 * 60 },
    { name: 'signupsPerIp', points: 3, duration: 60 * 60 },
    { name: 'magicLinksPerEmail', points: 3, duration: 60 * 60 },
  ];
}

class FlexibleLimiter implements Limiter {
  constructor(
    private readonly store: RateLimiterAbstract,
    private readonly points: number,
    /** told of every key whose count changed */
    private readonly changed: (key: string) => void = () => {},
  ) {}

  async hit(key: string): Promise<boolean> {
    try {
      await this.store.consume(key, 1);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    } finally {
      this.changed(key);
    }
  }

  async exhausted(key: string): Promise<boolean> {
    const res = await this.store.get(key);
    return res !== null && res.consumedPoints >= this.points;
  }

  async refund(key: string): Promise<void> {
    // A window that ended meanwhile has nothing to give back (a reward would open a new
    // window starting at -1, one point more than the limit).
    const res = await this.store.get(key);
    if (res !== null && res.consumedPoints > 0) {
      await this.store.reward(key, 1);
      this.changed(key);
    }
  }
}

const FLUSH_INTERVAL_MS = 1000;
const PURGE_EVERY_FLUSHES = 60;

/**
 * The counters of a SQLite deployment. One process serves a SQLite file, so the counters can live
 * in its memory (RateLimiterMemory) and every request is counted without a write: a commit per
 * `POST /token` was a quarter of a refresh grant's CPU (docs/decisions/0013-rate-limit-counters-in-memory-on-sqlite.md). The keys that
 * changed are written to the `rate_limits` table once a second and at shutdown, and the table is
 * read back at start: a restart keeps every count, a crash loses at most the last second's.
 */
class SqliteCounters {
  private readonly dirty = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;
  private flushes = 0;

  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    private readonly stores: Map<string, RateLimiterMemory>,
    private readonly onError: (error: unknown) => void,
  ) {
    sqlite.exec('CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire INTEGER)');
    const rows = sqlite.prepare('SELECT key, points, expire FROM rate_limits WHERE expire > ?').all(Date.now()) as Array<{ key: string; points: number; expire: number }>;
    for (const [prefix, store] of stores) {
      const mine = rows.filter((row) => row.key.startsWith(`${prefix}:`));
      store.restore({ version: 1, storage: mine.map((row) => ({ key: row.key.slice(prefix.length + 1), value: row.points, expiresAt: row.expire })) });
    }
    this.timer = setInterval(() => this.flushSafely(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  changed(prefix: string, key: string): void {
    let keys = this.dirty.get(prefix);
    if (!keys) this.dirty.set(prefix, (keys = new Set()));
    keys.add(key);
  }

  /** Writes the changed counters in one transaction. */
  async flush(): Promise<void> {
    const now = Date.now();
    const writes: Array<{ key: string; points: number; expire: number } | { key: string }> = [];
    for (const [prefix, keys] of this.dirty) {
      const store = this.stores.get(prefix);
      for (const key of keys) {
        const res = store ? await store.get(key) : null;
        writes.push(res ? { key: `${prefix}:${key}`, points: res.consumedPoints, expire: now + res.msBeforeNext } : { key: `${prefix}:${key}` });
      }
    }
    this.dirty.clear();
    const purge = ++this.flushes % PURGE_EVERY_FLUSHES === 0;
    if (writes.length === 0 && !purge) return;
    const upsert = this.sqlite.prepare('INSERT INTO rate_limits (key, points, expire) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET points = excluded.points, expire = excluded.expire');
    const remove = this.sqlite.prepare('DELETE FROM rate_limits WHERE key = ?');
    const purgeExpired = this.sqlite.prepare('DELETE FROM rate_limits WHERE expire <= ?');
    this.sqlite.transaction(() => {
      for (const write of writes) {
        if ('points' in write) upsert.run(write.key, write.points, write.expire);
        else remove.run(write.key);
      }
      if (purge) purgeExpired.run(now);
    })();
  }

  private flushSafely(): void {
    // A Kysely transaction open on the connection would take these writes in (and could roll
    // them back): wait for the next tick of the timer.
    if (this.sqlite.inTransaction) return;
    this.flush().catch(this.onError);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.sqlite.open) await this.flush();
  }
}

/**
 * For attempts counted before they are checked: when the check itself cannot be made (the
 * database or Redis is gone), each attempt is given back and the error passed on. Otherwise an
 * outage would use up the failures of every address that tried meanwhile, and of a project's
 * daily PIN budget, and lock people out long after the store is back.
 */
export function giveBackOnError(...attempts: Array<[Limiter, string]>): (error: unknown) => Promise<never> {
  return async (error) => {
    await Promise.all(attempts.map(([limiter, key]) => limiter.refund(key).catch(() => {})));
    throw error;
  };
}

function created(make: (ready: (err?: unknown) => void) => RateLimiterAbstract): Promise<RateLimiterAbstract> {
  return new Promise((resolve, reject) => {
    const limiter = make((err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(limiter)));
  });
}

export async function createRateLimits(
  config: Config,
  database: OpenedDatabase,
  redis?: Redis,
  onError: (error: unknown) => void = () => {},
): Promise<RateLimitStore> {
  const limits: Partial<RateLimits> = {};
  if (!redis && database.sqlite) {
    const memory = rateLimitRules(config).map((rule) => {
      const prefix = `rl_${rule.name}`;
      return { rule, prefix, store: new RateLimiterMemory({ keyPrefix: prefix, points: rule.points, duration: rule.duration }) };
    });
    const counters = new SqliteCounters(database.sqlite, new Map(memory.map(({ prefix, store }) => [prefix, store])), onError);
    for (const { rule, prefix, store } of memory) {
      limits[rule.name] = new FlexibleLimiter(store, rule.points, (key) => counters.changed(prefix, key));
    }
    return { limits: limits as RateLimits, close: () => counters.close() };
  }
  // Created one after another: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe in parallel.
  for (const rule of rateLimitRules(config)) {
    const common = { keyPrefix: `rl_${rule.name}`, points: rule.points, duration: rule.duration };
    let store: RateLimiterAbstract;
    if (redis) {
      // Every instance sharing the Redis and the prefix shares the counters; another prefix
      // (another deployment, another test) counts apart.
      const keyPrefix = `${config.redisPrefix}${common.keyPrefix}`;
      store = new RateLimiterRedis({ ...common, keyPrefix, storeClient: redis, rejectIfRedisNotReady: true });
    } else if (database.pgPool) {
      const pool = database.pgPool;
      store = await created((ready) => new RateLimiterPostgres({ ...common, storeClient: pool, tableName: 'rate_limits' }, ready));
    } else {
      throw new Error('no store for rate limits');
    }
    limits[rule.name] = new FlexibleLimiter(store, rule.points);
  }
  return { limits: limits as RateLimits, close: async () => {} };
}
