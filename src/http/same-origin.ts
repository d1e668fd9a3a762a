// Cross-site request defence for the login endpoints and the hosted forms (hardening M4). A
// browser marks where a request comes from (Sec-Fetch-Site) and names its origin (Origin); a
// request that changes state here must come from a page of this server, whatever it accepts:
// a cross-site page's background `no-cors` post of JSON or a form is refused as surely as a
// form post, so it can neither log a visitor in nor spend their rate limits. A request with
// neither header (a server, curl) is not a browser's and is left to the endpoint's own checks.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden } from '../errors.ts';

/**
 * The endpoints a browser page posts to: the login endpoints of SPEC.md and every state-changing
 * hosted form. A new hosted form adds its path here, so the check stays in one place.
 */
export const BROWSER_FORM_ROUTES: ReadonlySet<string> = new Set([
  '/login',
  '/login/pin',
  // the second step (mfa.md, src/login/mfa/)
  '/login/mfa',
  '/register',
  '/magic-link',
  '/magic-link/verify',
  '/authorize',
  '/logout',
  // password reset and email verification (src/login/reset/, src/login/verify-email/)
  '/password-reset',
  '/password-reset/verify',
  '/verify-email',
  '/verify-email/resend',
  // the account page's forms (src/account/routes.ts)
  '/account/profile',
  '/account/password',
  '/account/email',
  '/account/email/resend',
  '/account/sessions/end',
  '/account/browser-sessions/end',
  '/account/sign-out-everywhere',
  '/account/mfa/totp',
  '/account/mfa/totp/confirm',
  '/account/mfa/totp/remove',
  '/account/mfa/recovery-codes',
  // passkeys (mfa.md): the account page's, the second step's and the sign-in's, with their options
  '/account/passkeys/options',
  '/account/passkeys',
  '/account/passkeys/rename',
  '/account/passkeys/remove',
  '/login/mfa/passkey/options',
  '/login/passkey/options',
  '/login/passkey',
  // the enrolment at sign-in of a require_mfa project (src/login/mfa/enrolment-routes.ts)
  '/login/mfa/enroll/totp',
  '/login/mfa/enroll/passkey/options',
  '/login/mfa/enroll/passkey',
  '/login/mfa/enroll/continue',
  '/account/connections/unlink',
]);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when a browser says this request was made by a page of another origin than `issuerOrigin`. */
export function isCrossSite(request: FastifyRequest, issuerOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  // `none`: the person typed the address or used a bookmark; `same-origin`: one of our pages.
  // `same-site` is refused too: a sibling subdomain is another application.
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = request.headers.origin;
  // `null` (a sandboxed frame, a redirect chain, a file) is not our origin either.
  return origin !== undefined && origin.toLowerCase() !== issuerOrigin;
}

/**
 * Refuses (403 Forbidden) a cross-site browser request to a state-changing browser endpoint,
 * before its body is read: it runs first, so it spends no rate limit and touches no state.
 */
export function registerSameOriginCheck(server: FastifyInstance, issuer: string): void {
  const issuerOrigin = new URL(issuer).origin.toLowerCase();
  const check = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    if (!SAFE_METHODS.has(request.method) && isCrossSite(request, issuerOrigin)) {
      done(Forbidden());
      return;
    }
    done();
  };
  // On those routes only (registered after this), so the other routes (/token, the JWKS) pay nothing.
  server.addHook('onRoute', (route) => {
    if (!BROWSER_FORM_ROUTES.has(route.url)) return;
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [check] : [...(Array.isArray(existing) ? existing : [existing]), check];
  });
}
