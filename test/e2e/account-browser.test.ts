// The account page in a real browser (Debian's Chromium through playwright-core), by keyboard:
// open /account, sign in on the login page it sends the browser to, change the name, change the
// password (the notice arrives at the real SMTP server), and sign out everywhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { pkcePair } from '../support/app.ts';
import { launchChromium } from '../support/browser.ts';
import { startListeningApp } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
const EMAIL = 'keyboard@example.com';
const CALLBACK = 'https://app.example.com/callback';

describe('the account page in a real browser', () => {
  let app: App;
  let smtp: TestSmtpServer;
  let browser: Browser;
  let issuer: string;

  before(async () => {
    smtp = await startSmtpServer();
    ({ app, issuer } = await startListeningApp({ GATEHOUSE_SMTP_URL: smtp.url }));
    await app.services.projects.create({ id: 'keyboard-app', name: 'Keyboard App', redirect_uris: [CALLBACK], registration_open: false });
    const user = await app.services.users.create({ email: EMAIL, password: 'the first passphrase' });
    await app.services.users.addMember('keyboard-app', user.id);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await smtp?.close();
  });

  /** A session of the app, signed in elsewhere (JSON login and code exchange, as an app's backend does). */
  async function appSession(password: string): Promise<string> {
    const { verifier, challenge } = pkcePair();
    const params = { response_type: 'code', client_id: 'keyboard-app', redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid' };
    const login = await fetch(`${issuer}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...params, email: EMAIL, password }) });
    assert.equal(login.status, 200);
    const { code } = (await login.json()) as { code: string };
    const token = await fetch(`${issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'keyboard-app', code, code_verifier: verifier, redirect_uri: CALLBACK }) });
    assert.equal(token.status, 200);
    return ((await token.json()) as { refresh_token: string }).refresh_token;
  }

  async function refreshStatus(refreshToken: string): Promise<number> {
    const response = await fetch(`${issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'keyboard-app', refresh_token: refreshToken }) });
    await response.body?.cancel();
    return response.status;
  }

  /** Types into a field reached by the keyboard alone: Tab until it has the focus. */
  async function tabTo(page: Page, selector: string): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if (await page.locator(selector).evaluate((element) => element === document.activeElement)) return;
      await page.keyboard.press('Tab');
    }
    assert.fail(`Tab never reached ${selector}`);
  }

  it('signs in through /account, changes the name and the password, and signs out everywhere, by keyboard', async () => {
    const before = await appSession('the first passphrase');
    const page = await browser.newPage();

    // /account without a session: the login page of the account project.
    await page.goto(`${issuer}/account`);
    assert.match(await page.locator('h1').innerText(), /Gatehouse account/);
    await tabTo(page, '#login-email');
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type('the first passphrase');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${issuer}/account`);
    assert.equal(await page.locator('h1').innerText(), 'Your account');
    assert.match(await page.locator('body').innerText(), /keyboard@example\.com/);
    assert.match(await page.locator('body').innerText(), /Keyboard App/);

    // The name, through the labelled field.
    await tabTo(page, '#profile-name');
    await page.keyboard.type('Grace Hopper');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${issuer}/account?notice=profile_saved`);
    assert.equal(await page.getByRole('status').innerText(), 'Your profile was saved.');
    assert.equal(await page.getByLabel('Full name').inputValue(), 'Grace Hopper');

    // A wrong current password first: the error is announced beside the form.
    await tabTo(page, '#current-password');
    await page.keyboard.type('not the passphrase');
    await page.keyboard.press('Tab');
    await page.keyboard.type('the second passphrase');
    await page.keyboard.press('Enter');
    await page.waitForLoadState();
    assert.match(await page.getByRole('alert').innerText(), /Invalid credentials/);
    await tabTo(page, '#current-password');
    await page.keyboard.type('the first passphrase');
    await page.keyboard.press('Tab');
    await page.keyboard.type('the second passphrase');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${issuer}/account?notice=password_changed`);
    assert.match(await page.getByRole('status').innerText(), /Your password was changed/);
    assert.equal(await refreshStatus(before), 401, 'the app session from before the change ended');
    assert.equal(smtp.to(EMAIL).at(-1)?.subject, 'Your password was changed');

    // A new app session with the new password, then "Sign out everywhere".
    const later = await appSession('the second passphrase');
    await tabTo(page, 'button:text-is("Sign out everywhere")');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${issuer}/account/signed-out`);
    assert.equal(await page.locator('h1').innerText(), 'You are signed out');
    assert.equal(await refreshStatus(later), 401);

    // The page asks to sign in again.
    await page.goto(`${issuer}/account`);
    assert.match(await page.locator('h1').innerText(), /Gatehouse account/);
    await page.close();
  });
});
