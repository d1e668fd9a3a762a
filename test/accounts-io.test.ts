// Accounts in and out in bulk (machines.md "Moving accounts in and out"): the service under
// `gatehouse users import | export`, on this run's backend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcryptjs from 'bcryptjs';
import { parseAccountLine } from '../src/users/accounts-io.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, passwordTokens, refresh, type TestProject } from './support/flow.ts';

async function* linesOf(text: string): AsyncGenerator<string> {
  for (const line of text.split('\n')) yield line;
}

describe('accounts import and export', () => {
  let app: TestApp;
  let open: TestProject;
  let other: TestProject;
  const hash = bcryptjs.hashSync('imported passphrase one', 4);
  before(async () => {
    app = await createTestApp();
    open = await createProject(app);
    other = await createProject(app);
  });
  after(() => app.close());

  const file = () =>
    [
      JSON.stringify({ email: 'ada@example.com', password_hash: hash, name: 'Ada', email_verified: true, projects: [{ id: open.id }, { id: other.id, blocked: true }] }),
      '{"email": "broken@example.com"',
      JSON.stringify({ email: 'no-at-sign' }),
      '',
      JSON.stringify({ email: 'bob@example.com', is_admin: false }),
      JSON.stringify({ email: 'carol@example.com', password_hash: '$1$md5$nope' }),
      JSON.stringify({ email: 'dave@example.com', projects: [{ id: 'no-such-project' }] }),
      JSON.stringify({ email: 'erin@example.com', role: 'admin' }),
      JSON.stringify({ email: 'frank@example.com', email_verified: 'yes' }),
    ].join('\n');

  it('imports the good lines in batches, lists every bad one, and signs in with the imported hash', async () => {
    const seen: number[] = [];
    const tally = await app.services.accountsIo.importLines(linesOf(file()), { batchSize: 1, onProgress: (n) => seen.push(n) });
    assert.equal(tally.created, 2);
    assert.equal(tally.unchanged, 0);
    assert.deepEqual(tally.problems.map((p) => p.line), [2, 3, 6, 7, 8, 9]);
    assert.match(tally.problems[0]!.reason, /not JSON/);
    assert.match(tally.problems[3]!.reason, /no project with id no-such-project/);
    assert.match(tally.problems[4]!.reason, /unknown field role/);
    assert.ok(seen.length >= 2);

    const ada = await app.services.users.findByEmail('ada@example.com');
    assert.ok(ada);
    assert.equal(ada.user.name, 'Ada');
    assert.equal(ada.user.email_verified, true);
    assert.equal(ada.passwordHash, hash);
    assert.deepEqual(await app.services.users.membership(open.id, ada.user.id), { blocked: false });
    assert.deepEqual(await app.services.users.membership(other.id, ada.user.id), { blocked: true });
    const login = await app.server.inject({
      method: 'POST',
      url: '/login',
      payload: { ...authParams(open.id, pkcePair().challenge), email: 'ada@example.com', password: 'imported passphrase one' },
    });
    assert.equal(login.statusCode, 200, login.body);
    assert.equal((await app.services.users.findByEmail('bob@example.com'))?.passwordHash, null);
  });

  it('is safe to run twice; --update takes the line over an existing account', async () => {
    const again = await app.services.accountsIo.importLines(linesOf(JSON.stringify({ email: 'BOB@example.com', name: 'Robert', is_admin: true })));
    assert.deepEqual({ ...again, problems: again.problems.length }, { created: 0, updated: 0, unchanged: 1, problems: 0 });
    assert.equal((await app.services.users.findByEmail('bob@example.com'))?.user.name, null);

    const updated = await app.services.accountsIo.importLines(
      linesOf(JSON.stringify({ email: 'bob@example.com', name: 'Robert', is_admin: true, projects: [{ id: open.id, blocked: true }] })),
      { update: true },
    );
    assert.equal(updated.updated, 1);
    const bob = await app.services.users.findByEmail('bob@example.com');
    assert.equal(bob?.user.name, 'Robert');
    assert.equal(bob?.user.is_admin, true);
    assert.deepEqual(await app.services.users.membership(open.id, bob!.user.id), { blocked: true });
  });

  it('exports every account in the import format, and the export imports into nothing new', async () => {
    const exported = [];
    for await (const account of app.services.accountsIo.export(2)) exported.push(account);
    const ada = exported.find((a) => a.email === 'ada@example.com');
    // The sign-in above has replaced the imported bcrypt hash with an Argon2id one.
    assert.match(ada?.password_hash ?? '', /^\$argon2id\$/);
    assert.deepEqual(ada, {
      email: 'ada@example.com',
      password_hash: ada?.password_hash,
      name: 'Ada',
      email_verified: true,
      is_admin: false,
      projects: [{ id: open.id, blocked: false }, { id: other.id, blocked: true }].sort((a, b) => (a.id < b.id ? -1 : 1)),
    });
    const all = await app.services.users.list();
    assert.equal(exported.length, all.length, 'every account, across pages');
    for (const account of exported) assert.equal('reason' in parseAccountLine(JSON.stringify(account)), false, account.email);
    const back = await app.services.accountsIo.importLines(linesOf(exported.map((a) => JSON.stringify(a)).join('\n')));
    assert.deepEqual(back.problems, []);
    assert.equal(back.created, 0);
    assert.equal(back.unchanged, exported.length);
  });

  it('--update with a new password hash ends the account\'s sessions, as an admin\'s new password does; the same hash ends nothing', async () => {
    const signedIn = await passwordTokens(app, open, 'ada@example.com', 'imported passphrase one');
    const ada = await app.services.users.findByEmail('ada@example.com');
    assert.ok((await app.services.browserSessions.listForUser(ada!.user.id)).length > 0, 'the sign-in left a browser session');
    // The hash stored now (the sign-in re-hashed the imported bcrypt one with Argon2id).
    const stored = (await app.services.users.findByEmail('ada@example.com'))?.passwordHash;
    assert.ok(stored);
    const same = await app.services.accountsIo.importLines(linesOf(JSON.stringify({ email: 'ada@example.com', password_hash: stored, email_verified: true })), { update: true });
    assert.equal(same.updated, 1);
    const still = await refresh(app, open, signedIn.refresh_token);
    assert.equal(still.statusCode, 200, still.body);

    const newHash = bcryptjs.hashSync('imported passphrase two', 4);
    const replaced = await app.services.accountsIo.importLines(linesOf(JSON.stringify({ email: 'ada@example.com', password_hash: newHash })), { update: true });
    assert.equal(replaced.updated, 1);
    const after = await refresh(app, open, still.json<{ refresh_token: string }>().refresh_token);
    assert.deepEqual([after.statusCode, after.json()], [401, { error: 'Invalid refresh token' }]);
    assert.equal((await app.services.browserSessions.listForUser(ada!.user.id)).length, 0);
  });
});
