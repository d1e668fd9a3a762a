// Secrets at rest (hardening M5): with GATEHOUSE_SECRET_KEY the private signing keys and the PIN
// key are stored sealed (AES-256-GCM, the row as associated data); older plain rows still read,
// `gatehouse keys encrypt` converts them, and a start without the key (or with another) stops
// with a clear message. The SQLite file, its WAL and shared memory and its folder are private.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildApp, type App } from '../src/app.ts';
import { runCli } from '../src/cli/run.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { SealedSecretError, SecretBox } from '../src/crypto/sealed.ts';
import { testBackend, releaseTestStorage } from './support/backend.ts';
import { testEnv } from './support/app.ts';
import { authParams, REDIRECT_URI } from './support/flow.ts';
import { pkcePair } from './support/app.ts';

const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(48).toString('base64');

/** One database (SQLite file or PostgreSQL schema) that several apps start on in turn. */
function sharedDatabase() {
  const env = testEnv();
  const config = (extra: Record<string, string> = {}) => loadConfig({ ...env, ...extra });
  after(() => releaseTestStorage(config()));
  return {
    env,
    start: (extra: Record<string, string> = {}) => buildApp({ config: config(extra), logger: false }),
    cli: async (extra: Record<string, string>, ...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli([...args, '--json'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { ...env, ...extra } });
      return { code, stdout, stderr };
    },
  };
}

async function storedSecrets(app: App) {
  const { db } = app.services.database;
  const keys = await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
  const pin = await db.selectFrom('instance_secrets').select('value').where('name', '=', 'pin_hmac_key').executeTakeFirstOrThrow();
  return { keys, pin: pin.value };
}

/** A PIN login and its code exchange, through HTTP: proves the PIN key and the signing key work. */
async function pinSignIn(app: App, projectId: string, pin: string): Promise<number> {
  const { verifier, challenge } = pkcePair();
  const login = await app.server.inject({ method: 'POST', url: '/login/pin', payload: { ...authParams(projectId, challenge), pin } });
  if (login.statusCode !== 200) return login.statusCode;
  const token = await app.server.inject({
    method: 'POST',
    url: '/token',
    payload: { grant_type: 'authorization_code', client_id: projectId, code: login.json<{ code: string }>().code, code_verifier: verifier, redirect_uri: REDIRECT_URI },
  });
  if (token.statusCode !== 200) return token.statusCode;
  const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${token.json<{ access_token: string }>().access_token}` } });
  return userinfo.statusCode;
}

describe('GATEHOUSE_SECRET_KEY', () => {
  it('a bad value stops the start with a clear message', () => {
    for (const bad of ['short', Buffer.alloc(31).toString('base64'), 'not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!']) {
      assert.throws(() => loadConfig({ GATEHOUSE_SECRET_KEY: bad }), (e: unknown) => e instanceof ConfigError && /GATEHOUSE_SECRET_KEY must be at least 32 random bytes/.test(e.message));
    }
    assert.equal(loadConfig({ GATEHOUSE_SECRET_KEY: KEY }).secretKey?.length, 32);
  });

  it('a sealed value opens only with its key and in its own row', () => {
    const box = new SecretBox(Buffer.from(KEY, 'base64'));
    const sealed = box.seal('the secret', 'signing_keys:a');
    assert.notEqual(sealed, 'the secret');
    assert.equal(box.open(sealed, 'signing_keys:a', 'it'), 'the secret');
    assert.throws(() => box.open(sealed, 'signing_keys:b', 'it'), SealedSecretError);
    assert.throws(() => new SecretBox(Buffer.from(OTHER_KEY, 'base64')).open(sealed, 'signing_keys:a', 'it'), SealedSecretError);
    assert.throws(() => new SecretBox(undefined).open(sealed, 'signing_keys:a', 'it'), /GATEHOUSE_SECRET_KEY is not set/);
    // A value stored before any key was set reads as it is.
    assert.equal(box.open('{"kty":"EC"}', 'signing_keys:a', 'it'), '{"kty":"EC"}');
  });

  it('seals the private signing keys and the PIN key; the plaintext private key is nowhere in the database', async () => {
    const db = sharedDatabase();
    const app = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    try {
      await app.services.keys.rotate(); // a second key of each algorithm, written sealed too
      const { keys, pin } = await storedSecrets(app);
      assert.equal(keys.length, 4, 'an ES256 and an RS256 key, each rotated once');
      const box = new SecretBox(Buffer.from(KEY, 'base64'));
      for (const key of keys) {
        assert.match(key.private_jwk, /^sealed:v1:/);
        const { d } = JSON.parse(box.open(key.private_jwk, `signing_keys:${key.kid}`, 'key')) as { d: string };
        assert.ok(d.length > 20);
        if (testBackend === 'sqlite') {
          const path = app.services.config.databaseUrl.slice('sqlite:'.length);
          const files = [path, `${path}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
          assert.ok(files.length > 0);
          for (const content of files) assert.equal(content.includes(d), false, 'the private key is not in the database file');
        }
      }
      assert.match(pin, /^sealed:v1:/);
      const project = await app.services.projects.create({ id: 'sealed-app', name: 'Sealed', redirect_uris: [REDIRECT_URI] });
      const created = await app.services.pins.create(project.project.id);
      assert.equal(await pinSignIn(app, 'sealed-app', created.pin), 200);
    } finally {
      await app.close();
    }
  });

  it('rows written before the key still read; `gatehouse keys encrypt` converts them, idempotently; without the key or with another the start stops', async () => {
    const db = sharedDatabase();
    let app = await db.start();
    let pin: string;
    try {
      const { keys, pin: pinKey } = await storedSecrets(app);
      assert.equal(keys[0]?.private_jwk.startsWith('{'), true, 'plain before the key is set');
      assert.equal(pinKey.startsWith('sealed:'), false);
      await app.services.projects.create({ id: 'legacy-app', name: 'Legacy', redirect_uris: [REDIRECT_URI] });
      pin = (await app.services.pins.create('legacy-app')).pin;
    } finally {
      await app.close();
    }

    // The key is set: the plain rows still read.
    app = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    try {
      assert.equal(await pinSignIn(app, 'legacy-app', pin), 200);
    } finally {
      await app.close();
    }

    const refused = await db.cli({}, 'keys', 'encrypt');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /GATEHOUSE_SECRET_KEY is not set/);
    const first = await db.cli({ GATEHOUSE_SECRET_KEY: KEY }, 'keys', 'encrypt');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { signing_keys_encrypted: 2, pin_key_encrypted: true, session_id_key_encrypted: true });
    const again = await db.cli({ GATEHOUSE_SECRET_KEY: KEY }, 'keys', 'encrypt');
    assert.deepEqual(JSON.parse(again.stdout), { signing_keys_encrypted: 0, pin_key_encrypted: false, session_id_key_encrypted: false });

    app = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    try {
      const { keys, pin: pinKey } = await storedSecrets(app);
      assert.ok(keys.every((k) => k.private_jwk.startsWith('sealed:v1:')));
      assert.match(pinKey, /^sealed:v1:/);
      assert.equal(await pinSignIn(app, 'legacy-app', pin), 200, 'the same PIN key, sealed');
    } finally {
      await app.close();
    }

    await assert.rejects(db.start(), /is encrypted, but GATEHOUSE_SECRET_KEY is not set/);
    await assert.rejects(db.start({ GATEHOUSE_SECRET_KEY: OTHER_KEY }), /cannot be decrypted: GATEHOUSE_SECRET_KEY is not the key it was encrypted with/);
  });

  it('a sealed key copied into another row does not open there', async () => {
    const db = sharedDatabase();
    const app = await db.start({ GATEHOUSE_SECRET_KEY: KEY });
    const kid = app.services.keys.kid;
    const { keys } = await storedSecrets(app);
    const sealed = keys[0]?.private_jwk ?? '';
    // The attacker's move: the sealed private key of one row given to a row they made.
    await app.services.database.db.updateTable('signing_keys').set({ kid: 'planted' }).where('kid', '=', kid).execute();
    await app.services.database.db.updateTable('signing_keys').set({ private_jwk: sealed }).where('kid', '=', 'planted').execute();
    await app.close();
    await assert.rejects(db.start({ GATEHOUSE_SECRET_KEY: KEY }), /signing key planted cannot be decrypted/);
  });
});

describe('the SQLite file and its folder', { skip: testBackend !== 'sqlite' && 'file permissions are about the SQLite file' }, () => {
  it('are created 0600 (the file, its WAL and shared memory) and 0700 (the folder)', async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'gatehouse-perm-')), 'data');
    const path = join(folder, 'gatehouse.db');
    const app = await buildApp({ config: loadConfig({ ...testEnv(), GATEHOUSE_DATABASE_URL: `sqlite:${path}` }), logger: false });
    try {
      assert.equal(statSync(folder).mode & 0o777, 0o700);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.ok(existsSync(file), file);
        assert.equal(statSync(file).mode & 0o777, 0o600, file);
      }
    } finally {
      await app.close();
    }
  });
});
