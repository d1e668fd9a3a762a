// The hosted pages in a real browser (Debian's Chromium through playwright-core): sign up,
// sign in by password, by PIN and by magic link, and land on the app with a code that exchanges.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { pkcePair } from '../support/app.ts';
import { launchChromium, signInWithPassword } from '../support/browser.ts';
import { startAppServer, type AppServer } from '../support/relying-party.ts';
import { startListeningApp } from '../support/server.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

describe('the hosted login page in a real browser', () => {
  let app: App;
  let smtp: TestSmtpServer;
  let appServer: AppServer;
  let browser: Browser;
  let issuer: string;
  let callback: string;
  let pin: string;

  before(async () => {
    smtp = await startSmtpServer();
    ({ app, issuer } = await startListeningApp({ GATEHOUSE_SMTP_URL: smtp.url }));
    // The app that receives the browser after sign-in.
    appServer = await startAppServer();
    callback = `${appServer.origin}/callback`;
    await app.services.projects.create({ id: 'browser-app', name: 'Browser App', redirect_uris: [callback] });
    const created = await app.services.pins.create('browser-app', 'kiosk');
    assert.ok(created && typeof created === 'object' && 'pin' in created);
    pin = created.pin;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await smtp?.close();
    await appServer?.close();
  });

  async function openLoginPage(): Promise<{ page: Page; verifier: string }> {
    const { verifier, challenge } = pkcePair();
    const url = new URL(`${issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'browser-app',
      redirect_uri: callback,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'openid email',
      state: 'browser-state',
    }).toString();
    const page = await browser.newPage();
    const response = await page.goto(url.toString());
    assert.equal(response?.status(), 200);
    assert.match(await page.locator('h1').innerText(), /Browser App/);
    return { page, verifier };
  }

  async function landsOnAppWithCode(page: Page, verifier: string): Promise<Record<string, unknown>> {
    await page.waitForURL((url) => url.toString().startsWith(callback));
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('state'), 'browser-state');
    assert.equal(landed.searchParams.get('iss'), issuer);
    const code = landed.searchParams.get('code');
    assert.ok(code);
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'browser-app', code, code_verifier: verifier, redirect_uri: callback }),
    });
    assert.equal(res.status, 200);
    const tokens = (await res.json()) as Record<string, unknown>;
    assert.ok(tokens.access_token);
    await page.close();
    return tokens;
  }

  it('signs up through the registration form', async () => {
    const { page, verifier } = await openLoginPage();
    // "Create an account" is a link to a page of its own that keeps the authorization request.
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL((url) => url.pathname === '/register');
    await page.locator('#register-email').fill('browser@example.com');
    await page.locator('#register-password').fill('a browser made this passphrase');
    await page.getByRole('button', { name: 'Create account' }).click();
    await landsOnAppWithCode(page, verifier);
  });

  it('shows a wrong password next to the form, with the API message', async () => {
    const { page } = await openLoginPage();
    await page.locator('#login-email').fill('browser@example.com');
    await page.locator('#login-password').fill('not the passphrase');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByRole('alert').innerText(), 'Invalid credentials');
    await page.close();
  });

  it('signs in with email and password', async () => {
    const { page, verifier } = await openLoginPage();
    await signInWithPassword(page, 'browser@example.com', 'a browser made this passphrase');
    await landsOnAppWithCode(page, verifier);
  });

  it('signs in with a PIN', async () => {
    const { page, verifier } = await openLoginPage();
    await page.getByRole('textbox', { name: 'PIN' }).fill(pin);
    await page.getByRole('button', { name: 'Sign in with PIN' }).click();
    await landsOnAppWithCode(page, verifier);
  });

  it('signs in with a magic link read from the mail', async () => {
    const { page, verifier } = await openLoginPage();
    await page.locator('#magic-email').fill('browser@example.com');
    await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('body').innerText(), /mail/i);
    const mail = smtp.to('browser@example.com').at(-1);
    assert.ok(mail, 'the link was mailed');
    const link = `${issuer}/magic-link/verify?token=${encodeURIComponent(magicLinkToken(mail))}`;
    await page.goto(link);
    await page.getByRole('button', { name: /sign in/i }).click();
    const tokens = await landsOnAppWithCode(page, verifier);
    assert.ok(tokens.id_token);
  });
});
