// `gatehouse users import | export` as a real process (machines.md "Moving accounts in and out"):
// exit codes, the list of bad lines, a second run that changes nothing, the export's warning.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcryptjs from 'bcryptjs';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { testEnv } from '../support/app.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('GATEHOUSE_')));
}

function gatehouse(env: Record<string, string>, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

describe('gatehouse users import | export', () => {
  const env = testEnv();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-import-'));
  let app: App;
  before(async () => {
    app = await buildApp({ config: loadConfig(env) });
    await app.services.projects.create({ id: 'shop', name: 'Shop', redirect_uris: ['https://shop.example/cb'], registration_open: false });
  });
  after(() => app.close());

  const good = (n: number) => JSON.stringify({ email: `user${n}@example.com`, password_hash: bcryptjs.hashSync(`password ${n}`, 4), projects: [{ id: 'shop' }] });

  it('imports the good lines, lists each bad one with its number and exits 1; a second run leaves everything alone', async () => {
    const file = join(dir, 'accounts.jsonl');
    writeFileSync(file, [good(1), 'not json', good(2), JSON.stringify({ email: 'x@example.com', password_hash: '$2b$31$' + 'a'.repeat(53) }), good(3), ''].join('\n'));
    const first = await gatehouse(env, ['users', 'import', file]);
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stdout, /^3 created, 0 updated, 0 left alone \(already there\), 2 bad lines/);
    assert.match(first.stdout, /^line 2: not JSON$/m);
    assert.match(first.stdout, /^line 4: password_hash is not a supported hash/m);
    assert.match(first.stderr, /2 lines not imported/);
    assert.doesNotMatch(first.stderr, /lines read/, 'no progress when stderr is not a terminal');
    const user = await app.services.users.findByEmail('user2@example.com');
    assert.ok(user);
    assert.deepEqual(await app.services.users.membership('shop', user.user.id), { blocked: false });

    const clean = join(dir, 'clean.jsonl');
    writeFileSync(clean, [good(1), good(2), good(4)].join('\n'));
    const second = await gatehouse(env, ['users', 'import', clean, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), { created: 1, updated: 0, unchanged: 2, problems: [] });

    const events = await app.services.database.db.selectFrom('audit_events').select(['type', 'detail']).where('type', '=', 'admin.users.imported').execute();
    assert.equal(events.length, 2, 'one summary event a run');
  });

  it('a missing file exits 1; export writes the import format with a warning, to stdout or a private file', async () => {
    const missing = await gatehouse(env, ['users', 'import', join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*ENOENT/);

    const out = await gatehouse(env, ['users', 'export']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /warning: the export holds password hashes/);
    const lines = out.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { email: string; password_hash: string | null; projects: unknown[] });
    const one = lines.find((line) => line.email === 'user1@example.com');
    assert.match(one?.password_hash ?? '', /^\$2[ab]\$04\$/);
    assert.deepEqual(one?.projects, [{ id: 'shop', blocked: false }]);
    assert.equal(lines.length, (await app.services.users.list()).length);

    const target = join(dir, 'export.jsonl');
    const toFile = await gatehouse(env, ['users', 'export', '--output', target]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(toFile.stdout, '');
    assert.equal(readFileSync(target, 'utf8'), out.stdout);
    assert.equal(statSync(target).mode & 0o777, 0o600);
  });
});
