// The `gatehouse` command line on this run's database (SQLite file or PostgreSQL schema), checked
// against an app built on the same database; a few runs go through a real child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type App } from '../../src/app.ts';
import { COMMANDS, runCli } from '../../src/cli/run.ts';
import { loadConfig } from '../../src/config.ts';
import { pkcePair, testEnv } from '../support/app.ts';
import { authParams, REDIRECT_URI } from '../support/flow.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(): Record<string, string> {
  // The tests' own GATEHOUSE_* settings (if any) must not leak into the command.
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('GATEHOUSE_')));
}

function gatehouse(env: Record<string, string>, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

function json<T>(run: Run): T {
  assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

describe('gatehouse command line', () => {
  // The database of this run's backend (a SQLite file, or a fresh PostgreSQL schema), without
  // the bootstrap admin: the command line is the only thing that creates accounts here.
  const { GATEHOUSE_ADMIN_EMAIL: _email, GATEHOUSE_ADMIN_PASSWORD: _password, ...env } = testEnv();
  /**
   * Most commands run in this process through the same entry point main.ts calls (a child
   * process costs a second and a half of start-up each); the tests that need a real process
   * (exit codes seen by a shell, stdin, start-up errors) call gatehouse() instead.
   */
  const cli = async (...args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, { stdout: (text) => (stdout += `${text}\n`), stderr: (text) => (stderr += `${text}\n`), env });
    return { code, stdout, stderr };
  };
  let app: App | undefined;
  /** an app on the same database file, built once the CLI has made it */
  const appOnSameFile = async (): Promise<App> => (app ??= await buildApp({ config: loadConfig(env) }));
  after(() => app?.close());

  describe('usage', () => {
    it('--help lists every command and exits 0; no command prints the same list on stderr and exits 2', async () => {
      const help = await cli('--help');
      assert.equal(help.code, 0);
      for (const command of COMMANDS) assert.ok(help.stdout.includes(command.name), command.name);
      const none = await cli();
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no command given/);
      assert.match(none.stderr, /project create/);
      assert.equal(none.stdout, '');
    });

    it('every command answers --help with its usage and exit 0, without touching the database', async () => {
      for (const command of COMMANDS) {
        const printed: string[] = [];
        const code = await runCli([...command.name.split(' '), '--help'], {
          stdout: (text) => printed.push(text),
          stderr: (text) => printed.push(`stderr: ${text}`),
          env: { GATEHOUSE_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
        });
        assert.equal(code, 0, command.name);
        assert.match(printed.join('\n'), new RegExp(`^Usage: gatehouse ${command.name}`), command.name);
      }
      const child = await cli('pin', 'create', '--help');
      assert.equal(child.code, 0);
      assert.match(child.stdout, /Usage: gatehouse pin create --project ID \[--label LABEL\]/);
      const group = await cli('keys', '--help');
      assert.equal(group.code, 0);
      assert.match(group.stdout, /keys rotate/);
      assert.match(group.stdout, /keys list/);
    });

    it('unknown commands, unknown options and missing arguments exit 2 with a message on stderr, before any database is opened', async () => {
      const cases = [['frobnicate'], ['project', 'frob'], ['pin', 'list', '--project', 'x', '--bogus'], ['pin', 'list'], ['project', 'show'], ['project', 'create', '--name', 'X']];
      const runs = await Promise.all(cases.map((args) => gatehouse(env, args)));
      for (const [i, args] of cases.entries()) {
        const run = runs[i]!;
        assert.equal(run.code, 2, args.join(' '));
        assert.match(run.stderr, /^gatehouse: /, args.join(' '));
        assert.equal(run.stdout, '', args.join(' '));
      }
      const sqliteFile = env.GATEHOUSE_DATABASE_URL?.startsWith('sqlite:') ? env.GATEHOUSE_DATABASE_URL.slice('sqlite:'.length) : undefined;
      if (sqliteFile !== undefined) assert.equal(existsSync(sqliteFile), false, 'a usage error never opens the database');
    });

    it('a configuration error exits 1 and says so', async () => {
      const run = await gatehouse({ ...env, GATEHOUSE_DATABASE_URL: 'mysql://localhost/db' }, ['project', 'list']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /configuration error: GATEHOUSE_DATABASE_URL/);
    });
  });

  describe('on a database', () => {
    before(async () => {
      const migrated = await cli('migrate');
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, /applied 0001_core/);
    });

    it('migrate on an up-to-date database applies nothing', async () => {
      const again = await cli('migrate');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /database is up to date/);
      assert.deepEqual(json(await cli('migrate', '--json')), { applied: [] });
    });

    it('project create makes a confidential project whose secret is printed once; list and show find it', async () => {
      const created = json<{ id: string; client_secret: string; confidential: boolean; registration_open: boolean; redirect_uris: string[] }>(
        await cli('project', 'create', '--name', 'Shop', '--id', 'shop', '--redirect-uri', REDIRECT_URI, '--redirect-uri', 'https://app.example.com/other', '--confidential', '--closed', '--json'),
      );
      assert.equal(created.id, 'shop');
      assert.equal(created.confidential, true);
      assert.equal(created.registration_open, false);
      assert.deepEqual(created.redirect_uris, [REDIRECT_URI, 'https://app.example.com/other']);
      assert.match(created.client_secret, /^[A-Za-z0-9_-]{43}$/);

      // the built-in projects (console, account) are there beside the one created here
      const list = json<{ projects: Array<{ id: string; client_secret?: string }> }>(await cli('project', 'list', '--json'));
      assert.deepEqual(list.projects.map((p) => p.id).sort(), ['account', 'console', 'shop']);
      assert.ok(list.projects.every((p) => p.client_secret === undefined), 'the secret is never shown again');
      const shown = await cli('project', 'show', 'shop');
      assert.equal(shown.code, 0);
      assert.match(shown.stdout, /confidential/);
      assert.ok(!shown.stdout.includes(created.client_secret));

      // An app on the same file accepts exactly this secret for the project.
      const server = await appOnSameFile();
      const record = await server.services.projects.find('shop');
      assert.ok(record && server.services.projects.secretMatches(record, created.client_secret));
    });

    it('project create takes --post-logout-redirect-uri (docs/sso.md), by the rules of redirect URIs', async () => {
      const created = json<{ post_logout_redirect_uris: string[] }>(
        await cli('project', 'create', '--name', 'Bye', '--id', 'bye', '--redirect-uri', REDIRECT_URI, '--post-logout-redirect-uri', 'https://app.example.com/bye', '--json'),
      );
      assert.deepEqual(created.post_logout_redirect_uris, ['https://app.example.com/bye']);
      assert.match((await cli('project', 'show', 'bye')).stdout, /after logout: {2}https:\/\/app\.example\.com\/bye/);
      const refused = await cli('project', 'create', '--name', 'Bad', '--redirect-uri', REDIRECT_URI, '--post-logout-redirect-uri', 'https://app.example.com/bye#frag');
      assert.equal(refused.code, 2);
    });

    it('project create refuses a taken id (exit 1) and a bad redirect URI or id (exit 2); project show of an unknown id exits 1', async () => {
      const taken = await cli('project', 'create', '--name', 'Again', '--id', 'shop', '--redirect-uri', REDIRECT_URI);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /already exists/);
      const badUri = await cli('project', 'create', '--name', 'Bad', '--redirect-uri', 'http://evil.example/cb');
      assert.equal(badUri.code, 2);
      assert.match(badUri.stderr, /must use https/);
      const badId = await cli('project', 'create', '--name', 'Bad', '--id', 'a b', '--redirect-uri', REDIRECT_URI);
      assert.equal(badId.code, 2);
      const missing = await cli('project', 'show', 'nope', '--json');
      assert.equal(missing.code, 1);
      assert.deepEqual(JSON.parse(missing.stderr), { error: 'no project with id nope' });
    });

    it('project create --signing-alg RS256 makes a project whose tokens are RS256; another value is a usage error', async () => {
      const created = json<{ id: string; token_signing_alg: string }>(await cli('project', 'create', '--name', 'RSA', '--id', 'rsa-app', '--redirect-uri', REDIRECT_URI, '--signing-alg', 'RS256', '--json'));
      assert.equal(created.token_signing_alg, 'RS256');
      assert.match((await cli('project', 'show', 'rsa-app')).stdout, /signing: +RS256/);
      const bad = await cli('project', 'create', '--name', 'Bad', '--redirect-uri', REDIRECT_URI, '--signing-alg', 'HS256');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--signing-alg must be one of ES256, RS256/);
    });

    it('project create --require-verified-email true sets require_verified_email (docs/accounts.md), shown by project show; without it the project has it false', async () => {
      const strict = json<{ require_verified_email: boolean }>(
        await cli('project', 'create', '--name', 'Strict', '--id', 'strict-app', '--redirect-uri', REDIRECT_URI, '--require-verified-email', 'true', '--json'),
      );
      assert.equal(strict.require_verified_email, true);
      assert.match((await cli('project', 'show', 'strict-app')).stdout, /email: +must be verified to sign in/);
      const plain = json<{ require_verified_email: boolean }>(await cli('project', 'create', '--name', 'Plain', '--id', 'plain-app', '--redirect-uri', REDIRECT_URI, '--json'));
      assert.equal(plain.require_verified_email, false);
    });

    it('project create --require-mfa true sets require_mfa (docs/mfa.md), shown by project show; project update --require-mfa false clears it', async () => {
      const strict = json<{ require_mfa: boolean }>(
        await cli('project', 'create', '--name', 'Two Steps', '--id', 'mfa-app', '--redirect-uri', REDIRECT_URI, '--require-mfa', 'true', '--json'),
      );
      assert.equal(strict.require_mfa, true);
      assert.match((await cli('project', 'show', 'mfa-app')).stdout, /second factor: required to sign in/);
      const cleared = json<{ require_mfa: boolean }>(await cli('project', 'update', 'mfa-app', '--require-mfa', 'false', '--json'));
      assert.equal(cleared.require_mfa, false);
      const bad = await cli('project', 'update', 'mfa-app', '--require-mfa', 'maybe');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--require-mfa must be true or false/);
    });

    it('a PIN created by the command line logs in through an app on the same file; pin list never shows it; after pin revoke it is refused', async () => {
      assert.equal((await cli('project', 'create', '--name', 'Kiosk', '--id', 'kiosk', '--redirect-uri', REDIRECT_URI)).code, 0);
      const pin = json<{ id: string; pin: string; label: string }>(await cli('pin', 'create', '--project', 'kiosk', '--label', 'front desk', '--json'));
      assert.match(pin.pin, /^\d{8}$/);
      assert.equal(pin.label, 'front desk');

      const listed = await cli('pin', 'list', '--project', 'kiosk');
      assert.equal(listed.code, 0);
      assert.match(listed.stdout, new RegExp(pin.id));
      assert.match(listed.stdout, /front desk/);
      assert.ok(!listed.stdout.includes(pin.pin), 'the PIN itself is never listed');

      const server = await appOnSameFile();
      const login = async () => {
        const { challenge } = pkcePair();
        return server.server.inject({ method: 'POST', url: '/login/pin', payload: { ...authParams('kiosk', challenge), pin: pin.pin } });
      };
      const ok = await login();
      assert.equal(ok.statusCode, 200, ok.body);
      assert.ok(ok.json<{ code: string }>().code);

      const revoked = await cli('pin', 'revoke', '--project', 'kiosk', '--pin', pin.id);
      assert.equal(revoked.code, 0);
      assert.match(revoked.stdout, /revoked PIN/);
      const refused = await login();
      assert.equal(refused.statusCode, 401);
      assert.deepEqual(refused.json(), { error: 'Invalid PIN' });

      const again = await cli('pin', 'revoke', '--project', 'kiosk', '--pin', pin.id);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /already revoked/);
      const unknown = await cli('pin', 'revoke', '--project', 'kiosk', '--pin', 'no-such-pin');
      assert.equal(unknown.code, 1);
      const noProject = await cli('pin', 'create', '--project', 'nope');
      assert.equal(noProject.code, 1);
      assert.match(noProject.stderr, /no project with id nope/);
    });

    it('admin create prints a generated password once, and it logs in to the console project', async () => {
      const run = await cli('admin', 'create', '--email', 'Root@Example.com');
      assert.equal(run.code, 0, run.stderr);
      const password = /password: (\S+)/.exec(run.stdout)?.[1];
      assert.ok(password && password.length >= 20);

      const server = await appOnSameFile();
      const { challenge } = pkcePair();
      const login = await server.server.inject({
        method: 'POST',
        url: '/login',
        payload: { ...authParams('console', challenge, { redirect_uri: 'http://gatehouse.test/console/callback' }), email: 'root@example.com', password },
      });
      assert.equal(login.statusCode, 200, login.body);
      const user = await server.services.users.findByEmail('root@example.com');
      assert.equal(user?.user.is_admin, true);

      const duplicate = await cli('admin', 'create', '--email', 'root@example.com', '--password', 'a long unusual passphrase');
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /Email already registered/);
    });

    it('admin create takes a password from --password or stdin, refuses a common one (exit 2), and never prints a given one', async () => {
      const weak = await cli('admin', 'create', '--email', 'weak@example.com', '--password', 'password');
      assert.equal(weak.code, 2);
      assert.match(weak.stderr, /Invalid password: a commonly used or breached password/);

      const given = await cli('admin', 'create', '--email', 'ops@example.com', '--password', 'ops team passphrase 42', '--json');
      const user = json<{ email: string; is_admin: boolean; password?: string }>(given);
      assert.equal(user.is_admin, true);
      assert.equal(user.password, undefined);
      assert.ok(!given.stdout.includes('ops team passphrase 42'));

      const piped = await gatehouse(env, ['admin', 'create', '--email', 'piped@example.com', '--password-stdin'], 'piped secret phrase 7\n');
      assert.equal(piped.code, 0, piped.stderr);
      const server = await appOnSameFile();
      const record = await server.services.users.findByEmail('piped@example.com');
      assert.ok(record?.passwordHash && (await server.services.hasher.verify(record.passwordHash, 'piped secret phrase 7')));
    });

    it('user block and unblock, by email or id, decide whether the member can log in', async () => {
      assert.equal((await cli('project', 'create', '--name', 'Club', '--id', 'club', '--redirect-uri', REDIRECT_URI)).code, 0);
      const server = await appOnSameFile();
      const member = await server.services.users.create({ email: 'member@example.com', password: 'member passphrase 99' });
      assert.ok(member);
      await server.services.users.addMember('club', member.id);
      const login = () => {
        const { challenge } = pkcePair();
        return server.server.inject({ method: 'POST', url: '/login', payload: { ...authParams('club', challenge), email: 'member@example.com', password: 'member passphrase 99' } });
      };

      const blocked = json<{ user_id: string; blocked: boolean }>(await cli('user', 'block', '--project', 'club', '--user', 'member@example.com', '--json'));
      assert.deepEqual(blocked, { user_id: member.id, email: 'member@example.com', blocked: true });
      const refused = await login();
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(refused.json(), { error: 'Account blocked' });

      const unblocked = await cli('user', 'unblock', '--project', 'club', '--user', member.id);
      assert.equal(unblocked.code, 0);
      assert.match(unblocked.stdout, /unblocked member@example.com in club/);
      assert.equal((await login()).statusCode, 200);

      const stranger = await cli('user', 'block', '--project', 'club', '--user', 'nobody@example.com');
      assert.equal(stranger.code, 1);
      assert.match(stranger.stderr, /no user nobody@example.com/);
      const notMember = await cli('user', 'block', '--project', 'kiosk', '--user', 'member@example.com');
      assert.equal(notMember.code, 1);
      assert.match(notMember.stderr, /not a member of kiosk/);
    });

    it('keys rotate pre-publishes a next key of each algorithm while the old ones sign; --immediately makes new ones sign and withdraws the old; keys list shows them', async () => {
      const server = await appOnSameFile();
      const before = server.services.keys.kid;
      const rotated = json<{ kid: string; kids: { ES256: string; RS256: string }; signs_from: string }>(await cli('keys', 'rotate', '--json'));
      assert.notEqual(rotated.kid, before);
      assert.equal(rotated.kids.ES256, rotated.kid);
      // GATEHOUSE_KEY_PREPUBLISH_SECONDS (900) from now, on the real clock of the command.
      assert.ok(Math.abs(Date.parse(rotated.signs_from) - (Date.now() + 900_000)) < 60_000);

      type Listed = { kid: string; alg: string; state: string; signing: boolean; published: boolean; unpublish_at: string | null };
      let list = json<{ keys: Listed[] }>(await cli('keys', 'list', '--json'));
      assert.deepEqual(list.keys.filter((k) => k.signing && k.alg === 'ES256').map((k) => k.kid), [before], 'the old key signs during the pre-publication');
      assert.deepEqual(list.keys.filter((k) => k.state === 'next').map((k) => k.kid).sort(), [rotated.kids.ES256, rotated.kids.RS256].sort());
      assert.match((await cli('keys', 'list')).stdout, /next, signs from/);

      await server.services.keys.load(); // what the app's periodic reload does
      assert.equal(server.services.keys.kid, before);
      let jwks = (await server.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: Array<{ kid: string; alg: string }> }>();
      assert.deepEqual(jwks.keys.filter((k) => k.alg === 'ES256').map((k) => k.kid).sort(), [before, rotated.kid].sort(), 'the next key is published at once');

      const now = json<{ kid: string; withdrawn: string[] }>(await cli('keys', 'rotate', '--immediately', '--json'));
      assert.ok(now.withdrawn.includes(before), 'the key that signed is withdrawn');
      list = json<{ keys: Listed[] }>(await cli('keys', 'list', '--json'));
      assert.deepEqual(list.keys.filter((k) => k.signing && k.alg === 'ES256').map((k) => k.kid), [now.kid]);
      await server.services.keys.load();
      assert.equal(server.services.keys.kid, now.kid);
      jwks = (await server.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: Array<{ kid: string; alg: string }> }>();
      assert.deepEqual(jwks.keys.filter((k) => k.alg === 'ES256').map((k) => k.kid), [now.kid], 'the old keys left the JWKS at once');
    });

    it('changes made from the command line are in the audit log', async () => {
      const server = await appOnSameFile();
      const events = await server.services.audit.list({ limit: 100 });
      const types = new Set(events.filter((e) => e.detail?.via === 'cli').map((e) => e.type));
      for (const type of ['admin.project.created', 'pin.created', 'pin.revoked', 'admin.user.created', 'admin.member.blocked', 'admin.member.unblocked', 'keys.rotated', 'keys.withdrawn']) {
        assert.ok(types.has(type), type);
      }
    });
  });
});
