// Every hosted page, in one list: its name and how a browser reaches it on a running Gatehouse.
// The accessibility test (test/e2e/pages-accessibility.test.ts) and `npm run screenshots`
// (scripts/screenshots.ts) both walk this list; a new page (the console's screens too) joins it
// here, and is then checked and photographed with the others.
//
// A page is opened in a fresh browser context of its own (its own cookies), so the pages do not
// depend on each other's order; each one that needs an account makes its own.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { accountTokens } from '../../src/login/verify-email/routes.ts';
import { linkToken, waitForMail } from './account-mail.ts';
import { pkcePair } from './app.ts';
import { signInWithPassword } from './browser.ts';
import { consoleScreen, openConsole } from './console.ts';
import { startAppServer, type AppServer } from './relying-party.ts';
import { magicLinkToken, type TestSmtpServer } from './smtp.ts';
import { totpNow } from './totp.ts';
import { startUpstream, type Upstream } from './upstream.ts';

/** The Gatehouse the pages are reached on, with the projects the list needs (preparePagesSite). */
export interface PagesSite {
  app: App;
  issuer: string;
  smtp: TestSmtpServer;
  /** the app the browser lands on after a sign-in (the redirect URI of every project below) */
  appServer: AppServer;
  callback: string;
  /** a fresh email address each call, so that no page meets another's account or rate limit */
  email(label: string): string;
  /** federation.md: a real upstream OpenID provider, offered by `providers-app` as "Upstream ID" */
  upstream: Upstream;
}

/** Where a page belongs: the index of the screenshots groups by it (a console's screens add theirs). */
export type PageArea = 'login' | 'account' | 'console';

export interface HostedPage {
  area: PageArea;
  /** unique, file-name safe (a screenshot is named after it) */
  name: string;
  /** what the page is, for a person reading the screenshots index */
  description: string;
  /** the HTTP status the page is served with */
  status: number;
  /** brings `page` (in a context of its own) to this page */
  open(page: Page, site: PagesSite): Promise<void>;
}

export const PASSWORD = 'a pages check passphrase';

/** A square logo, served by the app server (a loopback origin of its own) for the branded projects. */
export const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#0f5132"/><circle cx="20" cy="20" r="10" fill="#ffd166"/></svg>';
/** The branded projects' colours: a dark one (kept in light mode) and a light one (kept in dark mode). */
export const BRAND_COLORS = { dark: '#0f5132', light: '#ffd166' } as const;

/**
 * The projects of the list: `pages-app` (every method, registration open, a PIN), `verified-app`
 * (require_verified_email), and `brand-dark-app` / `brand-light-app` with a logo and a colour.
 */
export async function preparePagesSite(app: App, issuer: string, smtp: TestSmtpServer): Promise<PagesSite> {
  const appServer = await startAppServer({ '/logo.svg': { contentType: 'image/svg+xml', body: LOGO_SVG } });
  const callback = `${appServer.origin}/callback`;
  await app.services.projects.create({ id: 'pages-app', name: 'Pages App', redirect_uris: [callback] });
  await app.services.pins.create('pages-app', 'kiosk');
  await app.services.projects.create({ id: 'verified-app', name: 'Verified App', redirect_uris: [callback], require_verified_email: true });
  // mfa.md: passkeys among the sign-in methods, and a project whose people must have a second factor
  await app.services.projects.create({ id: 'passkey-app', name: 'Passkey App', redirect_uris: [callback], login_methods: ['password', 'magic_link', 'passkey'] });
  await app.services.projects.create({ id: 'strict-app', name: 'Strict App', redirect_uris: [callback], require_mfa: true });
  for (const [tone, color] of Object.entries(BRAND_COLORS)) {
    await app.services.projects.create({ id: `brand-${tone}-app`, name: `Brand ${tone} App`, redirect_uris: [callback], logo_url: `${appServer.origin}/logo.svg`, brand_color: color });
  }
  // federation.md: a project offering an upstream provider (whose accounts claim unverified emails of existing ones).
  const upstream = await startUpstream({ redirectUris: [`${issuer}/connections/upstream/callback`] });
  await app.services.connections.create({ id: 'upstream', name: 'Upstream ID', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret });
  await app.services.projects.create({ id: 'providers-app', name: 'Providers App', redirect_uris: [callback], connections: ['upstream'] });
  // The console's screens sign in as an administrator of their own (CONSOLE_ADMIN).
  await app.services.users.create({ email: 'console-admin@example.com', password: PASSWORD, is_admin: true, email_verified: true });
  let count = 0;
  return { app, issuer, smtp, appServer, callback, upstream, email: (label) => `${label}-${++count}@example.com` };
}

/**
 * A fresh context (no cookies) and a page in it; close the context when done. The pages' CSP is
 * bypassed in it so that a checker (axe-core) can be injected; the pages themselves load nothing
 * but their stylesheet either way.
 */
export async function newPageContext(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ bypassCSP: true });
  return { context, page: await context.newPage() };
}

export function authorizeUrl(site: PagesSite, params: Record<string, string> = {}, clientId = 'pages-app'): string {
  const url = new URL(`${site.issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: site.callback,
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    scope: 'openid email',
    state: 'pages-state',
    ...params,
  }).toString();
  return url.toString();
}

async function go(page: Page, url: string): Promise<void> {
  await page.goto(url);
}

/** A new member of `projectId` with PASSWORD; its email. */
export async function member(site: PagesSite, label: string, projectId = 'pages-app', verified = true): Promise<string> {
  const email = site.email(label);
  const user = await site.app.services.users.create({ email, password: PASSWORD, ...(verified ? { email_verified: true } : {}) });
  await site.app.services.users.addMember(projectId, user.id);
  return email;
}

/** Signs in on the login page of `pages-app`, so the context holds a browser session; back on the app. */
async function signedIn(page: Page, site: PagesSite, label: string): Promise<string> {
  const email = await member(site, label);
  await go(page, authorizeUrl(site));
  await signInWithPassword(page, email, PASSWORD);
  await page.waitForURL((url) => url.toString().startsWith(site.callback));
  return email;
}

/**
 * A member with a confirmed authenticator app (mfa.md), confirmed with the code of the step before
 * now, so that the current code is still unused; its email and base32 secret.
 */
export async function memberWithTotp(site: PagesSite, label: string): Promise<{ email: string; secret: string }> {
  const email = await member(site, label);
  const record = await site.app.services.users.findByEmail(email);
  assert.ok(record);
  const { secret } = await site.app.services.secondFactors.beginTotp(record.user.id);
  assert.ok(await site.app.services.secondFactors.confirmTotp(record.user.id, totpNow(secret, Date.now(), -1)));
  return { email, secret };
}

/** A member with a passkey (stored as the account page stores one; these pages only show it); its email. */
export async function memberWithPasskey(site: PagesSite, label: string): Promise<string> {
  const email = await member(site, label);
  const record = await site.app.services.users.findByEmail(email);
  assert.ok(record);
  assert.ok(await site.app.services.secondFactors.addPasskey(record.user.id, { credentialId: `pages-${label}-${email}`, publicKey: 'pQECAyYgASFYIA', signCount: 0, transports: ['internal'], name: 'Work laptop' }));
  return email;
}

/** The enrolment after the password, for `strict-app` (require_mfa) and a person with no second factor. */
async function enrolment(page: Page, site: PagesSite): Promise<void> {
  const email = await member(site, 'enrol', 'strict-app');
  await go(page, authorizeUrl(site, {}, 'strict-app'));
  await Promise.all([page.waitForEvent('load'), signInWithPassword(page, email, PASSWORD)]);
  await page.locator('img.qr').waitFor();
}

/** The second step after the password, on the login page of `pages-app`. */
async function secondStep(page: Page, site: PagesSite): Promise<{ email: string; secret: string }> {
  const person = await memberWithTotp(site, 'mfa');
  await go(page, authorizeUrl(site));
  await Promise.all([page.waitForEvent('load'), signInWithPassword(page, person.email, PASSWORD)]);
  await page.locator('#totp-code').waitFor();
  return person;
}

/** The account page after "Add an authenticator app": the QR code and the key. */
async function accountTotpSetup(page: Page, site: PagesSite): Promise<void> {
  await accountPage(page, site);
  await submit(page, 'Add an authenticator app');
  await page.locator('img.qr').waitFor();
}

/** The registration form: on the login page, or behind its "Create an account" link. */
async function openRegistration(page: Page, site: PagesSite, clientId: string): Promise<void> {
  await go(page, authorizeUrl(site, {}, clientId));
  if ((await page.locator('#register-email').count()) === 0) {
    await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Create an account' }).click()]);
  }
}

async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: button, exact: true }).click()]);
}

async function resetMailed(page: Page, site: PagesSite): Promise<string> {
  const email = await member(site, 'reset');
  await go(page, `${site.issuer}/password-reset?${new URL(authorizeUrl(site)).searchParams.toString()}`);
  await page.locator('#reset-email').fill(email);
  await submit(page, 'Send me a reset link');
  const mail = await waitForMail(site.smtp, email, 1);
  return `${site.issuer}/password-reset/verify?token=${encodeURIComponent(linkToken(mail, '/password-reset/verify'))}`;
}

async function accountPage(page: Page, site: PagesSite): Promise<void> {
  const email = await member(site, 'account');
  await go(page, `${site.issuer}/account`);
  await signInWithPassword(page, email, PASSWORD);
  await page.waitForURL(`${site.issuer}/account`);
}

/** The pages of a sign-in: the login page and everything an authorization request leads to. */
const LOGIN_PAGES: Array<Omit<HostedPage, 'area'>> = [
  {
    name: 'login-with-providers',
    description: 'The login page of a project offering an upstream provider: "Continue with Upstream ID"',
    status: 200,
    open: (page, site) => go(page, authorizeUrl(site, {}, 'providers-app')),
  },
  {
    name: 'federation-continue',
    description: 'Back from an upstream provider: the page that moves on to the app by itself (its link for the rare browser that does not)',
    // The page is served with 200; the last navigation the browser sees is its held move on, answered 204 below.
    status: 204,
    async open(page, site) {
      const email = site.email('federation-new');
      const sub = `new-${email}`;
      site.upstream.accounts.set(sub, { sub, email, email_verified: true, name: 'Federated Person' });
      // The move on to the app answers 204 No Content, which leaves the page in place to be checked.
      await page.route(`${site.callback}**`, (route) => route.fulfill({ status: 204, body: '' }));
      await go(page, authorizeUrl(site, {}, 'providers-app'));
      await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Continue with Upstream ID' }).click()]);
      await page.locator('#sub').fill(sub);
      await Promise.all([page.waitForURL((url) => url.pathname === '/connections/upstream/callback'), page.getByRole('button', { name: 'Allow' }).click()]);
      await page.getByRole('link', { name: 'Continue to Providers App' }).waitFor();
    },
  },
  {
    name: 'federation-email-already-registered',
    description: 'An upstream provider asserted an unverified email of an existing account: refused, with how to link it instead',
    status: 409,
    async open(page, site) {
      const email = await member(site, 'federation-claimed', 'providers-app');
      const sub = `claimer-${email}`;
      site.upstream.accounts.set(sub, { sub, email, email_verified: false });
      await go(page, authorizeUrl(site, {}, 'providers-app'));
      await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Continue with Upstream ID' }).click()]);
      await page.locator('#sub').fill(sub);
      await Promise.all([page.waitForURL((url) => url.pathname === '/connections/upstream/callback'), page.getByRole('button', { name: 'Allow' }).click()]);
    },
  },
  {
    name: 'login',
    description: 'The login page: password, magic link, PIN and registration',
    status: 200,
    open: (page, site) => go(page, authorizeUrl(site)),
  },
  {
    name: 'login-error',
    description: 'The login page after a wrong password',
    status: 401,
    async open(page, site) {
      await go(page, authorizeUrl(site));
      await signInWithPassword(page, site.email('nobody'), 'not the passphrase');
      await page.waitForLoadState();
      await page.getByRole('alert').waitFor();
    },
  },
  {
    name: 'register-error',
    description: 'The registration form after a refused password',
    status: 400,
    async open(page, site) {
      await openRegistration(page, site, 'pages-app');
      await page.locator('#register-email').fill(site.email('register'));
      await page.locator('#register-password').fill('password');
      await submit(page, 'Create account');
      await page.getByRole('alert').waitFor();
    },
  },
  {
    name: 'pin-error',
    description: 'The login page after a wrong PIN',
    status: 401,
    async open(page, site) {
      await go(page, authorizeUrl(site));
      await page.locator('#pin-value').fill('00000000');
      await submit(page, 'Sign in with PIN');
      await page.getByRole('alert').waitFor();
    },
  },
  {
    name: 'magic-link-sent',
    description: 'After "Send me a sign-in link": check your mail',
    status: 200,
    async open(page, site) {
      await go(page, authorizeUrl(site));
      await page.locator('#magic-email').fill(await member(site, 'magic-sent'));
      await submit(page, 'Send me a sign-in link');
    },
  },
  {
    name: 'magic-link-confirm',
    description: 'The magic link opened: the button that signs in',
    status: 200,
    async open(page, site) {
      const email = await member(site, 'magic-confirm');
      await go(page, authorizeUrl(site));
      await page.locator('#magic-email').fill(email);
      await submit(page, 'Send me a sign-in link');
      const mail = await waitForMail(site.smtp, email, 1);
      await go(page, `${site.issuer}/magic-link/verify?token=${encodeURIComponent(magicLinkToken(mail))}`);
    },
  },
  {
    name: 'magic-link-invalid',
    description: 'A used or unknown magic link',
    status: 400,
    open: (page, site) => go(page, `${site.issuer}/magic-link/verify?token=not-a-live-token`),
  },
  {
    name: 'select-account',
    description: 'prompt=select_account with a browser session',
    status: 200,
    async open(page, site) {
      await signedIn(page, site, 'select');
      await go(page, authorizeUrl(site, { prompt: 'select_account' }));
    },
  },
  {
    name: 'error-unknown-client',
    description: 'An error page: an unknown client_id',
    status: 400,
    open: (page, site) => go(page, authorizeUrl(site, {}, 'no-such-app')),
  },
  {
    name: 'error-pkce-hint',
    description: 'An error page with a hint for the developer: no code_challenge',
    status: 400,
    async open(page, site) {
      const url = new URL(authorizeUrl(site));
      url.searchParams.delete('code_challenge');
      url.searchParams.delete('code_challenge_method');
      await go(page, url.toString());
    },
  },
  {
    name: 'error-blocked',
    description: 'An error page: the browser session belongs to an account blocked in the project',
    status: 403,
    async open(page, site) {
      const email = await signedIn(page, site, 'blocked');
      const record = await site.app.services.users.findByEmail(email);
      assert.ok(record);
      await site.app.services.users.setBlocked('pages-app', record.user.id, true);
      await go(page, authorizeUrl(site));
    },
  },
  {
    name: 'logout-confirm',
    description: 'GET /logout without an id_token_hint: "Sign out?"',
    status: 200,
    async open(page, site) {
      await signedIn(page, site, 'logout-confirm');
      await go(page, `${site.issuer}/logout`);
    },
  },
  {
    name: 'signed-out',
    description: 'After the sign-out button',
    status: 200,
    async open(page, site) {
      await signedIn(page, site, 'signed-out');
      await go(page, `${site.issuer}/logout`);
      await submit(page, 'Sign out');
    },
  },
  {
    name: 'password-reset',
    description: '"Forgot password?": the reset request form',
    status: 200,
    async open(page, site) {
      await go(page, authorizeUrl(site));
      await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Forgot password?' }).click()]);
    },
  },
  {
    name: 'branded-login',
    description: "The login page of a project with a logo and a dark brand colour (its button and links in light mode)",
    status: 200,
    open: (page, site) => go(page, authorizeUrl(site, {}, 'brand-dark-app')),
  },
  {
    name: 'branded-password-reset',
    description: 'The reset request form of a project with a logo and a light brand colour (its button and links in dark mode)',
    status: 200,
    open: (page, site) => go(page, `${site.issuer}/password-reset?${new URL(authorizeUrl(site, {}, 'brand-light-app')).searchParams.toString()}`),
  },
  {
    name: 'password-reset-sent',
    description: 'After "Send me a reset link": check your mail',
    status: 200,
    async open(page, site) {
      await resetMailed(page, site);
    },
  },
  {
    name: 'password-reset-new-password',
    description: 'The reset link opened: the new-password form',
    status: 200,
    async open(page, site) {
      await go(page, await resetMailed(page, site));
    },
  },
  {
    name: 'password-reset-refused',
    description: 'The new-password form after a refused password',
    status: 400,
    async open(page, site) {
      await go(page, await resetMailed(page, site));
      await page.locator('#new-password').fill('password');
      await submit(page, 'Set password and sign in');
      await page.getByRole('alert').waitFor();
    },
  },
  {
    name: 'password-reset-invalid',
    description: 'A used or unknown reset link',
    status: 400,
    open: (page, site) => go(page, `${site.issuer}/password-reset/verify?token=not-a-live-token`),
  },
  {
    name: 'email-not-verified',
    description: 'A password sign-in refused for an unverified email, with "Send the link again"',
    status: 403,
    async open(page, site) {
      const email = await member(site, 'unverified', 'verified-app', false);
      await go(page, authorizeUrl(site, {}, 'verified-app'));
      await signInWithPassword(page, email, PASSWORD);
      await page.waitForLoadState();
      await page.getByRole('button', { name: 'Send the link again' }).waitFor();
    },
  },
  {
    name: 'verify-email-resent',
    description: 'After "Send the link again": check your mail',
    status: 200,
    async open(page, site) {
      const email = await member(site, 'resend', 'verified-app', false);
      await go(page, authorizeUrl(site, {}, 'verified-app'));
      await signInWithPassword(page, email, PASSWORD);
      await page.waitForLoadState();
      await submit(page, 'Send the link again');
    },
  },
  {
    name: 'verify-email-confirm',
    description: 'The verification link opened: the button that verifies',
    status: 200,
    async open(page, site) {
      const email = site.email('verify');
      await openRegistration(page, site, 'verified-app');
      await page.locator('#register-email').fill(email);
      await page.locator('#register-password').fill(PASSWORD);
      await submit(page, 'Create account');
      const mail = await waitForMail(site.smtp, email, 1);
      await go(page, `${site.issuer}/verify-email?token=${encodeURIComponent(linkToken(mail, '/verify-email'))}`);
    },
  },
  {
    name: 'register-check-mail',
    description: 'Registered on a project that requires a verified email: check your mail',
    status: 200,
    async open(page, site) {
      await openRegistration(page, site, 'verified-app');
      await page.locator('#register-email').fill(site.email('register-verify'));
      await page.locator('#register-password').fill(PASSWORD);
      await submit(page, 'Create account');
    },
  },
  {
    name: 'email-verified',
    description: 'A verification link without a sign-in to finish, pressed: email verified',
    status: 200,
    async open(page, site) {
      // A link that carries no authorization request (as one for the account page does), issued as the mail would be.
      const user = await site.app.services.users.create({ email: site.email('verified'), password: PASSWORD });
      const { token } = await accountTokens(site.app.services).issue({ purpose: 'verify_email', user, ttlMs: 3_600_000 });
      await go(page, `${site.issuer}/verify-email?token=${encodeURIComponent(token)}`);
      await submit(page, 'Verify my email address');
    },
  },
  {
    name: 'mfa-second-step',
    description: 'The second step after the password (mfa.md): the authenticator code, or a recovery code',
    status: 200,
    open: async (page, site) => {
      await secondStep(page, site);
    },
  },
  {
    name: 'mfa-second-step-error',
    description: 'The second step after a wrong code',
    status: 401,
    async open(page, site) {
      const { secret } = await secondStep(page, site);
      const right = totpNow(secret, Date.now());
      await page.locator('#totp-code').fill(right === '000000' ? '111111' : '000000');
      await submit(page, 'Verify');
      await page.getByRole('alert').waitFor();
    },
  },
  {
    name: 'login-passkey',
    description: 'The login page of a project with passkeys: "Sign in with a passkey" (shown by the page script)',
    status: 200,
    async open(page, site) {
      await go(page, authorizeUrl(site, {}, 'passkey-app'));
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    },
  },
  {
    name: 'mfa-second-step-passkey',
    description: 'The second step of a person whose second factor is a passkey: "Use a passkey" and a recovery code',
    status: 200,
    async open(page, site) {
      const email = await memberWithPasskey(site, 'second-passkey');
      await go(page, authorizeUrl(site));
      await Promise.all([page.waitForEvent('load'), signInWithPassword(page, email, PASSWORD)]);
      await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    },
  },
  {
    name: 'mfa-enrolment',
    description: 'require_mfa and no second factor yet: add the authenticator app (QR code, key, code) or a passkey',
    status: 200,
    open: enrolment,
  },
  {
    name: 'mfa-enrolment-done',
    description: 'The enrolment done: the recovery codes, shown once, and "Continue to <app>"',
    status: 200,
    async open(page, site) {
      await enrolment(page, site);
      const key = (await page.locator('code.totp-key').innerText()).replace(/^Key: /, '').replace(/ /g, '');
      await page.locator('#enrol-code').fill(totpNow(key, Date.now()));
      await submit(page, 'Confirm');
      await page.locator('ul.recovery-codes').waitFor();
    },
  },
  {
    name: 'verify-email-invalid',
    description: 'A used or unknown verification link',
    status: 400,
    open: (page, site) => go(page, `${site.issuer}/verify-email?token=not-a-live-token`),
  },
];

/** The account page (/account) and its answers. */
const ACCOUNT_PAGES: Array<Omit<HostedPage, 'area'>> = [
  {
    name: 'account',
    description: 'The account page',
    status: 200,
    open: accountPage,
  },
  {
    name: 'account-notice',
    description: 'The account page with a notice (profile saved)',
    status: 200,
    async open(page, site) {
      await accountPage(page, site);
      await page.locator('#profile-name').fill('Ada Lovelace');
      await Promise.all([page.waitForURL(/notice=profile_saved/), page.locator('#profile-name').press('Enter')]);
    },
  },
  {
    name: 'account-error',
    description: 'The account page after a wrong current password',
    status: 401,
    async open(page, site) {
      await accountPage(page, site);
      await page.locator('#current-password').fill('not the passphrase');
      await page.locator('#new-password').fill('another pages passphrase');
      await Promise.all([page.waitForEvent('load'), page.locator('#new-password').press('Enter')]);
      await page.getByRole('alert').waitFor();
    },
  },
  {
    name: 'account-signed-out',
    description: 'The account page after "Sign out everywhere"',
    status: 200,
    async open(page, site) {
      await accountPage(page, site);
      await Promise.all([page.waitForURL(/\/account\/signed-out$/), page.getByRole('button', { name: 'Sign out everywhere' }).click()]);
    },
  },
  {
    name: 'account-mfa-setup',
    description: 'Adding an authenticator app: the QR code, the key and the code field',
    status: 200,
    open: accountTotpSetup,
  },
  {
    name: 'account-mfa-recovery-codes',
    description: 'The authenticator app confirmed: the recovery codes, shown once',
    status: 200,
    async open(page, site) {
      await accountTotpSetup(page, site);
      const key = (await page.locator('code.totp-key').innerText()).replace(/^Key: /, '').replace(/ /g, '');
      await page.locator('#mfa-confirm-code').fill(totpNow(key, Date.now()));
      await submit(page, 'Confirm');
      await page.locator('ul.recovery-codes').waitFor();
    },
  },
  {
    name: 'account-passkeys',
    description: 'The account page with a passkey: its name, when it was added and used, rename and remove',
    status: 200,
    async open(page, site) {
      const email = await memberWithPasskey(site, 'account-passkey');
      await go(page, `${site.issuer}/account`);
      await Promise.all([page.waitForEvent('load'), signInWithPassword(page, email, PASSWORD)]);
      // the person has a second factor now: the password is followed by a recovery code
      const record = await site.app.services.users.findByEmail(email);
      const [code] = await site.app.services.secondFactors.newRecoveryCodes(record!.user.id);
      await page.getByText('Use a recovery code').click();
      await page.getByLabel('Recovery code').fill(code!);
      await Promise.all([page.waitForURL(`${site.issuer}/account`), page.getByRole('button', { name: 'Use this recovery code' }).click()]);
      await page.getByRole('button', { name: 'Add a passkey' }).waitFor();
    },
  },
  {
    name: 'account-sign-in-problem',
    description: 'The account sign-in could not finish (an old tab, another browser)',
    status: 400,
    open: (page, site) => go(page, `${site.issuer}/account/callback?code=stale&state=stale`),
  },
];

/** The administrator the console's screens sign in as (made by preparePagesSite, whatever the environment). */
export const CONSOLE_ADMIN = { email: 'console-admin@example.com', password: PASSWORD } as const;

function admin(_site: PagesSite): { email: string; password: string } {
  return CONSOLE_ADMIN;
}

/** Signed in to the console as the admin, on `route` (a hash route), its heading shown. */
async function consoleAt(page: Page, site: PagesSite, route: string, heading: string | RegExp): Promise<void> {
  await openConsole(page, site.issuer, admin(site));
  await consoleScreen(page, route, heading);
}

async function press(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name, exact: true }).click();
}

/** The admin console's screens (docs/console.md), each signed in afresh. */
const CONSOLE_PAGES: Array<Omit<HostedPage, 'area'>> = [
  { name: 'console-projects', description: 'Console: the projects, with the search', status: 200, open: (page, site) => consoleAt(page, site, '#/projects', 'Projects') },
  {
    name: 'console-projects-none-found',
    description: 'Console: a project search that finds nothing (the empty state)',
    status: 200,
    open: (page, site) => consoleAt(page, site, '#/projects?search=nothing-like-it', 'Projects').then(() => page.locator('p.empty').waitFor()),
  },
  { name: 'console-project-new', description: 'Console: a new project, every field', status: 200, open: (page, site) => consoleAt(page, site, '#/projects/new', 'New project') },
  {
    name: 'console-project-refused',
    description: 'Console: a new project refused, the error beside the redirect URIs',
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/projects/new', 'New project');
      await page.getByLabel('Name', { exact: true }).fill('Refused');
      await page.getByLabel('Redirect URIs', { exact: true }).fill('http://refused.example/cb');
      await press(page, 'Create project');
      await page.locator('#new-redirect_uris-error').waitFor();
    },
  },
  { name: 'console-project', description: "Console: a project's settings, secret and deletion", status: 200, open: (page, site) => consoleAt(page, site, '#/projects/pages-app', /Pages App/) },
  {
    name: 'console-project-secret',
    description: 'Console: a new client secret, shown once with its copy button',
    status: 200,
    async open(page, site) {
      if (!(await site.app.services.projects.find('console-secret-app'))) {
        await site.app.services.projects.create({ id: 'console-secret-app', name: 'Secret App', redirect_uris: [site.callback], confidential: true });
      }
      await consoleAt(page, site, '#/projects/console-secret-app', /Secret App/);
      await press(page, 'Issue a new client secret');
      await press(page, 'Issue the secret');
      await page.locator('.secret-value').waitFor();
    },
  },
  {
    name: 'console-project-delete',
    description: "Console: deleting a project waits for its id to be typed",
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/projects/pages-app', /Pages App/);
      await press(page, 'Delete project');
      await page.getByLabel('Type pages-app to confirm').waitFor();
    },
  },
  {
    name: 'console-members',
    description: "Console: a project's members, with block and remove",
    status: 200,
    async open(page, site) {
      await member(site, 'console-member');
      await consoleAt(page, site, '#/projects/pages-app/members', /Pages App/);
      await page.locator('tbody tr').first().waitFor();
    },
  },
  {
    name: 'console-pins',
    description: "Console: a project's PINs, a new one shown once",
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/projects/pages-app/pins', /Pages App/);
      await page.getByLabel('Label of a new PIN (optional)').fill('front desk');
      await press(page, 'Create PIN');
      await page.locator('.secret-value').waitFor();
    },
  },
  {
    name: 'console-sessions',
    description: "Console: a project's live sessions",
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/projects/console/sessions', /Gatehouse console/);
      await page.locator('tbody tr').first().waitFor();
    },
  },
  { name: 'console-users', description: 'Console: the users, found by email', status: 200, open: (page, site) => consoleAt(page, site, '#/users', 'Users').then(() => page.locator('tbody tr').first().waitFor()) },
  {
    name: 'console-user-new-refused',
    description: 'Console: a new user refused, the password error beside its field',
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/users/new', 'New user');
      await page.getByLabel('Email', { exact: true }).fill(site.email('console-new'));
      await page.getByLabel('Password (optional)').fill('password');
      await press(page, 'Create user');
      await page.locator('#new-user-password-error').waitFor();
    },
  },
  {
    name: 'console-user',
    description: 'Console: one user: profile, admin flag, reset, second factors, sessions, browser sessions, deletion',
    status: 200,
    async open(page, site) {
      const { email } = await memberWithTotp(site, 'console-user');
      const record = await site.app.services.users.findByEmail(email);
      assert.ok(record);
      await consoleAt(page, site, `#/users/${record.user.id}`, email);
      await page.getByText(/Authenticator app: yes/).waitFor();
    },
  },
  { name: 'console-audit', description: 'Console: the audit log with its filters', status: 200, open: (page, site) => consoleAt(page, site, '#/audit', 'Audit log').then(() => page.locator('tbody tr').first().waitFor()) },
  {
    name: 'console-audit-event',
    description: 'Console: one audit event',
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/audit', 'Audit log');
      await page.locator('tbody tr a').first().click();
      await page.locator('pre.detail').waitFor();
    },
  },
  { name: 'console-keys', description: 'Console: the signing keys and their rotation', status: 200, open: (page, site) => consoleAt(page, site, '#/keys', 'Signing keys').then(() => page.locator('tbody tr').first().waitFor()) },
  {
    name: 'console-webhooks',
    description: 'Console: the webhooks, a new one with its secret shown once',
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/webhooks', 'Webhooks');
      await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
      await press(page, 'Create webhook');
      await page.locator('.secret-value').waitFor();
    },
  },
  {
    name: 'console-webhook',
    description: 'Console: one webhook, its test send and its deliveries',
    status: 200,
    async open(page, site) {
      const created = await site.app.services.webhooks.create({ url: 'http://127.0.0.1:9/screen', events: ['*'], projectId: null, description: 'screenshots' });
      await consoleAt(page, site, `#/webhooks/${created.webhook.id}`, /Webhook http/);
    },
  },
  {
    name: 'console-connections',
    description: 'Console: the connections (upstream OpenID providers) and the form of a new one, refused at its issuer',
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/connections', 'Connections');
      await page.getByRole('link', { name: 'Upstream ID' }).waitFor();
      await page.getByLabel('Id', { exact: true }).fill('nowhere');
      await page.getByLabel('Name').fill('Nowhere');
      await page.getByLabel('Issuer').fill('http://127.0.0.1:9');
      await page.getByLabel('Client id').fill('gatehouse');
      await page.getByLabel('Client secret').fill('a secret');
      await press(page, 'Create connection');
      await page.locator('#new-connection-issuer[aria-invalid="true"]').waitFor();
    },
  },
  {
    name: 'console-connection',
    description: 'Console: one connection, its redirect URI to register at the provider, its deletion',
    status: 200,
    open: (page, site) => consoleAt(page, site, '#/connections/upstream', 'Connection Upstream ID'),
  },
  {
    name: 'console-not-admin',
    description: 'Console: signed in without the admin flag',
    status: 200,
    async open(page, site) {
      const email = await member(site, 'console-viewer', 'console');
      await openConsole(page, site.issuer, { email, password: PASSWORD });
      await page.getByRole('heading', { name: 'You are not an administrator' }).waitFor();
    },
  },
  {
    name: 'console-signed-out',
    description: 'Console: after signing out',
    status: 200,
    async open(page, site) {
      await consoleAt(page, site, '#/projects', 'Projects');
      await page.getByRole('link', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    },
  },
];

/** Every hosted page. A new group (the console's screens) is one more list joined here. */
export const HOSTED_PAGES: HostedPage[] = [
  ...LOGIN_PAGES.map((p) => ({ ...p, area: 'login' as const })),
  ...ACCOUNT_PAGES.map((p) => ({ ...p, area: 'account' as const })),
  ...CONSOLE_PAGES.map((p) => ({ ...p, area: 'console' as const })),
];

/** The widths every page is checked and photographed at (a phone, a laptop), and its colour schemes. */
export const PAGE_WIDTHS = [390, 1280] as const;
export const COLOR_SCHEMES = ['light', 'dark'] as const;
export type ColorScheme = (typeof COLOR_SCHEMES)[number];

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** the status of the last document the main frame was served */
  status: number | undefined;
}

/** Opens `hosted` in a fresh context; close `context` when done. */
export async function openHostedPage(browser: Browser, site: PagesSite, hosted: HostedPage): Promise<OpenedPage> {
  const { context, page } = await newPageContext(browser);
  const opened: OpenedPage = { context, page, status: undefined };
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) opened.status = response.status();
  });
  try {
    await hosted.open(page, site);
    await page.waitForLoadState();
  } catch (error) {
    await context.close();
    throw error;
  }
  return opened;
}

/** Shows the page at `width` in `scheme` (the height follows the width, as on a device). */
export async function showAs(page: Page, width: number, scheme: ColorScheme): Promise<void> {
  await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
  await page.emulateMedia({ colorScheme: scheme });
}
