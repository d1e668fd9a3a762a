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
import type { Config, TokenRateLimitScope } from '../config.ts';
import type { OpenedDatabase } from './database.ts';

export interface Limiter {
  /** which limit this is (named in the audit event of a refusal) */
  readonly name: keyof RateLimits;
  /** counts one event; answers false when this one goes over the limit */
  hit(key: string): Promise<boolean>;
  /** true when the key has used all its points in the current window */
  exhausted(key: string): Promise<boolean>;
  /** gives back one point taken by hit (an attempt counted up front that turned out fine) */
  refund(key: string): Promise<void>;
  /**
   * true for the first refusal of `key` to `address` in the key's current window, false for
   * the later ones: the store remembers that the window's refusal was recorded, so that a
   * flood of refused requests writes one audit event, not one per request.
   */
  firstRefusal(key: string, address: string): Promise<boolean>;
}

export interface RateLimits {
  /**
   * POST /token: 20 requests per 60 s (GATEHOUSE_TOKEN_RATE_LIMIT) per client_id and client
   * address, or per client_id alone (GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE); keyed by tokenRequestKey
   */
  tokenRequestsPerClient: Limiter;
  /** POST /introspect: 600 requests per 60 s (GATEHOUSE_INTROSPECTION_RATE_LIMIT) per project and client address */
  introspectionRequests: Limiter;
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
  /** POST /login: failed passwords per account per hour (GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT), keyed by the account id */
  passwordFailuresPerAccount: Limiter;
  /** every mail sent on a visitor's request (links, resets, verifications): per client address per hour (GATEHOUSE_MAIL_SENDS_PER_IP) */
  mailSendsPerIp: Limiter;
  /** POST /password-reset: 3 requests per hour per email (accounts.md) */
  passwordResetsPerEmail: Limiter;
  /** verification and email-change mails: 3 per hour per address mailed to (accounts.md) */
  verificationMailsPerEmail: Limiter;
  /** POST /login/mfa: 10 wrong codes per account per 15 min (mfa.md), keyed by the account id; a pool of its own, apart from the password's */
  mfaFailuresPerAccount: Limiter;
  /** POST /login/passkey/options: challenges per client address per minute (GATEHOUSE_PASSKEY_CHALLENGES_PER_IP); each one is a key-value row for 5 minutes */
  passkeyChallengesPerIp: Limiter;
}

/**
 * The key of the POST /token limit. Per client and address by default: with the client alone,
 * 21 requests a minute naming a project's client_id (no secret needed) stopped every sign-in
 * and refresh of that project, from everywhere (docs/decisions/0036-token-limit-per-client-and-address.md).
 */
export function tokenRequestKey(scope: TokenRateLimitScope, clientId: string, ip: string): string {
  return scope === 'client' ? clientId : `${clientId}|${ip}`;
}

/**
 * Counts one attempt against each limit, in order. When one of them is spent, the points already
 * taken are given back and that limit and key are the answer; undefined when every limit had room.
 */
export async function reserve(...attempts: Array<[Limiter, string]>): Promise<[Limiter, string] | undefined> {
  const taken: Array<[Limiter, string]> = [];
  for (const [limiter, key] of attempts) {
    let allowed: boolean;
    try {
      allowed = await limiter.hit(key);
    } catch (error) {
      return giveBackOnError(...taken)(error);
    }
    if (!allowed) {
      await Promise.all(taken.map(([other, otherKey]) => other.refund(otherKey)));
      return [limiter, key];
    }
    taken.push([limiter, key]);
  }
  return undefined;
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
    { name: 'introspectionRequests', points: config.introspectionRequestsPerMinute, duration: 60 },
    { name: 'passwordFailuresPerIp', points: config.loginFailuresPerIp, duration: 15 * 60 },
    { name: 'pinFailuresPerIp', points: config.loginFailuresPerIp, duration: 15 * 60 },
    { name: 'pinFailuresPerProject', points: config.pinFailuresPerDay, duration: 24 * 60 * 60 },
    { name: 'signupsPerIp', points: 3, duration: 60 * 60 },
    { name: 'magicLinksPerEmail', points: 3, duration: 60 * 60 },
    { name: 'passwordFailuresPerAccount', points: config.loginFailuresPerAccount, duration: 60 * 60 },
    { name: 'mailSendsPerIp', points: config.mailSendsPerIp, duration: 60 * 60 },
    { name: 'passwordResetsPerEmail', points: 3, duration: 60 * 60 },
    { name: 'verificationMailsPerEmail', points: 3, duration: 60 * 60 },
    { name: 'mfaFailuresPerAccount', points: 10, duration: 15 * 60 },
    { name: 'passkeyChallengesPerIp', points: config.passkeyChallengesPerIp, duration: 60 },
  ];
}

/** The companion store of a rule: one point per key and address, spent by the window's first refusal. */
function refusalRule(rule: Rule): { prefix: string; points: number; duration: number } {
  return { prefix: `rl_${rule.name}_refused`, points: 1, duration: rule.duration };
}

class FlexibleLimiter implements Limiter {
  constructor(
    readonly name: keyof RateLimits,
    private readonly store: RateLimiterAbstract,
    private readonly refusals: RateLimiterAbstract,
    private readonly points: number,
    private readonly duration: number,
    /** told of every key whose count changed, with the prefix of its store */
    private readonly changed: (store: 'counts' | 'refusals', key: string) => void = () => {},
  ) {}

  async hit(key: string): Promise<boolean> {
    try {
      await this.store.consume(key, 1);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    } finally {
      this.changed('counts', key);
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
      this.changed('counts', key);
    }
  }

  async firstRefusal(key: string, address: string): Promise<boolean> {
    // The mark lasts as long as what is left of the counter's window, so the next window's
    // first refusal is recorded again.
    const counter = await this.store.get(key);
    const left = counter !== null && counter.msBeforeNext > 0 ? Math.ceil(counter.msBeforeNext / 1000) : this.duration;
    const mark = `${key}|${address}`;
    try {
      await this.refusals.consume(mark, 1, { customDuration: left });
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    } finally {
      this.changed('refusals', mark);
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
    const stores = new Map<string, RateLimiterMemory>();
    const memoryStore = (prefix: string, points: number, duration: number) => {
      const store = new RateLimiterMemory({ keyPrefix: prefix, points, duration });
      stores.set(prefix, store);
      return store;
    };
    const made = rateLimitRules(config).map((rule) => {
      const refusals = refusalRule(rule);
      return {
        rule,
        refusalPrefix: refusals.prefix,
        store: memoryStore(`rl_${rule.name}`, rule.points, rule.duration),
        refusals: memoryStore(refusals.prefix, refusals.points, refusals.duration),
      };
    });
    const counters = new SqliteCounters(database.sqlite, stores, onError);
    for (const { rule, refusalPrefix, store, refusals } of made) {
      limits[rule.name] = new FlexibleLimiter(rule.name, store, refusals, rule.points, rule.duration, (which, key) =>
        counters.changed(which === 'counts' ? `rl_${rule.name}` : refusalPrefix, key),
      );
    }
    return { limits: limits as RateLimits, close: () => counters.close() };
  }
  const sharedStore = async (prefix: string, points: number, duration: number): Promise<RateLimiterAbstract> => {
    const common = { keyPrefix: prefix, points, duration };
    if (redis) {
      // Every instance sharing the Redis and the prefix shares the counters; another prefix
      // (another deployment, another test) counts apart.
      const keyPrefix = `${config.redisPrefix}${common.keyPrefix}`;
      return new RateLimiterRedis({ ...common, keyPrefix, storeClient: redis, rejectIfRedisNotReady: true });
    }
    if (database.pgPool) {
      const pool = database.pgPool;
      return created((ready) => new RateLimiterPostgres({ ...common, storeClient: pool, tableName: 'rate_limits' }, ready));
    }
    throw new Error('no store for rate limits');
  };
  // Created one after another: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe in parallel.
  for (const rule of rateLimitRules(config)) {
    const store = await sharedStore(`rl_${rule.name}`, rule.points, rule.duration);
    const refusals = refusalRule(rule);
    const refusalStore = await sharedStore(refusals.prefix, refusals.points, refusals.duration);
    limits[rule.name] = new FlexibleLimiter(rule.name, store, refusalStore, rule.points, rule.duration);
  }
  return { limits: limits as RateLimits, close: async () => {} };
}
