// Identifiers and secret tokens come from a pool of CSPRNG bytes (src/clock.ts); every byte must
// be handed out once, whole blocks and across block boundaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomIds, RandomPool } from '../src/crypto/random.ts';

test('tokens are 256-bit url-safe values, ids 96-bit, none repeated across many blocks', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const token = randomIds.token();
    const id = randomIds.id();
    assert.match(token, /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/, 'never a leading dash: a session id (sid) is typed as session end <sid>');
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/, 'never a leading dash, which a command line reads as an option');
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.ok(!seen.has(token) && !seen.has(id));
    seen.add(token);
    seen.add(id);
  }
});

test('a pool hands out each byte once: draws across a block boundary do not overlap or change', () => {
  const pool = new RandomPool(40);
  const first = pool.take(32);
  const copy = Buffer.from(first);
  const second = pool.take(32); // does not fit in what is left of the block: a new block
  const third = pool.take(8);
  assert.equal(second.length, 32);
  assert.equal(third.length, 8);
  assert.deepEqual(first, copy, 'a value already handed out never changes');
  assert.equal(second.buffer, third.buffer);
  assert.equal(third.byteOffset, second.byteOffset + 32, 'the third draw follows the second, without overlap');
  const big = pool.take(100);
  assert.equal(big.length, 100, 'a draw larger than a block is served directly');
});
