// The end of every successful login: a code for the app, and where to send the browser.
import type { Services } from '../services.ts';
import type { AuthorizationRequest } from './authorization-request.ts';
import { methodText, type AmrValue, type LoginMethod, type Subject } from '../sessions/subject.ts';

export interface AuthorizationResponse {
  redirect_to: string;
  code: string;
  state?: string;
}

export async function completeAuthorization(
  services: Pick<Services, 'codes' | 'projects' | 'clock' | 'config'>,
  request: AuthorizationRequest,
  subject: Subject,
  /** the first factor, or every value of the `amr` (mfa.md: `pwd otp mfa` after a second step) */
  method: LoginMethod | readonly AmrValue[],
  /**
   * the browser session of the sign-in (the project session it starts remembers it); for a
   * single sign-on, with the browser session's own sign-in time
   */
  from?: { browserSessionId: string; authTime?: number },
): Promise<AuthorizationResponse> {
  const code = await services.codes.issue(
    {
      projectId: request.project.id,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      scope: request.scope,
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      subject,
      method: methodText(method),
      authTime: from?.authTime ?? services.clock.now(),
      ...(from !== undefined ? { browserSessionId: from.browserSessionId } : {}),
    },
    services.projects.lifetimes(request.project).codeMs,
  );
  // RFC 9207: iss tells the app which server answered.
  const target = new URL(request.redirectUri);
  target.searchParams.set('code', code);
  if (request.state !== undefined) target.searchParams.set('state', request.state);
  target.searchParams.set('iss', services.config.issuer);
  return { redirect_to: target.toString(), code, ...(request.state !== undefined ? { state: request.state } : {}) };
}
