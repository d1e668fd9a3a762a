// POST /register (email + password): a new account, a member of the project it signed up to.
import { localeOf, translator } from '../../pages/i18n.ts';
import { checkProfile } from '../../users/profile.ts';
import type { FastifyInstance } from 'fastify';
import { EmailAlreadyRegistered, HttpError, LoginMethodNotAllowed, RegistrationClosed, ServiceUnavailable } from '../../errors.ts';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { clientInfo } from '../../http/negotiation.ts';
import { completeAuthorization } from '../../oauth/authorization-response.ts';
import { EnrolmentNeeded } from '../mfa/second-step.ts';
import type { Services } from '../../services.ts';
import { answerLogin, loggedIn, pageContext } from '../respond.ts';
import { startBrowserSession } from '../browser-sign-in.ts';
import { field, queryFields } from '../../http/fields.ts';
import { sendHtml } from '../../http/html.ts';
import { projectBrand } from '../../pages/brand.ts';
import { checkAuthorizationRequest, storeAuthorization } from '../../oauth/authorization-request.ts';
import { requireAcceptablePassword } from '../../users/password-policy.ts';
import { requireValidEmail } from '../../users/email.ts';
import { renderMessagePage, renderRegisterPage } from '../../pages/render.ts';
import { prefersHtml } from '../../http/negotiation.ts';
import { mailVerificationLink } from '../verify-email/routes.ts';

export function registerRegistrationRoutes(server: FastifyInstance, services: Services): void {
  const { users, limits, audit } = services;

  // The page of "Create an account" (accounts.md "The hosted pages"): the authorization request's
  // four checks first, then what the post would refuse before anything else (a method switched
  // off, registration closed). The JSON POST /register is unchanged.
  server.get('/register', async (request, reply) => {
    const fields = queryFields(request);
    const authorization = await checkAuthorizationRequest(fields, services.projects);
    if (!authorization.project.login_methods.includes('password')) throw LoginMethodNotAllowed();
    if (!authorization.project.registration_open) throw RegistrationClosed();
    reply.header('cache-control', 'no-store');
    const email = field(fields, 'login_hint');
    const page = renderRegisterPage({ authorization, fields, ...pageContext(services, authorization, fields, request), ...(email !== undefined && email.length <= 320 ? { email } : {}) });
    return sendHtml(reply, 200, page, authorization.redirectUri, projectBrand(authorization.project));
  });

  server.post('/register', (request, reply) =>
    answerLogin(request, reply, services, 'register', async (authorization, fields) => {
      const { ip, userAgent } = clientInfo(request);
      const project = authorization.project;
      const failed = (reason: string) =>
        audit.record({ type: 'register', outcome: 'failure', projectId: project.id, ip, userAgent, detail: { reason } });
      try {
        // Checks in the order of SPEC.md: every request past the authorization parameters
        // counts towards the address's signups, whatever its outcome.
        if (!(await limits.signupsPerIp.hit(ip))) throw await rateLimited(audit, limits.signupsPerIp, ip, { ip, userAgent, projectId: project.id });
        if (!project.registration_open) throw RegistrationClosed();
        const password = field(fields, 'password') ?? '';
        requireAcceptablePassword(password);
        const email = requireValidEmail(field(fields, 'email') ?? '');
        if (await users.findByEmail(email)) throw EmailAlreadyRegistered();
        // An optional display name (sso.md "Profile claims"), checked after the reference's checks; an empty field is no name.
        const { name } = checkProfile({ name: field(fields, 'name') || undefined });
        // create() also refuses a taken email, so two racing signups cannot both succeed.
        const user = await users.create({ email, password, email_verified: false, ...(name ? { name } : {}) });
        await users.addMember(project.id, user.id);
        await audit.record({ type: 'register', outcome: 'success', projectId: project.id, subject: user.id, ip, userAgent });
        // accounts.md: the verification link, which also signs in to this project. Not held to the
        // per-email limit: the address is new, and others may have spent that limit asking for it
        // (signups are bounded per client address).
        const mailed = await mailVerificationLink(services, user, localeOf(fields, request.headers), authorization).then(
          () => true,
          (err: unknown) => {
            request.log.error({ err }, 'verification mail could not be sent');
            return false;
          },
        );
        if (project.require_verified_email) {
          // No code until the email is proven: the link signs the person in. Without the mail, say
          // so (a sign-in with the password mails a new link).
          if (!mailed) throw ServiceUnavailable();
          const { t, locale } = translator(localeOf(fields, request.headers));
          const page = renderMessagePage(t('magic.check_mail_title'), [t('register.check_mail', { email: user.email, app: project.name })], locale, projectBrand(project));
          return { json: { verification_sent: true }, status: prefersHtml(request) ? 200 : 202, page };
        }
        // mfa.md: a project that requires a second factor leads the new person through adding one
        // first (the hosted page; JSON answers 403 MFA enrollment required). The account stands.
        if (project.require_mfa) throw new EnrolmentNeeded({ userId: user.id, authorization: storeAuthorization(authorization), amr: ['pwd'] });
        const browserSessionId = await startBrowserSession(services, request, reply, user.id, ['pwd']);
        return loggedIn(await completeAuthorization(services, authorization, { kind: 'user', userId: user.id }, 'pwd', { browserSessionId }), 201);
      } catch (error) {
        if (error instanceof HttpError && !(error instanceof EnrolmentNeeded)) await failed(error.message);
        throw error;
      }
    }, (authorization, fields, message, page) => {
      const email = field(fields, 'email');
      return renderRegisterPage({ authorization, fields, error: message, ...page, ...(email !== undefined ? { email } : {}) });
    }),
  );
}
