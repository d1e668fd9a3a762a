// mfa.md "Passkey as the only step": POST /login/passkey/options and POST /login/passkey, for the
// hosted page's "Sign in with a passkey" and for apps' own UIs; and the pages' one script file.
// The sign-in takes the authorization parameters as every login endpoint does, and answers as they
// do (redirect_to/code/state; a 303 for the hosted page's form). A passkey verified with user
// verification counts as two factors (docs/decisions/0098): `amr: ["hwk"]`, no second step.
import type { FastifyInstance } from 'fastify';
import * as E from '../../errors.ts';
import { EmailNotVerified, InvalidCredentials, LoginMethodNotAllowed, MissingRequiredFields } from '../../errors.ts';
import { bodyFields } from '../../http/fields.ts';
import { clientInfo } from '../../http/negotiation.ts';
import { checkAuthorizationRequest } from '../../oauth/authorization-request.ts';
import type { RouteDoc } from '../../openapi/route-docs.ts';
import { localeOf } from '../../pages/i18n.ts';
import type { Services } from '../../services.ts';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { admitMember } from '../admission.ts';
import { signInWithBrowserSession } from '../browser-sign-in.ts';
import { answerLogin, loggedIn } from '../respond.ts';
import { offerVerificationMail } from '../verify-email/routes.ts';
import { PASSKEY_SCRIPT_PATH, PasskeyScript } from './script.ts';

export function registerPasskeyLoginRoutes(server: FastifyInstance, services: Services): void {
  const { audit, passkeyCeremonies, users } = services;
  const script = new PasskeyScript();

  server.get(PASSKEY_SCRIPT_PATH, async (_request, reply) => {
    const source = await script.source();
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(source);
  });

  // The options of navigator.credentials.get for a sign-in with any passkey of this RP: the
  // authorization checks first, then the project's methods, as at every login endpoint.
  server.post('/login/passkey/options', async (request, reply) => {
    const fields = bodyFields(request);
    const authorization = await checkAuthorizationRequest(fields, services.projects);
    if (!authorization.project.login_methods.includes('passkey')) throw LoginMethodNotAllowed();
    // Each challenge is a key-value row for 5 minutes: an address asks for a bounded number of them.
    const { ip, userAgent } = clientInfo(request);
    if (!(await services.limits.passkeyChallengesPerIp.hit(ip))) {
      throw await rateLimited(audit, services.limits.passkeyChallengesPerIp, ip, { ip, userAgent, projectId: authorization.project.id });
    }
    const options = await passkeyCeremonies.authenticationOptions({ kind: 'sign_in', projectId: authorization.project.id });
    return reply.code(200).header('cache-control', 'no-store').send(options);
  });

  server.post('/login/passkey', (request, reply) =>
    answerLogin(request, reply, services, 'passkey', async (authorization, fields) => {
      const { ip, userAgent } = clientInfo(request);
      const projectId = authorization.project.id;
      const response: unknown = fields.passkey_response;
      if (response === undefined || response === '') throw MissingRequiredFields();
      const fail = (subject: string | null, reason: string) => audit.record({ type: 'login.passkey', outcome: 'failure', projectId, subject, ip, userAgent, detail: { reason } });
      // In order: the challenge (made for this project, taken once), a passkey we know, its
      // person's user handle, RP ID, origin, user verification, signature, sign count.
      const passkey = await passkeyCeremonies.verifyAuthentication(response, { kind: 'sign_in', projectId });
      const record = passkey && (await users.find(passkey.userId));
      if (!passkey || !record) {
        await fail(passkey?.userId ?? null, 'invalid_credentials');
        throw InvalidCredentials();
      }
      const userId = record.user.id;
      try {
        await admitMember(users, authorization.project, userId);
      } catch (error) {
        await fail(userId, (error as Error).message);
        throw error;
      }
      // accounts.md: a project that requires a verified email refuses the sign-in, and mails a new link.
      if (authorization.project.require_verified_email && !record.user.email_verified) {
        await fail(userId, EmailNotVerified.message);
        await offerVerificationMail(services, request, record.user, authorization, localeOf(fields, request.headers));
        throw EmailNotVerified();
      }
      const { response: answer, browserSession } = await signInWithBrowserSession(services, request, authorization, userId, ['hwk']);
      reply.header('set-cookie', browserSession.cookie);
      await audit.record({ type: 'login.passkey', outcome: 'success', projectId, subject: userId, ip, userAgent, detail: { passkey_id: passkey.id } });
      return loggedIn(answer);
    }),
  );
}

const AUTHORIZATION_ERRORS = [E.MissingOrInvalidParameters, E.OnlyS256, E.InvalidClientId, E.InvalidRedirectUri];
const AUTHORIZATION_FIELDS_DOC = 'the authorization parameters, as at `POST /login`: `response_type`, `client_id`, `redirect_uri`, `code_challenge`, `code_challenge_method`, `state`, `scope`, `nonce`';

/** The OpenAPI entries of the passkey routes (openapi/route-docs.ts). */
export const PASSKEY_ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /assets/passkeys.js': { summary: 'The one script of the hosted pages: the passkey forms, with @simplewebauthn/browser (docs/mfa.md)', tag: 'Pages', errors: [], success: { status: 200, description: 'JavaScript', contentType: 'text/javascript' } },
  'POST /login/passkey/options': {
    summary: 'The WebAuthn options of a sign-in with a passkey alone (docs/mfa.md): any discoverable credential of this RP, user verification required; the challenge lives 5 minutes, single use, for this project; `GATEHOUSE_PASSKEY_CHALLENGES_PER_IP` (30) per client address a minute, then 429',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, LoginMethodNotAllowed, E.Forbidden, E.RateLimited],
    bodyFields: { fields: AUTHORIZATION_FIELDS_DOC },
    success: { status: 200, description: '`PublicKeyCredentialRequestOptionsJSON`, as `startAuthentication` of @simplewebauthn/browser takes it' },
  },
  'POST /login/passkey': {
    summary: 'Signs in with a passkey alone: `amr: ["hwk"]`, which counts as two factors for `require_mfa` (docs/mfa.md)',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, LoginMethodNotAllowed, MissingRequiredFields, InvalidCredentials, EmailNotVerified, E.AccountBlocked, E.NotAMember, E.Forbidden],
    bodyFields: { fields: AUTHORIZATION_FIELDS_DOC, passkey_response: 'the answer of `startAuthentication` to the options (an `AuthenticationResponseJSON`; an object in JSON, its JSON text in a form)' },
    success: { status: 200, description: '`{"redirect_to", "code", "state"}`; a form post from the hosted page gets a 303 to `redirect_to`' },
  },
  'POST /login/mfa/passkey/options': {
    summary: 'The WebAuthn options of the second step with a passkey (docs/mfa.md): the mfa_token\'s person\'s own passkeys; the mfa_token is not used up. The answer goes to `POST /login/mfa` as `passkey_response`',
    tag: 'Login',
    errors: [MissingRequiredFields, E.InvalidOrExpiredToken, E.Forbidden],
    bodyFields: { mfa_token: 'the `mfa_token` of the first factor\'s answer' },
    success: { status: 200, description: '`PublicKeyCredentialRequestOptionsJSON`' },
  },
};
