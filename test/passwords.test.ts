// The hashing gate and how it is sized from libuv's thread pool (src/crypto/passwords.ts); the
// check on a real process started as `npm start` starts it is in test/e2e/passwords.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gate, gateSize, PasswordHasher, threadPoolSize } from '../src/crypto/passwords.ts';
import { TEST_ARGON2 } from './support/app.ts';

const CHEAP = { memoryCost: Number(TEST_ARGON2.GATEHOUSE_ARGON2_MEMORY_KIB), timeCost: Number(TEST_ARGON2.GATEHOUSE_ARGON2_TIME_COST), parallelism: 1 };

describe('password hashing: the gate and the thread pool', () => {
  it('reads UV_THREADPOOL_SIZE as libuv does', () => {
    assert.equal(threadPoolSize({}), 4);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '1' }), 1);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '8' }), 8);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '3x' }), 3);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '0' }), 1);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: 'many' }), 1);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '5000' }), 1024);
  });

  it('queues a second hash on each thread only when the pool is no larger than the concurrency', () => {
    assert.equal(gateSize(1, 1), 2);
    assert.equal(gateSize(2, 2), 4);
    assert.equal(gateSize(2, 1), 2, 'a smaller pool bounds the hashes itself');
    assert.equal(gateSize(1, 4), 1, 'spare threads: the gate is the bound');
    assert.equal(gateSize(3, 4), 3);
  });

  it('the gate lets `limit` calls work at once and the rest wait in order', async () => {
    const gate = new Gate(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const releases: Array<() => void> = [];
    const calls = [0, 1, 2, 3, 4].map((i) =>
      gate.run(async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return i;
      }),
    );
    for (let released = 0; released < 5; released++) {
      while (releases.length <= released) await new Promise((resolve) => setImmediate(resolve));
      assert.ok(running <= 2);
      releases[released]?.();
    }
    assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3, 4]);
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });

  it('with a pool of one thread and concurrency 1, two hashes are admitted and every answer is right', async () => {
    const hasher = new PasswordHasher(CHEAP, 1, 1);
    assert.equal(hasher.admitted, 2);
    assert.equal(hasher.runningAtMost, 1);
    assert.equal(new PasswordHasher(CHEAP, 2, 1).runningAtMost, 1, 'a smaller pool runs fewer at once');
    assert.equal(new PasswordHasher(CHEAP, 2, 4).runningAtMost, 2);
    const stored = await hasher.hash('the right one');
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => hasher.verify(stored, i % 2 ? 'the right one' : 'a wrong one')));
    assert.deepEqual(answers, [false, true, false, true, false, true]);
  });
});
