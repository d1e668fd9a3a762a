// The shape every login endpoint shares: the authorization parameters are checked first,
// then the method's own work; JSON by default, and for the hosted page's form posts a
// 303 to the app on success or the page again, with the message, on failure.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EmailNotVerified, HttpError, InvalidOrExpiredToken, isError, LoginMethodNotAllowed } from '../errors.ts';
import type { LoginMethodName } from '../projects/projects.ts';
import { prefersHtml } from '../http/negotiation.ts';
import { checkAuthorizationRequest, type AuthorizationRequest } from '../oauth/authorization-request.ts';
import type { AuthorizationResponse } from '../oauth/authorization-response.ts';
import { backToAppUrl, renderErrorPage, renderLoginPage, renderSecondStepPage, type LoginForm } from '../pages/render.ts';
import { localeOf, requestLocale, type Locale } from '../pages/i18n.ts';
import type { Services } from '../services.ts';
import { bodyFields, field, type Fields } from '../http/fields.ts';
import { sendHtml } from '../http/html.ts';
import type { SecondStepRequired } from './mfa/second-step.ts';
import { answerEnrolment } from './mfa/enrolment-routes.ts';
import { projectBrand } from '../pages/brand.ts';
import type { PageBrand } from '../pages/render.ts';

interface LoginOutcome {
  /** JSON body on success */
  json: AuthorizationResponse | Record<string, unknown>;
  status: number;
  /** for the page: a redirect target, or a page to show */
  redirect?: string;
  page?: string;
  /** where the page's own form post may redirect to (form-action), when it does */
  formTarget?: string;
}

/** The sign-in method each login form is (registration sets a password). */
const METHOD_OF_FORM: Record<LoginForm, LoginMethodName> = { password: 'password', register: 'password', 'magic-link': 'magic_link', pin: 'pin', passkey: 'passkey' };

/** sso.md: the page shows the PIN form only when `pin` is allowed and the project has an active PIN. */
export async function showPinForm(services: Pick<Services, 'pins'>, authorization: AuthorizationRequest): Promise<boolean> {
  return authorization.project.login_methods.includes('pin') && (await services.pins.activePinCount(authorization.project.id)) > 0;
}

/** federation.md: the upstream providers of the project, for its page's "Continue with" links. */
export async function offeredConnections(services: Pick<Services, 'connections'>, authorization: AuthorizationRequest): Promise<Array<{ id: string; name: string }>> {
  return (await services.connections.named(authorization.project.connections)).map(({ id, name }) => ({ id, name }));
}

export async function answerLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  form: LoginForm,
  work: (authorization: AuthorizationRequest, fields: Fields) => Promise<LoginOutcome>,
  /** the page a failed form post is answered with, when it is not the login page (the reset request, the register page) */
  retryPage?: (authorization: AuthorizationRequest, fields: Fields, message: string, page: PageContext) => string,
): Promise<FastifyReply> {
  const fields = bodyFields(request);
  const html = prefersHtml(request);
  let authorization: AuthorizationRequest | undefined;
  try {
    authorization = await checkAuthorizationRequest(fields, services.projects);
    // sso.md: a method the project has switched off, right after the authorization checks.
    if (!authorization.project.login_methods.includes(METHOD_OF_FORM[form])) throw LoginMethodNotAllowed();
    const outcome = await work(authorization, fields);
    reply.header('cache-control', 'no-store');
    if (!html) return reply.code(outcome.status).send(outcome.json);
    if (outcome.redirect !== undefined) return reply.code(303).header('location', outcome.redirect).send();
    return sendHtml(reply, outcome.status, outcome.page ?? '', outcome.formTarget, projectBrand(authorization.project));
  } catch (error) {
    if (!html || !(error instanceof HttpError)) throw error;
    const locale = localeOf(fields, request.headers);
    if (!authorization) return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, locale));
    // mfa.md: a require_mfa project and a person with no second factor: enrolment on the page.
    const enrolment = await answerEnrolment(services, request, reply, error, fields);
    if (enrolment) return enrolment;
    const page = pageContext(services, authorization, fields, request);
    const brand = projectBrand(authorization.project);
    if (retryPage) return sendHtml(reply, error.statusCode, retryPage(authorization, fields, error.message, page), authorization.redirectUri, brand);
    const email = field(fields, 'email');
    return sendHtml(
      reply,
      error.statusCode,
      renderLoginPage({
        authorization,
        fields,
        error: { form, message: error.message },
        showPin: await showPinForm(services, authorization),
        connections: await offeredConnections(services, authorization),
        offerVerificationMail: isError(error, EmailNotVerified),
        ...page,
        ...(email !== undefined ? { email } : {}),
      }),
      authorization.redirectUri,
      brand,
    );
  }
}

/** What every page of an authorization request shows besides its form: its language and "Back to <app>". */
export interface PageContext {
  locale: Locale;
  backTo: string;
}

/** Only for an authorization request that passed the four checks: backTo is its registered redirect_uri. */
export function pageContext(services: Pick<Services, 'config'>, authorization: AuthorizationRequest, fields: Fields | undefined, request: FastifyRequest): PageContext {
  return { locale: localeOf(fields, request.headers), backTo: backToAppUrl(authorization, services.config.issuer) };
}

/**
 * A first factor that needs a second step (mfa.md): JSON gets the mfa_token and the methods, no
 * code; the page shows the second step, whose post redirects to the app.
 */
export function secondStepNeeded(step: SecondStepRequired, authorization: AuthorizationRequest, fields: Fields | undefined, request: FastifyRequest): LoginOutcome {
  return {
    json: { ...step },
    status: 200,
    // its forms post to /login/mfa, which redirects to the app
    page: secondStepPage(authorization, { mfaToken: step.mfa_token, methods: step.methods, locale: localeOf(fields, request.headers), uiLocales: field(fields, 'ui_locales') }),
    formTarget: authorization.redirectUri,
  };
}

/** A successful login: JSON holds redirect_to/code/state, the page is sent on to the app. */
export function loggedIn(response: AuthorizationResponse, status = 200): LoginOutcome {
  return { json: response, status, redirect: response.redirect_to };
}

/**
 * The GET of a mailed link (a magic link, a reset, a verification), which never uses the token up:
 * mail scanners open links. A live token answers the page whose form uses it (its post may
 * redirect to `redirectUri`, which form-action must then allow), or `{"valid": true}` for JSON;
 * anything else 400 Invalid or expired token.
 */
export function answerLinkLook(
  request: FastifyRequest,
  reply: FastifyReply,
  link: { token: string; redirectUri?: string | undefined; brand?: PageBrand | undefined } | undefined,
  page: (token: string, brand: PageBrand | undefined) => string,
): FastifyReply {
  const html = prefersHtml(request);
  reply.header('cache-control', 'no-store');
  if (!link) {
    if (!html) throw InvalidOrExpiredToken();
    return sendHtml(reply, InvalidOrExpiredToken.status, renderErrorPage(InvalidOrExpiredToken.status, InvalidOrExpiredToken.message, undefined, requestLocale(request)));
  }
  if (html) return sendHtml(reply, 200, page(link.token, link.brand), link.redirectUri, link.brand);
  return reply.code(200).send({ valid: true });
}

type SecondStepPageOptions = Omit<Parameters<typeof renderSecondStepPage>[0], 'brand'>;

/** The hosted second step (mfa.md) in the project's brand (accounts.md "Branding"). */
export function secondStepPage(authorization: AuthorizationRequest, options: SecondStepPageOptions): string {
  return renderSecondStepPage({ ...options, brand: projectBrand(authorization.project) });
}

/** The second step, sent: its CSP allows the logo, and the app as form-action (its posts to /login/mfa redirect there). */
export function sendSecondStepPage(reply: FastifyReply, authorization: AuthorizationRequest, options: SecondStepPageOptions, status = 200): FastifyReply {
  const brand = projectBrand(authorization.project);
  return sendHtml(reply, status, renderSecondStepPage({ ...options, brand }), authorization.redirectUri, brand);
}
