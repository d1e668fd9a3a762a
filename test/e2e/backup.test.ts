// gatehouse backup | restore (machines.md "Moving accounts in and out"): a backup taken while a
// server writes restores to a server that has every write acknowledged before the backup began;
// a restore is refused while a server has the database open. SQLite only (e2e).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { testEnv, type TestApp } from '../support/app.ts';
import { consoleTokens } from '../support/flow.ts';
import { freePort } from '../support/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function gatehouse(env: Record<string, string>, args: string[]): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('GATEHOUSE_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

async function listening(env: Record<string, string>): Promise<{ app: App; base: string; token: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildApp({ config: loadConfig({ ...env, GATEHOUSE_ISSUER: base }) });
  await app.server.listen({ port, host: '127.0.0.1' });
  const token = (await consoleTokens({ ...app, config: app.services.config } as TestApp, env.GATEHOUSE_ADMIN_EMAIL ?? '', env.GATEHOUSE_ADMIN_PASSWORD ?? '')).access_token;
  return { app, base, token };
}

describe('gatehouse backup | restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-backup-'));
  const env = testEnv({ GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'live.db')}` });

  it('a backup under write load restores to a server with every write acknowledged before it began; restore is refused while a server runs', async () => {
    const server = await listening(env);
    const acknowledged: Array<{ email: string; at: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const email = `load${i}@example.com`;
        const res = await fetch(`${server.base}/admin/users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ email, email_verified: true }),
        });
        assert.equal(res.status, 201, await res.text());
        acknowledged.push({ email, at: performance.now() });
      }
    })();
    try {
      while (acknowledged.length < 50) await new Promise((resolve) => setImmediate(resolve));
      const backupFile = join(dir, 'backup.db');
      const began = performance.now();
      const taken = await gatehouse(env, ['backup', backupFile]);
      const afterBackup = acknowledged.length;
      assert.equal(taken.code, 0, taken.stderr);
      assert.match(taken.stdout, /^backed up \d+ pages to /);
      assert.equal(statSync(backupFile).mode & 0o777, 0o600);
      while (acknowledged.length < afterBackup + 5) await new Promise((resolve) => setImmediate(resolve));

      const refused = await gatehouse(env, ['restore', backupFile]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /is in use \(a server is running on it\?\)/);
      assert.ok(acknowledged.length > afterBackup, 'the server kept writing');

      writing = false;
      await writer;
      const before = acknowledged.filter((write) => write.at < began).map((write) => write.email);
      assert.ok(before.length >= 50);

      const freshEnv = { ...env, GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'restored.db')}` };
      const restored = await gatehouse(freshEnv, ['restore', backupFile]);
      assert.equal(restored.code, 0, restored.stderr);
      const second = await listening(freshEnv);
      try {
        const emails = new Set((await second.app.services.users.list()).map((user) => user.email));
        for (const email of before) assert.ok(emails.has(email), `${email} was acknowledged before the backup began`);
        const res = await fetch(`${second.base}/admin/users?email=${encodeURIComponent(before.at(-1)!)}`, { headers: { authorization: `Bearer ${second.token}` } });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { users: unknown[] }).users.length, 1);
      } finally {
        await second.app.close();
      }
    } finally {
      writing = false;
      await writer.catch(() => {});
      await server.app.close();
    }
  });

  it('on PostgreSQL, backup and restore say to use pg_dump and pg_restore and exit 1', async () => {
    const pgEnv = { ...env, GATEHOUSE_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const [dump, load] = await Promise.all([gatehouse(pgEnv, ['backup', join(dir, 'x.db')]), gatehouse(pgEnv, ['restore', join(dir, 'backup.db')])]);
    assert.equal(dump.code, 1);
    assert.match(dump.stderr, /PostgreSQL: back it up with pg_dump/);
    assert.equal(load.code, 1);
    assert.match(load.stderr, /pg_restore/);
  });
});
