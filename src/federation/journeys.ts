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

/** The cookie that binds a journey's `state` to the browser that started it. */
export function journeyCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Host-gatehouse_federation' : 'gatehouse_federation';
}

function cookieAttributes(issuer: string): string {
  // Lax: the provider's redirect back is a top-level GET navigation, which carries Lax cookies.
  return `HttpOnly; SameSite=Lax; Path=/${issuer.startsWith('https:') ? '; Secure' : ''}`;
}

export function journeyCookie(issuer: string, state: string): string {
  return `${journeyCookieName(issuer)}=${state}; Max-Age=${JOURNEY_TTL_MS / 1000}; ${cookieAttributes(issuer)}`;
}

export function clearedJourneyCookie(issuer: string): string {
  return `${journeyCookieName(issuer)}=; Max-Age=0; ${cookieAttributes(issuer)}`;
}

/** Whether the callback's `state` is the one this browser's cookie holds (compared in constant time). */
export function stateMatchesCookie(state: string | undefined, cookie: string | undefined): state is string {
  return state !== undefined && cookie !== undefined && state.length > 0 && state.length <= 256 && constantTimeEqual(state, cookie);
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
