// POST /login (email + password).
import type { FastifyInstance } from 'fastify';
import { EmailNotVerified, InvalidCredentials, isError, MfaEnrollmentRequired } from '../../errors.ts';
import { secondStepFor } from '../mfa/second-step.ts';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { clientInfo } from '../../http/negotiation.ts';
import { completeAuthorization } from '../../oauth/authorization-response.ts';
import type { Services } from '../../services.ts';
import { giveBackOnError, type Limiter } from '../../storage/rate-limits.ts';
import { admitMember } from '../admission.ts';
import { answerLogin, loggedIn, secondStepNeeded } from '../respond.ts';
import { startBrowserSession } from '../browser-sign-in.ts';
import { field } from '../../http/fields.ts';
import { offerVerificationMail } from '../verify-email/routes.ts';
import { localeOf } from '../../pages/i18n.ts';

const MAX_PASSWORD_INPUT = 1024;

export function registerLoginRoutes(server: FastifyInstance, services: Services): void {
  const { users, hasher, limits, audit } = services;

  server.post('/login', (request, reply) =>
    answerLogin(request, reply, services, 'password', async (authorization, fields) => {
      const { ip, userAgent } = clientInfo(request);
      const projectId = authorization.project.id;
      // The attempt is counted before the password is looked at and given back when the
      // credentials are right: a burst of parallel guesses cannot all slip past a check made
      // before any of them had failed. Once an address has used up its failures, even the
      // right password is refused until the window passes.
      const refused = (limit: Limiter, key: string, subject: string | null = null) =>
        rateLimited(audit, limit, key, { ip, userAgent, projectId, subject });
      if (!(await limits.passwordFailuresPerIp.hit(ip))) throw await refused(limits.passwordFailuresPerIp, ip);

      const email = field(fields, 'email') ?? '';
      const password = field(fields, 'password') ?? '';
      const record = email ? await users.findByEmail(email).catch(giveBackOnError([limits.passwordFailuresPerIp, ip])) : undefined;
      // The account's own budget, counted like the address's, keyed by the account (not the typed
      // email, whose case and spacing vary) so that many addresses cannot share out the guessing.
      // A spent account answers 429 without hashing, even to the right password; its owner still
      // has magic links.
      const attempt: Array<[Limiter, string]> = [[limits.passwordFailuresPerIp, ip]];
      if (record) {
        const account = limits.passwordFailuresPerAccount;
        const allowed = await account.hit(record.user.id).catch(giveBackOnError(...attempt));
        if (!allowed) {
          // Not a password failure of this address: nothing was checked.
          await limits.passwordFailuresPerIp.refund(ip);
          throw await refused(account, record.user.id, record.user.id);
        }
        attempt.push([account, record.user.id]);
      }
      // An unknown email costs the same hashing work as a wrong password. A hash refused for a
      // full queue (503) is an outage of this server, not a failure of the person.
      const valid = await (
        password.length > 0 && password.length <= MAX_PASSWORD_INPUT && record?.passwordHash
          ? hasher.verify(record.passwordHash, password)
          : hasher.verifyNothing(password.slice(0, MAX_PASSWORD_INPUT))
      ).catch(giveBackOnError(...attempt));
      if (!record || !valid) {
        await audit.record({ type: 'login.password', outcome: 'failure', projectId, subject: record?.user.id ?? null, ip, userAgent, detail: { reason: 'invalid_credentials' } });
        throw InvalidCredentials();
      }
      await Promise.all(attempt.map(([limit, key]) => limit.refund(key)));
      // Never on a failure: only a proven password is hashed again (and a failed upgrade leaves the old hash working).
      if (record.passwordHash) {
        await users.upgradePasswordHash(record.user.id, record.passwordHash, password).catch((err: unknown) => request.log.warn({ err }, 'upgrading a password hash failed'));
      }
      try {
        await admitMember(users, authorization.project, record.user.id);
      } catch (error) {
        await audit.record({ type: 'login.password', outcome: 'failure', projectId, subject: record.user.id, ip, userAgent, detail: { reason: (error as Error).message } });
        throw error;
      }
      // accounts.md: a project that requires a verified email refuses the sign-in, and mails a new link.
      if (authorization.project.require_verified_email && !record.user.email_verified) {
        await audit.record({ type: 'login.password', outcome: 'failure', projectId, subject: record.user.id, ip, userAgent, detail: { reason: EmailNotVerified.message } });
        await offerVerificationMail(services, request, record.user, authorization, localeOf(fields, request.headers));
        throw EmailNotVerified();
      }
      // mfa.md: a person with a second factor goes on to it; one without, to a project that requires one, is refused.
      let secondStep;
      try {
        secondStep = await secondStepFor(services, authorization, record.user.id, ['pwd']);
      } catch (error) {
        if (isError(error, MfaEnrollmentRequired)) await audit.record({ type: 'login.password', outcome: 'failure', projectId, subject: record.user.id, ip, userAgent, detail: { reason: MfaEnrollmentRequired.message } });
        throw error;
      }
      await audit.record({ type: 'login.password', outcome: 'success', projectId, subject: record.user.id, ip, userAgent, ...(secondStep ? { detail: { mfa_required: true } } : {}) });
      if (secondStep) return secondStepNeeded(secondStep, authorization, fields, request);
      const browserSessionId = await startBrowserSession(services, request, reply, record.user.id, ['pwd']);
      return loggedIn(await completeAuthorization(services, authorization, { kind: 'user', userId: record.user.id }, 'pwd', { browserSessionId }));
    }),
  );
}
