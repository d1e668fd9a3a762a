// Where the benchmarked Gatehouse stores its data: a SQLite file in the run's directory (the
// default), or, with `--backend postgres`, a fresh schema of a PostgreSQL database and a fresh
// Redis key prefix, both removed at the end unless `--keep-db`. The PostgreSQL database is
// GATEHOUSE_BENCH_POSTGRES_URL (default the `test` database the test suite uses), Redis
// GATEHOUSE_BENCH_REDIS_URL (default redis://127.0.0.1:6379).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

export interface BenchStorage {
  /** the environment the Gatehouse server process gets */
  env: Record<string, string>;
  remove(): Promise<void>;
}

const POSTGRES_URL = process.env.GATEHOUSE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.GATEHOUSE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function benchStorage(backend: 'sqlite' | 'postgres', workDir: string): Promise<BenchStorage> {
  if (backend === 'sqlite') return { env: { GATEHOUSE_DATABASE_URL: `sqlite:${join(workDir, 'gatehouse.db')}` }, remove: async () => {} };
  const tag = randomBytes(5).toString('hex');
  const schema = `bench_${tag}`;
  const prefix = `gatehouse-bench-${tag}:`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  // Reachable now, or the run stops before it starts anything.
  await withClient(async () => {});
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.quit();
  return {
    env: { GATEHOUSE_DATABASE_URL: url.toString(), GATEHOUSE_REDIS_URL: REDIS_URL, GATEHOUSE_REDIS_PREFIX: prefix },
    async remove() {
      await withClient((client) => client.query(`drop schema if exists "${schema}" cascade`));
      const keys = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, found] = await keys.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (found.length > 0) await keys.del(...found);
        } while (cursor !== '0');
      } finally {
        await keys.quit();
      }
    },
  };
}

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
