// A fresh app on a fresh database for each test file, with a clock the test moves and
// cheap Argon2 parameters (one test proves the production defaults separately).
// GATEHOUSE_TEST_BACKEND=postgres (see backend.ts) puts it on a fresh PostgreSQL schema and a
// fresh Redis prefix instead of a SQLite file: the same tests then prove both backends.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { buildApp, type App, type AppOptions } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Mailer } from '../../src/mail/mailer.ts';
import { postgresRedisEnv, releaseAllTestStorage, releaseTestStorage, testBackend } from './backend.ts';

export const TEST_ARGON2 = { GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' };
export const ISSUER = 'http://gatehouse.test';

export interface TestApp extends App {
  clock: ManualClock;
  config: Config;
}

// Whatever a file's tests leave behind on PostgreSQL/Redis goes when the file ends.
if (testBackend === 'postgres') after(() => releaseAllTestStorage());

/** Environment for a fresh app on the backend of this run; `env` overrides any of it. */
export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    ...(testBackend === 'postgres'
      ? postgresRedisEnv()
      : { GATEHOUSE_DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-test-')), 'gatehouse.db')}` }),
    GATEHOUSE_ISSUER: ISSUER,
    GATEHOUSE_ADMIN_EMAIL: 'admin@example.com',
    GATEHOUSE_ADMIN_PASSWORD: 'correct horse battery staple',
    ...TEST_ARGON2,
    ...env,
  };
}

export async function createTestApp(
  options: { env?: Record<string, string>; mailer?: Mailer; logger?: AppOptions['logger'] } = {},
): Promise<TestApp> {
  const config = loadConfig(testEnv(options.env));
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const app = await buildApp({
    config,
    clock,
    ...(options.mailer ? { mailer: options.mailer } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return {
    ...app,
    clock,
    config,
    async close() {
      await app.close();
      await releaseTestStorage(config);
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}
