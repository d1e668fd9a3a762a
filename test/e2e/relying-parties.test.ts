// Relying parties nobody here wrote (sso.md, the last section): openid-client and oauth4webapi,
// with their documented settings only, drive a real Gatehouse while real Chromium fills the hosted
// page: discovery, PKCE + state + nonce, code exchange, ID-token validation (signature by the
// JWKS, nonce, iss, aud), userinfo, refresh, single sign-on into a second project, RP-initiated
// logout; a project signing with RS256 for a client that accepts only RS256. Then a single-page
// app on another origin does the public-client flow with fetch (CORS), and an origin that is not
// allowed gets nothing. One Gatehouse, one browser; each journey a browser context of its own.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { pkcePair } from '../support/app.ts';
import { launchChromium, recordNavigations, signInWithPassword } from '../support/browser.ts';
import { startAppServer, type AppFile, type AppServer } from '../support/relying-party.ts';
import { startListeningApp } from '../support/server.ts';

const EMAIL = 'ada@example.com';
const PASSWORD = 'an analytical engine passphrase';
const NAME = 'Ada Lovelace';
const SCOPE = 'openid profile email';

/** A file of test/e2e/spa/, as the single-page app's server serves it. */
function spaFile(name: string, contentType: string): AppFile {
  return { contentType, body: readFileSync(new URL(`spa/${name}`, import.meta.url), 'utf8') };
}

interface Checks {
  state: string;
  nonce: string;
  verifier: string;
}

interface SignedIn {
  idToken: string;
  claims: Record<string, unknown>;
  accessToken: string;
  refreshToken: string;
}

/** One client of one project, as a library drives it: each method is that library's documented API. */
interface RelyingParty {
  redirectUri: string;
  /** the authorization URL, with PKCE (S256), state and nonce, and `extra` (prompt=none) */
  authorizationUrl(extra?: Record<string, string>): Promise<{ url: URL; checks: Checks }>;
  /** the browser came back to `url`: the response checked, the code exchanged, the ID token validated */
  callback(url: URL, checks: Checks): Promise<SignedIn>;
  userinfo(accessToken: string, sub: string): Promise<Record<string, unknown>>;
  refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string; idToken?: string }>;
  endSessionUrl(parameters: { id_token_hint: string; post_logout_redirect_uri: string; state: string }): URL;
}

interface ClientOptions {
  /** the client accepts ID tokens signed with RS256 only (its `id_token_signed_response_alg`) */
  onlyRs256?: boolean;
}

type Library = (issuer: string, clientId: string, redirectUri: string, options?: ClientOptions) => Promise<RelyingParty>;

/** openid-client v6: a Configuration from discovery; the ID token's signature checked by enableNonRepudiationChecks. */
const openidClient: Library = async (issuer, clientId, redirectUri, options = {}) => {
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    options.onlyRs256 ? { id_token_signed_response_alg: 'RS256' } : undefined,
    client.None(),
    // The issuer is http://127.0.0.1 in the test: plain HTTP has to be allowed explicitly.
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
  return {
    redirectUri,
    async authorizationUrl(extra = {}) {
      const checks = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(checks.verifier),
        code_challenge_method: 'S256',
        state: checks.state,
        nonce: checks.nonce,
        ...extra,
      });
      return { url, checks };
    },
    async callback(url, checks) {
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      assert.ok(claims && tokens.id_token && tokens.refresh_token);
      return { idToken: tokens.id_token, claims, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
    },
    async userinfo(accessToken, sub) {
      return { ...(await client.fetchUserInfo(config, accessToken, sub)) };
    },
    async refresh(refreshToken) {
      const tokens = await client.refreshTokenGrant(config, refreshToken);
      assert.ok(tokens.refresh_token);
      return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, ...(tokens.id_token ? { idToken: tokens.id_token } : {}) };
    },
    endSessionUrl(parameters) {
      return client.buildEndSessionUrl(config, parameters);
    },
  };
};

/** oauth4webapi v3: request and process functions; the ID token's signature checked by validateApplicationLevelSignature. */
const oauth4webapi: Library = async (issuer, clientId, redirectUri, options = {}) => {
  const http = { [oauth.allowInsecureRequests]: true };
  const issuerUrl = new URL(issuer);
  const as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', ...http }));
  const rp: oauth.Client = { client_id: clientId, ...(options.onlyRs256 ? { id_token_signed_response_alg: 'RS256' } : {}) };
  const auth = oauth.None();
  assert.ok(as.authorization_endpoint && as.end_session_endpoint);
  const authorizationEndpoint = as.authorization_endpoint;
  const endSessionEndpoint = as.end_session_endpoint;
  return {
    redirectUri,
    async authorizationUrl(extra = {}) {
      const checks = { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), verifier: oauth.generateRandomCodeVerifier() };
      const url = new URL(authorizationEndpoint);
      url.search = new URLSearchParams({
        client_id: clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPE,
        code_challenge: await oauth.calculatePKCECodeChallenge(checks.verifier),
        code_challenge_method: 'S256',
        state: checks.state,
        nonce: checks.nonce,
        ...extra,
      }).toString();
      return { url, checks };
    },
    async callback(url, checks) {
      const parameters = oauth.validateAuthResponse(as, rp, url, checks.state);
      const response = await oauth.authorizationCodeGrantRequest(as, rp, auth, parameters, redirectUri, checks.verifier, http);
      const result = await oauth.processAuthorizationCodeResponse(as, rp, response, { expectedNonce: checks.nonce, requireIdToken: true });
      await oauth.validateApplicationLevelSignature(as, response, http);
      const claims = oauth.getValidatedIdTokenClaims(result);
      assert.ok(claims && result.id_token && result.refresh_token);
      return { idToken: result.id_token, claims: { ...claims }, accessToken: result.access_token, refreshToken: result.refresh_token };
    },
    async userinfo(accessToken, sub) {
      const response = await oauth.userInfoRequest(as, rp, accessToken, http);
      return { ...(await oauth.processUserInfoResponse(as, rp, sub, response)) };
    },
    async refresh(refreshToken) {
      const response = await oauth.refreshTokenGrantRequest(as, rp, auth, refreshToken, http);
      const result = await oauth.processRefreshTokenResponse(as, rp, response);
      if (result.id_token) await oauth.validateApplicationLevelSignature(as, response, http);
      assert.ok(result.refresh_token);
      return { accessToken: result.access_token, refreshToken: result.refresh_token, ...(result.id_token ? { idToken: result.id_token } : {}) };
    },
    endSessionUrl(parameters) {
      // oauth4webapi builds no end-session URL: RP-Initiated Logout 1.0 section 2 is this query.
      const url = new URL(endSessionEndpoint);
      url.search = new URLSearchParams(parameters).toString();
      return url;
    },
  };
};

/** An error's message and those of its causes. */
function reasons(error: unknown): string {
  const messages: string[] = [];
  for (let at = error; at instanceof Error; at = at.cause) messages.push(at.message);
  return messages.join(' <- ');
}

interface BlockedRequest {
  status: number;
  headers: Record<string, string>;
  corsError: string | undefined;
}

/**
 * What Chromium's network sees of the page's next request to `url`, once it failed: its status and
 * headers, and the CORS reason. Playwright reports a request the CORS check blocked only as
 * failed, so this asks Chromium itself (its DevTools protocol), the way its network panel does.
 */
async function watchBlockedRequest(page: Page, url: string): Promise<{ blocked: Promise<BlockedRequest> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const answers = new Map<string, { status: number; headers: Record<string, string> }>();
  const failures = new Map<string, string | undefined>();
  let id: string | undefined;
  const blocked = new Promise<BlockedRequest>((resolve) => {
    const settle = () => {
      const answer = id === undefined ? undefined : answers.get(id);
      if (id !== undefined && answer && failures.has(id)) resolve({ ...answer, corsError: failures.get(id) });
    };
    cdp.on('Network.requestWillBeSent', (event) => {
      if (event.request.url === url) id = event.requestId;
      settle();
    });
    cdp.on('Network.responseReceivedExtraInfo', (event) => {
      answers.set(event.requestId, { status: event.statusCode, headers: event.headers as Record<string, string> });
      settle();
    });
    cdp.on('Network.loadingFailed', (event) => {
      failures.set(event.requestId, event.corsErrorStatus?.corsError);
      settle();
    });
  });
  return { blocked };
}

describe('relying parties nobody here wrote, against Gatehouse and Chromium', () => {
  let app: App;
  let issuer: string;
  let browser: Browser;
  let rpServer: AppServer;

  before(async () => {
    ({ app, issuer } = await startListeningApp());
    rpServer = await startAppServer();
    browser = await launchChromium();
    await app.services.users.create({ email: EMAIL, password: PASSWORD, name: NAME });
  });

  after(async () => {
    await browser?.close();
    await rpServer?.close();
    await app?.close();
  });

  /** A fresh browser profile: no browser session, no cookie. */
  async function freshPage(): Promise<Page> {
    const context = await browser.newContext();
    return context.newPage();
  }

  const at = (path: string) => `${rpServer.origin}${path}`;

  /** Runs `action`, then waits until the browser is back at `redirectUri`: the URL it came back with. */
  async function backAt(page: Page, redirectUri: string, action: () => Promise<unknown>): Promise<URL> {
    await action();
    await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
    return new URL(page.url());
  }

  async function signInThroughHostedPage(page: Page, rp: RelyingParty): Promise<SignedIn> {
    const { url, checks } = await rp.authorizationUrl();
    const shown = await page.goto(url.href);
    assert.equal(shown?.status(), 200);
    const landed = await backAt(page, rp.redirectUri, () => signInWithPassword(page, EMAIL, PASSWORD));
    assert.equal(landed.searchParams.get('iss'), issuer);
    return rp.callback(landed, checks);
  }

  for (const [library, connect] of [
    ['openid-client', openidClient],
    ['oauth4webapi', oauth4webapi],
  ] as const) {
    describe(library, () => {
      let page: Page;
      let first: RelyingParty;
      let second: RelyingParty;
      let signedIn: SignedIn;
      let latestRefreshToken: string;
      let secondRefreshToken: string;
      let signedOut: string;

      before(async () => {
        signedOut = at(`/${library}/signed-out`);
        for (const n of ['one', 'two']) {
          await app.services.projects.create({
            id: `${library}-${n}`,
            name: `${library} ${n}`,
            redirect_uris: [at(`/${library}/${n}/callback`)],
            post_logout_redirect_uris: [signedOut],
          });
        }
        first = await connect(issuer, `${library}-one`, at(`/${library}/one/callback`));
        second = await connect(issuer, `${library}-two`, at(`/${library}/two/callback`));
        page = await freshPage();
      });

      it('signs in on the hosted page; the library exchanges the code, validates the ID token, reads userinfo and refreshes', async () => {
        signedIn = await signInThroughHostedPage(page, first);
        assert.equal(signedIn.claims.iss, issuer);
        assert.equal(signedIn.claims.aud, `${library}-one`);
        assert.equal(signedIn.claims.email, EMAIL);
        assert.equal(signedIn.claims.name, NAME);
        assert.equal(decodeProtectedHeader(signedIn.idToken).alg, 'ES256');

        const info = await first.userinfo(signedIn.accessToken, String(signedIn.claims.sub));
        assert.equal(info.sub, signedIn.claims.sub);
        assert.equal(info.email, EMAIL);
        assert.equal(info.email_verified, false);
        assert.equal(info.name, NAME);
        assert.equal(typeof info.updated_at, 'number');

        const refreshed = await first.refresh(signedIn.refreshToken);
        assert.notEqual(refreshed.refreshToken, signedIn.refreshToken);
        assert.ok(refreshed.idToken, 'a new ID token, its signature checked by the library');
        assert.equal((await first.userinfo(refreshed.accessToken, String(signedIn.claims.sub))).email, EMAIL);
        latestRefreshToken = refreshed.refreshToken;
      });

      it('signs in to a second project in the same browser without a password (single sign-on)', async () => {
        const navigations = recordNavigations(page);
        const { url, checks } = await second.authorizationUrl();
        const landed = await backAt(page, second.redirectUri, () => page.goto(url.href));
        // Gatehouse served only redirects: no page, so no password field, was ever shown.
        const fromGatehouse = navigations.filter((n) => n.url.startsWith(`${issuer}/`));
        assert.ok(fromGatehouse.length > 0);
        assert.deepEqual(
          fromGatehouse.map((n) => n.status),
          fromGatehouse.map(() => 302),
        );
        assert.equal(await page.locator('input[type=password]').count(), 0);
        const tokens = await second.callback(landed, checks);
        assert.equal(tokens.claims.sub, signedIn.claims.sub);
        assert.equal(tokens.claims.aud, `${library}-two`);
        assert.equal(tokens.claims.auth_time, signedIn.claims.auth_time);
        secondRefreshToken = tokens.refreshToken;
      });

      it('logs out through the end-session URL: back at the registered URI with state, sessions ended, prompt=none needs a login', async () => {
        const state = `${library}-logout-state`;
        const url = first.endSessionUrl({ id_token_hint: signedIn.idToken, post_logout_redirect_uri: signedOut, state });
        const landed = await backAt(page, signedOut, () => page.goto(url.href));
        assert.equal(landed.searchParams.get('state'), state);

        for (const [rp, refreshToken] of [
          [first, latestRefreshToken],
          [second, secondRefreshToken],
        ] as const) {
          // The 401 carries `WWW-Authenticate: Basic` (hardening.md), which both libraries report as
          // a challenge, handing over the response with its body unread: the reference's message.
          const error: unknown = await rp.refresh(refreshToken).then(
            () => undefined,
            (reason: unknown) => reason,
          );
          assert.ok(error instanceof oauth.WWWAuthenticateChallengeError, `${String(error)}`);
          assert.equal(error.status, 401);
          assert.equal(error.cause[0]?.scheme, 'basic');
          assert.deepEqual(await error.response.json(), { error: 'Invalid refresh token' });
        }

        const silent = await first.authorizationUrl({ prompt: 'none' });
        const answer = await backAt(page, first.redirectUri, () => page.goto(silent.url.href));
        assert.equal(answer.searchParams.get('error'), 'login_required');
        assert.equal(answer.searchParams.get('state'), silent.checks.state);
        await assert.rejects(first.callback(answer, silent.checks), (error: { error?: string }) => {
          assert.equal(error.error, 'login_required');
          return true;
        });
      });

      it('an RS256-only client signs in to an RS256 project, and refuses the ES256 ID token of another', async () => {
        await app.services.projects.create({
          id: `${library}-rs256`,
          name: `${library} RS256`,
          redirect_uris: [at(`/${library}/rs256/callback`)],
          token_signing_alg: 'RS256',
        });
        const rs256 = await connect(issuer, `${library}-rs256`, at(`/${library}/rs256/callback`), { onlyRs256: true });
        const rsPage = await freshPage();
        const tokens = await signInThroughHostedPage(rsPage, rs256);
        assert.equal(decodeProtectedHeader(tokens.idToken).alg, 'RS256');
        assert.equal(tokens.claims.aud, `${library}-rs256`);
        assert.equal((await rs256.userinfo(tokens.accessToken, String(tokens.claims.sub))).name, NAME);
        const refreshed = await rs256.refresh(tokens.refreshToken);
        assert.ok(refreshed.idToken);
        assert.equal(decodeProtectedHeader(refreshed.idToken).alg, 'RS256');

        // The same settings for the ES256 project: its ID token is refused.
        const strict = await connect(issuer, `${library}-one`, at(`/${library}/one/callback`), { onlyRs256: true });
        const { url, checks } = await strict.authorizationUrl();
        const landed = await backAt(rsPage, strict.redirectUri, () => rsPage.goto(url.href));
        await assert.rejects(strict.callback(landed, checks), (error: Error) => {
          // openid-client wraps the reason in a ClientError; oauth4webapi throws it as is.
          assert.match(reasons(error), /unexpected JWT "alg" header parameter/);
          return true;
        });
      });
    });
  }

  describe('a single-page app on another origin', () => {
    let spa: AppServer;
    let foreign: AppServer;
    let page: Page;

    before(async () => {
      spa = await startAppServer({
        '/': spaFile('index.html', 'text/html; charset=utf-8'),
        '/app.js': spaFile('app.js', 'text/javascript'),
        '/config.json': { contentType: 'application/json', body: JSON.stringify({ issuer, client_id: 'spa' }) },
      });
      foreign = await startAppServer({
        '/': spaFile('foreign.html', 'text/html; charset=utf-8'),
        '/foreign.js': spaFile('foreign.js', 'text/javascript'),
      });
      // A public client; its allowed origin is that of its redirect URIs.
      await app.services.projects.create({ id: 'spa', name: 'The SPA', redirect_uris: [`${spa.origin}/`, `${spa.origin}/landing`] });
      page = await freshPage();
    });

    after(async () => {
      await spa?.close();
      await foreign?.close();
    });

    async function result(on: Page): Promise<Record<string, unknown>> {
      const shown = on.locator('#result:not(:empty)');
      await shown.waitFor();
      return JSON.parse(await shown.innerText()) as Record<string, unknown>;
    }

    it('signs in with PKCE, exchanges the code, reads userinfo and refreshes, all by fetch from its own origin', async () => {
      await page.goto(`${spa.origin}/`);
      await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize?`));
      await signInWithPassword(page, EMAIL, PASSWORD);
      await page.waitForURL((url) => url.href.startsWith(`${spa.origin}/?`));
      const done = await result(page);
      assert.equal(done.error, undefined);
      assert.equal(done.issuer, issuer);
      assert.deepEqual(String(done.scope).split(' ').sort(), SCOPE.split(' ').sort());
      assert.equal(done.refreshed, true);
      const userinfo = done.userinfo as Record<string, unknown>;
      assert.equal(userinfo.email, EMAIL);
      assert.equal(userinfo.name, NAME);
      assert.equal((done.userinfoAfterRefresh as Record<string, unknown>).sub, userinfo.sub);
      // The ID token it got verifies against the JWKS it read, and its key was among them.
      assert.equal(typeof done.idToken, 'string');
      const idToken = String(done.idToken);
      assert.ok((done.jwksKids as string[]).includes(String(decodeProtectedHeader(idToken).kid)));
      const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, audience: 'spa' });
      assert.equal(payload.sub, userinfo.sub);
    });

    it('a page of an origin the project does not allow gets no CORS grant and 403 Forbidden from /token; the code stays usable', async () => {
      // A code for the SPA (the browser session signs in without a page).
      const { verifier, challenge } = pkcePair();
      const landing = `${spa.origin}/landing`;
      const authorize = new URL(`${issuer}/authorize`);
      authorize.search = new URLSearchParams({
        response_type: 'code',
        client_id: 'spa',
        redirect_uri: landing,
        scope: 'openid email',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      await page.goto(authorize.href);
      const code = new URL(page.url()).searchParams.get('code');
      assert.ok(page.url().startsWith(`${landing}?`) && code);

      const given = new URLSearchParams({ token_endpoint: `${issuer}/token`, client_id: 'spa', code, code_verifier: verifier, redirect_uri: landing });
      const { blocked } = await watchBlockedRequest(page, `${issuer}/token`);
      await page.goto(`${foreign.origin}/#${given.toString()}`);
      assert.match(String((await result(page)).error), /^TypeError/);
      const { status, headers, corsError } = await blocked;
      assert.equal(status, 403);
      assert.deepEqual(
        Object.keys(headers).filter((name) => name.toLowerCase().startsWith('access-control-')),
        [],
      );
      assert.equal(corsError, 'MissingAllowOriginHeader');

      // The same request by a server that says it comes from that origin: the message.
      const body = new URLSearchParams({ grant_type: 'authorization_code', client_id: 'spa', code, code_verifier: verifier, redirect_uri: landing });
      const refused = await fetch(`${issuer}/token`, { method: 'POST', headers: { origin: foreign.origin }, body });
      assert.equal(refused.status, 403);
      assert.deepEqual(await refused.json(), { error: 'Forbidden' });
      const exchanged = await fetch(`${issuer}/token`, { method: 'POST', body });
      assert.equal(exchanged.status, 200);
    });
  });
});
