// POST /verify-email/resend (mail the link again), GET /verify-email (look, never use),
// POST /verify-email (use the link once); and the verification and email-change mails that the
// other front doors send: registration, a sign-in refused for an unverified email, the account page.
import { chooseLocale, localeOf, requestLocale, translator, type Locale } from '../../pages/i18n.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { EmailAlreadyRegistered, HttpError, InvalidOrExpiredToken } from '../../errors.ts';
import { bodyFields, field, queryFields } from '../../http/fields.ts';
import { sendHtml } from '../../http/html.ts';
import { brandOfProject, projectBrand } from '../../pages/brand.ts';
import { clientInfo, prefersHtml } from '../../http/negotiation.ts';
import { MailAfterAnswer } from '../../mail/background.ts';
import { emailChangedNotice, emailChangeMessage, emailVerificationMessage } from '../../mail/account-messages.ts';
import { resumeAuthorization, type AuthorizationRequest } from '../../oauth/authorization-request.ts';
import type { AuthorizationResponse } from '../../oauth/authorization-response.ts';
import { renderErrorPage, renderMessagePage, renderVerifyEmailConfirmPage } from '../../pages/render.ts';
import { answerEnrolment } from '../mfa/enrolment-routes.ts';
import { secondStepFor, type SecondStepRequired } from '../mfa/second-step.ts';
import type { Services } from '../../services.ts';
import { isOutage } from '../../storage/outage.ts';
import { reserve, type Limiter } from '../../storage/rate-limits.ts';
import { AccountTokens, type AccountToken, type AccountTokenPurpose } from '../../users/account-tokens.ts';
import { normalizeEmail, requireValidEmail } from '../../users/email.ts';
import type { User } from '../../users/users.ts';
import { admitMember } from '../admission.ts';
import { signInWithBrowserSession } from '../browser-sign-in.ts';
import { answerLinkLook, answerLogin, sendSecondStepPage } from '../respond.ts';

/** What a link at /verify-email can be. */
const VERIFY_PURPOSES: readonly AccountTokenPurpose[] = ['verify_email', 'email_change'];

interface Client {
  ip: string;
  userAgent: string | null;
}

export function accountTokens(services: Pick<Services, 'database' | 'clock' | 'ids'>): AccountTokens {
  return new AccountTokens(services.database.db, services.clock, services.ids);
}

/**
 * The language of an account mail with no request of the person at hand (decision 0089): the
 * account's own `locale` claim when it is one of ours, else English. Nothing is stored with a link.
 */
export function accountMailLocale(user: Pick<User, 'locale'>): Locale {
  return chooseLocale({ uiLocales: user.locale ?? undefined });
}

/** The language of a mail about the account sent while answering this request: the account's `locale` claim, then the request's Accept-Language. */
function accountRequestLocale(request: FastifyRequest, user: Pick<User, 'locale'>): Locale {
  const accept = request.headers['accept-language'];
  return chooseLocale({ uiLocales: user.locale ?? undefined, acceptLanguage: Array.isArray(accept) ? accept.join(',') : accept });
}

/**
 * Counts one verification mail to `email` (at most 3 an hour per address) and one mail sent at
 * this client address's request; answers the spent limit, if one is.
 */
function reserveVerificationMail(services: Services, email: string, ip: string): Promise<[Limiter, string] | undefined> {
  return reserve([services.limits.verificationMailsPerEmail, normalizeEmail(email)], [services.limits.mailSendsPerIp, ip]);
}

/**
 * Mails a verification link for the account. With an authorization request (a registration, a
 * refused sign-in), using the link also signs the person in to it; without, it only verifies.
 * The mail is in `locale`, the language of the request that caused it. A failed send withdraws
 * the token and throws.
 */
export async function mailVerificationLink(services: Services, user: User, locale: Locale, authorization?: AuthorizationRequest): Promise<void> {
  const { config, mailer } = services;
  const tokens = accountTokens(services);
  const { token, issued } = await tokens.issue({
    purpose: 'verify_email',
    user,
    ttlMs: config.emailVerificationTtlSeconds * 1000,
    ...(authorization !== undefined ? { authorization } : {}),
  });
  const link = `${config.issuer}/verify-email?token=${encodeURIComponent(token)}`;
  await tokens.mail(issued, () =>
    mailer.send(emailVerificationMessage({ to: user.email, link, expiresInSeconds: config.emailVerificationTtlSeconds, locale, ...(authorization ? { projectName: authorization.project.name } : {}) })),
  );
}

/**
 * A sign-in refused with 403 Email not verified mails a new link (accounts.md), within the limit
 * of 3 an hour per address; past it, or when the mail cannot be sent (logged), the refusal stands
 * alone. The mail is in the sign-in's language (`locale`).
 */
export async function offerVerificationMail(services: Services, request: FastifyRequest, user: User, authorization: AuthorizationRequest, locale: Locale): Promise<void> {
  if (await reserveVerificationMail(services, user.email, request.ip)) return;
  await mailVerificationLink(services, user, locale, authorization).catch((err: unknown) => request.log.error({ err }, 'verification mail could not be sent'));
}

/**
 * The account page's "send the link again": a link that only verifies. 429 Rate limited past 3
 * an hour per address. Answers false (and mails nothing) when the email is verified already.
 * The mail is in `locale` (the account page's language), or accountMailLocale's without a request.
 */
export async function sendVerificationAgain(services: Services, user: User, client: Client, locale: Locale = accountMailLocale(user)): Promise<boolean> {
  if (user.email_verified) return false;
  const spent = await reserveVerificationMail(services, user.email, client.ip);
  if (spent) throw await rateLimited(services.audit, ...spent, { ...client, subject: user.id });
  await mailVerificationLink(services, user, locale);
  return true;
}

/**
 * The account page's email change: a link to the new address (400 Invalid request for an
 * implausible one, 409 Email already registered when another account has it, 429 past 3 an hour
 * per address). Posting it at /verify-email switches the email; a newer request ends older links.
 * The mail is in `locale` (the account page's language), or accountMailLocale's without a request.
 */
export async function requestEmailChange(services: Services, user: User, newEmail: string, client: Client, locale: Locale = accountMailLocale(user)): Promise<void> {
  const { config, users, mailer, audit } = services;
  const email = requireValidEmail(newEmail);
  const holder = await users.findByEmail(email);
  if (holder && holder.user.id !== user.id) throw EmailAlreadyRegistered();
  const spent = await reserveVerificationMail(services, email, client.ip);
  if (spent) throw await rateLimited(audit, ...spent, { ...client, subject: user.id });
  const tokens = accountTokens(services);
  const { token, issued } = await tokens.issue({ purpose: 'email_change', user, newEmail: email, ttlMs: config.emailVerificationTtlSeconds * 1000 });
  await tokens.endOlder(issued);
  const link = `${config.issuer}/verify-email?token=${encodeURIComponent(token)}`;
  await tokens.mail(issued, () => mailer.send(emailChangeMessage({ to: email, link, expiresInSeconds: config.emailVerificationTtlSeconds, locale })));
  await audit.record({ type: 'email.change_requested', outcome: 'success', projectId: null, subject: user.id, ...client, detail: { new_email: email } });
}

interface Verified {
  signedIn?: { response: AuthorizationResponse; cookie: string };
  /** mfa.md: the link is a first factor; a person with a second factor takes it before signing in */
  secondStep?: { step: SecondStepRequired; authorization: AuthorizationRequest };
}

export function registerVerifyEmailRoutes(server: FastifyInstance, services: Services): void {
  const { config, users, projects, audit, mailer } = services;
  const tokens = accountTokens(services);
  const later = new MailAfterAnswer(server.log);
  server.addHook('onClose', () => later.settled());

  /** A verification link: the email is proven; a registration's (or a refused sign-in's) link also signs in. */
  async function verify(request: FastifyRequest, taken: AccountToken, client: Client): Promise<Verified> {
    const record = await users.find(taken.userId);
    if (!record) throw InvalidOrExpiredToken();
    const userId = record.user.id;
    // The registrant proving their own mailbox keeps their password (not users/mailbox-proof.ts).
    if (await users.markEmailVerified(userId)) {
      await audit.record({ type: 'email.verified', outcome: 'success', projectId: taken.authorization?.projectId ?? null, subject: userId, ...client });
    }
    if (!taken.authorization) return {};
    // The app the link was for may be gone, or no longer allow its redirect URI: verified all the same.
    const authorization = await resumeAuthorization(taken.authorization, projects);
    if (!authorization) return {};
    await admitMember(users, authorization.project, userId);
    const step = await secondStepFor(services, authorization, userId, ['magic_link']);
    if (step) return { secondStep: { step, authorization } };
    const { response, browserSession } = await signInWithBrowserSession(services, request, authorization, userId, ['magic_link']);
    return { signedIn: { response, cookie: browserSession.cookie } };
  }

  /**
   * An email-change link: the account switches to the new address, verified; the old one hears of
   * it, in the account's `locale` claim, else the language of the browser that used the link.
   */
  async function changeEmail(request: FastifyRequest, taken: AccountToken, client: Client): Promise<Verified> {
    const record = await users.find(taken.userId);
    if (!record || taken.newEmail === null) throw InvalidOrExpiredToken();
    const oldEmail = record.user.email;
    // update() answers 409 Email already registered when another account took the address meanwhile.
    const updated = await users.update(record.user.id, { email: taken.newEmail, email_verified: true });
    if (!updated) throw InvalidOrExpiredToken();
    await audit.record({ type: 'email.changed', outcome: 'success', projectId: null, subject: updated.id, ...client, detail: { old_email: oldEmail, new_email: updated.email } });
    await mailer.send(emailChangedNotice({ to: oldEmail, newEmail: updated.email, locale: accountRequestLocale(request, record.user) })).catch((err: unknown) => request.log.error({ err }, 'email change notice could not be sent'));
    return {};
  }

  server.post('/verify-email/resend', (request, reply) =>
    answerLogin(request, reply, services, 'password', async (authorization, fields) => {
      const client = clientInfo(request);
      const email = requireValidEmail(field(fields, 'email') ?? '');
      // The answer, the limit and the timing are the same whether or not an unverified account has the address.
      const spent = await reserveVerificationMail(services, email, client.ip);
      if (spent) throw await rateLimited(audit, ...spent, { ...client, projectId: authorization.project.id });
      const { t, lifetime, locale } = translator(localeOf(fields, request.headers));
      later.run('verification mail', async () => {
        const record = await users.findByEmail(email);
        if (record && !record.user.email_verified) await mailVerificationLink(services, record.user, locale, authorization);
      });
      const page = renderMessagePage(t('magic.check_mail_title'), [t('verify.check_mail', { email }), t('page.open_within', { lifetime: lifetime(config.emailVerificationTtlSeconds) })], locale, projectBrand(authorization.project));
      return { json: { sent: true }, status: prefersHtml(request) ? 200 : 202, page };
    }),
  );

  server.get('/verify-email', async (request, reply) => {
    const token = field(queryFields(request), 'token');
    const live = await tokens.peek(token, VERIFY_PURPOSES);
    const brand = await brandOfProject(services.projects, live?.authorization?.projectId);
    return answerLinkLook(request, reply, live && token !== undefined ? { token, redirectUri: live.authorization?.redirectUri, brand } : undefined, (t, b) =>
      renderVerifyEmailConfirmPage(t, requestLocale(request), b),
    );
  });

  server.post('/verify-email', async (request: FastifyRequest, reply: FastifyReply) => {
    const html = prefersHtml(request);
    const client = clientInfo(request);
    try {
      const taken = await tokens.take(field(bodyFields(request), 'token'), VERIFY_PURPOSES);
      if (!taken) throw InvalidOrExpiredToken();
      let verified: Verified;
      try {
        verified = taken.purpose === 'email_change' ? await changeEmail(request, taken, client) : await verify(request, taken, client);
      } catch (error) {
        if (isOutage(error)) await tokens.giveBack(taken).catch(() => {});
        throw error;
      }
      reply.header('cache-control', 'no-store');
      const { signedIn, secondStep } = verified;
      if (secondStep) {
        const { step, authorization } = secondStep;
        if (!html) return reply.code(200).send(step);
        return sendSecondStepPage(reply, authorization, { mfaToken: step.mfa_token, methods: step.methods, locale: requestLocale(request) });
      }
      if (signedIn) {
        reply.header('set-cookie', signedIn.cookie);
        if (html) return reply.code(303).header('location', signedIn.response.redirect_to).send();
        return reply.code(200).send({ verified: true, ...signedIn.response });
      }
      if (html) {
        const { t, locale } = translator(requestLocale(request));
        return sendHtml(reply, 200, renderMessagePage(t('verify.done_title'), [t('verify.done_text')], locale));
      }
      return reply.code(200).send({ verified: true });
    } catch (error) {
      if (!html || !(error instanceof HttpError)) throw error;
      // mfa.md: a require_mfa project and a person with no second factor: enrolment on the page.
      const enrolment = await answerEnrolment(services, request, reply, error, undefined);
      if (enrolment) return enrolment;
      return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, requestLocale(request)));
    }
  });
}
