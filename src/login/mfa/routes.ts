// POST /login/mfa: the second step (mfa.md). The mfa_token is taken first, so that of racing
// requests exactly one goes on; a wrong code gives it back with one failure more (5 end it), and
// counts against the account's own pool (10 per 15 minutes), apart from the password's.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { HttpError, InvalidCode, InvalidOrExpiredToken, InvalidRequest, MissingRequiredFields } from '../../errors.ts';
import { bodyFields, field } from '../../http/fields.ts';
import { sendHtml } from '../../http/html.ts';
import { clientInfo, prefersHtml } from '../../http/negotiation.ts';
import { resumeAuthorization } from '../../oauth/authorization-request.ts';
import { localeOf } from '../../pages/i18n.ts';
import { renderErrorPage } from '../../pages/render.ts';
import { sendSecondStepPage } from '../respond.ts';
import type { Services } from '../../services.ts';
import type { AmrValue } from '../../sessions/subject.ts';
import { isOutage } from '../../storage/outage.ts';
import { admitMember } from '../admission.ts';
import { signInWithBrowserSession } from '../browser-sign-in.ts';
import type { MfaChallenge } from './challenges.ts';

const MAX_CODE_INPUT = 64;

type SecondStepForm = 'totp' | 'recovery_code' | 'passkey';

/** The amr of a sign-in finished with a second step: what was done before, a one-time code or a passkey (`hwk`), and `mfa`. */
function withSecondStep(amr: readonly AmrValue[], form: SecondStepForm): AmrValue[] {
  const step: AmrValue = form === 'passkey' ? 'hwk' : 'otp';
  return [...amr.filter((value) => value !== step && value !== 'mfa'), step, 'mfa'];
}

export function registerMfaLoginRoutes(server: FastifyInstance, services: Services): void {
  const { audit, limits, secondFactors, mfaChallenges, projects, passkeyCeremonies } = services;

  // mfa.md "use a passkey": the WebAuthn options of the second step, for the mfa_token's person
  // (their own passkeys); the answer goes to POST /login/mfa as `passkey_response`. The
  // mfa_token is only looked at here, not taken.
  server.post('/login/mfa/passkey/options', async (request, reply) => {
    const token = field(bodyFields(request), 'mfa_token');
    if (!token) throw MissingRequiredFields();
    const challenge = await mfaChallenges.peek(token);
    if (!challenge) throw InvalidOrExpiredToken();
    if (!(await secondFactors.methods(challenge.userId)).includes('passkey')) throw InvalidRequest({ detail: 'no passkey for this second step' });
    const options = await passkeyCeremonies.authenticationOptions({ kind: 'second_step', userId: challenge.userId });
    return reply.code(200).header('cache-control', 'no-store').send(options);
  });

  /** Whether the second step's proof is right: a TOTP code, a recovery code (used up), or a passkey's assertion (its challenge taken). */
  async function checkSecondStep(form: SecondStepForm, userId: string, proof: unknown): Promise<boolean> {
    if (form === 'passkey') return (await passkeyCeremonies.verifyAuthentication(proof, { kind: 'second_step', userId })) !== undefined;
    if (typeof proof !== 'string' || proof.length > MAX_CODE_INPUT) return false;
    return form === 'totp' ? secondFactors.verifyTotp(userId, proof) : secondFactors.useRecoveryCode(userId, proof);
  }

  server.post('/login/mfa', async (request: FastifyRequest, reply: FastifyReply) => {
    const html = prefersHtml(request);
    const fields = bodyFields(request);
    const client = clientInfo(request);
    const token = field(fields, 'mfa_token');
    const totpCode = field(fields, 'totp_code');
    const recoveryCode = field(fields, 'recovery_code');
    const passkeyResponse: unknown = fields.passkey_response;
    const form: SecondStepForm = totpCode ? 'totp' : recoveryCode ? 'recovery_code' : passkeyResponse !== undefined && passkeyResponse !== '' ? 'passkey' : 'totp';
    const code = form === 'totp' ? totpCode : recoveryCode;
    let challenge: MfaChallenge | undefined;
    try {
      if (!token || (form !== 'passkey' && !code)) throw MissingRequiredFields();
      challenge = await mfaChallenges.take(token);
      if (!challenge) throw InvalidOrExpiredToken();
      const taken = challenge;
      const projectId = taken.authorization.projectId;
      const facts = { ...client, projectId, subject: taken.userId };
      // Counted before the code is looked at and given back when it is right, like the password.
      const allowed = await limits.mfaFailuresPerAccount.hit(taken.userId).catch(async (error: unknown) => {
        await mfaChallenges.giveBack(token, taken).catch(() => {});
        throw error;
      });
      if (!allowed) {
        await mfaChallenges.giveBack(token, taken);
        throw await rateLimited(audit, limits.mfaFailuresPerAccount, taken.userId, facts);
      }
      let valid: boolean;
      try {
        valid = await checkSecondStep(form, taken.userId, form === 'passkey' ? passkeyResponse : (code ?? ''));
      } catch (error) {
        if (isOutage(error)) await Promise.allSettled([mfaChallenges.giveBack(token, taken), limits.mfaFailuresPerAccount.refund(taken.userId)]);
        throw error;
      }
      if (!valid) {
        const lives = await mfaChallenges.countFailure(token, taken);
        if (!lives) challenge = undefined;
        await audit.record({ type: 'mfa.failed', outcome: 'failure', projectId, subject: taken.userId, ...client, detail: { method: form, ...(lives ? {} : { mfa_token: 'ended' }) } });
        throw InvalidCode();
      }
      await limits.mfaFailuresPerAccount.refund(taken.userId);
      if (form === 'recovery_code') {
        await audit.record({ type: 'mfa.recovery_code_used', outcome: 'success', projectId, subject: taken.userId, ...client, detail: { recovery_codes_left: (await secondFactors.summary(taken.userId)).recovery_codes_left } });
      }
      challenge = undefined;
      // The project or its redirect URIs may have changed during the second step.
      const authorization = await resumeAuthorization(taken.authorization, projects);
      if (!authorization) throw InvalidOrExpiredToken();
      await admitMember(services.users, authorization.project, taken.userId);
      const amr = withSecondStep(taken.amr, form);
      const { response, browserSession } = await signInWithBrowserSession(services, request, authorization, taken.userId, amr);
      reply.header('cache-control', 'no-store');
      reply.header('set-cookie', browserSession.cookie);
      if (html) return reply.code(303).header('location', response.redirect_to).send();
      return reply.code(200).send(response);
    } catch (error) {
      if (!html || !(error instanceof HttpError)) throw error;
      const locale = localeOf(fields, request.headers);
      // The form again while the mfa_token lives (a wrong code, a limit): its post may redirect to the app.
      const live = challenge && token ? await mfaChallenges.peek(token) : undefined;
      const authorization = live ? await resumeAuthorization(live.authorization, projects) : undefined;
      if (live && authorization && token) {
        const options = { mfaToken: token, methods: await secondFactors.methods(live.userId), locale, uiLocales: field(fields, 'ui_locales'), error: { message: error.message, form } };
        return sendSecondStepPage(reply, authorization, options, error.statusCode);
      }
      return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, locale));
    }
  });
}
