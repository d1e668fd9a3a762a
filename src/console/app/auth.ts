// The console's sign-in: authorization code + PKCE through the built-in `console` project, like any
// other app of this server (docs/console.md). The tokens live in this module's memory only; the
// verifier and state wait in sessionStorage for the one redirect to /authorize and back.

export const CLIENT_ID = 'console';
const PENDING_KEY = 'gatehouse.console.sign-in';
/** Refresh this long before the access token expires, so that no request meets an expired one. */
const REFRESH_MARGIN_SECONDS = 60;

interface Pending {
  state: string;
  verifier: string;
  /** where the operator was (the hash route), to come back to */
  back: string;
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
}

export interface Identity {
  subject: string;
  email: string | undefined;
}

let accessToken: string | undefined;
let refreshToken: string | undefined;
let idToken: string | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;
const listeners = new Set<() => void>();

export function issuer(): string {
  return document.body.dataset.issuer ?? location.origin;
}

export function redirectUri(): string {
  return `${issuer()}/console/callback`;
}

function randomToken(bytes = 32): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(data: Uint8Array): string {
  let text = '';
  for (const byte of data) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Sends the browser to /authorize; a browser session there signs in without a form. */
export async function startSignIn(): Promise<void> {
  const pending: Pending = { state: randomToken(), verifier: randomToken(), back: location.hash };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  });
  location.assign(`${issuer()}/authorize?${query.toString()}`);
}

export class SignInFailed extends Error {}

async function tokenRequest(fields: Record<string, string>): Promise<TokenAnswer> {
  const response = await fetch(`${issuer()}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...fields }).toString(),
    credentials: 'omit',
  });
  const body = (await response.json().catch(() => ({}))) as Partial<TokenAnswer> & { error?: string };
  if (!response.ok || typeof body.access_token !== 'string') throw new SignInFailed(body.error ?? `The token endpoint answered ${response.status}`);
  return body as TokenAnswer;
}

function keep(answer: TokenAnswer): void {
  accessToken = answer.access_token;
  if (answer.refresh_token !== undefined) refreshToken = answer.refresh_token;
  if (answer.id_token !== undefined) idToken = answer.id_token;
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
  const seconds = Math.max(5, Math.min(answer.expires_in - REFRESH_MARGIN_SECONDS, answer.expires_in * 0.8));
  refreshTimer = setTimeout(() => void refresh(), seconds * 1000);
}

/**
 * On /console/callback: checks the state against the one this tab started with, exchanges the
 * code with the verifier, and takes the address back to /console (where the operator was).
 */
export async function finishSignIn(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const pending = raw === null ? undefined : (JSON.parse(raw) as Pending);
  history.replaceState(null, '', `/console${pending?.back ?? ''}`);
  // replaceState is no navigation: the screen the operator was on is announced as one.
  dispatchEvent(new HashChangeEvent('hashchange'));
  const error = query.get('error');
  if (error !== null) throw new SignInFailed(query.get('error_description') ?? error);
  const code = query.get('code');
  if (!pending || code === null || query.get('state') !== pending.state) throw new SignInFailed('This sign-in was not started in this tab, or has already been used.');
  keep(await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(), code_verifier: pending.verifier }));
}

/** A new access token from the refresh token; false when the session has ended. One at a time. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      if (refreshToken === undefined) return false;
      keep(await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }));
      return true;
    } catch {
      accessToken = undefined;
      for (const listener of listeners) listener();
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export function currentAccessToken(): string | undefined {
  return accessToken;
}

/** Called when the tokens stop working (the session ended): the app offers to sign in again. */
export function onSignedOut(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Who signed in, read from the ID token /token gave this page (same origin, no other party): for
 * display only; what the admin may do is decided by the admin API on every request.
 */
export function identity(): Identity | undefined {
  const payload = idToken?.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: string; email?: string };
    return { subject: claims.sub ?? '', email: claims.email };
  } catch {
    return undefined;
  }
}

/** RP-initiated logout: /logout ends the browser session and comes back to the console. */
export function logoutUrl(): string {
  const query = new URLSearchParams({ client_id: CLIENT_ID, post_logout_redirect_uri: `${issuer()}/console`, state: 'signed-out' });
  if (idToken !== undefined) query.set('id_token_hint', idToken);
  return `${issuer()}/logout?${query.toString()}`;
}

export function forgetTokens(): void {
  accessToken = refreshToken = idToken = undefined;
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
}
