// What `npm start` runs (the build, then the compiled server) with the defaults: serves,
// creates ./data/gatehouse.db, applies migrations.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_ARGON2 } from '../support/app.ts';
import { freePort } from '../support/server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function waitForHealth(url: string, deadline: number): Promise<Response> {
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('npm start (the compiled gatehouse serve)', () => {
  it('runs the compiled server with two malloc arenas and a thread pool the size of the hashing concurrency, unless the environment says otherwise', () => {
    // Without the first, each thread that ran an Argon2id hash kept the hash's 19 MiB; the second
    // lets the pool bound the hashes and queue the next one on each thread (README "Performance").
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(scripts.start, 'MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-${GATEHOUSE_HASH_CONCURRENCY:-1}} node dist/src/main.js serve');
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^\s+MALLOC_ARENA_MAX=2 \\$/m);
    assert.ok(dockerfile.includes('export UV_THREADPOOL_SIZE=\\"${UV_THREADPOOL_SIZE:-${GATEHOUSE_HASH_CONCURRENCY:-1}}\\"; exec node dist/src/main.js'));
  });

  it("the start script's shell gives the pool the hashing concurrency, and an explicit UV_THREADPOOL_SIZE wins", () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const env = (extra: Record<string, string>) =>
      execFileSync('/bin/sh', ['-c', scripts.start!.replace('node dist/src/main.js serve', 'printenv UV_THREADPOOL_SIZE')], { env: { PATH: process.env.PATH ?? '', ...extra }, encoding: 'utf8' }).trim();
    assert.equal(env({}), '1');
    assert.equal(env({ GATEHOUSE_HASH_CONCURRENCY: '2' }), '2');
    assert.equal(env({ GATEHOUSE_HASH_CONCURRENCY: '2', UV_THREADPOOL_SIZE: '6' }), '6');
    // The Docker image's entrypoint does the same.
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[];
    assert.deepEqual(entrypoint.slice(0, 2), ['/bin/sh', '-c']);
    const image = (extra: Record<string, string>) =>
      execFileSync('/bin/sh', ['-c', entrypoint[2]!.replace('exec node dist/src/main.js "$@"', 'printenv UV_THREADPOOL_SIZE; echo "$@"'), ...entrypoint.slice(3), 'serve'], {
        env: { PATH: process.env.PATH ?? '', ...extra },
        encoding: 'utf8',
      }).trim();
    assert.equal(image({}), '1\nserve');
    assert.equal(image({ GATEHOUSE_HASH_CONCURRENCY: '3' }), '3\nserve');
  });

  it('starts with the defaults, creates ./data/gatehouse.db and answers /healthz; SIGTERM stops it cleanly', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
    const port = await freePort();
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
    const child = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js'), 'serve'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), ...TEST_ARGON2 },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const health = await waitForHealth(`http://127.0.0.1:${port}/healthz`, Date.now() + 20_000);
      assert.equal(health.status, 200, output);
      assert.ok(existsSync(join(cwd, 'data', 'gatehouse.db')));
      const discovery = await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json();
      assert.equal((discovery as { issuer: string }).issuer, `http://localhost:${port}`);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
  });
});
