// The Redis connection: created here so that its failure behaviour is chosen in one place.
import type { Redis } from 'ioredis';
import { lazyRequire } from '../lazy.ts';

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

export function createRedis(url: string, timeoutMs: number): Redis {
  const redis = new (ioredis().Redis)(url, {
    lazyConnect: true,
    // While Redis is away, commands fail at once (the request answers 503) instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A Redis that hangs instead of refusing fails the request, not holds it.
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    // A command cut off by a lost connection has already failed its request (503): it must
    // not run later behind the caller's back (a GETDEL would eat a code, a hit would count).
    autoResendUnfulfilledCommands: false,
  });
  // It reconnects by itself; /healthz reports the outage meanwhile.
  redis.on('error', () => {});
  return redis;
}

/** Connects at start; a Redis that cannot be reached stops the start with the reason. */
export async function connectRedis(redis: Redis): Promise<void> {
  let reason: unknown;
  const remember = (error: unknown) => (reason = error);
  redis.on('error', remember);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    // ioredis rejects with "Connection is closed"; the error event said why.
    const cause = reason ?? error;
    throw new Error(`Redis cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  } finally {
    redis.off('error', remember);
  }
}
