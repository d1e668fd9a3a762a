// GET /password-reset (the page "Forgot password?" leads to), POST /password-reset (mail a reset
// link), GET /password-reset/verify (look, never use), POST /password-reset/verify (set the new
// password with the link, once, and sign in to the app the request came from).
import { localeOf, requestLocale, translator } from '../../pages/i18n.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { HttpError, InvalidOrExpiredToken, InvalidPassword, isError } from '../../errors.ts';
import { bodyFields, field, queryFields } from '../../http/fields.ts';
import { sendHtml } from '../../http/html.ts';
import { brandOfProject, projectBrand } from '../../pages/brand.ts';
import { clientInfo, prefersHtml } from '../../http/negotiation.ts';
import { MailAfterAnswer } from '../../mail/background.ts';
import { passwordResetMessage } from '../../mail/account-messages.ts';
import { checkAuthorizationRequest, resumeAuthorization } from '../../oauth/authorization-request.ts';
import { renderErrorPage, renderMessagePage, renderNewPasswordPage, renderPasswordResetPage } from '../../pages/render.ts';
import { answerEnrolment } from '../mfa/enrolment-routes.ts';
import { secondStepFor } from '../mfa/second-step.ts';
import type { Services } from '../../services.ts';
import { isOutage } from '../../storage/outage.ts';
import { reserve } from '../../storage/rate-limits.ts';
import { normalizeEmail, requireValidEmail } from '../../users/email.ts';
import { mailboxProven } from '../../users/mailbox-proof.ts';
import { PASSWORD_REJECTIONS, requireAcceptablePassword } from '../../users/password-policy.ts';
import { admitMember } from '../admission.ts';
import { signInWithBrowserSession } from '../browser-sign-in.ts';
import { answerLinkLook, answerLogin, sendSecondStepPage } from '../respond.ts';
import { accountTokens } from '../verify-email/routes.ts';

const RESET: ['password_reset'] = ['password_reset'];

export function registerPasswordResetRoutes(server: FastifyInstance, services: Services): void {
  const { config, users, limits, audit, mailer, projects, sessions, browserSessions } = services;
  const tokens = accountTokens(services);
  const later = new MailAfterAnswer(server.log);
  server.addHook('onClose', () => later.settled());

  server.get('/password-reset', async (request, reply) => {
    const fields = queryFields(request);
    const authorization = await checkAuthorizationRequest(fields, projects);
    const email = field(fields, 'login_hint');
    const page = renderPasswordResetPage({ authorization, fields, locale: localeOf(fields, request.headers), ...(email !== undefined && email.length <= 320 ? { email } : {}) });
    return sendHtml(reply, 200, page, authorization.redirectUri, projectBrand(authorization.project));
  });

  server.post('/password-reset', (request, reply) =>
    answerLogin(
      request,
      reply,
      services,
      'password',
      async (authorization, fields) => {
        const { ip, userAgent } = clientInfo(request);
        const email = requireValidEmail(field(fields, 'email') ?? '');
        // Counted per email and per client address whether or not the email has an account; the
        // mail goes after the answer, so that neither the answer nor its timing tells.
        const spent = await reserve([limits.passwordResetsPerEmail, normalizeEmail(email)], [limits.mailSendsPerIp, ip]);
        if (spent) throw await rateLimited(audit, ...spent, { ip, userAgent, projectId: authorization.project.id });
        // The mail and the page are in the request's language (ui_locales, then Accept-Language).
        const locale = localeOf(fields, request.headers);
        later.run('password reset mail', async () => {
          const record = await users.findByEmail(email);
          if (!record) return;
          const { token, issued } = await tokens.issue({ purpose: 'password_reset', user: record.user, authorization, ttlMs: config.passwordResetTtlSeconds * 1000 });
          // The newer request ends the older links, before its own is mailed.
          await tokens.endOlder(issued);
          const link = `${config.issuer}/password-reset/verify?token=${encodeURIComponent(token)}`;
          await tokens.mail(issued, () =>
            mailer.send(passwordResetMessage({ to: record.user.email, projectName: authorization.project.name, link, expiresInSeconds: config.passwordResetTtlSeconds, locale })),
          );
          await audit.record({ type: 'password.reset_requested', outcome: 'info', projectId: authorization.project.id, subject: record.user.id, ip, userAgent });
        });
        const { t, lifetime } = translator(locale);
        const page = renderMessagePage(t('magic.check_mail_title'), [t('reset.check_mail', { email }), t('page.open_within', { lifetime: lifetime(config.passwordResetTtlSeconds) })], locale, projectBrand(authorization.project));
        return { json: { sent: true }, status: prefersHtml(request) ? 200 : 202, page };
      },
      (authorization, fields, message, page) => renderPasswordResetPage({ authorization, fields, error: message, locale: page.locale, ...(field(fields, 'email') !== undefined ? { email: field(fields, 'email') } : {}) }),
    ),
  );

  server.get('/password-reset/verify', async (request, reply) => {
    const token = field(queryFields(request), 'token');
    const live = await tokens.peek(token, RESET);
    const brand = await brandOfProject(projects, live?.authorization?.projectId);
    return answerLinkLook(request, reply, live && token !== undefined ? { token, redirectUri: live.authorization?.redirectUri, brand } : undefined, (t, b) =>
      renderNewPasswordPage(t, undefined, requestLocale(request), b),
    );
  });

  server.post('/password-reset/verify', async (request: FastifyRequest, reply: FastifyReply) => {
    const html = prefersHtml(request);
    const client = clientInfo(request);
    const fields = bodyFields(request);
    const token = field(fields, 'token');
    try {
      // The policy first: a refused password leaves the link usable, so a typo does not burn it.
      requireAcceptablePassword(field(fields, 'password') ?? '');
      const password = field(fields, 'password') ?? '';
      const live = await tokens.peek(token, RESET);
      const authorization = live?.authorization ? await resumeAuthorization(live.authorization, projects) : undefined;
      // A link an admin had mailed (POST /admin/users/:id/password-reset) carries no sign-in to finish.
      if (!live || (live.authorization !== null && !authorization)) throw InvalidOrExpiredToken();
      const taken = await tokens.take(token, RESET);
      if (!taken) throw InvalidOrExpiredToken();
      const userId = taken.userId;
      try {
        const record = await users.find(userId);
        if (!record) throw InvalidOrExpiredToken();
        // A reset proves the mailbox: an unverified account's registrant loses what they had (H1).
        await mailboxProven(services, record.user, { via: 'password_reset', projectId: authorization?.project.id ?? null, ...client });
        await users.update(userId, { password, email_verified: true });
        // Whoever knew the old password, or held a session, keeps nothing: every project's
        // refresh chains and every browser session end, after the password changed.
        await sessions.revokeWhere({ userId });
        await browserSessions.endForUser(userId);
        await audit.record({ type: 'password.reset', outcome: 'success', projectId: authorization?.project.id ?? null, subject: userId, ...client });
      } catch (error) {
        // Each step is safe to repeat: a 503 gives the link back.
        if (isOutage(error)) await tokens.giveBack(taken).catch(() => {});
        throw error;
      }
      if (!authorization) {
        // Nothing to sign in to: the page says the password is set (decision 0120).
        const { t } = translator(requestLocale(request));
        reply.header('cache-control', 'no-store');
        if (!html) return reply.code(200).send({ password_changed: true });
        return sendHtml(reply, 200, renderMessagePage(t('mail.password_changed_subject'), [t('mail.password_changed_others')], requestLocale(request)));
      }
      // The usual project rules; the password stays changed either way.
      await admitMember(users, authorization.project, userId);
      // mfa.md: a reset is a first factor; a person with a second factor takes it before signing in.
      const step = await secondStepFor(services, authorization, userId, ['magic_link']);
      if (step) {
        reply.header('cache-control', 'no-store');
        if (!html) return reply.code(200).send(step);
        return sendSecondStepPage(reply, authorization, { mfaToken: step.mfa_token, methods: step.methods, locale: requestLocale(request) });
      }
      const { response, browserSession } = await signInWithBrowserSession(services, request, authorization, userId, ['magic_link']);
      reply.header('cache-control', 'no-store');
      reply.header('set-cookie', browserSession.cookie);
      if (html) return reply.code(303).header('location', response.redirect_to).send();
      return reply.code(200).send(response);
    } catch (error) {
      if (!html || !(error instanceof HttpError)) throw error;
      // mfa.md: a require_mfa project and a person with no second factor: enrolment on the page.
      const enrolment = await answerEnrolment(services, request, reply, error, undefined);
      if (enrolment) return enrolment;
      // The form again for a refused password: the link still works.
      const live = isError(error, InvalidPassword) && token !== undefined ? await tokens.peek(token, RESET) : undefined;
      if (live && token !== undefined) {
        // Its post is answered with a redirect to the app, which form-action must allow.
        const brand = await brandOfProject(projects, live.authorization?.projectId);
        return sendHtml(reply, error.statusCode, renderNewPasswordPage(token, passwordAdvice(error), requestLocale(request), brand), live.authorization?.redirectUri, brand);
      }
      return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, requestLocale(request)));
    }
  });
}

/** The refusal in words, for the page. */
function passwordAdvice(error: HttpError): string {
  const reason = error.extra.reason;
  return typeof reason === 'string' && reason in PASSWORD_REJECTIONS ? `${error.message}: ${PASSWORD_REJECTIONS[reason as keyof typeof PASSWORD_REJECTIONS]}.` : error.message;
}
