// Getting refresh tokens before a refresh run, on each server through its own front door:
// Gatehouse: codes left by completeAuthorization (see gatehouse-server.ts), exchanged at POST /token;
// the peer: its authorization endpoint, its interaction (finished by peer-server.ts), the
// redirect with a code, and its token endpoint.
// Signed-in browsers for authorize-sso, the same way: Gatehouse's POST /login answers the
// browser session's cookie; the peer's interaction leaves its session cookies behind.
import { BENCH_PROJECT, BENCH_REDIRECT_URI, BENCH_SCOPE, pkcePair, type Account, type MintedCode, type ServerProcess } from './ipc.ts';

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * fetch for the setup steps, tried a second time when the first never got an answer: a kept-alive
 * connection from an earlier step may have been closed by the server meanwhile (its idle timeout),
 * and fetch reports that as "fetch failed" without the request having been handled.
 */
export async function setupFetch(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (first) {
    try {
      return await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? (first as { cause?: unknown }).cause;
      throw new Error(`${init.method ?? 'GET'} ${url} failed: ${cause instanceof Error ? cause.message : String(cause ?? error)}`);
    }
  }
}

/** Runs `work` for 0..count-1 with at most `parallel` at once, in order of start. */
export async function inParallel<T>(count: number, parallel: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

async function exchangeForTokens(baseUrl: string, code: MintedCode): Promise<{ refresh_token: string; access_token: string }> {
  const res = await setupFetch(`${baseUrl}/token`, {
    method: 'POST',
    headers: FORM,
    body: form({ grant_type: 'authorization_code', client_id: BENCH_PROJECT, code: code.code, code_verifier: code.verifier, redirect_uri: BENCH_REDIRECT_URI }),
  });
  const body = (await res.json()) as { refresh_token?: string; access_token?: string; error?: string };
  if (res.status !== 200 || !body.refresh_token || !body.access_token) throw new Error(`code exchange answered ${res.status} ${JSON.stringify(body)}`);
  return { refresh_token: body.refresh_token, access_token: body.access_token };
}

async function exchange(baseUrl: string, code: MintedCode): Promise<string> {
  return (await exchangeForTokens(baseUrl, code)).refresh_token;
}

/** Codes minted a few thousand per request: the server never holds the whole pool at once. */
const MINT_CHUNK = 2000;

export async function mintCodes(server: ServerProcess, count: number): Promise<MintedCode[]> {
  const codes: MintedCode[] = [];
  while (codes.length < count) {
    const chunk = await server.command('mintCodes', { count: Math.min(MINT_CHUNK, count - codes.length), scope: BENCH_SCOPE });
    for (const code of chunk) codes.push(code);
  }
  return codes;
}

export async function gatehouseRefreshTokens(server: ServerProcess, count: number): Promise<string[]> {
  const codes = await mintCodes(server, count);
  return inParallel(count, 8, (i) => exchange(server.url, codes[i] as MintedCode));
}

/** The authorization request both servers get (the peer at /auth), with a PKCE challenge. */
export function authorizeQuery(challenge: string): string {
  return form({
    client_id: BENCH_PROJECT,
    response_type: 'code',
    redirect_uri: BENCH_REDIRECT_URI,
    scope: BENCH_SCOPE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'bench',
  });
}

/** The code of a redirect to the bench client, or undefined for any other place. */
export function codeOf(location: string | null | undefined): string | undefined {
  if (!location?.startsWith(`${BENCH_REDIRECT_URI}?`)) return undefined;
  return new URL(location).searchParams.get('code') ?? undefined;
}

/** A browser's cookies, kept as Set-Cookie lines change them (no paths: the bench sends them everywhere). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0/i.test(line) || /;\s*expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(only?: (name: string) => boolean): string {
    return [...this.cookies]
      .filter(([name]) => !only || only(name))
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  }
}

/** One pass through the peer's authorization flow: its code, and the browser's cookies after it. */
async function peerSignIn(baseUrl: string): Promise<{ code: MintedCode; jar: CookieJar }> {
  const { verifier, challenge } = pkcePair();
  const jar = new CookieJar();
  let url = `${baseUrl}/auth?${authorizeQuery(challenge)}`;
  for (let hop = 0; hop < 8; hop++) {
    const res = await setupFetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(res.headers.getSetCookie());
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (!location) throw new Error(`peer flow stopped at ${url} with ${res.status}`);
    if (location.startsWith(BENCH_REDIRECT_URI)) {
      const code = codeOf(location);
      if (!code) throw new Error(`peer redirect without a code: ${location}`);
      return { code: { code, verifier }, jar };
    }
    url = new URL(location, baseUrl).toString();
  }
  throw new Error('peer flow did not end in a redirect to the client');
}

export function peerRefreshTokens(baseUrl: string, count: number): Promise<string[]> {
  return inParallel(count, 8, async () => exchange(baseUrl, (await peerSignIn(baseUrl)).code));
}

/** Access tokens of `count` sessions of Gatehouse's bench app (each from its own sign-in). */
export async function gatehouseAccessTokens(server: ServerProcess, count: number): Promise<string[]> {
  const codes = await mintCodes(server, count);
  return inParallel(count, 8, async (i) => (await exchangeForTokens(server.url, codes[i] as MintedCode)).access_token);
}

/** Access tokens of `count` sessions of the peer, each through its authorization flow. */
export function peerAccessTokens(baseUrl: string, count: number): Promise<string[]> {
  return inParallel(count, 8, async () => (await exchangeForTokens(baseUrl, (await peerSignIn(baseUrl)).code)).access_token);
}

/** A signed-in browser: the Cookie header it sends to the authorization endpoint. */
export interface SignedInBrowser {
  cookie: string;
}

/**
 * Checks that a signed-in browser gets a code at once (no page, no interaction) and that the code
 * exchanges: what authorize-sso measures, tried once per browser before it is timed.
 */
async function checkSignedIn(baseUrl: string, authorizePath: string, browser: SignedInBrowser): Promise<void> {
  const { verifier, challenge } = pkcePair();
  const res = await setupFetch(`${baseUrl}${authorizePath}?${authorizeQuery(challenge)}`, { redirect: 'manual', headers: { cookie: browser.cookie } });
  await res.arrayBuffer();
  const code = codeOf(res.headers.get('location'));
  if (!code) throw new Error(`${baseUrl}${authorizePath} with a session answered ${res.status} ${res.headers.get('location') ?? ''}, not a code`);
  await exchange(baseUrl, { code, verifier });
}

/** Browsers signed in to Gatehouse by POST /login (a password each), its browser session cookie kept. */
export async function gatehouseBrowsers(baseUrl: string, accounts: Account[], count: number): Promise<SignedInBrowser[]> {
  return inParallel(count, 2, async (i) => {
    const account = accounts[i % accounts.length];
    if (!account) throw new Error('no account to sign in with');
    const { challenge } = pkcePair();
    const res = await setupFetch(`${baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...Object.fromEntries(new URLSearchParams(authorizeQuery(challenge))), email: account.email, password: account.password }),
    });
    await res.arrayBuffer();
    const jar = new CookieJar();
    jar.take(res.headers.getSetCookie());
    const browser = { cookie: jar.header((name) => name === 'gatehouse_session') };
    if (res.status !== 200 || !browser.cookie) throw new Error(`POST /login answered ${res.status} without a browser session`);
    await checkSignedIn(baseUrl, '/authorize', browser);
    return browser;
  });
}

/** Browsers signed in to the peer through its interaction (login and consent), its session cookies kept. */
export async function peerBrowsers(baseUrl: string, count: number): Promise<SignedInBrowser[]> {
  return inParallel(count, 2, async () => {
    const { jar } = await peerSignIn(baseUrl);
    const browser = { cookie: jar.header((name) => name.startsWith('_session')) };
    if (!browser.cookie) throw new Error('the peer left no session cookie');
    await checkSignedIn(baseUrl, '/auth', browser);
    return browser;
  });
}

/**
 * Codes of the peer, `count` of them, from its signed-in browsers: each browser one authorization
 * request at a time (its session is its own), the browsers side by side.
 */
export async function peerCodes(baseUrl: string, browsers: SignedInBrowser[], count: number): Promise<MintedCode[]> {
  const codes: MintedCode[] = [];
  let next = 0;
  await Promise.all(
    browsers.map(async (browser) => {
      while (next < count) {
        next++;
        const { verifier, challenge } = pkcePair();
        const res = await setupFetch(`${baseUrl}/auth?${authorizeQuery(challenge)}`, { redirect: 'manual', headers: { cookie: browser.cookie } });
        await res.arrayBuffer();
        const code = codeOf(res.headers.get('location'));
        if (!code) throw new Error(`the peer's /auth with a session answered ${res.status} ${res.headers.get('location') ?? ''}, not a code`);
        codes.push({ code, verifier });
      }
    }),
  );
  return codes;
}
