// A fresh app on a fresh database for each test file, with a clock the test moves and
// cheap Argon2 parameters (one test proves the production defaults separately).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Mailer } from '../../src/mail/mailer.ts';

export const TEST_ARGON2 = { GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' };
export const ISSUER = 'http://gatehouse.test';

export interface TestApp extends App {
  clock: ManualClock;
  config: Config;
}

export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  return {
    GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
    GATEHOUSE_ISSUER: ISSUER,
    GATEHOUSE_ADMIN_EMAIL: 'admin@example.com',
    GATEHOUSE_ADMIN_PASSWORD: 'correct horse battery staple',
    ...TEST_ARGON2,
    ...env,
  };
}

export async function createTestApp(options: { env?: Record<string, string>; mailer?: Mailer } = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(options.env));
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const app = await buildApp({ config, clock, ...(options.mailer ? { mailer: options.mailer } : {}) });
  return { ...app, clock, config };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}
