// Passkeys in a real browser (Debian's Chromium through playwright-core) with a CDP virtual
// authenticator (ctap2, internal, resident keys, user verification): a passkey added on /account,
// a sign-in with it alone, as the second step after a password, removed, and then refused; a
// passkey of another RP ID is not used. The issuer is http://localhost:<port>: a WebAuthn RP ID
// is a host name (Chromium refuses an IP address), and localhost is a secure context.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { pkcePair, testEnv } from '../support/app.ts';
import { catchCallback, launchChromium, signInWithPassword } from '../support/browser.ts';
import { freePort } from '../support/server.ts';

const EMAIL = 'passkey-person@example.com';
const PASSWORD = 'a passphrase before the passkey';
const CALLBACK = 'https://app.example.com/callback';

describe('passkeys in a real browser with a virtual authenticator', () => {
  let app: App;
  let browser: Browser;
  let issuer: string;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;

  before(async () => {
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: issuer, PORT: String(port) })) });
    await app.server.listen({ port, host: '127.0.0.1' });
    await app.services.projects.create({ id: 'passkey-app', name: 'Passkey App', redirect_uris: [CALLBACK] });
    await app.services.projects.update('passkey-app', { login_methods: ['password', 'passkey'] });
    await app.services.users.create({ email: EMAIL, password: PASSWORD });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  function authorizeUrl(): string {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'passkey-app', redirect_uri: CALLBACK, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', scope: 'openid', state: 'st' });
    return `${issuer}/authorize?${query.toString()}`;
  }


  async function credentials(): Promise<Array<{ credentialId: string; rpId?: string; isResidentCredential: boolean; userHandle?: string }>> {
    return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  }

  it('adds a passkey on the account page: a discoverable credential for RP ID localhost, the recovery codes shown once', { timeout: 60_000 }, async () => {
    await page.goto(`${issuer}/account`);
    await Promise.all([page.waitForURL(`${issuer}/account`), signInWithPassword(page, EMAIL, PASSWORD)]);
    await page.getByLabel('Name of the new passkey').fill('Virtual key');
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Add a passkey' }).click()]);
    assert.match(await page.getByRole('status').first().innerText(), /The passkey was added/);
    assert.equal((await page.locator('ul.recovery-codes code').allInnerTexts()).length, 10);
    const stored = await credentials();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.rpId, 'localhost');
    assert.equal(stored[0]?.isResidentCredential, true);
    const user = await app.services.users.findByEmail(EMAIL);
    assert.equal(Buffer.from(stored[0]?.userHandle ?? '', 'base64').toString('utf8'), user?.user.id);
    await page.goto(`${issuer}/account`);
    assert.match(await page.locator('#passkeys').innerText(), /Virtual key/);
  });

  it('signs in with the passkey alone ("Sign in with a passkey"), and the app gets a code', { timeout: 60_000 }, async () => {
    await context.clearCookies();
    const { landed } = await catchCallback(page, CALLBACK);
    await page.goto(authorizeUrl());
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const url = (await landed);
    assert.ok(url.searchParams.get('code'));
    assert.equal(url.searchParams.get('state'), 'st');
  });

  it('uses the passkey as the second step after the password', { timeout: 60_000 }, async () => {
    await context.clearCookies();
    const { landed } = await catchCallback(page, CALLBACK);
    await page.goto(authorizeUrl());
    await Promise.all([page.waitForEvent('load'), signInWithPassword(page, EMAIL, PASSWORD)]);
    assert.equal(await page.locator('h1').innerText(), 'Two-step verification');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    assert.ok((await landed).searchParams.get('code'));
  });

  it('removes the passkey on the account page; the authenticator still has it, and Gatehouse refuses it', { timeout: 60_000 }, async () => {
    await context.clearCookies();
    await page.unroute(`${CALLBACK}**`);
    await page.goto(`${issuer}/account`);
    await Promise.all([page.waitForEvent('load'), signInWithPassword(page, EMAIL, PASSWORD)]);
    await Promise.all([page.waitForURL(`${issuer}/account`), page.getByRole('button', { name: 'Use a passkey' }).click()]);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Remove the passkey Virtual key' }).click()]);
    assert.match(await page.getByRole('status').first().innerText(), /The passkey was removed/);
    assert.equal((await credentials()).length, 1, 'the authenticator keeps its credential');

    await context.clearCookies();
    await page.goto(authorizeUrl());
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
    assert.match(await page.locator('#passkey').innerText(), /Invalid credentials/);
    assert.ok(page.url().startsWith(issuer), 'still on the sign-in page');
  });

  it('require_mfa: a person with no second factor adds a passkey on the hosted page after the password, then goes on to the app', { timeout: 60_000 }, async () => {
    await app.services.projects.create({ id: 'strict-app', name: 'Strict App', redirect_uris: [CALLBACK], require_mfa: true });
    await app.services.users.create({ email: 'enrol@example.com', password: PASSWORD });
    await context.clearCookies();
    const { landed } = await catchCallback(page, CALLBACK);
    const url = new URL(authorizeUrl());
    url.searchParams.set('client_id', 'strict-app');
    await page.goto(url.toString());
    await Promise.all([page.waitForEvent('load'), signInWithPassword(page, 'enrol@example.com', PASSWORD)]);
    assert.equal(await page.locator('h1').innerText(), 'Set up two-step verification');
    await page.getByLabel('Name of the new passkey').fill('Enrolled key');
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Add a passkey' }).click()]);
    assert.equal((await page.locator('ul.recovery-codes code').allInnerTexts()).length, 10);
    await page.getByRole('button', { name: 'Continue to Strict App' }).click();
    assert.ok((await landed).searchParams.get('code'));
    const record = await app.services.users.findByEmail('enrol@example.com');
    assert.equal((await app.services.secondFactors.summary(record!.user.id)).passkeys, 1);
  });

  it('a passkey of another RP ID is not used: the sign-in says so and goes nowhere', { timeout: 60_000 }, async () => {
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const user = await app.services.users.findByEmail(EMAIL);
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: {
        credentialId: Buffer.from('another-rp-credential').toString('base64'),
        isResidentCredential: true,
        rpId: 'other.example',
        privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        userHandle: Buffer.from(user?.user.id ?? '').toString('base64'),
        signCount: 0,
      },
    });
    await context.clearCookies();
    await page.goto(authorizeUrl());
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const error = page.locator('#passkey [data-passkey-error]');
    await error.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match(await error.innerText(), /could not be used/);
    assert.ok(page.url().startsWith(`${issuer}/authorize`), 'still on the sign-in page');
  });
});
