// POST /magic-link (send a sign-in link), GET /magic-link/verify (look, never use),
// POST /magic-link/verify (use the link once).
import { requestLocale } from '../../pages/i18n.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, InvalidOrExpiredToken, RegistrationClosed, ServiceUnavailable } from '../../errors.ts';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { giveBackOnError, reserve, type Limiter } from '../../storage/rate-limits.ts';
import { clientInfo, prefersHtml } from '../../http/negotiation.ts';
import { admitMember } from '../admission.ts';
import { answerLogin, sendSecondStepPage } from '../respond.ts';
import { magicLinkMessage } from '../../mail/templates.ts';
import { localeOf, translator } from '../../pages/i18n.ts';
import { signInWithBrowserSession, type StartedBrowserSession } from '../browser-sign-in.ts';
import type { AuthorizationResponse } from '../../oauth/authorization-response.ts';
import type { Project } from '../../projects/projects.ts';
import { renderErrorPage, renderMagicLinkConfirmPage, renderMessagePage } from '../../pages/render.ts';
import { answerEnrolment } from '../mfa/enrolment-routes.ts';
import { secondStepFor, type SecondStepRequired } from '../mfa/second-step.ts';
import type { Services } from '../../services.ts';
import { MagicLinks, type MagicLinkGrant } from './magic-links.ts';
import { resumeAuthorization, type AuthorizationRequest } from '../../oauth/authorization-request.ts';
import { answerLinkLook } from '../respond.ts';
import { bodyFields, field, queryFields } from '../../http/fields.ts';
import { sendHtml } from '../../http/html.ts';
import { brandOfProject, projectBrand } from '../../pages/brand.ts';
import { normalizeEmail } from '../../users/email.ts';
import { requireValidEmail } from '../../users/email.ts';
import { EmailAlreadyRegistered, isError } from '../../errors.ts';
import { mailboxProven } from '../../users/mailbox-proof.ts';
import { isOutage } from '../../storage/outage.ts';

type SignedIn =
  | { kind: 'signed_in'; response: AuthorizationResponse; userId: string; browserSession: StartedBrowserSession }
  /** mfa.md: the person has a second factor; the link took them to it */
  | { kind: 'second_step'; step: SecondStepRequired; userId: string; authorization: AuthorizationRequest };

export function registerMagicLinkRoutes(server: FastifyInstance, services: Services): void {
  const { config, users, projects, limits, audit, mailer, codes } = services;
  const links = new MagicLinks(services.kv, services.ids, services.clock, config.magicLinkTtlSeconds * 1000);

  /**
   * The account an address signs in as, by the rules of SPEC.md applied when the link is
   * used: a new address gets an account (and membership) only while the project is open.
   */
  async function accountFor(project: Project, email: string, client: { ip: string; userAgent: string | null }): Promise<string> {
    let existing = await users.findByEmail(email);
    if (!existing) {
      if (!project.registration_open) throw RegistrationClosed();
      const created = await users.create({ email, email_verified: true }).catch((error: unknown) => {
        // The address was registered meanwhile: treat it as the existing account it now is.
        if (isError(error, EmailAlreadyRegistered)) return undefined;
        throw error;
      });
      if (created) {
        await users.addMember(project.id, created.id);
        return created.id;
      }
      existing = await users.findByEmail(email);
      if (!existing) throw InvalidOrExpiredToken();
    }
    // Following the link proves the person reads this mailbox, whatever the project then decides.
    await mailboxProven(services, existing.user, { via: 'magic_link', projectId: project.id, ...client });
    await admitMember(users, project, existing.user.id);
    return existing.user.id;
  }

  async function useMagicLink(request: FastifyRequest, grant: MagicLinkGrant, client: { ip: string; userAgent: string | null }): Promise<SignedIn> {
    // The project or its redirect URIs may have changed since the link was sent.
    const authorization = await resumeAuthorization(grant, projects);
    if (!authorization) throw InvalidOrExpiredToken();
    const userId = await accountFor(authorization.project, grant.email, client);
    const step = await secondStepFor(services, authorization, userId, ['magic_link']);
    if (step) return { kind: 'second_step', step, userId, authorization };
    const { response, browserSession } = await signInWithBrowserSession(services, request, authorization, userId, ['magic_link']);
    return { kind: 'signed_in', response, userId, browserSession };
  }

  /**
   * Signs in with a peeked link, taking the token only once the sign-in is ready: a request that
   * fails on the way for an outage (503) leaves the link usable, and everything before the take
   * is safe to do again. Any other answer uses the link up, as before. Of racing requests the
   * one that takes the token wins; the codes of the others are withdrawn unseen.
   */
  async function redeem(request: FastifyRequest, token: string, grant: MagicLinkGrant, client: { ip: string; userAgent: string | null }): Promise<SignedIn> {
    let signedIn: SignedIn;
    try {
      signedIn = await useMagicLink(request, grant, client);
    } catch (error) {
      if (!isOutage(error)) await links.consume(token);
      throw error;
    }
    // Of a sign-in that does not happen, neither the code nor the browser session is ever seen.
    const withdraw = () =>
      signedIn.kind === 'second_step'
        ? services.mfaChallenges.discard(signedIn.step.mfa_token)
        : Promise.all([codes.consume(signedIn.response.code), services.browserSessions.end(signedIn.browserSession.id)]);
    if (!(await links.consume(token))) {
      await withdraw();
      throw InvalidOrExpiredToken();
    }
    try {
      await audit.record({ type: 'magic_link.used', outcome: 'success', projectId: grant.projectId, subject: signedIn.userId, ...client });
    } catch (error) {
      // Taken, but the answer will be a 503: the code is never seen, and the link comes back.
      if (isOutage(error)) await Promise.allSettled([withdraw(), links.giveBack(token, grant)]);
      throw error;
    }
    return signedIn;
  }

  server.post('/magic-link', (request, reply) =>
    answerLogin(request, reply, services, 'magic-link', async (authorization, fields) => {
      const { ip, userAgent } = clientInfo(request);
      const project = authorization.project;
      const email = requireValidEmail(field(fields, 'email') ?? '');
      const normalized = normalizeEmail(email);
      // Counted per email and per client address, and nothing here looks at accounts: the answer,
      // the limit and the mail are the same whether or not the email is registered.
      const sends: Array<[Limiter, string]> = [[limits.magicLinksPerEmail, normalized], [limits.mailSendsPerIp, ip]];
      const spent = await reserve(...sends);
      if (spent) throw await rateLimited(audit, ...spent, { ip, userAgent, projectId: project.id });

      // A send that fails for an outage is given back: three failures must not lock the email out.
      const created = await links.create(authorization, normalized).catch(giveBackOnError(...sends));
      const locale = localeOf(fields, request.headers);
      const link = `${config.issuer}/magic-link/verify?token=${encodeURIComponent(created.token)}`;
      try {
        await mailer.send(
          magicLinkMessage({ to: email, projectName: project.name, link, expiresInSeconds: config.magicLinkTtlSeconds, locale }),
        );
      } catch (error) {
        await links.discard(created).catch(() => {});
        request.log.error({ err: error }, 'magic link mail could not be sent');
        await giveBackOnError(...sends)(ServiceUnavailable());
      }
      await audit.record({ type: 'magic_link.sent', outcome: 'info', projectId: project.id, ip, userAgent, detail: { email: normalized } });
      const { t, lifetime } = translator(locale);
      const page = renderMessagePage(t('magic.check_mail_title'), [
        t('magic.sent', { app: project.name, email }),
        t('magic.open_within', { lifetime: lifetime(config.magicLinkTtlSeconds) }),
      ], locale, projectBrand(project));
      // The page's form post is answered with a page (200); JSON clients get 202 Accepted.
      return { json: { sent: true }, status: prefersHtml(request) ? 200 : 202, page };
    }),
  );

  server.get('/magic-link/verify', async (request, reply) => {
    const token = field(queryFields(request), 'token');
    const grant = await links.peek(token);
    // The button's post is answered with a redirect to the app, which form-action must allow.
    const brand = await brandOfProject(services.projects, grant?.projectId);
    return answerLinkLook(request, reply, grant && token !== undefined ? { token, redirectUri: grant.redirectUri, brand } : undefined, (t, b) => renderMagicLinkConfirmPage(t, requestLocale(request), b));
  });

  server.post('/magic-link/verify', async (request: FastifyRequest, reply: FastifyReply) => {
    const html = prefersHtml(request);
    const client = clientInfo(request);
    const { ip, userAgent } = client;
    let grant: MagicLinkGrant | null = null;
    try {
      const token = field(bodyFields(request), 'token');
      grant = await links.peek(token);
      if (!grant || token === undefined) throw InvalidOrExpiredToken();
      const signedIn = await redeem(request, token, grant, client);
      reply.header('cache-control', 'no-store');
      if (signedIn.kind === 'second_step') {
        const { step, authorization } = signedIn;
        if (!html) return reply.code(200).send(step);
        // The second step's post redirects to the app, which form-action must allow.
        return sendSecondStepPage(reply, authorization, { mfaToken: step.mfa_token, methods: step.methods, locale: requestLocale(request) });
      }
      const { response, browserSession } = signedIn;
      reply.header('set-cookie', browserSession.cookie);
      if (html) return reply.code(303).header('location', response.redirect_to).send();
      return reply.code(200).send(response);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      await audit.record({
        type: 'magic_link.used',
        outcome: 'failure',
        projectId: grant?.projectId ?? null,
        ip,
        userAgent,
        detail: { reason: error.message, ...(grant ? { email: grant.email } : {}) },
      });
      if (!html) throw error;
      // mfa.md: a require_mfa project and a person with no second factor: enrolment on the page.
      const enrolment = await answerEnrolment(services, request, reply, error, undefined);
      if (enrolment) return enrolment;
      return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, requestLocale(request)));
    }
  });
}
