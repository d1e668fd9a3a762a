// How a browser without a live browser session gets onto the account page: the page is a client
// of this server like any app (the built-in public project `account`), so the person signs in on
// the usual login page with every rule of that page (methods, limits, blocking). The PKCE verifier
// waits in the key-value store under the hash of the state; the state itself is in a short-lived
// cookie, so that a callback is only good in the browser that started it (no login CSRF). The
// callback redeems the code itself and accepts it only when it was issued to the browser session
// this browser now presents: from then on that browser session is what signs the page in
// (docs/decisions/0077-the-account-page-signs-in-as-its-own-client.md).
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { constantTimeEqual, sha256 } from '../crypto/tokens.ts';
import { field, type Fields } from '../http/fields.ts';
import { presentedBrowserSession, requestCookie } from '../login/browser-sign-in.ts';
import { verifierMatches } from '../oauth/codes.ts';
import { ACCOUNT_PROJECT_ID } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import type { BrowserSession } from '../sessions/browser-sessions.ts';

/** How long a started sign-in may take (the login page, a magic link read in another tab). */
export const ACCOUNT_SIGN_IN_TTL_SECONDS = 900;

type SignInServices = Pick<Services, 'kv' | 'ids' | 'config' | 'codes' | 'projects' | 'browserSessions'>;

/** Scoped to the callback; `__Secure-` on https, where the browser then refuses it without Secure. */
function stateCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Secure-gatehouse_account_state' : 'gatehouse_account_state';
}

function stateCookie(issuer: string, value: string, maxAgeSeconds: number): string {
  return `${stateCookieName(issuer)}=${value}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax; Path=/account/callback${issuer.startsWith('https:') ? '; Secure' : ''}`;
}

function signInKey(state: string): string {
  return `account_sign_in:${sha256(state)}`;
}

/**
 * Starts a sign-in to the account page: where to send the browser, and the state cookie to set.
 * `again`: the person must sign in again even with a live browser session (prompt=login).
 */
export async function startAccountSignIn(services: SignInServices, again = false): Promise<{ location: string; cookie: string }> {
  const { issuer } = services.config;
  const state = services.ids.token();
  const verifier = services.ids.token();
  await services.kv.put(signInKey(state), verifier, ACCOUNT_SIGN_IN_TTL_SECONDS * 1000);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: ACCOUNT_PROJECT_ID,
    redirect_uri: services.projects.accountRedirectUri(),
    code_challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url'),
    code_challenge_method: 'S256',
    scope: 'openid',
    state,
    ...(again ? { prompt: 'login' } : {}),
  });
  return { location: `/authorize?${query.toString()}`, cookie: stateCookie(issuer, state, ACCOUNT_SIGN_IN_TTL_SECONDS) };
}

/** The Set-Cookie header that takes the state cookie away once the callback has used it. */
export function clearedStateCookie(issuer: string): string {
  return stateCookie(issuer, '', 0);
}

/**
 * The callback's checks, in order: a code and a state; the state is this browser's (its cookie)
 * and was started here (its verifier, taken once); the code (taken once) was issued to the account
 * project for its redirect URI, matches the verifier, and came from the browser session this
 * browser presents, which is live. Answers that browser session, or undefined when any check fails.
 */
export async function finishAccountSignIn(services: SignInServices, request: FastifyRequest, query: Fields): Promise<BrowserSession | undefined> {
  const { issuer } = services.config;
  const code = field(query, 'code');
  const state = field(query, 'state');
  if (!code || !state) return undefined;
  const expected = requestCookie(request, stateCookieName(issuer));
  if (expected === undefined || !constantTimeEqual(expected, state)) return undefined;
  const verifier = await services.kv.take(signInKey(state));
  if (verifier === null) return undefined;
  const grant = await services.codes.consume(code);
  if (!grant || grant.projectId !== ACCOUNT_PROJECT_ID || grant.redirectUri !== services.projects.accountRedirectUri()) return undefined;
  if (!verifierMatches(verifier, grant.codeChallenge)) return undefined;
  const cookie = presentedBrowserSession(request, issuer);
  const session = cookie !== undefined ? await services.browserSessions.use(cookie) : undefined;
  if (!session || grant.browserSessionId !== session.id || grant.subject.kind !== 'user' || grant.subject.userId !== session.userId) return undefined;
  return session;
}
