// What `npm start` runs (the build, then the compiled server) with the defaults: serves,
// creates ./data/gatehouse.db, applies migrations.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** A directory with a `node` that prints its process id, MALLOC_ARENA_MAX, UV_THREADPOOL_SIZE and its arguments, a line each. */
function standInNode(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-node-'));
  writeFileSync(join(dir, 'node'), '#!/bin/sh\nprintf \'%s\\n\' "$$" "${MALLOC_ARENA_MAX-unset}" "${UV_THREADPOOL_SIZE-unset}" "$@"\n', { mode: 0o755 });
  return dir;
}

/** The final stage of a Dockerfile: its ENV (key=value form), ENTRYPOINT and CMD (exec form). */
function dockerImage(dockerfile: string): { env: Record<string, string>; entrypoint: string[]; cmd: string[] } {
  const instructions = dockerfile
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stage = instructions.slice(instructions.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true));
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const line of stage) {
    const [, keyword = '', rest = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (/^ENV$/i.test(keyword)) {
      for (const [, key = '', quoted, bare] of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) env[key] = quoted ?? bare ?? '';
    }
    if (/^ENTRYPOINT$/i.test(keyword)) entrypoint = JSON.parse(rest) as string[];
    if (/^CMD$/i.test(keyword)) cmd = JSON.parse(rest) as string[];
  }
  return { env, entrypoint, cmd };
}

describe('npm start (the compiled gatehouse serve)', () => {
  it('runs the compiled server with two malloc arenas and a thread pool the size of the hashing concurrency, unless the environment says otherwise', () => {
    // Without the first, each thread that ran an Argon2id hash kept the hash's 19 MiB; the second
    // lets the pool bound the hashes and queue the next one on each thread (docs/decisions/0018-malloc-arena-max.md, 0030-libuv-pool-sized-to-hash-concurrency.md).
    // The start script's shell line and the image's entrypoint run as they are, with a `node` on
    // PATH that reports what it was started with.
    const started = (command: string, args: string[], env: Record<string, string>) => {
      const run = spawnSync(command, args, { env: { ...env, PATH: `${standInNode()}:${process.env.PATH ?? ''}` }, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const [pid, malloc, pool, ...argv] = run.stdout.trim().split('\n');
      return { MALLOC_ARENA_MAX: malloc, UV_THREADPOOL_SIZE: pool, argv, replacedTheShell: pid === String(run.pid) };
    };
    const serve = ['dist/src/main.js', 'serve'];

    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const npmStart = (env: Record<string, string>) => {
      const { replacedTheShell: _, ...seen } = started('/bin/sh', ['-c', scripts.start!], env);
      return seen;
    };
    assert.deepEqual(npmStart({}), { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '1', argv: serve });
    assert.deepEqual(npmStart({ MALLOC_ARENA_MAX: '8' }), { MALLOC_ARENA_MAX: '8', UV_THREADPOOL_SIZE: '1', argv: serve });
    assert.deepEqual(npmStart({ GATEHOUSE_HASH_CONCURRENCY: '2' }), { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '2', argv: serve });
    assert.deepEqual(npmStart({ GATEHOUSE_HASH_CONCURRENCY: '2', UV_THREADPOOL_SIZE: '6' }), { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '6', argv: serve });

    // The image: its ENV, then `docker run -e ...`, in the environment of ENTRYPOINT + CMD.
    const image = dockerImage(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    assert.equal(image.env.MALLOC_ARENA_MAX, '2');
    // node replaces the entrypoint's shell (exec), so it is the process `docker stop` signals.
    const docker = (env: Record<string, string>) => started(image.entrypoint[0]!, [...image.entrypoint.slice(1), ...image.cmd], { ...image.env, ...env });
    assert.deepEqual(docker({}), { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '1', argv: serve, replacedTheShell: true });
    assert.deepEqual(docker({ GATEHOUSE_HASH_CONCURRENCY: '3' }), { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '3', argv: serve, replacedTheShell: true });
    assert.deepEqual(docker({ GATEHOUSE_HASH_CONCURRENCY: '3', UV_THREADPOOL_SIZE: '6' }), { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '6', argv: serve, replacedTheShell: true });
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

describe('gatehouse serve that cannot listen', () => {
  /** Runs `gatehouse serve` from the sources and answers its exit status and output once it ends. */
  function serveUntilExit(env: Record<string, string>): Promise<{ code: number | null; output: string; ms: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-listen-'));
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'main.ts'), 'serve'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...TEST_ARGON2, GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(killer);
        resolve({ code, output, ms: Date.now() - started });
      }),
    );
  }

  it('on a port another process holds, exits non-zero with the reason instead of staying up without a port', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const { code, output } = await serveUntilExit({ PORT: String(port), HOST: '127.0.0.1' });
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`gatehouse: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use \\(EADDRINUSE\\)`));
      assert.match(output, /"level":60.*cannot listen/, 'a fatal JSON line in the log too');
    } finally {
      holder.close();
    }
  });

  it('on a HOST that is not an address of this machine, or does not resolve, exits non-zero with the reason', async () => {
    const port = await freePort();
    const unavailable = await serveUntilExit({ PORT: String(port), HOST: '192.0.2.1' });
    assert.equal(unavailable.code, 1, unavailable.output);
    assert.match(unavailable.output, /cannot listen on 192\.0\.2\.1:\d+: HOST is not an address of this machine \(EADDRNOTAVAIL\)/);
    const unknown = await serveUntilExit({ PORT: String(port), HOST: 'no-such-host.invalid' });
    assert.equal(unknown.code, 1, unknown.output);
    assert.match(unknown.output, /cannot listen on no-such-host\.invalid:\d+: HOST does not resolve/);
  });
});
