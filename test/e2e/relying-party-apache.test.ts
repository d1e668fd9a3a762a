// A relying party nobody here wrote: Apache httpd with mod_auth_openidc (Debian's apache2 and
// libapache2-mod-auth-openidc), configured only with the module's documented directives, in front
// of pages that show what the module passes on. Chromium opens a protected page, signs in on the
// hosted page, and lands back with the claims; then a refresh, single sign-on into a second
// project, RP-initiated logout through the module, an RS256 project, a confidential project without
// PKCE, and a module that accepts only RS256 refusing an ES256 ID token.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium, signInWithPassword } from '../support/browser.ts';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { SigningAlg } from '../../src/crypto/keys.ts';
import { testEnv } from '../support/app.ts';
import { freePort } from '../support/server.ts';

const CHROMIUM = CHROMIUM_PATH;
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const NEEDED = [CHROMIUM, APACHE, `${MODULES}/mod_auth_openidc.so`];
const missing = NEEDED.filter((path) => !existsSync(path));
// Without CI a machine without the packages skips with the reason; in CI the file fails.
const skip = missing.length > 0 && !process.env.CI ? `not installed: ${missing.join(', ')} (bash scripts/ensure-system-packages.sh installs them)` : false;

const EMAIL = 'apache@example.com';
const PASSWORD = 'a passphrase typed once for apache';
const NAME = 'Ada Apache';

/** One Apache virtual host: one relying party, one Gatehouse project. */
interface Site {
  project: string;
  port: number;
  origin: string;
  secret: string;
  pkce: boolean;
  acceptOnlyAlg?: SigningAlg;
}

// Only the modules the configuration uses, from Debian's build; no /etc/apache2.
const MODULE_NAMES = ['mpm_event', 'authn_core', 'authz_core', 'authz_user', 'include', 'auth_openidc'];

// What every protected page shows: the claims and tokens mod_auth_openidc passes as environment
// variables (OIDCPassClaimsAs environment), printed by server-side includes.
const CLAIMS_PAGE = `<!doctype html><title>Claims</title>
<dl>
<dt>email<dd id="email"><!--#echo var="OIDC_CLAIM_email" -->
<dt>sub<dd id="sub"><!--#echo var="OIDC_CLAIM_sub" -->
<dt>name<dd id="name"><!--#echo var="OIDC_CLAIM_name" -->
<dt>remote user<dd id="remote-user"><!--#echo var="REMOTE_USER" -->
<dt>userinfo<dd id="userinfo"><!--#echo var="OIDC_userinfo_json" -->
<dt>access token<dd id="access-token"><!--#echo var="OIDC_access_token" -->
<dt>ID token<dd id="id-token"><!--#echo var="OIDC_id_token" -->
<dt>refresh token<dd id="refresh-token"><!--#echo var="OIDC_refresh_token" -->
</dl>
`;

function virtualHost(root: string, issuer: string, site: Site): string {
  return `
Listen 127.0.0.1:${site.port}
<VirtualHost 127.0.0.1:${site.port}>
  ServerName 127.0.0.1
  DocumentRoot "${root}/htdocs"
  OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration
  OIDCClientID ${site.project}
  OIDCClientSecret ${site.secret}
  OIDCRedirectURI ${site.origin}/app/redirect_uri
  OIDCCryptoPassphrase ${site.secret}-passphrase
  OIDCScope "openid email profile"
  ${site.pkce ? 'OIDCPKCEMethod S256' : '# no OIDCPKCEMethod: the module sends no PKCE'}
  ${site.acceptOnlyAlg ? `OIDCIDTokenSignedResponseAlg ${site.acceptOnlyAlg}` : ''}
  OIDCPassClaimsAs environment
  OIDCPassIDTokenAs claims serialized
  OIDCPassUserInfoAs claims json
  OIDCRefreshAccessTokenBeforeExpiry 120 logout_on_error
  OIDCRemoteUserClaim email
  OIDCCookie ${site.project}_session
  OIDCStateCookiePrefix ${site.project}_state_
  <Location /app>
    AuthType openid-connect
    Require valid-user
    OIDCPassRefreshToken On
  </Location>
</VirtualHost>
`;
}

interface Apache {
  errorLog(): string;
  close(): Promise<void>;
}

async function startApache(issuer: string, sites: Site[]): Promise<Apache> {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-apache-'));
  // As root Apache serves as nobody: the pages must be readable by it.
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'htdocs', 'app'), { recursive: true, mode: 0o755 });
  writeFileSync(join(root, 'htdocs', 'app', 'claims.html'), CLAIMS_PAGE, { mode: 0o644 });
  writeFileSync(join(root, 'htdocs', 'signed-out.html'), '<!doctype html><title>Signed out</title><p>You left the app', { mode: 0o644 });
  const asRoot = process.getuid?.() === 0;
  const conf = `
ServerRoot "${root}"
DefaultRuntimeDir "${root}"
PidFile "${root}/httpd.pid"
ErrorLog "${root}/error.log"
LogLevel warn auth_openidc:info
ServerName 127.0.0.1
${asRoot ? 'User nobody\nGroup nogroup' : ''}
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
${MODULE_NAMES.map((name) => `LoadModule ${name}_module ${MODULES}/mod_${name}.so`).join('\n')}
<Directory "${root}/htdocs">
  Options +Includes
  ForceType "text/html; charset=utf-8"
  SetOutputFilter INCLUDES
</Directory>
${sites.map((site) => virtualHost(root, issuer, site)).join('\n')}
`;
  const file = join(root, 'httpd.conf');
  writeFileSync(file, conf, { mode: 0o644 });
  const child: ChildProcess = spawn(APACHE, ['-DFOREGROUND', '-f', file], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = () => (existsSync(join(root, 'error.log')) ? readFileSync(join(root, 'error.log'), 'utf8') : '');
  // Up when every port answers.
  for (const site of sites) {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`apache2 exited (${child.exitCode}):\n${errorLog()}`);
      try {
        await fetch(`${site.origin}/signed-out.html`);
        break;
      } catch {
        if (attempt > 100) throw new Error(`apache2 does not answer on ${site.origin}:\n${errorLog()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
  return {
    errorLog,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The claims page, as the browser shows it. */
async function claimsOn(page: Page): Promise<{ email: string; sub: string; name: string; remoteUser: string; userinfo: Record<string, unknown>; accessToken: string; refreshToken: string; idToken: string }> {
  const text = async (id: string) => (await page.locator(`#${id}`).innerText()).trim();
  return {
    email: await text('email'),
    sub: await text('sub'),
    name: await text('name'),
    remoteUser: await text('remote-user'),
    userinfo: JSON.parse(await text('userinfo')) as Record<string, unknown>,
    accessToken: await text('access-token'),
    refreshToken: await text('refresh-token'),
    idToken: await text('id-token'),
  };
}

function jwtHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The /authorize requests the browser made. */
function authorizeRequests(context: BrowserContext, issuer: string): URL[] {
  const seen: URL[] = [];
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === issuer && url.pathname === '/authorize') seen.push(url);
  });
  return seen;
}

describe('Apache httpd with mod_auth_openidc as a relying party', { skip }, () => {
  let app: App;
  let issuer: string;
  let apache: Apache;
  let browser: Browser;
  const sites: Record<'one' | 'two' | 'rs256' | 'strict', Site> = {} as Record<'one' | 'two' | 'rs256' | 'strict', Site>;

  before(async () => {
    if (missing.length > 0) throw new Error(`the Apache relying-party test needs ${missing.join(', ')}: run bash scripts/ensure-system-packages.sh`);
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: issuer, PORT: String(port), GATEHOUSE_AUDIT_REFRESHES: 'true' })) });
    await app.server.listen({ port, host: '127.0.0.1' });
    const settings: Record<keyof typeof sites, { pkce: boolean; alg?: SigningAlg; acceptOnlyAlg?: SigningAlg }> = {
      one: { pkce: true },
      two: { pkce: false },
      rs256: { pkce: true, alg: 'RS256', acceptOnlyAlg: 'RS256' },
      strict: { pkce: true, acceptOnlyAlg: 'RS256' },
    };
    for (const [key, setting] of Object.entries(settings) as Array<[keyof typeof sites, (typeof settings)[keyof typeof sites]]>) {
      const sitePort = await freePort();
      const origin = `http://127.0.0.1:${sitePort}`;
      const project = `apache-${key}`;
      const { clientSecret } = await app.services.projects.create({
        id: project,
        name: `Apache ${key}`,
        confidential: true,
        redirect_uris: [`${origin}/app/redirect_uri`],
        post_logout_redirect_uris: [`${origin}/signed-out.html`],
        require_pkce: setting.pkce,
        ...(setting.alg ? { token_signing_alg: setting.alg } : {}),
      });
      assert.ok(clientSecret);
      // Short access tokens: the module refreshes them (OIDCRefreshAccessTokenBeforeExpiry 120).
      await app.services.projects.update(project, { access_token_ttl_seconds: 60 });
      sites[key] = { project, port: sitePort, origin, secret: clientSecret, pkce: setting.pkce, ...(setting.acceptOnlyAlg ? { acceptOnlyAlg: setting.acceptOnlyAlg } : {}) };
    }
    await app.services.users.create({ email: EMAIL, password: PASSWORD, name: NAME });
    apache = await startApache(issuer, Object.values(sites));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await apache?.close();
    await app?.close();
  });

  async function auditOf(project: string, type: string) {
    return app.services.audit.list({ projectId: project, type, limit: 50 });
  }

  const signIn = (page: Page) => signInWithPassword(page, EMAIL, PASSWORD);

  describe('one browser: sign-in, refresh, single sign-on, logout', () => {
    let context: BrowserContext;
    let page: Page;
    let authorizations: URL[];
    let sub: string;
    // the refresh token each module holds, as it passes it to the page (OIDCPassRefreshToken On)
    const refreshTokens: { one?: string; two?: string } = {};
    before(async () => {
      context = await browser.newContext();
      authorizations = authorizeRequests(context, issuer);
      page = await context.newPage();
    });
    after(() => context?.close());

    it('signs in on the hosted page and lands on the protected page with the claims and userinfo', async () => {
      const { one } = sites;
      await page.goto(`${one.origin}/app/claims.html`);
      assert.equal(new URL(page.url()).origin, issuer, 'the module sent the browser to Gatehouse');
      assert.match(await page.locator('h1').innerText(), /Apache one/);
      await signIn(page);
      await page.waitForURL(`${one.origin}/app/claims.html`);
      const claims = await claimsOn(page);
      assert.equal(claims.email, EMAIL);
      assert.match(claims.sub, /^.{8,}$/);
      sub = claims.sub;
      assert.equal(claims.remoteUser, EMAIL, 'OIDCRemoteUserClaim email');
      // The module called /userinfo: its answer, as it got it.
      assert.equal(claims.userinfo.sub, sub);
      assert.equal(claims.userinfo.name, NAME);
      assert.equal(claims.name, NAME);
      assert.equal(jwtHeader(claims.idToken).alg, 'ES256');
      // The module sent PKCE (OIDCPKCEMethod S256), and Gatehouse exchanged the code with the secret.
      const request = authorizations.at(-1);
      assert.equal(request?.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(request?.searchParams.get('code_challenge'));
      assert.equal(request?.searchParams.get('scope'), 'openid email profile');
      assert.ok((await auditOf(one.project, 'token.code_exchanged')).some((event) => event.outcome === 'success'));
    });

    it('refreshes the access token by its OIDCRefreshAccessTokenBeforeExpiry setting', async () => {
      const { one } = sites;
      const before = await claimsOn(page);
      const refreshesBefore = (await auditOf(one.project, 'token.refreshed')).length;
      await page.reload();
      const afterReload = await claimsOn(page);
      assert.notEqual(afterReload.accessToken, before.accessToken);
      assert.equal(afterReload.sub, sub);
      refreshTokens.one = afterReload.refreshToken;
      assert.ok((await auditOf(one.project, 'token.refreshed')).length > refreshesBefore, 'Gatehouse saw a refresh grant');
    });

    it('signs in to a second project (a confidential one without PKCE) without typing anything', async () => {
      const { two } = sites;
      const passwordPosts: string[] = [];
      const listener = (request: { method(): string; url(): string }) => {
        if (request.method() === 'POST') passwordPosts.push(request.url());
      };
      page.on('request', listener);
      await page.goto(`${two.origin}/app/claims.html`);
      page.off('request', listener);
      assert.equal(page.url(), `${two.origin}/app/claims.html`);
      assert.deepEqual(passwordPosts, []);
      const claims = await claimsOn(page);
      assert.equal(claims.sub, sub);
      assert.equal(claims.email, EMAIL);
      refreshTokens.two = claims.refreshToken;
      const request = authorizations.at(-1);
      assert.equal(request?.searchParams.get('client_id'), two.project);
      assert.equal(request?.searchParams.get('code_challenge'), null, 'mod_auth_openidc sends no PKCE without OIDCPKCEMethod');
      assert.ok((await auditOf(two.project, 'login.browser_session')).some((event) => event.outcome === 'success'));
    });

    it('signs out through the module (RP-initiated logout); both protected pages then ask for a sign-in again', async () => {
      const { one } = sites;
      const signedOut = `${one.origin}/signed-out.html`;
      const logoutRequests: URL[] = [];
      context.on('request', (request) => {
        const url = new URL(request.url());
        if (url.origin === issuer && url.pathname === '/logout') logoutRequests.push(url);
      });
      await page.goto(`${one.origin}/app/redirect_uri?logout=${encodeURIComponent(signedOut)}`);
      await page.waitForURL(signedOut);
      assert.match(await page.locator('body').innerText(), /You left the app/);
      const logout = logoutRequests.at(-1);
      assert.ok(logout?.searchParams.get('id_token_hint'), 'the module sent its ID token as the hint');
      assert.equal(logout?.searchParams.get('post_logout_redirect_uri'), signedOut);
      // The module first revokes its own tokens (discovery's revocation_endpoint), then Gatehouse's
      // logout ends the browser session and the project sessions started from it.
      assert.ok((await auditOf(one.project, 'token.revoked')).some((event) => event.outcome === 'success'));
      const [logoutEvent, ...others] = await app.services.audit.list({ type: 'logout', limit: 10 });
      assert.equal(others.length, 0);
      const [twoExchanged] = await auditOf(sites.two.project, 'token.code_exchanged');
      assert.ok((logoutEvent?.detail?.session_ids as unknown[] | undefined)?.includes(twoExchanged?.detail?.session_id));
      for (const [site, refreshToken] of [[one, refreshTokens.one], [sites.two, refreshTokens.two]] as const) {
        const res = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${site.project}:${site.secret}`).toString('base64')}` },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken ?? '' }),
        });
        assert.equal(res.status, 401, `${site.project}'s refresh token ended`);
        assert.deepEqual(await res.json(), { error: 'Invalid refresh token' });
      }

      await page.goto(`${one.origin}/app/claims.html`);
      assert.equal(new URL(page.url()).origin, issuer);
      assert.ok(await page.locator('#login-password').isVisible(), 'the hosted page asks for the password again');
      // The second project's module learns it at its next refresh (`logout_on_error`): Gatehouse
      // answers 401, the module ends its own session (its "Logged Out" page), and the next visit
      // goes to the hosted page, which asks for the password.
      await page.goto(`${sites.two.origin}/app/claims.html`);
      assert.equal(await page.locator('#email').count(), 0, 'no claims page');
      assert.match(await page.locator('body').innerText(), /Logged Out/);
      await page.goto(`${sites.two.origin}/app/claims.html`);
      assert.equal(new URL(page.url()).origin, issuer);
      assert.ok(await page.locator('#login-password').isVisible());
    });
  });

  /** In a browser of its own: the protected page of `site`, the hosted page's sign-in, back to `site`. */
  async function signInFresh(site: Site, check: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${site.origin}/app/claims.html`);
      await signIn(page);
      await page.waitForURL((url) => url.origin === site.origin);
      await page.waitForLoadState();
      await check(page);
    } finally {
      await context.close();
    }
  }

  it('signs in to an RS256 project with a module that accepts only RS256', async () => {
    await signInFresh(sites.rs256, async (page) => {
      assert.equal(page.url(), `${sites.rs256.origin}/app/claims.html`);
      const claims = await claimsOn(page);
      assert.equal(claims.email, EMAIL);
      assert.equal(jwtHeader(claims.idToken).alg, 'RS256');
      assert.equal(claims.userinfo.name, NAME);
    });
  });

  it('is refused by a module that accepts only RS256 when the project signs with ES256', async () => {
    await signInFresh(sites.strict, async (page) => {
      assert.equal(await page.locator('#email').count(), 0, 'no claims page');
      assert.match(apache.errorLog(), /JWT was not signed with the expected configured algorithm: ES256 != RS256/);
    });
  });
});
