// Signing in with another OpenID provider in a real browser (Debian's Chromium through
// playwright-core): Gatehouse listening on 127.0.0.1, the upstream a real oidc-provider
// (test/support/upstream.ts) on another port, and, for "Gatehouse as the provider of another
// Gatehouse", a second Gatehouse on 127.0.0.2 (another host, so that the two browser-session
// cookies do not meet). Every journey goes from the app's /authorize through the hosted page's
// "Continue with" link, the provider's sign-in page and back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { pkcePair, testEnv } from '../support/app.ts';
import { catchCallback, launchChromium, signInWithPassword } from '../support/browser.ts';
import { freePort, startListeningApp } from '../support/server.ts';
import { FetchBrowser, startUpstream, type Upstream } from '../support/upstream.ts';

const CALLBACK = 'https://app.example.com/callback';
const PASSWORD = 'the federation passphrase';

describe('signing in with another OpenID provider, in a real browser', () => {
  let app: App;
  let issuer: string;
  let upstream: Upstream;
  let other: App;
  let otherIssuer: string;
  let browser: Browser;
  let otherClientSecret = '';

  before(async () => {
    ({ app, issuer } = await startListeningApp({}));
    upstream = await startUpstream({
      redirectUris: [`${issuer}/connections/upstream/callback`],
      accounts: [
        { sub: 'alice', email: 'alice@example.com', email_verified: true, name: 'Alice Upstream' },
        { sub: 'bob-upstream', email: 'bob@example.com', email_verified: true },
        { sub: 'mallory', email: 'carol@example.com', email_verified: false },
        { sub: 'forged', email: 'forged@example.com', email_verified: true },
      ],
    });
    await app.services.connections.create({ id: 'upstream', name: 'Upstream ID', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret });

    // The other Gatehouse, the provider of this one: a confidential project whose redirect URI is our callback.
    const port = await freePort();
    otherIssuer = `http://127.0.0.2:${port}`;
    other = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: otherIssuer, PORT: String(port) })) });
    await other.server.listen({ port, host: '127.0.0.2' });
    const downstream = await other.services.projects.create({ id: 'downstream', name: 'Downstream Gatehouse', redirect_uris: [`${issuer}/connections/gatehouse-b/callback`], confidential: true });
    otherClientSecret = downstream.clientSecret ?? '';
    await other.services.users.create({ email: 'dave@example.com', password: PASSWORD, email_verified: true, name: 'Dave From B' });
    await app.services.connections.create({ id: 'gatehouse-b', name: 'Gatehouse B', issuer: otherIssuer, client_id: 'downstream', client_secret: otherClientSecret });

    await app.services.projects.create({ id: 'fed-app', name: 'Federated App', redirect_uris: [CALLBACK], connections: ['upstream', 'gatehouse-b'] });
    const bob = await app.services.users.create({ email: 'bob@example.com', password: PASSWORD, email_verified: true });
    await app.services.users.addMember('fed-app', bob.id);
    await app.services.users.create({ email: 'carol@example.com', password: PASSWORD, email_verified: true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await other?.close();
    await upstream?.close();
  });

  /** A fresh page whose navigations to the app's callback are caught (the app is not served) and recorded. */
  async function newPage(): Promise<{ page: Page; landed: Promise<URL>; callbacks: string[] }> {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const callbacks: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.url().includes('/connections/') && request.url().includes('/callback')) callbacks.push(request.url());
    });
    const { landed } = await catchCallback(page, CALLBACK);
    return { page, landed, callbacks };
  }

  function authorizeUrl(challenge: string): string {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'fed-app', redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid email profile', state: 'app-state' });
    return `${issuer}/authorize?${query.toString()}`;
  }

  /** From the app's /authorize to the provider's sign-in page, by the hosted page's link. */
  async function toUpstream(page: Page, challenge: string, provider = 'Upstream ID'): Promise<void> {
    await page.goto(authorizeUrl(challenge));
    await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: `Continue with ${provider}` }).click()]);
  }

  /** At the upstream's page: the account, and Allow or Deny; answers the status of the page Gatehouse then shows (or 0 for the app). */
  async function atUpstream(page: Page, sub: string, decision: 'Allow' | 'Deny' = 'Allow'): Promise<void> {
    await page.locator('#sub').fill(sub);
    await page.getByRole('button', { name: decision }).click();
  }

  async function exchange(code: string, verifier: string): Promise<Record<string, unknown>> {
    const res = await app.server.inject({ method: 'POST', url: '/token', payload: { grant_type: 'authorization_code', client_id: 'fed-app', code, code_verifier: verifier, redirect_uri: CALLBACK } });
    assert.equal(res.statusCode, 200, res.body);
    return decodeJwt(res.json<{ id_token: string }>().id_token);
  }

  it('signs a new person in through the provider: a code for the app, amr fed, the provider\'s profile', { timeout: 60_000 }, async () => {
    const { verifier, challenge } = pkcePair();
    const { page, landed } = await newPage();
    await toUpstream(page, challenge);
    await atUpstream(page, 'alice');
    const url = await landed;
    assert.equal(url.searchParams.get('state'), 'app-state');
    const claims = await exchange(url.searchParams.get('code') ?? '', verifier);
    assert.deepEqual(claims.amr, ['fed']);
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.name, 'Alice Upstream');
    await page.context().close();
  });

  it('a person who says no at the provider is back at the app with error=access_denied and the app\'s state', { timeout: 60_000 }, async () => {
    const { page, landed } = await newPage();
    await toUpstream(page, pkcePair().challenge);
    await atUpstream(page, 'alice', 'Deny');
    const url = await landed;
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.equal(url.searchParams.get('state'), 'app-state');
    assert.equal(url.searchParams.get('code'), null);
    await page.context().close();
  });

  it('a replayed callback and a callback with a wrong state answer 400 Invalid or expired token', { timeout: 60_000 }, async () => {
    const { page, landed, callbacks } = await newPage();
    await toUpstream(page, pkcePair().challenge);
    await atUpstream(page, 'alice');
    await landed;
    const callback = callbacks[0];
    assert.ok(callback, 'the provider sent the browser to the callback');
    const replay = await page.goto(callback);
    assert.equal(replay?.status(), 400);
    assert.match(await page.content(), /Invalid or expired token/);

    // Login CSRF: another person's callback URL (their own journey, over HTTP, stopped before
    // the callback) opened in this browser, whose cookie holds another state.
    const victim = await newPage();
    await toUpstream(victim.page, pkcePair().challenge);
    const attacker = new FetchBrowser();
    const isCallback = (url: string) => url.startsWith(`${issuer}/connections/upstream/callback`);
    const { challenge } = pkcePair();
    const started = await attacker.follow(`${issuer}/connections/upstream/start?${new URL(authorizeUrl(challenge)).searchParams.toString()}`, isCallback);
    const posted = await attacker.request(started.url, { form: { sub: 'alice', decision: 'allow' } });
    const attackersCallback = await attacker.follow(new URL(String(posted.headers.get('location')), started.url).toString(), isCallback);
    assert.ok(isCallback(attackersCallback.url), attackersCallback.url);
    const refused = await victim.page.goto(attackersCallback.url);
    assert.equal(refused?.status(), 400);
    assert.match(await victim.page.content(), /Invalid or expired token/);
    assert.equal((await victim.page.context().cookies()).find((c) => c.name === 'gatehouse_session'), undefined, 'the victim is signed in as nobody');
    await page.context().close();
    await victim.page.context().close();
  });

  it('an ID token signed by another key is refused: no code, no account', { timeout: 60_000 }, async () => {
    upstream.forgeIdTokens = true;
    try {
      const { page } = await newPage();
      await toUpstream(page, pkcePair().challenge);
      const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${issuer}/connections/upstream/callback`)), atUpstream(page, 'forged')]);
      assert.equal(response.status(), 400);
      await page.waitForLoadState();
      assert.match(await page.content(), /Invalid or expired token/);
      assert.equal(await app.services.users.findByEmail('forged@example.com'), undefined);
      await page.context().close();
    } finally {
      upstream.forgeIdTokens = false;
    }
  });

  it('links an existing account by the provider\'s verified email', { timeout: 60_000 }, async () => {
    const { verifier, challenge } = pkcePair();
    const { page, landed } = await newPage();
    await toUpstream(page, challenge);
    await atUpstream(page, 'bob-upstream');
    const url = await landed;
    const claims = await exchange(url.searchParams.get('code') ?? '', verifier);
    const bob = await app.services.users.findByEmail('bob@example.com');
    assert.equal(claims.sub, bob?.user.id);
    assert.equal((await app.services.connections.identity('upstream', 'bob-upstream'))?.user_id, bob?.user.id);
    await page.context().close();
  });

  it('refuses to link an existing account to an email the provider does not call verified: 409', { timeout: 60_000 }, async () => {
    const { page } = await newPage();
    await toUpstream(page, pkcePair().challenge);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${issuer}/connections/upstream/callback`)), atUpstream(page, 'mallory')]);
    assert.equal(response.status(), 409);
    await page.waitForLoadState();
    assert.match(await page.content(), /Email already registered/);
    assert.equal(await app.services.connections.identity('upstream', 'mallory'), undefined);
    await page.context().close();
  });

  it('Gatehouse signs people in with another Gatehouse as the provider', { timeout: 60_000 }, async () => {
    const { verifier, challenge } = pkcePair();
    const { page, landed } = await newPage();
    await toUpstream(page, challenge, 'Gatehouse B');
    assert.ok(page.url().startsWith(otherIssuer), page.url());
    await signInWithPassword(page, 'dave@example.com', PASSWORD);
    const url = await landed;
    const claims = await exchange(url.searchParams.get('code') ?? '', verifier);
    assert.deepEqual(claims.amr, ['fed']);
    assert.equal(claims.email, 'dave@example.com');
    const dave = await app.services.users.findByEmail('dave@example.com');
    assert.equal(dave?.user.name, 'Dave From B');
    assert.equal(dave?.user.email_verified, true);
    await page.context().close();
  });
});
