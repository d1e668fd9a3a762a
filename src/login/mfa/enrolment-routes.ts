// mfa.md "Per project": a person with no second factor signing in to a project with `require_mfa`
// is led through adding one on the hosted page, then goes on to the app with a code
// (docs/decisions/0099). After the first factor the page shows an enrolment: the authenticator
// app (QR code, key, its first code) or a passkey. The enrolment token (15 minutes, single use
// per step, bound to the authorization request and the first factor's amr) carries the person
// from one post to the next; once a factor was added with it, "Continue" signs in with both.
// JSON stays 403 MFA enrollment required (an app's own UI cannot show a QR code for us).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { HttpError, InvalidCode, InvalidOrExpiredToken, InvalidRequest, MissingRequiredFields } from '../../errors.ts';
import { bodyFields, field, type Fields } from '../../http/fields.ts';
import { sendHtml } from '../../http/html.ts';
import { clientInfo, prefersHtml } from '../../http/negotiation.ts';
import { resumeAuthorization } from '../../oauth/authorization-request.ts';
import type { RouteDoc } from '../../openapi/route-docs.ts';
import { localeOf, type Locale } from '../../pages/i18n.ts';
import { renderEnrolledPage, renderEnrolmentPage, renderErrorPage, type PageBrand } from '../../pages/render.ts';
import { projectBrand } from '../../pages/brand.ts';
import type { Services } from '../../services.ts';
import { passkeyName } from '../../users/passkeys.ts';
import { admitMember } from '../admission.ts';
import { signInWithBrowserSession } from '../browser-sign-in.ts';
import type { MfaChallenge } from './challenges.ts';
import { EnrolmentNeeded } from './second-step.ts';
import { totpQrDataUri } from './totp-qr.ts';

const MAX_CODE_INPUT = 64;

/** The enrolment page with a new TOTP secret waiting for its first code (a waiting one is replaced). */
async function enrolmentPage(services: Services, token: string, challenge: MfaChallenge, locale: Locale, error?: { message: string; form: 'totp' | 'passkey' }): Promise<{ html: string; brand: PageBrand } | undefined> {
  const [authorization, record] = await Promise.all([resumeAuthorization(challenge.authorization, services.projects), services.users.find(challenge.userId)]);
  if (!authorization || !record) return undefined;
  const { secret } = (await services.secondFactors.pendingTotp(challenge.userId)) ?? (await services.secondFactors.beginTotp(challenge.userId));
  const brand = projectBrand(authorization.project);
  const html = renderEnrolmentPage({
    enrolToken: token,
    brand,
    locale,
    totp: { secret, qrDataUri: await totpQrDataUri(services.config.issuer, record.user.email, secret) },
    ...(error ? { error } : {}),
  });
  return { html, brand };
}

/**
 * For the hosted page: a refusal for want of a second factor (EnrolmentNeeded) becomes the
 * enrolment page, 200. Undefined for every other error, and for JSON, which keeps the 403.
 */
export async function answerEnrolment(services: Services, request: FastifyRequest, reply: FastifyReply, error: unknown, fields: Fields | undefined): Promise<FastifyReply | undefined> {
  if (!(error instanceof EnrolmentNeeded) || !prefersHtml(request)) return undefined;
  const challenge = error.enrolment;
  const token = await services.mfaEnrolments.create(challenge);
  const live = await services.mfaEnrolments.peek(token);
  const page = live && (await enrolmentPage(services, token, live, localeOf(fields, request.headers)));
  if (!page) return undefined;
  reply.header('cache-control', 'no-store');
  return sendHtml(reply, 200, page.html, undefined, page.brand);
}

export function registerMfaEnrolmentRoutes(server: FastifyInstance, services: Services): void {
  const { audit, limits, secondFactors, mfaEnrolments, passkeyCeremonies } = services;

  /**
   * The frame of an enrolment post: the token taken (of racing posts one goes on), then the
   * step's work. A refusal that leaves the token usable gives it back and answers the page again.
   */
  function enrolmentStep(
    form: 'totp' | 'passkey',
    work: (challenge: MfaChallenge, fields: Fields, request: FastifyRequest) => Promise<{ added: 'otp' | 'hwk'; recoveryCodes: string[] | undefined }>,
  ): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
    return async (request, reply) => {
      const fields = bodyFields(request);
      const locale = localeOf(fields, request.headers);
      const token = field(fields, 'enrol_token');
      const challenge = token ? await mfaEnrolments.take(token) : undefined;
      if (!token || !challenge || challenge.added !== undefined) {
        if (token && challenge) await mfaEnrolments.giveBack(token, challenge);
        const error = InvalidOrExpiredToken();
        return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, locale));
      }
      try {
        const { added, recoveryCodes } = await work(challenge, fields, request);
        await mfaEnrolments.giveBack(token, { ...challenge, added });
        const authorization = await resumeAuthorization(challenge.authorization, services.projects);
        reply.header('cache-control', 'no-store');
        const brand = authorization ? projectBrand(authorization.project) : { name: '' };
        return sendHtml(reply, 200, renderEnrolledPage({ enrolToken: token, brand, locale, recoveryCodes }), authorization?.redirectUri, brand);
      } catch (error) {
        if (!(error instanceof HttpError) || error.statusCode >= 500) {
          await mfaEnrolments.giveBack(token, challenge).catch(() => {});
          throw error;
        }
        const lives = await mfaEnrolments.countFailure(token, challenge);
        const page = lives ? await enrolmentPage(services, token, challenge, locale, { message: error.message, form }) : undefined;
        return page ? sendHtml(reply, error.statusCode, page.html, undefined, page.brand) : sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, locale));
      }
    };
  }

  server.post(
    '/login/mfa/enroll/totp',
    enrolmentStep('totp', async (challenge, fields, request) => {
      const { userId } = challenge;
      const code = field(fields, 'code') ?? '';
      const client = clientInfo(request);
      const facts = { ...client, projectId: challenge.authorization.projectId, subject: userId };
      // The account's second-step pool, as for the account page's confirmation (decision 0092).
      if (!(await limits.mfaFailuresPerAccount.hit(userId))) throw await rateLimited(audit, limits.mfaFailuresPerAccount, userId, facts);
      const confirmed = code.length <= MAX_CODE_INPUT ? await secondFactors.confirmTotp(userId, code) : false;
      if (!confirmed) {
        await audit.record({ type: 'mfa.failed', outcome: 'failure', ...facts, detail: { on: 'enrolment' } });
        throw InvalidCode();
      }
      await limits.mfaFailuresPerAccount.refund(userId);
      await audit.record({ type: 'mfa.added', outcome: 'success', ...facts, detail: { kind: 'totp', via: 'enrolment' } });
      return { added: 'otp', recoveryCodes: confirmed.recoveryCodes };
    }),
  );

  server.post('/login/mfa/enroll/passkey/options', async (request, reply) => {
    const token = field(bodyFields(request), 'enrol_token');
    if (!token) throw MissingRequiredFields();
    const challenge = await mfaEnrolments.peek(token);
    const record = challenge && challenge.added === undefined ? await services.users.find(challenge.userId) : undefined;
    if (!record) throw InvalidOrExpiredToken();
    return reply.code(200).header('cache-control', 'no-store').send(await passkeyCeremonies.registrationOptions(record.user));
  });

  server.post(
    '/login/mfa/enroll/passkey',
    enrolmentStep('passkey', async (challenge, fields, request) => {
      const { userId } = challenge;
      const facts = { ...clientInfo(request), projectId: challenge.authorization.projectId, subject: userId };
      const name = passkeyName(field(fields, 'name'));
      if (name === undefined) throw InvalidRequest({ detail: 'name: 1 to 64 characters' });
      const verified = await passkeyCeremonies.verifyRegistration(userId, fields.registration_response, name);
      const added = verified && (await secondFactors.addPasskey(userId, verified));
      if (!verified || !added) {
        await audit.record({ type: 'passkey.added', outcome: 'failure', ...facts, detail: { reason: 'not_verified', via: 'enrolment' } });
        throw InvalidRequest({ detail: 'The passkey could not be verified' });
      }
      await audit.record({ type: 'passkey.added', outcome: 'success', ...facts, detail: { passkey_id: verified.credentialId, name, via: 'enrolment' } });
      return { added: 'hwk', recoveryCodes: added.recoveryCodes };
    }),
  );

  // "Continue to <app>": only a token a factor was added with; the sign-in counts both factors.
  server.post('/login/mfa/enroll/continue', async (request, reply) => {
    const fields = bodyFields(request);
    const token = field(fields, 'enrol_token');
    const html = prefersHtml(request);
    try {
      const challenge = token ? await mfaEnrolments.take(token) : undefined;
      if (!token || !challenge || challenge.added === undefined) {
        // Too early: nothing was added yet, the enrolment goes on.
        if (token && challenge) await mfaEnrolments.giveBack(token, challenge);
        throw InvalidOrExpiredToken();
      }
      const authorization = await resumeAuthorization(challenge.authorization, services.projects);
      if (!authorization) throw InvalidOrExpiredToken();
      await admitMember(services.users, authorization.project, challenge.userId);
      const amr = [...challenge.amr.filter((value) => value !== challenge.added && value !== 'mfa'), challenge.added, 'mfa' as const];
      const { response, browserSession } = await signInWithBrowserSession(services, request, authorization, challenge.userId, amr);
      reply.header('cache-control', 'no-store');
      reply.header('set-cookie', browserSession.cookie);
      if (html) return reply.code(303).header('location', response.redirect_to).send();
      return reply.code(200).send(response);
    } catch (error) {
      if (!html || !(error instanceof HttpError)) throw error;
      return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, localeOf(fields, request.headers)));
    }
  });
}

/** The enrolment's paths, for the answers in HTML to a browser (app.ts) and the same-origin check. */
export const ENROLMENT_ROUTES: readonly string[] = ['/login/mfa/enroll/totp', '/login/mfa/enroll/passkey', '/login/mfa/enroll/continue'];

const TOKEN_FIELD = { enrol_token: 'the enrolment token of the page (15 minutes)' };

/** The OpenAPI entries of the enrolment (openapi/route-docs.ts). */
export const ENROLMENT_ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /login/mfa/enroll/totp': {
    summary: 'Enrolment on the hosted page (require_mfa, docs/mfa.md): the authenticator app\'s first code confirms the secret the page showed; answers the recovery codes and "Continue"',
    tag: 'Pages',
    errors: [InvalidOrExpiredToken, InvalidCode],
    bodyFields: { ...TOKEN_FIELD, code: 'the 6-digit code' },
    success: { status: 200, description: 'HTML: the recovery codes, shown once, and the form that goes on to the app' },
  },
  'POST /login/mfa/enroll/passkey/options': {
    summary: 'Enrolment: the WebAuthn registration options of a passkey for the enrolment token\'s person (JSON, for the page script)',
    tag: 'Pages',
    errors: [MissingRequiredFields, InvalidOrExpiredToken],
    bodyFields: TOKEN_FIELD,
    success: { status: 200, description: '`PublicKeyCredentialCreationOptionsJSON`' },
  },
  'POST /login/mfa/enroll/passkey': {
    summary: 'Enrolment: adds a passkey (the browser\'s answer to the options); answers the recovery codes and "Continue"',
    tag: 'Pages',
    errors: [InvalidOrExpiredToken, InvalidRequest],
    bodyFields: { ...TOKEN_FIELD, name: '1 to 64 characters', registration_response: 'the JSON of `startRegistration`' },
    success: { status: 200, description: 'HTML: the recovery codes, shown once, and the form that goes on to the app' },
  },
  'POST /login/mfa/enroll/continue': {
    summary: 'Enrolment: goes on to the app once a factor was added with the token; `amr` holds both factors and `mfa`',
    tag: 'Pages',
    errors: [InvalidOrExpiredToken],
    bodyFields: TOKEN_FIELD,
    success: { status: 303, description: 'to the app with `code` and `state` (JSON: `{"redirect_to", "code", "state"}`)' },
  },
};
