// Every rate limit of SPEC.md, on rate-limiter-flexible with the store that matches the
// deployment: Redis when configured, otherwise a table in the SQL database.
import type { Redis } from 'ioredis';
import {
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
  RateLimiterSQLite,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import type { OpenedDatabase } from './database.ts';

export interface Limiter {
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

interface Rule {
  name: keyof RateLimits;
  points: number;
  duration: number;
}

export function rateLimitRules(config: Config): Rule[] {
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
  ) {}

  async hit(key: string): Promise<boolean> {
    try {
      await this.store.consume(key, 1);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
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
    if (res !== null && res.consumedPoints > 0) await this.store.reward(key, 1);
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

export async function createRateLimits(config: Config, database: OpenedDatabase, redis?: Redis): Promise<RateLimits> {
  const limits: Partial<RateLimits> = {};
  // Created one after another: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe in parallel.
  for (const rule of rateLimitRules(config)) {
    const common = { keyPrefix: `rl_${rule.name}`, points: rule.points, duration: rule.duration };
    let store: RateLimiterAbstract;
    if (redis) {
      // Every instance sharing the Redis and the prefix shares the counters; another prefix
      // (another deployment, another test) counts apart.
      const keyPrefix = `${config.redisPrefix}${common.keyPrefix}`;
      store = new RateLimiterRedis({ ...common, keyPrefix, storeClient: redis, rejectIfRedisNotReady: true });
    } else if (database.sqlite) {
      const sqlite = database.sqlite;
      store = await created((ready) =>
        new RateLimiterSQLite({ ...common, storeClient: sqlite, storeType: 'better-sqlite3', tableName: 'rate_limits' }, ready),
      );
    } else if (database.pgPool) {
      const pool = database.pgPool;
      store = await created((ready) => new RateLimiterPostgres({ ...common, storeClient: pool, tableName: 'rate_limits' }, ready));
    } else {
      throw new Error('no store for rate limits');
    }
    limits[rule.name] = new FlexibleLimiter(store, rule.points);
  }
  return limits as RateLimits;
}
