// mfa.md "Factors a person can add": TOTP (RFC 6238) and recovery codes, in the service that keeps them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';
import { createUser } from './support/flow.ts';
import { fromBase32, rfc6238, totpNow } from './support/totp.ts';
import { testBackend } from './support/backend.ts';

describe(`TOTP and recovery codes on ${testBackend}`, () => {
  let app: TestApp;
  let userId: string;
  let secret: string;
  const factors = () => app.services.secondFactors;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_SECRET_KEY: randomBytes(32).toString('base64') } });
    userId = await createUser(app, 'ada@example.com', 'analytical engine 1843');
  });
  after(() => app.close());

  it("the tests' own RFC 6238 gives the RFC's SHA-1 test vectors (Appendix B)", () => {
    const key = Buffer.from('12345678901234567890', 'ascii');
    const vectors: Array<[number, string]> = [
      [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
      [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
    ];
    for (const [time, code] of vectors) assert.equal(rfc6238(key, time, 8), code, `T=${time}`);
  });

  it('a new secret is 160 bits of base32 and counts for nothing until a valid code confirms it', async () => {
    ({ secret } = await factors().beginTotp(userId));
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(fromBase32(secret).length, 20);
    assert.deepEqual(await factors().summary(userId), { totp: false, passkeys: 0, recovery_codes_left: 0 });
    assert.deepEqual(await factors().methods(userId), []);
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now())), false);
    assert.equal(await factors().confirmTotp(userId, '111111'), false);
  });

  it('confirming answers ten recovery codes once; the factor then asks for a second step', async () => {
    const confirmed = await factors().confirmTotp(userId, totpNow(secret, app.clock.now()));
    assert.ok(confirmed);
    const codes = confirmed.recoveryCodes ?? [];
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
    assert.deepEqual(await factors().summary(userId), { totp: true, passkeys: 0, recovery_codes_left: 10 });
    assert.deepEqual(await factors().methods(userId), ['totp', 'recovery_code']);
    // Only hashes are stored.
    const rows = await app.services.database.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute();
    for (const code of codes) assert.ok(!rows.some((r) => r.code_hash.includes(code.replace('-', ''))));
    const stored = await app.services.database.db.selectFrom('second_factors').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
    // Sealed at rest with GATEHOUSE_SECRET_KEY (crypto/sealed.ts).
    assert.match(stored.secret_sealed, /^sealed:v1:/);
    assert.ok(!stored.secret_sealed.includes(secret));
    recovery = codes;
  });
  let recovery: string[] = [];

  it('the code of the confirming step is not accepted again; the next step is, once', async () => {
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now())), false);
    app.clock.advance(30_000);
    const code = totpNow(secret, app.clock.now());
    assert.equal(await factors().verifyTotp(userId, code), true);
    assert.equal(await factors().verifyTotp(userId, code), false);
  });

  it('a code one step late or early is accepted; two steps off is not', async () => {
    app.clock.advance(5 * 30_000);
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now(), -2)), false);
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now(), 2)), false);
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now(), -1)), true);
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now(), 1)), true);
    // After the later step was accepted, the current (earlier) one is refused: codes only move forward.
    assert.equal(await factors().verifyTotp(userId, totpNow(secret, app.clock.now())), false);
  });

  it('malformed codes are refused without error', async () => {
    for (const code of ['', '12345', '1234567', 'abcdef', '12 456', '１２３４５６']) assert.equal(await factors().verifyTotp(userId, code), false);
    for (const code of ['', 'x'.repeat(5000), 'zzzzz-zzzzz']) assert.equal(await factors().useRecoveryCode(userId, code), false);
  });

  it('of twenty parallel uses of one TOTP code exactly one is accepted', async () => {
    app.clock.advance(10 * 30_000);
    const code = totpNow(secret, app.clock.now());
    const results = await Promise.all(Array.from({ length: 20 }, () => factors().verifyTotp(userId, code)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('a recovery code works once, typed in any case and with or without the dash; the count goes down', async () => {
    const [first] = recovery;
    assert.equal(await factors().useRecoveryCode(userId, ` ${first!.toUpperCase().replace('-', ' ')} `), true);
    assert.equal(await factors().useRecoveryCode(userId, first!), false);
    assert.equal((await factors().summary(userId)).recovery_codes_left, 9);
  });

  it('of twenty parallel uses of one recovery code exactly one wins', async () => {
    const code = recovery[1]!;
    const results = await Promise.all(Array.from({ length: 20 }, () => factors().useRecoveryCode(userId, code)));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await factors().summary(userId)).recovery_codes_left, 8);
  });

  it("another person's recovery code does not work", async () => {
    const other = await createUser(app, 'grace@example.com', 'compiler 1952 cobol');
    assert.equal(await factors().useRecoveryCode(other, recovery[2]!), false);
    assert.equal((await factors().summary(userId)).recovery_codes_left, 8);
  });

  it('new codes end the old ones', async () => {
    const fresh = await factors().newRecoveryCodes(userId);
    assert.equal(fresh.length, 10);
    assert.equal(await factors().useRecoveryCode(userId, recovery[3]!), false);
    assert.equal((await factors().summary(userId)).recovery_codes_left, 10);
    assert.equal(await factors().useRecoveryCode(userId, fresh[0]!), true);
  });

  it('deleting the account deletes its factors and codes', async () => {
    const id = await createUser(app, 'charles@example.com', 'difference engine 1822');
    const { secret: s } = await factors().beginTotp(id);
    assert.ok(await factors().confirmTotp(id, totpNow(s, app.clock.now())));
    await app.services.users.delete(id);
    const db = app.services.database.db;
    assert.equal((await db.selectFrom('second_factors').select('id').where('user_id', '=', id).execute()).length, 0);
    assert.equal((await db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', id).execute()).length, 0);
  });

  it('removing every factor leaves none', async () => {
    assert.equal(await factors().removeAll(userId), true);
    assert.deepEqual(await factors().summary(userId), { totp: false, passkeys: 0, recovery_codes_left: 0 });
  });
});
