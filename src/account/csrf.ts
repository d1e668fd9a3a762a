// The account page's CSRF tokens (accounts.md: every form a same-origin POST with a CSRF token).
// A token is the HMAC of a fixed label under the browser session cookie's own value: bound to that
// browser session, different for every sign-in, nothing to store, and worthless without the cookie
// that the same request must carry. The same-origin check (http/same-origin.ts) runs before it.
import { constantTimeEqual, hmacSha256 } from '../crypto/tokens.ts';

const LABEL = 'gatehouse account page form';

export function csrfToken(browserSessionCookie: string): string {
  return hmacSha256(browserSessionCookie, LABEL);
}

/** Constant time: a wrong token tells nothing about the right one. */
export function csrfTokenMatches(browserSessionCookie: string, presented: string | undefined): boolean {
  return presented !== undefined && presented !== '' && constantTimeEqual(csrfToken(browserSessionCookie), presented);
}
