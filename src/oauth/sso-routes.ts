// The answer of GET /authorize once the reference's four checks pass (docs/sso.md): single sign-on
// with the browser session, or the login page; and POST /authorize, the "Continue as" button of
// the select_account page (a same-origin form, src/http/same-origin.ts).
import { answerEnrolment } from '../login/mfa/enrolment-routes.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EmailNotVerified, HttpError } from '../errors.ts';
import { bodyFields, field, type Fields } from '../http/fields.ts';
import { sendHtml } from '../http/html.ts';
import { projectBrand } from '../pages/brand.ts';
import { prefersHtml } from '../http/negotiation.ts';
import { renderErrorPage, renderLoginPage, renderSelectAccountPage } from '../pages/render.ts';
import type { Services } from '../services.ts';
import { checkAuthorizationRequest, type AuthorizationRequest } from './authorization-request.ts';
import { signOn } from './single-sign-on.ts';
import { offeredConnections, pageContext, sendSecondStepPage, showPinForm } from '../login/respond.ts';
import { localeOf } from '../pages/i18n.ts';
import { offerVerificationMail } from '../login/verify-email/routes.ts';

/** What GET /authorize (and the select_account page's post) answers after the four checks. */
export async function answerAuthorization(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  authorization: AuthorizationRequest,
  fields: Fields | undefined,
  continuing = false,
): Promise<FastifyReply> {
  const outcome = await signOn(services, request, authorization, fields, continuing);
  const context = pageContext(services, authorization, fields, request);
  const brand = projectBrand(authorization.project);
  switch (outcome.kind) {
    case 'signed_in':
      return reply.code(302).header('cache-control', 'no-store').header('location', outcome.response.redirect_to).send();
    case 'error_redirect':
      return reply.code(302).header('cache-control', 'no-store').header('location', outcome.location).send();
    case 'refused':
      // mfa.md: a require_mfa project and a person with no second factor: enrolment on the page.
      return (
        (await answerEnrolment(services, request, reply, outcome.error, fields)) ??
        sendHtml(reply, outcome.error.statusCode, renderErrorPage(outcome.error.statusCode, outcome.error.message, undefined, context.locale, brand), undefined, brand)
      );
    case 'unverified': {
      // The login page with the refusal beside the password form and "Send the link again"; a new link is mailed.
      await offerVerificationMail(services, request, outcome.user, authorization, context.locale);
      const page = renderLoginPage({
        authorization,
        fields: fields ?? {},
        showPin: await showPinForm(services, authorization),
        connections: await offeredConnections(services, authorization),
        error: { form: 'password', message: EmailNotVerified.message },
        offerVerificationMail: true,
        email: outcome.user.email,
        ...context,
      });
      return sendHtml(reply, EmailNotVerified.status, page, authorization.redirectUri, brand);
    }
    case 'second_step': {
      // Its post redirects to the app, which form-action must allow.
      const { step } = outcome;
      return sendSecondStepPage(reply, authorization, { mfaToken: step.mfa_token, methods: step.methods, locale: context.locale, uiLocales: field(fields, 'ui_locales') });
    }
    case 'select_account':
      return sendHtml(reply, 200, renderSelectAccountPage({ authorization, fields: fields ?? {}, email: outcome.email, ...context }), authorization.redirectUri, brand);
    case 'login_page': {
      // login_hint prefills the email fields, and nothing else.
      const hint = field(fields, 'login_hint');
      const page = renderLoginPage({
        authorization,
        fields: fields ?? {},
        showPin: await showPinForm(services, authorization),
        connections: await offeredConnections(services, authorization),
        ...(hint !== undefined && hint.length <= 320 ? { email: hint } : {}),
        ...context,
      });
      return sendHtml(reply, 200, page, authorization.redirectUri, brand);
    }
  }
}

export function registerSingleSignOnRoutes(server: FastifyInstance, services: Services): void {
  server.post('/authorize', async (request, reply) => {
    const fields = bodyFields(request);
    try {
      const authorization = await checkAuthorizationRequest(fields, services.projects);
      return await answerAuthorization(services, request, reply, authorization, fields, true);
    } catch (error) {
      if (error instanceof HttpError && prefersHtml(request)) {
        return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, localeOf(fields, request.headers)));
      }
      throw error;
    }
  });
}
