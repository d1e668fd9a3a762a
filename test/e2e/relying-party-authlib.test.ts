// A relying party nobody here wrote: a small Python program on Debian's python3-authlib
// (test/fixtures/authlib-rp.py, Authlib's documented OAuth2Session and ID-token API only), serving
// its own callback, with Chromium on the hosted page. Discovery, code + PKCE, ID-token validation
// against the JWKS (ES256, and RS256 for a project that signs with it, each the only algorithm
// accepted), userinfo, refresh, single sign-on into a second project, RP-initiated logout.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium, signInWithPassword } from '../support/browser.ts';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { testEnv } from '../support/app.ts';
import { freePort } from '../support/server.ts';

const CHROMIUM = CHROMIUM_PATH;
// Debian's Python, where python3-authlib and python3-requests live (not whatever python3 is on PATH).
const PYTHON = '/usr/bin/python3';
const PROGRAM = fileURLToPath(new URL('../fixtures/authlib-rp.py', import.meta.url));

/** What is missing for this file: the browser, the interpreter, or its packages. */
function missingParts(): string[] {
  if (!existsSync(PYTHON)) return [PYTHON, ...(existsSync(CHROMIUM) ? [] : [CHROMIUM])];
  const probe = spawnSync(PYTHON, ['-c', 'import authlib.integrations.requests_client, authlib.oidc.core, requests'], { stdio: 'ignore' }).status === 0;
  return [...(existsSync(CHROMIUM) ? [] : [CHROMIUM]), ...(probe ? [] : ['python3-authlib and python3-requests'])];
}

const missing = missingParts();
// Without CI a machine without the packages skips with the reason; in CI the file fails.
const skip = missing.length > 0 && !process.env.CI ? `not installed: ${missing.join(', ')} (bash scripts/ensure-system-packages.sh installs them)` : false;

const EMAIL = 'authlib@example.com';
const PASSWORD = 'a passphrase typed once for authlib';
const NAME = 'Grace Authlib';
const PUBLIC = 'authlib-public';
const CONFIDENTIAL = 'authlib-confidential';

type Event = Record<string, unknown> & { event: string; project?: string };

/** The relying party's child process and what it has printed. */
interface RelyingParty {
  base: string;
  events: Event[];
  next(event: string, project?: string): Promise<Event>;
  close(): Promise<void>;
}

async function startRelyingParty(config: Record<string, unknown> & { port: number }): Promise<RelyingParty> {
  const child: ChildProcess = spawn(PYTHON, [PROGRAM, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Event[] = [];
  const waiting: Array<() => void> = [];
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const wake of waiting.splice(0)) wake();
      resolve();
    }),
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Event);
    for (const wake of waiting.splice(0)) wake();
  });
  let read = 0;
  /** The next event of that kind after the ones already taken; an error event fails the test. */
  async function next(event: string, project?: string): Promise<Event> {
    for (;;) {
      while (read < events.length) {
        const seen = events[read++]!;
        if (seen.event === 'error') throw new Error(`the relying party failed: ${JSON.stringify(seen)}`);
        if (seen.event === event && (project === undefined || seen.project === project)) return seen;
      }
      if (exited) throw new Error(`the relying party exited before ${event}`);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }
  await next('ready');
  return {
    base: `http://127.0.0.1:${config.port}`,
    events,
    next,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exit;
      }
    },
  };
}

describe('Python Authlib as a relying party', { skip }, () => {
  let app: App;
  let issuer: string;
  let rp: RelyingParty;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let sub: string;

  before(async () => {
    if (missing.length > 0) throw new Error(`the Authlib relying-party test needs ${missing.join(', ')}: run bash scripts/ensure-system-packages.sh`);
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: issuer, PORT: String(port) })) });
    await app.server.listen({ port, host: '127.0.0.1' });
    const rpPort = await freePort();
    const base = `http://127.0.0.1:${rpPort}`;
    const uris = (project: string) => ({ redirect_uris: [`${base}/callback/${project}`], post_logout_redirect_uris: [`${base}/signed-out/${project}`] });
    await app.services.projects.create({ id: PUBLIC, name: 'Authlib public', ...uris(PUBLIC) });
    const { clientSecret } = await app.services.projects.create({ id: CONFIDENTIAL, name: 'Authlib confidential', confidential: true, token_signing_alg: 'RS256', ...uris(CONFIDENTIAL) });
    assert.ok(clientSecret);
    await app.services.users.create({ email: EMAIL, password: PASSWORD, name: NAME });
    rp = await startRelyingParty({
      issuer,
      port: rpPort,
      projects: [
        { id: PUBLIC, alg: 'ES256' },
        { id: CONFIDENTIAL, secret: clientSecret, alg: 'RS256' },
      ],
    });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await rp?.close();
    await app?.close();
  });

  /** The POST requests the browser makes while `work` runs (a typed-in sign-in is one). */
  async function postsDuring(work: () => Promise<unknown>): Promise<string[]> {
    const posts: string[] = [];
    const listener = (request: { method(): string; url(): string }) => {
      if (request.method() === 'POST') posts.push(request.url());
    };
    page.on('request', listener);
    try {
      await work();
    } finally {
      page.off('request', listener);
    }
    return posts;
  }

  it('discovers, signs in with code + PKCE, validates the ID token, reads userinfo and refreshes', async () => {
    await page.goto(`${rp.base}/login/${PUBLIC}`);
    const authorize = new URL(page.url());
    assert.equal(authorize.origin, issuer);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(authorize.searchParams.get('nonce'));
    await signInWithPassword(page, EMAIL, PASSWORD);
    await page.waitForURL((url) => url.toString().startsWith(`${rp.base}/callback/${PUBLIC}`));
    assert.equal(await page.locator('#message').innerText(), `Signed in as ${EMAIL}`);

    const signedIn = await rp.next('signed_in', PUBLIC);
    const claims = signedIn.claims as Record<string, unknown>;
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, PUBLIC);
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.name, NAME);
    assert.equal(signedIn.id_token_alg, 'ES256');
    sub = String(claims.sub);
    const userinfo = signedIn.userinfo as Record<string, unknown>;
    assert.equal(userinfo.sub, sub);
    assert.equal(userinfo.email, EMAIL);
    assert.equal(userinfo.name, NAME);
    assert.deepEqual(signedIn.refreshed, { access_token_changed: true, refresh_token_changed: true, userinfo_sub: sub });
  });

  it('signs in to a second project (confidential, RS256 only) without a password', async () => {
    const posts = await postsDuring(async () => {
      await page.goto(`${rp.base}/login/${CONFIDENTIAL}`);
      await page.waitForURL((url) => url.toString().startsWith(`${rp.base}/callback/${CONFIDENTIAL}`));
    });
    assert.deepEqual(posts, [], 'nothing was typed or posted');
    assert.equal(await page.locator('#message').innerText(), `Signed in as ${EMAIL}`);
    const signedIn = await rp.next('signed_in', CONFIDENTIAL);
    const claims = signedIn.claims as Record<string, unknown>;
    assert.equal(claims.sub, sub);
    assert.equal(claims.aud, CONFIDENTIAL);
    assert.equal(signedIn.id_token_alg, 'RS256');
    assert.equal((signedIn.refreshed as Record<string, unknown>).refresh_token_changed, true);
  });

  it('signs out at the end_session_endpoint with id_token_hint, post_logout_redirect_uri and state', async () => {
    await page.goto(`${rp.base}/logout/${PUBLIC}`);
    await page.waitForURL((url) => url.toString().startsWith(`${rp.base}/signed-out/${PUBLIC}`));
    const signedOut = await rp.next('signed_out', PUBLIC);
    assert.equal(signedOut.state_ok, true, 'the state came back');
    // Every project session of this browser ended: neither refresh token works any more.
    assert.deepEqual(signedOut.refreshes, { [PUBLIC]: 'Invalid refresh token', [CONFIDENTIAL]: 'Invalid refresh token' });
    // And the next sign-in asks for the password again.
    await page.goto(`${rp.base}/login/${CONFIDENTIAL}`);
    assert.equal(new URL(page.url()).origin, issuer);
    assert.ok(await page.locator('#login-password').isVisible());
  });
});
