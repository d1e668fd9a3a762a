// RP-Initiated Logout 1.0 (docs/sso.md, "Logout"): which project asks, where the browser may go
// back to, and signing out: the browser session, every project session started from it, and the
// hint's own session.
import { InvalidPostLogoutRedirectUri, InvalidRequest } from '../errors.ts';
import { field, type Fields } from '../http/fields.ts';
import type { Project } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import type { BrowserSession } from '../sessions/browser-sessions.ts';
import { sessionKey } from '../sessions/sessions.ts';
import { idTokenHintClaims } from './single-sign-on.ts';

export interface LogoutRequest {
  project?: Project;
  /** the hint's claims, when a valid id_token_hint was given */
  hint?: { sub: string; aud: string; sid?: string };
  postLogoutRedirectUri?: string;
  state?: string;
}

/** Checks 1 and 2 of docs/sso.md, in order. */
export async function checkLogoutRequest(services: Pick<Services, 'keys' | 'config' | 'projects'>, fields: Fields | undefined): Promise<LogoutRequest> {
  const rawHint = field(fields, 'id_token_hint');
  const clientId = field(fields, 'client_id');
  // 1. the project: the hint's audience, else client_id; both and different is no request
  let hint: LogoutRequest['hint'];
  if (rawHint !== undefined && rawHint !== '') {
    hint = await idTokenHintClaims(services, rawHint);
    if (!hint) throw InvalidRequest();
  }
  if (hint && clientId !== undefined && clientId !== '' && clientId !== hint.aud) throw InvalidRequest();
  const projectId = hint?.aud ?? (clientId !== '' ? clientId : undefined);
  const project = projectId !== undefined ? (await services.projects.find(projectId))?.project : undefined;
  // 2. never a redirect to a URI the project did not register, exactly
  const postLogoutRedirectUri = field(fields, 'post_logout_redirect_uri');
  if (postLogoutRedirectUri !== undefined && (!project || !project.post_logout_redirect_uris.includes(postLogoutRedirectUri))) {
    throw InvalidPostLogoutRedirectUri();
  }
  const state = field(fields, 'state');
  return {
    ...(project ? { project } : {}),
    ...(hint ? { hint } : {}),
    ...(postLogoutRedirectUri !== undefined ? { postLogoutRedirectUri } : {}),
    ...(state !== undefined && state !== '' ? { state } : {}),
  };
}

/** Check 3: sign out at once, or ask first (a GET whose hint does not name this browser's person). */
export function signsOutAtOnce(logout: LogoutRequest, browserSession: BrowserSession | undefined): boolean {
  return !browserSession || logout.hint?.sub === browserSession.userId;
}

/**
 * Ends the browser session and every project session started from it, and the hint's own session
 * (browser session or not); one audit event `logout` naming the project sessions ended.
 */
export async function signOut(
  services: Pick<Services, 'browserSessions' | 'sessions' | 'audit'>,
  logout: LogoutRequest,
  browserSession: BrowserSession | undefined,
  client: { ip: string | null; userAgent: string | null },
): Promise<void> {
  const ended: string[] = [];
  if (browserSession) {
    await services.browserSessions.end(browserSession.id);
    ended.push(...(await services.sessions.revokeStartedFrom(browserSession.id)));
  }
  if (logout.hint?.sid !== undefined && (await services.sessions.revoke(logout.hint.sid))) ended.push(sessionKey(logout.hint.sid));
  if (!browserSession && ended.length === 0) return;
  await services.audit.record({
    type: 'logout',
    outcome: 'success',
    projectId: logout.project?.id ?? null,
    subject: browserSession?.userId ?? logout.hint?.sub ?? null,
    ip: client.ip,
    userAgent: client.userAgent,
    detail: { ...(browserSession ? { browser_session_id: browserSession.id } : {}), session_ids: [...new Set(ended)] },
  });
}

/** Where the browser goes after signing out: the registered URI with state, or nowhere (the page). */
export function afterLogout(logout: LogoutRequest): string | undefined {
  if (logout.postLogoutRedirectUri === undefined) return undefined;
  const target = new URL(logout.postLogoutRedirectUri);
  if (logout.state !== undefined) target.searchParams.set('state', logout.state);
  return target.toString();
}
