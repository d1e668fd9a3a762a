// Second factors in a real browser (Debian's Chromium through playwright-core), with no script on
// the pages: add the authenticator app on /account (its key read from the page, the code computed
// by the test's own RFC 6238), keep the recovery codes, then sign in to an app with the second
// step, by the app's code and by a recovery code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { pkcePair } from '../support/app.ts';
import { catchCallback, launchChromium, signInWithPassword } from '../support/browser.ts';
import { startListeningApp } from '../support/server.ts';
import { totpNow } from '../support/totp.ts';

const EMAIL = 'second-factor@example.com';
const PASSWORD = 'the second factor passphrase';
const CALLBACK = 'https://app.example.com/callback';

describe('second factors in a real browser', () => {
  let app: App;
  let browser: Browser;
  let issuer: string;

  before(async () => {
    ({ app, issuer } = await startListeningApp({}));
    await app.services.projects.create({ id: 'mfa-app', name: 'MFA App', redirect_uris: [CALLBACK] });
    await app.services.users.create({ email: EMAIL, password: PASSWORD });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  function authorizeUrl(): string {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'mfa-app', redirect_uri: CALLBACK, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', scope: 'openid', state: 'st' });
    return `${issuer}/authorize?${query.toString()}`;
  }


  it('adds the authenticator app on the account page, then signs in with the second step and with a recovery code', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${issuer}/account`);
    await Promise.all([page.waitForURL(`${issuer}/account`), signInWithPassword(page, EMAIL, PASSWORD)]);

    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Add an authenticator app' }).click()]);
    const qr = page.locator('img.qr');
    assert.ok((await qr.getAttribute('src'))?.startsWith('data:image/svg+xml;base64,'));
    // The SVG is drawn: the image has its natural size.
    assert.ok(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0));
    const key = (await page.locator('code.totp-key').innerText()).replace(/^Key: /, '').replace(/ /g, '');
    assert.match(key, /^[A-Z2-7]{32}$/);
    // The step before now: the sign-in below then has an unused code at once.
    await page.getByLabel('Code').fill(totpNow(key, Date.now(), -1));
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Confirm' }).click()]);
    assert.match(await page.getByRole('status').first().innerText(), /authenticator app was added/);
    const codes = await page.locator('ul.recovery-codes code').allInnerTexts();
    assert.equal(codes.length, 10);
    await context.close();

    // A new browser: password, then the app's code, then the app.
    const second = await browser.newContext({ javaScriptEnabled: false });
    const signIn = await second.newPage();
    let { landed } = await catchCallback(signIn, CALLBACK);
    await signIn.goto(authorizeUrl());
    await Promise.all([signIn.waitForEvent('load'), signInWithPassword(signIn, EMAIL, PASSWORD)]);
    assert.equal(await signIn.locator('h1').innerText(), 'Two-step verification');
    assert.equal(await signIn.locator('#totp-code').getAttribute('autocomplete'), 'one-time-code');
    await signIn.locator('#totp-code').fill(totpNow(key, Date.now()));
    await signIn.getByRole('button', { name: 'Verify' }).click();
    const url = await landed;
    assert.ok(url.searchParams.get('code'));
    assert.equal(url.searchParams.get('state'), 'st');
    await second.close();

    // And with a recovery code, behind "Use a recovery code" (no script needed to open it).
    const third = await browser.newContext({ javaScriptEnabled: false });
    const recovery = await third.newPage();
    ({ landed } = await catchCallback(recovery, CALLBACK));
    await recovery.goto(authorizeUrl());
    await Promise.all([recovery.waitForEvent('load'), signInWithPassword(recovery, EMAIL, PASSWORD)]);
    await recovery.getByText('Use a recovery code').click();
    await recovery.getByLabel('Recovery code').fill(codes[0]!);
    await recovery.getByRole('button', { name: 'Use this recovery code' }).click();
    assert.ok((await landed).searchParams.get('code'));
    await third.close();
  });
});
