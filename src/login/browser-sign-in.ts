// Every successful person sign-in at a login endpoint starts a browser session (docs/sso.md) and
// sets its cookie; a PIN sign-in never does (a PIN names a device, not a person).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientInfo } from '../http/negotiation.ts';
import type { Services } from '../services.ts';
import { completeAuthorization, type AuthorizationResponse } from '../oauth/authorization-response.ts';
import type { AuthorizationRequest } from '../oauth/authorization-request.ts';
import type { AmrValue } from '../sessions/subject.ts';

/** `__Host-` when the issuer is https: the browser then refuses it without Secure, a Domain or Path=/. */
export function browserSessionCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Host-gatehouse_session' : 'gatehouse_session';
}

/** The value of a cookie the request carries, if any (an empty one counts as none). */
export function requestCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim() || undefined;
  }
  return undefined;
}

/** The value of the browser session cookie the request carries, if any. */
export function presentedBrowserSession(request: FastifyRequest, issuer: string): string | undefined {
  return requestCookie(request, browserSessionCookieName(issuer));
}

function cookieAttributes(issuer: string): string {
  return `HttpOnly; SameSite=Lax; Path=/${issuer.startsWith('https:') ? '; Secure' : ''}`;
}

/** The Set-Cookie header that takes the browser session cookie away (a sign-out). */
export function clearedBrowserSessionCookie(issuer: string): string {
  return `${browserSessionCookieName(issuer)}=; Max-Age=0; ${cookieAttributes(issuer)}`;
}

export interface StartedBrowserSession {
  id: string;
  /** the Set-Cookie header that hands it to the browser */
  cookie: string;
}

/** Starts the browser session of a sign-in, ending the one this browser had; the caller sets its cookie. */
export async function beginBrowserSession(services: Pick<Services, 'browserSessions' | 'config'>, request: FastifyRequest, userId: string, amr: string[]): Promise<StartedBrowserSession> {
  const { issuer } = services.config;
  const { ip, userAgent } = clientInfo(request);
  const replacing = presentedBrowserSession(request, issuer);
  const { session, cookieValue } = await services.browserSessions.start({ userId, amr, ip, userAgent, ...(replacing !== undefined ? { replacing } : {}) });
  return { id: session.id, cookie: `${browserSessionCookieName(issuer)}=${cookieValue}; ${cookieAttributes(issuer)}` };
}

/** Starts the browser session of a sign-in and sets its cookie on the answer; answers its id. */
export async function startBrowserSession(services: Pick<Services, 'browserSessions' | 'config'>, request: FastifyRequest, reply: FastifyReply, userId: string, amr: string[]): Promise<string> {
  const started = await beginBrowserSession(services, request, userId, amr);
  reply.header('set-cookie', started.cookie);
  return started.id;
}

/**
 * The end of every sign-in by a mailed link or a second step: the browser session starts, then
 * the authorization gets its code. A code that cannot be issued ends the browser session again, so
 * that a failed sign-in leaves the browser signed in nowhere. The caller sets `browserSession.cookie`.
 */
export async function signInWithBrowserSession(
  services: Parameters<typeof completeAuthorization>[0] & Pick<Services, 'browserSessions' | 'config'>,
  request: FastifyRequest,
  authorization: AuthorizationRequest,
  userId: string,
  amr: AmrValue[],
): Promise<{ response: AuthorizationResponse; browserSession: StartedBrowserSession }> {
  const browserSession = await beginBrowserSession(services, request, userId, amr);
  try {
    const response = await completeAuthorization(services, authorization, { kind: 'user', userId }, amr, { browserSessionId: browserSession.id });
    return { response, browserSession };
  } catch (error) {
    await services.browserSessions.end(browserSession.id).catch(() => {});
    throw error;
  }
}
