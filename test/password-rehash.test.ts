// Re-hash on sign-in: a password hash made with weaker Argon2id parameters than the configured
// ones is replaced after a successful password check, and never after a failed one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Algorithm, hash } from '@node-rs/argon2';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, createUser, type TestProject } from './support/flow.ts';

const PASSWORD = 'an old but good passphrase';

describe('re-hash on sign-in', () => {
  let app: TestApp;
  let project: TestProject;
  let userId: string;
  before(async () => {
    // The configured parameters: two passes where the stored hash below has one.
    app = await createTestApp({ env: { GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '2' } });
    project = await createProject(app);
    userId = await createUser(app, 'rehash@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  const storedHash = async () =>
    (await app.services.database.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow()).password_hash ?? '';

  const login = (password: string, ip: string) =>
    app.server.inject({ method: 'POST', url: '/login', remoteAddress: ip, payload: { ...authParams(project.id, pkcePair().challenge), email: 'rehash@example.com', password } });

  it('replaces a weaker hash after the right password, and keeps it after a wrong one', async () => {
    const weak = await hash(PASSWORD, { algorithm: Algorithm.Argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    await app.services.database.db.updateTable('users').set({ password_hash: weak }).where('id', '=', userId).execute();

    assert.equal((await login('not the password', '198.51.100.1')).statusCode, 401);
    assert.equal(await storedHash(), weak, 'never on a failure');

    assert.equal((await login(PASSWORD, '198.51.100.2')).statusCode, 200);
    const upgraded = await storedHash();
    assert.notEqual(upgraded, weak);
    assert.match(upgraded, /^\$argon2id\$v=19\$m=1024,t=2,p=1\$/);
    assert.equal((await login(PASSWORD, '198.51.100.3')).statusCode, 200, 'the new hash checks the same password');
    assert.equal(await storedHash(), upgraded, 'a hash as strong as configured is left alone');
  });

  it('needsRehash reads the parameters of the stored hash', async () => {
    const { hasher } = app.services;
    assert.equal(hasher.needsRehash('$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaA'), false);
    assert.equal(hasher.needsRehash('$argon2id$v=19$m=2048,t=3,p=2$c2FsdHNhbHQ$aGFzaA'), false);
    assert.equal(hasher.needsRehash('$argon2id$v=19$m=512,t=2,p=1$c2FsdHNhbHQ$aGFzaA'), true);
    assert.equal(hasher.needsRehash('$argon2i$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaA'), true);
  });
});
