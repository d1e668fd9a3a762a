// M1 (look-alike addresses) and the syntax half of M3 (mail bombing through comments): an email
// is accepted only in the plain ASCII form local@domain, at every door an email enters by.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { runCli } from '../src/cli/run.ts';
import { isValidEmail, normalizeEmail } from '../src/users/email.ts';
import type { User } from '../src/users/users.ts';
import { call } from './support/admin.ts';
import { createTestApp, pkcePair, testEnv, type TestApp } from './support/app.ts';
import { adminToken, authParams, createProject, createUser, type TestProject } from './support/flow.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const PASSWORD = 'a perfectly good passphrase';

/** Each spelling folds (by Unicode case mapping, NFC or NFKC) to, or reads as, an account of the list below; none is plain. */
const CONFUSABLES: ReadonlyArray<[label: string, email: string]> = [
  ['Kelvin sign U+212A', '\u212Aate@example.com'],
  ['fullwidth letters', '\uFF4B\uFF41\uFF54\uFF45@example.com'],
  ['fullwidth commercial at', 'kate\uFF20example.com'],
  ['ligature ff U+FB00', 'e\uFB00ie@example.com'],
  ['dotless i U+0131', '\u0131mogen@example.com'],
  ['capital I with dot U+0130', '\u0130mogen@example.com'],
  ['combining acute accent', 'kate\u0301@example.com'],
  ['Cyrillic a', 'k\u0430te@example.com'],
  ['Cyrillic a in the domain', 'kate@ex\u0430mple.com'],
  ['zero-width space', 'ka\u200Bte@example.com'],
  ['no-break space around it', '\u00A0kate@example.com\u00A0'],
  ['an RFC 5322 comment', 'kate(1)@example.com'],
  ['a comment in the domain', 'kate@(x)example.com'],
  ['a quoted local part', '"kate"@example.com'],
  ['a space inside', 'ka te@example.com'],
  ['a space before the @', 'kate @example.com'],
  ['an IDN not in xn-- form', 'kate@b\u00FCcher.example'],
  ['an IDN in another script', 'kate@\u4F8B\u3048.\u30C6\u30B9\u30C8'],
  ['an IP literal', 'kate@[127.0.0.1]'],
  ['a dot at the start of the local part', '.kate@example.com'],
  ['two dots', 'ka..te@example.com'],
  ['a hyphen at the end of a label', 'kate@example-.com'],
  ['two @', 'kate@x@example.com'],
];

describe('emails: only the plain ASCII form local@domain', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let env: Record<string, string>;
  let project: TestProject;
  let admin: string;
  let someone: User;
  let nextAddress = 1;
  // Every request from an address of its own, so that no per-address limit answers first.
  const from = () => ({ remoteAddress: `10.1.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}` });

  before(async () => {
    smtp = await startSmtpServer();
    env = testEnv({ GATEHOUSE_SMTP_URL: smtp.url });
    app = await createTestApp({ env });
    project = await createProject(app);
    admin = await adminToken(app);
    for (const email of ['kate@example.com', 'effie@example.com', 'imogen@example.com']) await createUser(app, email, PASSWORD, project.id);
    someone = (await call(app, admin, 'POST', '/admin/users', { email: 'someone@example.com' })).json<User>();
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  function inject(url: string, payload: object): Promise<LightMyRequestResponse> {
    return app.server.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, ...from() });
  }
  const params = () => authParams(project.id, pkcePair().challenge);

  function assertInvalidRequest(res: LightMyRequestResponse, label: string): void {
    assert.equal(res.statusCode, 400, `${label}: ${res.body}`);
    assert.equal(res.json<{ error: string }>().error, 'Invalid request', label);
  }

  async function cli(...argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const code = await runCli(argv, { stdout: () => {}, stderr: (text) => (stderr += text), env });
    return { code, stderr };
  }

  it('the rule itself: plain addresses pass, and only ASCII letters are folded', () => {
    for (const email of ['kate@example.com', "o'brien+tag@mail.example.org", 'a.b-c_d@sub-1.example.co', 'kate@xn--bcher-kva.example', '~!#$%&*/=?^`{|}@x.io']) {
      assert.equal(isValidEmail(email), true, email);
    }
    for (const [label, email] of CONFUSABLES) assert.equal(isValidEmail(email), false, label);
    assert.equal(normalizeEmail(' Kate@Example.COM\t'), 'kate@example.com');
    // Unicode lower-casing would have made this `kate@example.com`
    assert.equal(normalizeEmail('\u212Aate@example.com'), '\u212Aate@example.com');
  });

  it('POST /register refuses every confusable form with 400 Invalid request and creates nothing', async () => {
    const before = (await app.services.users.list()).length;
    for (const [label, email] of CONFUSABLES) assertInvalidRequest(await inject('/register', { ...params(), email, password: PASSWORD }), label);
    assert.equal((await app.services.users.list()).length, before);
  });

  it('POST /magic-link refuses every confusable form with 400 Invalid request and sends no mail', async () => {
    const sent = smtp.messages.length;
    for (const [label, email] of CONFUSABLES) assertInvalidRequest(await inject('/magic-link', { ...params(), email }), label);
    assert.equal(smtp.messages.length, sent);
  });

  it('POST /login: a confusable form matches no account, even with its password: 401 Invalid credentials', async () => {
    for (const [label, email] of CONFUSABLES) {
      const res = await inject('/login', { ...params(), email, password: PASSWORD });
      assert.equal(res.statusCode, 401, `${label}: ${res.body}`);
      assert.deepEqual(res.json(), { error: 'Invalid credentials' }, label);
    }
    // the plain form, in any ASCII letter case, still signs in
    assert.equal((await inject('/login', { ...params(), email: ' KATE@Example.com ', password: PASSWORD })).statusCode, 200);
  });

  it('POST /admin/users and PATCH /admin/users/:id refuse every confusable form with 400 Invalid request', async () => {
    for (const [label, email] of CONFUSABLES) {
      assertInvalidRequest(await call(app, admin, 'POST', '/admin/users', { email }), `create, ${label}`);
      assertInvalidRequest(await call(app, admin, 'PATCH', `/admin/users/${someone.id}`, { email }), `update, ${label}`);
    }
    assert.equal((await app.services.users.find(someone.id))?.user.email, 'someone@example.com');
  });

  it('gatehouse admin create refuses every confusable form (usage error, exit 2) and creates nothing', async () => {
    const before = (await app.services.users.list()).length;
    for (const [label, email] of CONFUSABLES) {
      const { code, stderr } = await cli('admin', 'create', '--email', email, '--password', PASSWORD);
      assert.equal(code, 2, `${label}: ${stderr}`);
      assert.match(stderr, /not a valid address/, label);
    }
    assert.equal((await app.services.users.list()).length, before);
  });

  it('an account stored before the rule with a look-alike address no longer answers for the plain one; an admin finds it and gives it a plain address', async () => {
    // A row as an older version stored it: the Kelvin sign lower-cased to `k` in the key.
    const now = app.clock.now();
    const legacyId = 'legacy-kelvin-account';
    await app.services.database.db
      .insertInto('users')
      .values({
        id: legacyId,
        email: '\u212Aelly@example.com',
        email_normalized: 'kelly@example.com',
        password_hash: await app.services.hasher.hash(PASSWORD),
        email_verified: 0,
        is_admin: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await app.services.users.addMember(project.id, legacyId);
    for (const email of ['kelly@example.com', '\u212Aelly@example.com']) {
      const res = await inject('/login', { ...params(), email, password: PASSWORD });
      assert.equal(res.statusCode, 401, email);
      assert.deepEqual(res.json(), { error: 'Invalid credentials' });
    }
    // the admin API's search finds it by the address it was stored with
    const found = await call(app, admin, 'GET', `/admin/users?email=${encodeURIComponent('\u212Aelly@example.com')}`);
    assert.deepEqual(
      found.json<{ users: User[] }>().users.map((u) => u.id),
      [legacyId],
    );
    // the plain address is taken by it until the admin renames it
    assert.equal((await inject('/register', { ...params(), email: 'kelly@example.com', password: PASSWORD })).statusCode, 409);
    const renamed = await call(app, admin, 'PATCH', `/admin/users/${legacyId}`, { email: 'kelly@example.com' });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal((await inject('/login', { ...params(), email: 'kelly@example.com', password: PASSWORD })).statusCode, 200);
  });
});
