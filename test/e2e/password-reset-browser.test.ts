// Password reset in a real browser (Debian's Chromium through playwright-core): "Forgot
// password?" on the login page, the mail read from the real SMTP server, the link, a new password,
// and back on the app with a code that exchanges.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { pkcePair, testEnv } from '../support/app.ts';
import { linkToken, waitForMail } from '../support/account-mail.ts';
import { freePort } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('password reset in a real browser', () => {
  let app: App;
  let smtp: TestSmtpServer;
  let appServer: Server;
  let browser: Browser;
  let issuer: string;
  let callback: string;

  before(async () => {
    smtp = await startSmtpServer();
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: issuer, PORT: String(port), GATEHOUSE_SMTP_URL: smtp.url })) });
    await app.server.listen({ port, host: '127.0.0.1' });
    appServer = createServer((_req, res) => res.end('<!doctype html><title>The app</title><p>Welcome back'));
    const appPort = await freePort();
    await new Promise<void>((resolve) => appServer.listen(appPort, '127.0.0.1', resolve));
    callback = `http://127.0.0.1:${appPort}/callback`;
    await app.services.projects.create({ id: 'reset-app', name: 'Reset App', redirect_uris: [callback] });
    const user = await app.services.users.create({ email: 'forgetful@example.com', password: 'the password I forgot' });
    await app.services.users.addMember('reset-app', user.id);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await smtp?.close();
    appServer?.close();
  });

  it('"Forgot password?" → mail → link → new password → back on the app with a code', async () => {
    const { verifier, challenge } = pkcePair();
    const url = new URL(`${issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'reset-app',
      redirect_uri: callback,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'openid email',
      state: 'reset-state',
    }).toString();
    const page = await browser.newPage();
    assert.equal((await page.goto(url.toString()))?.status(), 200);

    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL((at) => at.pathname === '/password-reset');
    assert.match(await page.locator('h1').innerText(), /Reset App/);
    await page.getByRole('textbox', { name: 'Email' }).fill('forgetful@example.com');
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('h1').innerText(), /Check your mail/);

    const mail = await waitForMail(smtp, 'forgetful@example.com', 1);
    await page.goto(`${issuer}/password-reset/verify?token=${encodeURIComponent(linkToken(mail, '/password-reset/verify'))}`);
    // A refused password shows the form again, and the link still works.
    await page.getByLabel('New password').fill('password');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForLoadState();
    assert.match(await page.getByRole('alert').innerText(), /Invalid password/);
    await page.getByLabel('New password').fill('a new password I will remember');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();

    await page.waitForURL((at) => at.toString().startsWith(callback));
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('state'), 'reset-state');
    const code = landed.searchParams.get('code');
    assert.ok(code);
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'reset-app', code, code_verifier: verifier, redirect_uri: callback }),
    });
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as Record<string, unknown>).access_token);
    // The browser session of the reset signs in to the app again without a form.
    const { challenge: next } = pkcePair();
    url.searchParams.set('code_challenge', next);
    await page.goto(url.toString());
    await page.waitForURL((at) => at.toString().startsWith(callback));
    await page.close();
  });
});
