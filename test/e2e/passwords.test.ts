// The hashing gate as a real process sizes it from libuv's thread pool (src/crypto/passwords.ts);
// the rest of the gate's tests run in process (test/passwords.test.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('password hashing: the gate and the thread pool', () => {
  it('a server process started as `npm start` starts it (UV_THREADPOOL_SIZE=1) admits two hashes; the default pool, one', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `import { PasswordHasher } from './src/crypto/passwords.ts'; console.log(new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }, 1).admitted);`;
    const admitted = (pool?: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', ...(pool ? { UV_THREADPOOL_SIZE: pool } : {}) },
        encoding: 'utf8',
      }).trim();
    assert.equal(admitted('1'), '2');
    assert.equal(admitted(), '1');
  });
});
