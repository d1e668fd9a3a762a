// A journey to an upstream provider and back (docs/federation.md): what the callback needs to
// finish it, kept in the key-value store (SQL or Redis) for JOURNEY_TTL_MS, taken once. The key
// is the SHA-256 of the `state`; the value (the nonce, the PKCE verifier and the app's
// authorization request) is sealed with a key derived from the `state` itself, which lives only
// in the browser's cookie and in the provider's redirect: the database alone holds neither the
// verifier nor the nonce (docs/decisions/0113-journey-state-sealed-by-its-state.md).
import { SecretBox } from '../crypto/sealed.ts';
import { constantTimeEqual, sha256 } from '../crypto/tokens.ts';
import type { StoredAuthorization } from '../oauth/authorization-request.ts';
import type { KeyValueStore } from '../storage/kv.ts';
import type { JourneySecrets } from './upstream.ts';

/** Ten minutes to pass the provider's sign-in page: longer than a person needs, short for a stolen state. */
export const JOURNEY_TTL_MS = 10 * 60 * 1000;

/** What a journey is for. */
export type JourneyPurpose =
  /** signing in to a project from its hosted page */
  | { purpose: 'sign_in'; connectionId: string; authorization: StoredAuthorization; uiLocales?: string }
  /** linking another provider from the account page, for the browser session's person */
  | { purpose: 'link'; connectionId: string; userId: string; browserSessionId: string };

export type Journey = JourneyPurpose & { nonce: string; codeVerifier: string };

const BOX_INFO = 'gatehouse federation journey v1';

function keyOf(state: string): string {
  return `fed:${sha256(state)}`;
}

/**
 * The cookie that binds a journey's `state` to the browser that started it. It holds the states of
 * the browser's last MAX_JOURNEYS_PER_BROWSER journeys, newest first, so that two tabs can each be
 * at a provider at once (docs/decisions/0141-one-journey-per-tab.md).
 */
export function journeyCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Host-gatehouse_federation' : 'gatehouse_federation';
}

/** Journeys one browser may have under way at once: a fifth start forgets the oldest. */
export const MAX_JOURNEYS_PER_BROWSER = 4;

// openid-client's randomState(): base64url. Anything else in the cookie is not ours and is dropped.
const STATE_FORMAT = /^[A-Za-z0-9_-]{1,256}$/;

/** The states the browser's journey cookie holds, newest first (at most MAX_JOURNEYS_PER_BROWSER). */
export function journeyStates(cookie: string | undefined): string[] {
  if (cookie === undefined) return [];
  return cookie.split('.').filter((state) => STATE_FORMAT.test(state)).slice(0, MAX_JOURNEYS_PER_BROWSER);
}

function cookieAttributes(issuer: string): string {
  // Lax: the provider's redirect back is a top-level GET navigation, which carries Lax cookies.
  return `HttpOnly; SameSite=Lax; Path=/${issuer.startsWith('https:') ? '; Secure' : ''}`;
}

function cookieOf(issuer: string, states: readonly string[]): string {
  if (states.length === 0) return `${journeyCookieName(issuer)}=; Max-Age=0; ${cookieAttributes(issuer)}`;
  return `${journeyCookieName(issuer)}=${states.join('.')}; Max-Age=${JOURNEY_TTL_MS / 1000}; ${cookieAttributes(issuer)}`;
}

/** The cookie after a new journey's start: its state first, then the journeys already under way. */
export function journeyCookie(issuer: string, state: string, presented?: string): string {
  return cookieOf(issuer, [state, ...journeyStates(presented).filter((other) => other !== state)].slice(0, MAX_JOURNEYS_PER_BROWSER));
}

/** The cookie once the callback of `state` came back: a journey is finished once, the others go on. */
export function cookieAfterCallback(issuer: string, state: string | undefined, presented: string | undefined): string {
  return cookieOf(issuer, journeyStates(presented).filter((other) => other !== state));
}

/** Whether the callback's `state` is one this browser's cookie holds (each compared in constant time). */
export function stateMatchesCookie(state: string | undefined, cookie: string | undefined): state is string {
  if (state === undefined || !STATE_FORMAT.test(state)) return false;
  let found = false;
  for (const held of journeyStates(cookie)) if (constantTimeEqual(state, held)) found = true;
  return found;
}

export class Journeys {
  constructor(private readonly kv: KeyValueStore) {}

  async start(journey: JourneyPurpose, secrets: JourneySecrets): Promise<void> {
    const value: Journey = { ...journey, nonce: secrets.nonce, codeVerifier: secrets.codeVerifier };
    const sealed = new SecretBox(Buffer.from(secrets.state), BOX_INFO).seal(JSON.stringify(value), keyOf(secrets.state));
    await this.kv.put(keyOf(secrets.state), sealed, JOURNEY_TTL_MS);
  }

  /** Takes the journey of `state`: of racing callbacks at most one gets it; a replay gets nothing. */
  async take(state: string): Promise<Journey | undefined> {
    const sealed = await this.kv.take(keyOf(state));
    if (sealed === null) return undefined;
    try {
      return JSON.parse(new SecretBox(Buffer.from(state), BOX_INFO).open(sealed, keyOf(state), 'a federation journey')) as Journey;
    } catch {
      return undefined;
    }
  }
}
