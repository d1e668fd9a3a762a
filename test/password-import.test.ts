// Imported password hashes (machines.md "Moving accounts in and out"): POST /admin/users with a
// password_hash made by another library signs in with the right password, refuses a wrong one,
// and holds an Argon2id hash after the first sign-in; a hash it cannot keep answers 400.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import bcryptjs from 'bcryptjs';
import type { User } from '../src/users/users.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, createProject, type TestProject } from './support/flow.ts';

const PASSWORD = 'a passphrase from the old system';

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
// passlib's adapted base64: '.' for '+', no padding.
const ab64 = (bytes: Buffer) => b64(bytes).replaceAll('+', '.');

function scryptHash(password: string, ln: number, r: number, p: number): string {
  const salt = randomBytes(16);
  const digest = scryptSync(password, salt, 32, { N: 2 ** ln, r, p });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(digest)}`;
}

function pbkdf2Hash(password: string, rounds: number): string {
  const salt = randomBytes(16);
  return `$pbkdf2-sha256$${rounds}$${ab64(salt)}$${ab64(pbkdf2Sync(password, salt, rounds, 32, 'sha256'))}`;
}

describe('imported password hashes', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  let ip = 0;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
    project = await createProject(app);
  });
  after(() => app.close());

  const storedHash = async (id: string) =>
    (await app.services.database.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash;

  const login = (email: string, password: string) =>
    app.server.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: `198.51.100.${++ip}`,
      payload: { ...authParams(project.id, pkcePair().challenge), email, password },
    });

  async function importUser(email: string, passwordHash: string): Promise<User> {
    const res = await call(app, admin, 'POST', '/admin/users', { email, password_hash: passwordHash });
    assert.equal(res.statusCode, 201, res.body);
    const user = res.json<User>();
    assert.equal(user.has_password, true);
    assert.equal('password_hash' in user, false, 'the hash is never answered');
    await app.services.users.addMember(project.id, user.id);
    return user;
  }

  const bcryptSalt = (version: '2a' | '2b') => bcryptjs.genSaltSync(4).replace(/^\$2[ab]\$/, `$${version}$`);
  const made: Array<[string, () => Promise<string> | string]> = [
    ['bcrypt $2a$', () => bcryptjs.hashSync(PASSWORD, bcryptSalt('2a'))],
    ['bcrypt $2b$', () => bcryptjs.hashSync(PASSWORD, bcryptSalt('2b'))],
    // PHP's crypt() writes $2y$ for what is otherwise a $2b$ hash.
    ['bcrypt $2y$', () => bcryptjs.hashSync(PASSWORD, bcryptSalt('2b')).replace(/^\$2b\$/, '$2y$')],
    ['argon2id', () => argon2Hash(PASSWORD, { algorithm: Algorithm.Argon2id, memoryCost: 512, timeCost: 1, parallelism: 1 })],
    ['argon2i', () => argon2Hash(PASSWORD, { algorithm: Algorithm.Argon2i, memoryCost: 512, timeCost: 2, parallelism: 1 })],
    ['scrypt', () => scryptHash(PASSWORD, 10, 8, 1)],
    ['pbkdf2-sha256', () => pbkdf2Hash(PASSWORD, 1000)],
  ];

  for (const [label, make] of made) {
    it(`${label}: the right password signs in, a wrong one does not, and the hash becomes Argon2id`, async () => {
      const imported = await make();
      const email = `${label.replace(/[^a-z0-9]/g, '')}@example.com`;
      const user = await importUser(email, imported);
      assert.equal(await storedHash(user.id), imported, 'kept as given until a sign-in proves the password');

      assert.equal((await login(email, 'not the password')).statusCode, 401);
      assert.equal(await storedHash(user.id), imported, 'never re-hashed after a failure');

      assert.equal((await login(email, PASSWORD)).statusCode, 200);
      const upgraded = await storedHash(user.id);
      assert.match(upgraded ?? '', /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      assert.notEqual(upgraded, imported);
      assert.equal((await login(email, PASSWORD)).statusCode, 200, 'the new hash checks the same password');
      assert.equal((await login(email, 'not the password')).statusCode, 401);
    });
  }

  it('refuses malformed, unknown and out-of-bound hashes with 400 Invalid request', async () => {
    const good = bcryptjs.hashSync(PASSWORD, 4);
    const salt = b64(randomBytes(16));
    const digest = b64(randomBytes(32));
    const bad: Array<[string, unknown]> = [
      ['empty', ''],
      ['not a string', 42],
      ['plain text', PASSWORD],
      ['md5 crypt', '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/'],
      ['sha512 crypt', '$6$rounds=5000$saltsalt$' + 'a'.repeat(86)],
      ['bcrypt too short', good.slice(0, -1)],
      ['bcrypt too long', good + 'a'],
      ['bcrypt $2x$', good.replace(/^\$2b\$/, '$2x$')],
      ['bcrypt cost 3', good.replace(/^\$2b\$04\$/, '$2b$03$')],
      ['bcrypt cost 31', good.replace(/^\$2b\$04\$/, '$2b$31$')],
      ['argon2d', `$argon2d$v=19$m=1024,t=1,p=1$${salt}$${digest}`],
      ['argon2id 4 GiB', `$argon2id$v=19$m=4194304,t=1,p=1$${salt}$${digest}`],
      ['argon2id 1000 passes', `$argon2id$v=19$m=1024,t=1000,p=1$${salt}$${digest}`],
      ['argon2id bad base64', `$argon2id$v=19$m=1024,t=1,p=1$${salt}$${digest}!`],
      ['argon2id padded', `$argon2id$v=19$m=1024,t=1,p=1$${salt}==$${digest}`],
      ['argon2id no salt', `$argon2id$v=19$m=1024,t=1,p=1$$${digest}`],
      ['scrypt ln=40', `$scrypt$ln=40,r=8,p=1$${salt}$${digest}`],
      ['scrypt 2 GiB', `$scrypt$ln=20,r=16,p=1$${salt}$${digest}`],
      ['scrypt p=1000', `$scrypt$ln=14,r=8,p=1000$${salt}$${digest}`],
      ['scrypt too much work', `$scrypt$ln=17,r=8,p=16$${salt}$${digest}`],
      ['scrypt ln=0', `$scrypt$ln=0,r=8,p=1$${salt}$${digest}`],
      ['scrypt parameters missing', `$scrypt$ln=14$${salt}$${digest}`],
      ['scrypt short digest', `$scrypt$ln=14,r=8,p=1$${salt}$${b64(randomBytes(8))}`],
      ['scrypt stray bits', `$scrypt$ln=14,r=8,p=1$${salt}$${digest.slice(0, -1)}B`],
      ['pbkdf2 rounds 0', `$pbkdf2-sha256$0$${salt}$${digest}`],
      ['pbkdf2 ten million rounds', `$pbkdf2-sha256$10000000$${salt}$${digest}`],
      ['pbkdf2-sha1', `$pbkdf2$1000$${salt}$${digest}`],
      ['pbkdf2 no digest', `$pbkdf2-sha256$1000$${salt}$`],
      ['pbkdf2 a space', `$pbkdf2-sha256$1000$${salt}$${digest} `],
      ['too long', `$pbkdf2-sha256$1000$${salt}$${'A'.repeat(2000)}`],
    ];
    for (const [label, passwordHash] of bad) {
      const res = await call(app, admin, 'POST', '/admin/users', { email: 'refused@example.com', password_hash: passwordHash });
      assert.equal(res.statusCode, 400, label);
      assert.equal(res.json().error, 'Invalid request', label);
    }
    const both = await call(app, admin, 'POST', '/admin/users', { email: 'refused@example.com', password: PASSWORD, password_hash: good });
    assert.equal(both.statusCode, 400);
    assert.equal(both.json().error, 'Invalid request');
    const patch = await call(app, admin, 'PATCH', `/admin/users/${(await importUser('patched@example.com', good)).id}`, { password_hash: good });
    assert.equal(patch.statusCode, 400, 'PATCH does not take a hash');
    assert.equal(patch.json().error, 'Invalid request');
    assert.deepEqual((await call(app, admin, 'GET', '/admin/users?email=refused@example.com')).json(), { users: [], next_cursor: null });
  });
});
