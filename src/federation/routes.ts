// GET /connections/:id/start and GET /connections/:id/callback (docs/federation.md "The journey"):
// from the hosted page to the upstream provider and back, then the account, the project rules, the
// second step and the browser session as for any sign-in. The journey started from the account
// page to link another provider ends here too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  EmailAlreadyRegistered,
  EmailNotVerified,
  HttpError,
  InvalidOrExpiredToken,
  InvalidRequest,
  isError,
  UpstreamUnavailable,
} from '../errors.ts';
import * as E from '../errors.ts';
import { field, queryFields, type Fields } from '../http/fields.ts';
import { sendHtml } from '../http/html.ts';
import { clientInfo, prefersHtml } from '../http/negotiation.ts';
import { admitMember } from '../login/admission.ts';
import { presentedBrowserSession, requestCookie, signInWithBrowserSession } from '../login/browser-sign-in.ts';
import { secondStepFor } from '../login/mfa/second-step.ts';
import { offerVerificationMail } from '../login/verify-email/routes.ts';
import { checkAuthorizationRequest, resumeAuthorization, storeAuthorization, type AuthorizationRequest } from '../oauth/authorization-request.ts';
import type { RouteDoc } from '../openapi/route-docs.ts';
import { projectBrand } from '../pages/brand.ts';
import { localeOf, translator, type Locale } from '../pages/i18n.ts';
import { backToAppUrl, renderContinuePage, renderErrorPage, type PageBrand } from '../pages/render.ts';
import { sendSecondStepPage } from '../login/respond.ts';
import type { Services } from '../services.ts';
import { federatedAccount, fillEmptyProfile, assertedEmail, linkIdentity } from './accounts.ts';
import { cookieAfterCallback, journeyCookie, journeyCookieName, stateMatchesCookie, type Journey, type JourneyPurpose } from './journeys.ts';
import { authorizationUrl, exchangeCallback, newJourneySecrets, UpstreamError, type UpstreamClaims, type UpstreamClient } from './upstream.ts';
import type { Connection } from './connections.ts';

interface Asker {
  ip: string;
  userAgent: string | null;
}

/** The provider's answer, or the error the person sees: unreachable → 502, anything else (a forged or stale token) → 400. */
async function claimsOf(services: Services, request: FastifyRequest, client: UpstreamClient, connection: Connection, journey: Journey, state: string): Promise<UpstreamClaims> {
  const callbackUrl = new URL(connection.redirect_uri);
  callbackUrl.search = new URL(request.url, 'http://callback.invalid').search;
  try {
    return await exchangeCallback(client, services.clock, { callbackUrl, secrets: { state, nonce: journey.nonce, codeVerifier: journey.codeVerifier } });
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    request.log.warn({ connection: connection.id, reason: error.message }, 'the upstream provider\'s callback was refused');
    throw error.unreachable ? UpstreamUnavailable({ detail: error.message }) : InvalidOrExpiredToken({ detail: error.message });
  }
}

/** The page of a refusal, with a hint where one helps (the provider down; an email to link on /account). */
function errorPage(error: HttpError, locale: Locale, brand?: PageBrand): string {
  const tr = translator(locale);
  const { statusCode, message } = error;
  if (isError(error, UpstreamUnavailable)) return renderErrorPage(statusCode, message, tr.t('federation.upstream_hint'), locale, brand);
  if (isError(error, EmailAlreadyRegistered)) return renderErrorPage(statusCode, message, tr.t('federation.link_hint'), locale, brand);
  return renderErrorPage(statusCode, message, undefined, locale, brand);
}

/**
 * Whether a browser itself navigates here (`Sec-Fetch-Mode: navigate`, which browsers send and
 * scripts, curl and HTTP libraries do not): only then does the callback answer the continue page.
 */
function browserNavigation(request: FastifyRequest): boolean {
  return request.headers['sec-fetch-mode'] === 'navigate';
}

/**
 * On to the app: the spec's 302, except to a browser's own navigation, which gets a page that moves
 * on by itself (renderContinuePage): a provider's `form-action` CSP would block the redirect chain
 * (docs/decisions/0126-the-callback-continues-by-a-page.md).
 */
function continueToApp(request: FastifyRequest, reply: FastifyReply, location: string, authorization: AuthorizationRequest, locale: Locale, brand?: PageBrand): FastifyReply {
  reply.header('cache-control', 'no-store');
  if (!browserNavigation(request)) return reply.code(302).header('location', location).send();
  return sendHtml(reply, 200, renderContinuePage(location, authorization.project.name, locale, brand), undefined, brand);
}

function answerError(request: FastifyRequest, reply: FastifyReply, error: unknown, locale: Locale, brand?: PageBrand): FastifyReply {
  if (!(error instanceof HttpError)) throw error;
  if (!prefersHtml(request)) throw error;
  return sendHtml(reply, error.statusCode, errorPage(error, locale, brand), undefined, brand);
}

export function registerFederationRoutes(server: FastifyInstance, services: Services): void {
  const { config, connections, journeys, audit, users, projects } = services;

  const { issuer } = config;

  async function recordFailure(projectId: string | null, connectionId: string, asker: Asker, reason: string, subject: string | null = null): Promise<void> {
    await audit.record({ type: 'login.federated', outcome: 'failure', projectId, subject, ip: asker.ip, userAgent: asker.userAgent, detail: { connection_id: connectionId, reason } });
  }

  server.get<{ Params: { id: string } }>('/connections/:id/start', async (request, reply) => {
    const fields = queryFields(request);
    const locale = localeOf(fields, request.headers);
    let brand: PageBrand | undefined;
    try {
      // The four authorization checks first, as at every login endpoint.
      const authorization = await checkAuthorizationRequest(fields, projects);
      brand = projectBrand(authorization.project);
      const id = request.params.id;
      const found = authorization.project.connections.includes(id) ? await connections.client(id) : undefined;
      if (!found) throw InvalidRequest({ detail: 'the project offers no such connection' });
      const uiLocales = field(fields, 'ui_locales');
      const location = await beginJourney(services, requestCookie(request, journeyCookieName(issuer)), found, { purpose: 'sign_in', connectionId: id, authorization: storeAuthorization(authorization), ...(uiLocales !== undefined ? { uiLocales } : {}) });
      return reply.code(302).header('cache-control', 'no-store').header('set-cookie', location.cookie).header('location', location.url).send();
    } catch (error) {
      return answerError(request, reply, error, locale, brand);
    }
  });

  server.get<{ Params: { id: string } }>('/connections/:id/callback', async (request, reply) => {
    const fields = queryFields(request);
    const asker = clientInfo(request);
    const connectionId = request.params.id;
    const presented = requestCookie(request, journeyCookieName(issuer));
    // This journey's state has done its work whatever happens next: a journey is finished once.
    reply.header('set-cookie', cookieAfterCallback(issuer, field(fields, 'state'), presented));
    let locale = localeOf(undefined, request.headers);
    let brand: PageBrand | undefined;
    let authorization: AuthorizationRequest | undefined;
    let userId: string | null = null;
    try {
      const state = field(fields, 'state');
      if (!stateMatchesCookie(state, presented)) {
        await recordFailure(null, connectionId, asker, 'state does not match this browser');
        throw InvalidOrExpiredToken();
      }
      const journey = await journeys.take(state);
      if (!journey || journey.connectionId !== connectionId) {
        await recordFailure(null, connectionId, asker, 'no such journey (used, expired or never started)');
        throw InvalidOrExpiredToken();
      }
      if (journey.purpose === 'link') return await finishLink(request, reply, journey, state, fields, asker);

      if (journey.uiLocales !== undefined) locale = localeOf({ ui_locales: journey.uiLocales }, request.headers);
      // The project or its redirect URIs may have changed while the person was at the provider.
      authorization = await resumeAuthorization(journey.authorization, projects);
      if (!authorization) throw InvalidOrExpiredToken();
      brand = projectBrand(authorization.project);
      const projectId = authorization.project.id;
      // The person said no (or the provider refused): back to the app, which hears access_denied.
      const upstreamError = field(fields, 'error');
      if (upstreamError !== undefined) {
        await recordFailure(projectId, connectionId, asker, `the provider answered ${upstreamError.slice(0, 64)}`);
        return continueToApp(request, reply, backToAppUrl(authorization, issuer), authorization, locale, brand);
      }
      const found = authorization.project.connections.includes(connectionId) ? await connections.client(connectionId) : undefined;
      if (!found) throw InvalidRequest({ detail: 'the project offers no such connection' });
      const claims = await claimsOf(services, request, found.client, found.connection, journey, state);

      const account = await federatedAccount(services, { connectionId, claims, project: authorization.project, asker });
      userId = account.user.id;
      const user = await fillEmptyProfile(services, account.user, claims);
      // Then the project rules, as for any sign-in.
      await admitMember(users, authorization.project, user.id);
      if (authorization.project.require_verified_email && !user.email_verified) {
        await offerVerificationMail(services, request, user, authorization, locale);
        throw EmailNotVerified();
      }
      const step = await secondStepFor(services, authorization, user.id, ['fed']);
      await audit.record({
        type: 'login.federated',
        outcome: 'success',
        projectId,
        subject: user.id,
        ip: asker.ip,
        userAgent: asker.userAgent,
        detail: { connection_id: connectionId, via: account.via, ...(step ? { mfa_required: true } : {}) },
      });
      if (step) {
        // Its forms post to /login/mfa, which redirects to the app.
        return sendSecondStepPage(reply, authorization, { mfaToken: step.mfa_token, methods: step.methods, locale, ...(journey.uiLocales !== undefined ? { uiLocales: journey.uiLocales } : {}) });
      }
      const { response, browserSession } = await signInWithBrowserSession(services, request, authorization, user.id, ['fed']);
      reply.header('set-cookie', browserSession.cookie);
      return continueToApp(request, reply, response.redirect_to, authorization, locale, brand);
    } catch (error) {
      if (error instanceof HttpError && authorization) {
        const detail = error.extra.detail;
        await recordFailure(authorization.project.id, connectionId, asker, typeof detail === 'string' ? `${error.message}: ${detail}` : error.message, userId);
      }
      return answerError(request, reply, error, locale, brand);
    }
  });

  /** The end of "link another provider" on the account page: back to /account with a notice. */
  async function finishLink(request: FastifyRequest, reply: FastifyReply, journey: Extract<Journey, { purpose: 'link' }>, state: string, fields: Fields, asker: Asker): Promise<FastifyReply> {
    const back = (notice: string) => reply.code(303).header('cache-control', 'no-store').header('location', `/account?notice=${notice}`).send();
    // Only the browser session that started the link may finish it.
    const cookie = presentedBrowserSession(request, issuer);
    const session = cookie === undefined ? undefined : await services.browserSessions.use(cookie);
    if (!session || session.id !== journey.browserSessionId || session.userId !== journey.userId) throw InvalidOrExpiredToken();
    if (field(fields, 'error') !== undefined) return back('link_cancelled');
    const found = await connections.client(journey.connectionId);
    if (!found) throw InvalidOrExpiredToken();
    const record = await users.find(journey.userId);
    if (!record) throw InvalidOrExpiredToken();
    const claims = await claimsOf(services, request, found.client, found.connection, journey, state);
    const existing = await connections.identity(journey.connectionId, claims.sub);
    if (existing) return back(existing.user_id === journey.userId ? 'provider_linked' : 'provider_taken');
    await linkIdentity(services, { connectionId: journey.connectionId, sub: claims.sub, user: record.user, email: assertedEmail(claims)?.email ?? null, projectId: null, asker, reason: 'account_page' });
    await fillEmptyProfile(services, record.user, claims);
    return back('provider_linked');
  }
}

/** The provider's authorization URL for a new journey, and the cookie that binds its state to this browser. */
async function beginJourney(
  services: Pick<Services, 'journeys' | 'clock' | 'config'>,
  presentedCookie: string | undefined,
  found: { connection: Connection; client: UpstreamClient },
  journey: JourneyPurpose,
): Promise<{ url: string; cookie: string }> {
  const secrets = await newJourneySecrets();
  const url = await authorizationUrl(found.client, services.clock, { redirectUri: found.connection.redirect_uri, scope: found.connection.scopes, secrets });
  await services.journeys.start(journey, secrets);
  return { url, cookie: journeyCookie(services.config.issuer, secrets.state, presentedCookie) };
}

/**
 * The account page's "Link <provider>": the same journey, bound to this browser session; it ends in
 * a 303 back to /account. Undefined when there is no such connection. Throws UpstreamUnavailable.
 */
export async function startLinkJourney(
  services: Services,
  request: FastifyRequest,
  connectionId: string,
  who: { userId: string; browserSessionId: string },
): Promise<{ url: string; cookie: string } | undefined> {
  const found = await services.connections.client(connectionId);
  if (!found) return undefined;
  return beginJourney(services, requestCookie(request, journeyCookieName(services.config.issuer)), found, { purpose: 'link', connectionId, userId: who.userId, browserSessionId: who.browserSessionId });
}

/** The browser routes of the journey: their errors answer an HTML page to a browser (app.ts). */
export const FEDERATION_PAGE_ROUTES: readonly string[] = ['/connections/:id/start', '/connections/:id/callback'];

/** The OpenAPI entries of the journey (openapi/route-docs.ts). */
export const FEDERATION_ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /connections/:id/start': {
    summary: 'Leaves the hosted page for an upstream OpenID provider the project offers (docs/federation.md): PKCE S256, state bound to this browser by a cookie, nonce',
    tag: 'Login',
    errors: [E.MissingOrInvalidParameters, E.OnlyS256, E.InvalidClientId, E.InvalidRedirectUri],
    queryFields: { client_id: 'the project id', redirect_uri: 'one of its redirect URIs', response_type: '`code`', code_challenge: 'the app\'s S256 challenge', code_challenge_method: '`S256`', state: 'optional', scope: 'optional', nonce: 'optional' },
    success: { status: 302, description: 'to the provider\'s authorization endpoint; an unknown connection, or one the project does not offer, answers 400 `Invalid request`' },
  },
  'GET /connections/:id/callback': {
    summary: 'The redirect URI to register at the provider: checks the state against the browser\'s cookie, exchanges the code, validates the ID token, signs the person in',
    tag: 'Login',
    errors: [E.InvalidOrExpiredToken, E.RegistrationClosed, E.EmailAlreadyRegistered, E.AccountBlocked, E.NotAMember, E.EmailNotVerified, E.MfaEnrollmentRequired, E.UpstreamUnavailable],
    queryFields: { state: 'the journey\'s state', code: 'the provider\'s code', error: 'the provider\'s refusal: the app gets `error=access_denied`' },
    success: { status: 302, description: 'to the app with `code`, `state` and `iss` (a browser session with `amr: ["fed"]`); to a browser\'s own navigation (`Sec-Fetch-Mode: navigate`) a 200 page that moves on there by itself; with a second factor, the second step\'s page (200); the account page\'s link journey: 303 to `/account?notice=…`' },
  },
};
