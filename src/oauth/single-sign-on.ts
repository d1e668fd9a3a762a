// GET /authorize with a browser session (docs/sso.md, "Single sign-on at /authorize"): after the
// four checks of the reference, what this browser's signed-in person gets. The project rules are
// the ones every login applies (login/admission.ts) and the code is completeAuthorization's: one
// path for "this user signs in to this project".
import type { FastifyRequest } from 'fastify';
import { AccountBlocked, EmailNotVerified, HttpError, isError, MfaEnrollmentRequired, NotAMember } from '../errors.ts';
import { field, type Fields } from '../http/fields.ts';
import { clientInfo } from '../http/negotiation.ts';
import { admitMember } from '../login/admission.ts';
import { presentedBrowserSession } from '../login/browser-sign-in.ts';
import type { Services } from '../services.ts';
import type { BrowserSession } from '../sessions/browser-sessions.ts';
import type { User } from '../users/users.ts';
import { countsAsMfa, type AmrValue } from '../sessions/subject.ts';
import { secondStepFor, type SecondStepRequired } from '../login/mfa/second-step.ts';
import type { AuthorizationRequest } from './authorization-request.ts';
import { completeAuthorization, type AuthorizationResponse } from './authorization-response.ts';

export type SignOnOutcome =
  /** a code for the app */
  | { kind: 'signed_in'; response: AuthorizationResponse }
  /** the login page, as without a session */
  | { kind: 'login_page' }
  /** "Continue as <email>" or "Use another account" */
  | { kind: 'select_account'; email: string }
  /** a project rule refused the person: its 403 page */
  | { kind: 'refused'; error: HttpError }
  /** accounts.md: the project requires a verified email, and this person's is not (403 Email not verified) */
  | { kind: 'unverified'; user: User }
  /** mfa.md: the project requires a second factor the browser session has not had: the second step alone */
  | { kind: 'second_step'; step: SecondStepRequired }
  /** prompt=none could not sign in silently: back to the app with an error */
  | { kind: 'error_redirect'; location: string };

const AMR_VALUES: readonly AmrValue[] = ['pwd', 'magic_link', 'otp', 'hwk', 'mfa', 'fed'];

/** The prompt values of a request (OIDC Core §3.1.2.1: space-separated). */
export function promptsOf(fields: Fields | undefined): Set<string> {
  return new Set((field(fields, 'prompt') ?? '').split(' ').filter(Boolean));
}

/**
 * What a browser's authorization request comes to. `continuing`: the person pressed "Continue as"
 * on the select_account page, so that page is not shown again.
 */
export async function signOn(
  services: Services,
  request: FastifyRequest,
  authorization: AuthorizationRequest,
  fields: Fields | undefined,
  continuing = false,
): Promise<SignOnOutcome> {
  const prompts = promptsOf(fields);
  const silent = prompts.has('none');
  const fail = (error: string): SignOnOutcome => ({ kind: 'error_redirect', location: errorRedirect(services, authorization, error) });

  const session = await liveSession(services, request, fields);
  if (!session || mustSignInAgain(services, session, prompts, field(fields, 'max_age'))) {
    return silent ? fail('login_required') : { kind: 'login_page' };
  }
  const user = await services.users.find(session.userId);
  if (!user) return silent ? fail('login_required') : { kind: 'login_page' };
  if (prompts.has('select_account') && !continuing) {
    // A page is an interaction: prompt=none with select_account cannot be answered silently.
    return silent ? fail('interaction_required') : { kind: 'select_account', email: user.user.email };
  }

  const { ip, userAgent } = clientInfo(request);
  const projectId = authorization.project.id;
  try {
    await admitMember(services.users, authorization.project, session.userId);
  } catch (error) {
    if (!isError(error, AccountBlocked) && !isError(error, NotAMember)) throw error;
    await services.audit.record({ type: 'login.browser_session', outcome: 'failure', projectId, subject: session.userId, ip, userAgent, detail: { reason: error.message } });
    return silent ? fail('access_denied') : { kind: 'refused', error };
  }
  if (authorization.project.require_verified_email && !user.user.email_verified) {
    await services.audit.record({ type: 'login.browser_session', outcome: 'failure', projectId, subject: session.userId, ip, userAgent, detail: { reason: EmailNotVerified.message } });
    return silent ? fail('interaction_required') : { kind: 'unverified', user: user.user };
  }
  // mfa.md: a project that requires a second factor gets a code only for a browser session that had
  // one; any other is stepped up (the second step alone), or refused when the person has none.
  if (authorization.project.require_mfa && !countsAsMfa(session.amr)) {
    const done = session.amr.filter((value): value is AmrValue => AMR_VALUES.includes(value as AmrValue));
    let step: SecondStepRequired | undefined;
    try {
      step = silent ? undefined : await secondStepFor(services, authorization, session.userId, done);
    } catch (error) {
      if (!isError(error, MfaEnrollmentRequired)) throw error;
      await services.audit.record({ type: 'login.browser_session', outcome: 'failure', projectId, subject: session.userId, ip, userAgent, detail: { reason: error.message } });
      return { kind: 'refused', error };
    }
    if (!step) return fail('interaction_required');
    return { kind: 'second_step', step };
  }
  const amr = session.amr.filter((value): value is AmrValue => AMR_VALUES.includes(value as AmrValue));
  const response = await completeAuthorization(services, authorization, { kind: 'user', userId: session.userId }, amr.length > 0 ? amr : 'pwd', {
    browserSessionId: session.id,
    authTime: session.authTime,
  });
  await services.audit.record({ type: 'login.browser_session', outcome: 'success', projectId, subject: session.userId, ip, userAgent, detail: { browser_session_id: session.id } });
  return { kind: 'signed_in', response };
}

/**
 * The browser's live session, unless an id_token_hint names someone else: then it is as if there
 * were none. The hint's signature and issuer are checked, its expiry is not (OIDC Core §3.1.2.1).
 */
async function liveSession(services: Services, request: FastifyRequest, fields: Fields | undefined): Promise<BrowserSession | undefined> {
  const cookie = presentedBrowserSession(request, services.config.issuer);
  if (cookie === undefined) return undefined;
  const session = await services.browserSessions.use(cookie);
  if (!session) return undefined;
  const hint = field(fields, 'id_token_hint');
  if (hint === undefined || hint === '') return session;
  const sub = await idTokenHintSubject(services, hint);
  return sub === session.userId ? session : undefined;
}

/** The `sub` of an ID token this issuer signed, expired or not; undefined for anything else. */
export async function idTokenHintSubject(services: Pick<Services, 'keys' | 'config'>, token: string): Promise<string | undefined> {
  const claims = await idTokenHintClaims(services, token);
  return claims?.sub;
}

/** The claims of an ID token this issuer signed, expired or not; undefined for anything else. */
export async function idTokenHintClaims(services: Pick<Services, 'keys' | 'config'>, token: string): Promise<{ sub: string; aud: string; sid?: string } | undefined> {
  try {
    const issuedAt = issuedAtOf(token);
    if (issuedAt === undefined) return undefined;
    // Verified as of its own issue time: the signature and the issuer count, the expiry does not.
    const payload = await services.keys.verifyJwt(token, { issuer: services.config.issuer, currentDate: new Date(issuedAt * 1000), typ: 'JWT' });
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    if (typeof payload.sub !== 'string' || typeof aud !== 'string' || typeof payload.azp !== 'string') return undefined;
    return { sub: payload.sub, aud, ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}) };
  } catch {
    return undefined;
  }
}

function issuedAtOf(token: string): number | undefined {
  const body = token.split('.')[1];
  if (body === undefined) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { iat?: unknown };
    return typeof payload.iat === 'number' ? payload.iat : undefined;
  } catch {
    return undefined;
  }
}

/** prompt=login, max_age=0, or a sign-in older than max_age seconds: the person signs in again. */
function mustSignInAgain(services: Pick<Services, 'clock'>, session: BrowserSession, prompts: Set<string>, maxAge: string | undefined): boolean {
  if (prompts.has('login')) return true;
  if (maxAge === undefined || !/^\d{1,10}$/.test(maxAge)) return false;
  return services.clock.now() - session.authTime > Number(maxAge) * 1000 || Number(maxAge) === 0;
}

/** RFC 6749 §4.1.2.1, with RFC 9207's iss. */
function errorRedirect(services: Pick<Services, 'config'>, authorization: AuthorizationRequest, error: string): string {
  const target = new URL(authorization.redirectUri);
  target.searchParams.set('error', error);
  if (authorization.state !== undefined) target.searchParams.set('state', authorization.state);
  target.searchParams.set('iss', services.config.issuer);
  return target.toString();
}
