// mfa.md "Signing in with them": after the first factor, a person with a second factor is not
// signed in yet. Every first factor (password, magic link, password reset; a browser session being
// stepped up) asks here whether a second step comes, and gets its mfa_token.
import { HttpError, MfaEnrollmentRequired } from '../../errors.ts';
import { storeAuthorization, type AuthorizationRequest, type StoredAuthorization } from '../../oauth/authorization-request.ts';
import type { Services } from '../../services.ts';
import type { AmrValue } from '../../sessions/subject.ts';
import type { SecondStepMethod } from '../../users/second-factors.ts';

/** The JSON answer of a first factor that needs a second step: no code yet. */
export interface SecondStepRequired {
  mfa_required: true;
  mfa_token: string;
  methods: SecondStepMethod[];
}

/**
 * 403 MFA enrollment required, carrying what the hosted page needs to lead the person through
 * adding a factor instead (docs/decisions/0099); JSON answers it as the catalogue's error.
 */
export class EnrolmentNeeded extends HttpError {
  constructor(readonly enrolment: { userId: string; authorization: StoredAuthorization; amr: AmrValue[] }) {
    super(MfaEnrollmentRequired.status, MfaEnrollmentRequired.message, {}, MfaEnrollmentRequired);
  }
}

/**
 * The second step the person must take before `authorization` gets a code, or undefined when there
 * is none. A person with no second factor signing in to a project that requires one is refused
 * (403 MFA enrollment required), which the hosted page turns into enrolment.
 */
export async function secondStepFor(
  services: Pick<Services, 'secondFactors' | 'mfaChallenges'>,
  authorization: AuthorizationRequest,
  userId: string,
  amr: AmrValue[],
): Promise<SecondStepRequired | undefined> {
  const methods = await services.secondFactors.methods(userId);
  if (methods.length === 0) {
    if (authorization.project.require_mfa) throw new EnrolmentNeeded({ userId, authorization: storeAuthorization(authorization), amr });
    return undefined;
  }
  const mfaToken = await services.mfaChallenges.create({ userId, authorization: storeAuthorization(authorization), amr });
  return { mfa_required: true, mfa_token: mfaToken, methods };
}
