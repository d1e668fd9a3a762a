// The storage a test runs on. `GATEHOUSE_TEST_BACKEND=postgres` (the second pass of `npm test`)
// puts every test app on PostgreSQL and Redis: a fresh schema of the `test` database and a
// fresh Redis key prefix per app, so test files running side by side never see each other's
// rows or counters. Both are removed when the app closes or, at the latest, when the file ends.
//
// Run directly, this file is the check `scripts/test.sh` makes before the second pass:
//   node --import tsx test/support/backend.ts probe   (exit 1 and the reason when unreachable)
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

export type TestBackend = 'sqlite' | 'postgres';

export const testBackend: TestBackend = process.env.GATEHOUSE_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

/** The database the schemas are made in (trust auth on this machine and in CI). */
export const TEST_POSTGRES_URL = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Schemas made by tests start with this and the second they were named in, so stale ones can be swept. */
const SCHEMA_PREFIX = 'gh_t_';
const STALE_AFTER_SECONDS = 2 * 3600;

export function newSchemaName(): string {
  return `${SCHEMA_PREFIX}${Math.floor(Date.now() / 1000)}_${randomBytes(6).toString('hex')}`;
}

export function newRedisPrefix(): string {
  return `${SCHEMA_PREFIX}${randomBytes(6).toString('hex')}:`;
}

/** A connection string whose sessions use `schema` (Gatehouse creates it on first start if missing). */
export function schemaUrl(schema: string, base = TEST_POSTGRES_URL): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** The schema named by a connection string's search_path option, if any. */
export function schemaOf(databaseUrl: string): string | undefined {
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) return undefined;
  const options = new URL(databaseUrl).searchParams.get('options') ?? '';
  return /search_path=([A-Za-z0-9_]+)/.exec(options)?.[1];
}

const createdSchemas = new Set<string>();
const createdPrefixes = new Set<string>();

/**
 * Environment for one app on a fresh schema and a fresh Redis prefix. The schema is created by
 * the app's own migrations on start; `releaseTestStorage` (or `releaseAllTestStorage` at the end
 * of the file) removes both.
 */
export function postgresRedisEnv(): Record<string, string> {
  const schema = newSchemaName();
  const prefix = newRedisPrefix();
  createdSchemas.add(schema);
  createdPrefixes.add(prefix);
  return {
    GATEHOUSE_DATABASE_URL: schemaUrl(schema),
    GATEHOUSE_REDIS_URL: TEST_REDIS_URL,
    GATEHOUSE_REDIS_PREFIX: prefix,
    GATEHOUSE_DATABASE_POOL_SIZE: '4',
  };
}

async function withPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function withRedis<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let lastError: unknown;
  redis.on('error', (error: unknown) => (lastError = error));
  // ioredis reports a refused connection as "Connection is closed"; the error event says why.
  await redis.connect().catch((error: unknown) => {
    redis.disconnect();
    throw lastError ?? error;
  });
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function dropSchemas(schemas: string[]): Promise<void> {
  if (schemas.length === 0) return;
  await withPostgres(async (client) => {
    for (const schema of schemas) await client.query(`drop schema if exists "${schema}" cascade`);
  });
}

async function clearPrefixes(prefixes: string[]): Promise<void> {
  if (prefixes.length === 0) return;
  await withRedis(async (redis) => {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  });
}

/** Removes the schema and the Redis keys of one app's storage, when this module made them. */
export async function releaseTestStorage(storage: { databaseUrl: string; redisPrefix: string }): Promise<void> {
  const schema = schemaOf(storage.databaseUrl);
  if (schema && createdSchemas.delete(schema)) await dropSchemas([schema]);
  if (createdPrefixes.delete(storage.redisPrefix)) await clearPrefixes([storage.redisPrefix]);
}

/** Removes every schema and prefix handed out in this process and not yet released. */
export async function releaseAllTestStorage(): Promise<void> {
  const schemas = [...createdSchemas];
  const prefixes = [...createdPrefixes];
  createdSchemas.clear();
  createdPrefixes.clear();
  await dropSchemas(schemas);
  await clearPrefixes(prefixes);
}

/** Why PostgreSQL or Redis cannot serve the test run, or undefined when both can. */
export async function probeBackends(): Promise<string | undefined> {
  const problems: string[] = [];
  try {
    await withPostgres(async (client) => {
      // The run needs to create and drop schemas, not only to connect.
      const schema = newSchemaName();
      await client.query(`create schema "${schema}"`);
      await client.query(`drop schema "${schema}"`);
    });
  } catch (error) {
    const url = new URL(TEST_POSTGRES_URL);
    problems.push(`PostgreSQL at ${url.host} (database ${url.pathname.slice(1)}, user ${url.username}): ${reasonOf(error)}`);
  }
  try {
    const pong = await withRedis((redis) => redis.ping());
    if (pong !== 'PONG') problems.push(`Redis at ${new URL(TEST_REDIS_URL).host} answered ${pong}`);
  } catch (error) {
    problems.push(`Redis at ${new URL(TEST_REDIS_URL).host}: ${reasonOf(error)}`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Drops schemas that earlier runs left behind (a killed run cannot clean up after itself). */
export async function sweepStaleSchemas(): Promise<number> {
  return withPostgres(async (client) => {
    const { rows } = await client.query<{ nspname: string }>(`select nspname from pg_namespace where nspname like '${SCHEMA_PREFIX}%'`);
    const cutoff = Math.floor(Date.now() / 1000) - STALE_AFTER_SECONDS;
    const stale = rows
      .map((r) => r.nspname)
      .filter((name) => {
        const seconds = Number(/^gh_t_(\d+)_/.exec(name)?.[1] ?? Number.NaN);
        return Number.isFinite(seconds) && seconds < cutoff;
      });
    for (const schema of stale) await client.query(`drop schema if exists "${schema}" cascade`);
    return stale.length;
  });
}

function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const command = process.argv[2];
  if (command === 'probe') {
    const problem = await probeBackends();
    if (problem) {
      console.log(problem);
      process.exit(1);
    }
    await sweepStaleSchemas().catch(() => 0);
    process.exit(0);
  } else {
    console.error('usage: node --import tsx test/support/backend.ts probe');
    process.exit(2);
  }
}
