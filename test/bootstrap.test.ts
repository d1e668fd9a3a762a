import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verify } from '@node-rs/argon2';
import { buildApp } from '../src/app.ts';
import { runCli } from '../src/cli/run.ts';
import { ConfigError, loadConfig, PRODUCTION_ARGON2 } from '../src/config.ts';
import { PasswordHasher } from '../src/crypto/passwords.ts';
import { ManualClock } from '../src/clock.ts';
import { testEnv, type TestApp } from './support/app.ts';
import { consoleTokens, refresh } from './support/flow.ts';

describe('bootstrap', () => {
  it('creates the console project and the configured admin, idempotently across restarts', async () => {
    const env = testEnv();
    for (let start = 0; start < 2; start++) {
      const app = await buildApp({ config: loadConfig(env) });
      const consoleProject = await app.services.projects.find('console');
      assert.ok(consoleProject);
      assert.deepEqual(consoleProject.project.redirect_uris, ['http://gatehouse.test/console/callback']);
      assert.equal(consoleProject.project.registration_open, false);
      const users = await app.services.users.list();
      assert.equal(users.length, 1);
      assert.equal(users[0]?.is_admin, true);
      assert.deepEqual(await app.services.users.membership('console', users[0]!.id), { blocked: false });
      await app.close();
    }
  });

  it('a changed admin password in the environment takes effect on the next start', async () => {
    const env = testEnv();
    await (await buildApp({ config: loadConfig(env) })).close();
    const app = await buildApp({ config: loadConfig({ ...env, GATEHOUSE_ADMIN_PASSWORD: 'a brand new admin password' }) });
    const record = await app.services.users.findByEmail('admin@example.com');
    assert.equal(await app.services.hasher.verify(record!.passwordHash!, 'a brand new admin password'), true);
    await app.close();
  });

  it('a changed admin password ends the sessions signed in with the old one; an unchanged one keeps them', async () => {
    const env = testEnv();
    const start = async (extra: Record<string, string> = {}): Promise<TestApp> => {
      const config = loadConfig({ ...env, ...extra });
      const app = await buildApp({ config });
      return { ...app, config, clock: new ManualClock(Date.now()) };
    };
    const consoleProject = { id: 'console' };
    const first = await start();
    const tokens = await consoleTokens(first, first.config.adminEmail!, first.config.adminPassword!);
    await first.close();

    const same = await start(); // the same password: nothing ends
    let next: string;
    try {
      const kept = await refresh(same, consoleProject, tokens.refresh_token);
      assert.equal(kept.statusCode, 200, kept.body);
      next = kept.json<{ refresh_token: string }>().refresh_token;
    } finally {
      await same.close();
    }

    const changed = await start({ GATEHOUSE_ADMIN_PASSWORD: 'a brand new admin password' });
    try {
      const ended = await refresh(changed, consoleProject, next);
      assert.deepEqual([ended.statusCode, ended.json()], [401, { error: 'Invalid refresh token' }]);
    } finally {
      await changed.close();
    }
  });

  it('a GATEHOUSE_ADMIN_PASSWORD outside the password policy stops the start with a message naming it and the reason', async () => {
    for (const [password, reason] of [
      ['admin', /GATEHOUSE_ADMIN_PASSWORD is not acceptable: fewer than 8 characters/],
      ['password1', /GATEHOUSE_ADMIN_PASSWORD is not acceptable: a commonly used or breached password/],
    ] as const) {
      const env = testEnv({ GATEHOUSE_ADMIN_PASSWORD: password });
      await assert.rejects(buildApp({ config: loadConfig(env) }), (error: unknown) => error instanceof ConfigError && reason.test(error.message));
      // gatehouse serve exits non-zero, saying why, without listening
      let stderr = '';
      const code = await runCli(['serve'], { stdout: () => {}, stderr: (text) => (stderr += text), env });
      assert.equal(code, 1);
      assert.match(stderr, /configuration error: /);
      assert.match(stderr, reason);
    }
  });

  it('a GATEHOUSE_ADMIN_EMAIL outside the plain form stops the start', async () => {
    const env = testEnv({ GATEHOUSE_ADMIN_EMAIL: '\u212Aate@example.com' });
    await assert.rejects(buildApp({ config: loadConfig(env) }), /GATEHOUSE_ADMIN_EMAIL is not a plain email address/);
  });

  it('the production defaults hash with Argon2id at OWASP parameters (m=19456 KiB, t=2, p=1)', async () => {
    const config = loadConfig({});
    assert.deepEqual(config.argon2, PRODUCTION_ARGON2);
    assert.deepEqual(PRODUCTION_ARGON2, { memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const hasher = new PasswordHasher(config.argon2, config.hashConcurrency);
    const hash = await hasher.hash('correct horse battery staple');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verify(hash, 'correct horse battery staple'), true);
    assert.equal(await hasher.verify(hash, 'wrong'), false);
  });

  it('the defaults of SPEC.md apply when the environment is empty', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.issuer, 'http://localhost:3000');
    assert.equal(config.databaseUrl, 'sqlite:./data/gatehouse.db');
    assert.equal(config.codeTtlSeconds, 60);
    assert.equal(config.accessTokenTtlSeconds, 900);
    assert.equal(config.refreshTokenTtlSeconds, 2592000);
    assert.equal(config.magicLinkTtlSeconds, 900);
    assert.equal(config.trustProxy, false);
    assert.equal(loadConfig({ PORT: '4000' }).issuer, 'http://localhost:4000');
  });

  it('GATEHOUSE_TRUST_PROXY takes true, a hop count or a list of addresses', () => {
    assert.equal(loadConfig({ GATEHOUSE_TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(loadConfig({ GATEHOUSE_TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ GATEHOUSE_TRUST_PROXY: '10.0.0.1, 10.0.0.0/8' }).trustProxy, ['10.0.0.1', '10.0.0.0/8']);
  });

  it('a bad setting is refused with a clear message', () => {
    assert.throws(() => loadConfig({ GATEHOUSE_CODE_TTL_SECONDS: 'soon' }), /GATEHOUSE_CODE_TTL_SECONDS must be a whole number/);
    assert.throws(() => loadConfig({ GATEHOUSE_DATABASE_URL: 'mysql://x' }), /GATEHOUSE_DATABASE_URL/);
  });
});
