// mfa.md "Passkeys": the credentials a person keeps and the WebAuthn ceremonies, on both backends,
// with real responses (an ES256 key of test/support/webauthn.ts, a real signature) verified by
// @simplewebauthn/server unmocked; challenges single use and expiring by the injected clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ISSUER, createTestApp, type TestApp } from './support/app.ts';
import { createUser } from './support/flow.ts';
import { testBackend } from './support/backend.ts';
import { authenticationResponse, newCredential, registrationResponse, type SoftCredential } from './support/webauthn.ts';
import { PASSKEY_CHALLENGE_TTL_MS } from '../src/login/passkey/webauthn.ts';

const RP = { origin: ISSUER, rpId: new URL(ISSUER).hostname };

describe(`passkeys and their ceremonies on ${testBackend}`, () => {
  let app: TestApp;
  let userId: string;
  let credential: SoftCredential;
  const ceremonies = () => app.services.passkeyCeremonies;
  const factors = () => app.services.secondFactors;

  before(async () => {
    app = await createTestApp();
    userId = await createUser(app, 'grace@example.com', 'a compiler in 1952');
  });
  after(() => app.close());

  async function register(name: string): Promise<SoftCredential> {
    app.clock.advance(1000);
    const user = (await app.services.users.find(userId))!.user;
    const options = await ceremonies().registrationOptions(user);
    const made = newCredential(options.user.id === undefined ? userId : Buffer.from(options.user.id, 'base64url'));
    const verified = await ceremonies().verifyRegistration(userId, registrationResponse(made, options.challenge, RP), name);
    assert.ok(verified, 'a real registration response is verified');
    assert.ok(await factors().addPasskey(userId, verified));
    return made;
  }

  it('registration options: the RP ID is the issuer host, a discoverable credential and user verification required', async () => {
    const user = (await app.services.users.find(userId))!.user;
    const options = await ceremonies().registrationOptions(user);
    assert.equal(options.rp.id, 'gatehouse.test');
    assert.equal(options.authenticatorSelection?.residentKey, 'required');
    assert.equal(options.authenticatorSelection?.userVerification, 'required');
    assert.equal(Buffer.from(options.user.id, 'base64url').toString('utf8'), userId);
  });

  it('the first passkey makes ten recovery codes; a second one does not', async () => {
    const user = (await app.services.users.find(userId))!.user;
    const options = await ceremonies().registrationOptions(user);
    credential = newCredential(userId);
    const verified = await ceremonies().verifyRegistration(userId, registrationResponse(credential, options.challenge, RP), 'Phone');
    assert.ok(verified);
    const added = await factors().addPasskey(userId, verified);
    assert.ok(added);
    assert.equal(added.recoveryCodes?.length, 10);
    assert.deepEqual(await factors().summary(userId), { totp: false, passkeys: 1, recovery_codes_left: 10 });
    assert.deepEqual(await factors().methods(userId), ['passkey', 'recovery_code']);
    const second = await register('Laptop');
    assert.ok(second);
    assert.equal((await factors().summary(userId)).passkeys, 2);
    const listed = await app.services.passkeys.listForUser(userId);
    assert.deepEqual(listed.map((p) => p.name), ['Phone', 'Laptop']);
    assert.deepEqual(listed[0]?.transports, ['internal']);
  });

  it('a registration challenge is single use and answers only its own person', async () => {
    const user = (await app.services.users.find(userId))!.user;
    const options = await ceremonies().registrationOptions(user);
    const made = newCredential(userId);
    const response = registrationResponse(made, options.challenge, RP);
    const other = await createUser(app, 'other-reg@example.com', 'another passphrase here');
    assert.equal(await ceremonies().verifyRegistration(other, response, 'X'), undefined, 'another person cannot use it');
    assert.equal(await ceremonies().verifyRegistration(userId, response, 'X'), undefined, 'spent by the refused try');
  });

  it('a registration without user verification, for another RP ID, or another origin is refused', async () => {
    const user = (await app.services.users.find(userId))!.user;
    for (const ceremony of [{ ...RP, userVerified: false }, { ...RP, rpId: 'evil.example' }, { ...RP, origin: 'https://evil.example' }]) {
      const options = await ceremonies().registrationOptions(user);
      assert.equal(await ceremonies().verifyRegistration(userId, registrationResponse(newCredential(userId), options.challenge, ceremony), 'X'), undefined, JSON.stringify(ceremony));
    }
  });

  it('a second-step assertion is verified once; its sign count and last use are stored', async () => {
    const options = await ceremonies().authenticationOptions({ kind: 'second_step', userId });
    assert.equal(options.userVerification, 'required');
    assert.equal(options.rpId, 'gatehouse.test');
    assert.equal(options.allowCredentials?.length, 2);
    const response = authenticationResponse(credential, options.challenge, RP);
    const used = await ceremonies().verifyAuthentication(response, { kind: 'second_step', userId });
    assert.equal(used?.userId, userId);
    const stored = await app.services.passkeys.find(credential.id.toString('base64url'));
    assert.equal(stored?.signCount, credential.counter);
    assert.equal(stored?.lastUsedAt, app.clock.now());
    assert.equal(await ceremonies().verifyAuthentication(response, { kind: 'second_step', userId }), undefined, 'replayed');
  });

  it('one challenge answered twice at once: exactly one is verified', async () => {
    const options = await ceremonies().authenticationOptions({ kind: 'sign_in', projectId: 'p1' });
    const first = authenticationResponse(credential, options.challenge, RP);
    const second = authenticationResponse(credential, options.challenge, { ...RP, counter: credential.counter + 1 });
    const results = await Promise.all([first, second, first].map((response) => ceremonies().verifyAuthentication(response, { kind: 'sign_in', projectId: 'p1' })));
    assert.equal(results.filter((result) => result !== undefined).length, 1);
  });

  it('an assertion for another RP ID, another origin, without user verification, or with a bad signature is refused', async () => {
    const cases: Array<(challenge: string) => Record<string, unknown>> = [
      (challenge) => authenticationResponse(credential, challenge, { ...RP, rpId: 'evil.example' }),
      (challenge) => authenticationResponse(credential, challenge, { ...RP, origin: 'http://evil.example' }),
      (challenge) => authenticationResponse(credential, challenge, { ...RP, userVerified: false }),
      (challenge) => {
        const response = authenticationResponse(credential, challenge, RP) as { response: { signature: string } };
        const bytes = Buffer.from(response.response.signature, 'base64url');
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
        response.response.signature = bytes.toString('base64url');
        return response;
      },
    ];
    for (const build of cases) {
      const options = await ceremonies().authenticationOptions({ kind: 'sign_in', projectId: 'p1' });
      assert.equal(await ceremonies().verifyAuthentication(build(options.challenge), { kind: 'sign_in', projectId: 'p1' }), undefined);
    }
  });

  it('a sign count that goes back (a cloned authenticator) is refused', async () => {
    const options = await ceremonies().authenticationOptions({ kind: 'sign_in', projectId: 'p1' });
    assert.equal(await ceremonies().verifyAuthentication(authenticationResponse(credential, options.challenge, { ...RP, counter: 1 }), { kind: 'sign_in', projectId: 'p1' }), undefined);
  });

  it('a challenge answers only what it was made for, and not after its five minutes by the injected clock', async () => {
    const forOther = await ceremonies().authenticationOptions({ kind: 'sign_in', projectId: 'p2' });
    assert.equal(await ceremonies().verifyAuthentication(authenticationResponse(credential, forOther.challenge, RP), { kind: 'sign_in', projectId: 'p1' }), undefined);
    const late = await ceremonies().authenticationOptions({ kind: 'sign_in', projectId: 'p1' });
    app.clock.advance(PASSKEY_CHALLENGE_TTL_MS + 1);
    assert.equal(await ceremonies().verifyAuthentication(authenticationResponse(credential, late.challenge, RP), { kind: 'sign_in', projectId: 'p1' }), undefined);
    const fresh = await ceremonies().authenticationOptions({ kind: 'sign_in', projectId: 'p1' });
    assert.ok(await ceremonies().verifyAuthentication(authenticationResponse(credential, fresh.challenge, RP), { kind: 'sign_in', projectId: 'p1' }));
  });

  it('a second step refuses a passkey of another person', async () => {
    const other = await createUser(app, 'other@example.com', 'another passphrase here');
    const options = await ceremonies().authenticationOptions({ kind: 'second_step', userId: other });
    assert.equal(await ceremonies().verifyAuthentication(authenticationResponse(credential, options.challenge, RP), { kind: 'second_step', userId: other }), undefined);
  });

  it('renaming and removing: the recovery codes go with the last factor', async () => {
    const id = credential.id.toString('base64url');
    assert.equal(await app.services.passkeys.rename(userId, id, 'Old phone'), true);
    assert.equal((await app.services.passkeys.find(id))?.name, 'Old phone');
    const other = await createUser(app, 'not-owner@example.com', 'another passphrase here');
    assert.equal(await app.services.passkeys.rename(other, id, 'Mine'), false);
    assert.equal(await factors().removePasskey(other, id), false);
    assert.equal(await factors().removePasskey(userId, id), true);
    assert.equal((await factors().summary(userId)).recovery_codes_left, 10, 'one passkey is left');
    const [last] = await app.services.passkeys.listForUser(userId);
    assert.equal(await factors().removePasskey(userId, last!.id), true);
    assert.deepEqual(await factors().summary(userId), { totp: false, passkeys: 0, recovery_codes_left: 0 });
  });

  it('the admin reset removes the passkeys too', async () => {
    await register('Again');
    assert.equal(await factors().removeAll(userId), true);
    assert.deepEqual(await factors().summary(userId), { totp: false, passkeys: 0, recovery_codes_left: 0 });
  });
});
