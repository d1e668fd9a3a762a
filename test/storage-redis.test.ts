// Redis as the home of codes, magic-link tokens and rate-limit counters: single use holds under
// concurrency, expiry follows the injected clock, and GATEHOUSE_REDIS_PREFIX decides who shares
// counters (instances of one deployment) and who does not (another deployment, another test).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisKeyValueStore } from '../src/storage/kv.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { TEST_REDIS_URL, testBackend } from './support/backend.ts';
import { createProject, createUser, passwordCode } from './support/flow.ts';

const skip = testBackend === 'postgres' ? false : 'Redis is part of the Postgres+Redis pass (npm run test:postgres)';

describe('Redis storage', { skip }, () => {
  let redis: Redis;
  let app: TestApp;
  let sibling: TestApp;
  let stranger: TestApp;

  async function keysUnder(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  }

  before(async () => {
    redis = new Redis(TEST_REDIS_URL);
    app = await createTestApp();
    // Another instance of the same deployment (same prefix), and another deployment.
    sibling = await createTestApp({ env: { GATEHOUSE_REDIS_PREFIX: app.config.redisPrefix } });
    stranger = await createTestApp();
  });
  after(async () => {
    await Promise.all([app?.close(), sibling?.close(), stranger?.close()]);
    redis?.disconnect();
  });

  it('authorization codes live in Redis under the prefix, not in the SQL kv table', async () => {
    const project = await createProject(app);
    await createUser(app, 'ada@example.com', 'a long enough passphrase', project.id);
    await passwordCode(app, project.id, 'ada@example.com', 'a long enough passphrase');
    const codes = await keysUnder(`${app.config.redisPrefix}code:`);
    assert.equal(codes.length, 1);
    const sqlRows = await app.services.database.db.selectFrom('kv').select('key').execute();
    assert.deepEqual(sqlRows, []);
  });

  it('take() hands a value to exactly one of twenty concurrent callers (GETDEL)', async () => {
    const kv = new RedisKeyValueStore(redis, app.clock, app.config.redisPrefix);
    await kv.put('race', 'the prize', 60_000);
    const takes = await Promise.all(Array.from({ length: 20 }, () => kv.take('race')));
    assert.deepEqual(
      takes.filter((v) => v !== null),
      ['the prize'],
    );
  });

  it('a value past its expiry on the injected clock is neither read nor taken', async () => {
    await app.services.kv.put('short', 'gone soon', 1_000);
    assert.equal(await app.services.kv.get('short'), 'gone soon');
    app.clock.advance(1_001);
    assert.equal(await app.services.kv.get('short'), null);
    assert.equal(await app.services.kv.take('short'), null);
  });

  it('instances with one prefix share rate-limit counters; another prefix counts apart', async () => {
    const ip = '203.0.113.77';
    for (let n = 0; n < 5; n++) {
      const limits = (n % 2 === 0 ? app : sibling).services.limits;
      assert.equal(await limits.passwordFailuresPerIp.hit(ip), true);
    }
    assert.equal(await app.services.limits.passwordFailuresPerIp.exhausted(ip), true);
    assert.equal(await sibling.services.limits.passwordFailuresPerIp.exhausted(ip), true);
    assert.equal(await stranger.services.limits.passwordFailuresPerIp.exhausted(ip), false);
    assert.deepEqual(await keysUnder(`${app.config.redisPrefix}rl_passwordFailuresPerIp:${ip}`), [`${app.config.redisPrefix}rl_passwordFailuresPerIp:${ip}`]);
    assert.deepEqual(await keysUnder(`${stranger.config.redisPrefix}rl_passwordFailuresPerIp:${ip}`), []);
  });
});
