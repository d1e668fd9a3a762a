// POST /login/pin: a device signs in with one of the project's shared PINs.
import type { FastifyInstance } from 'fastify';
import { InvalidPin, RateLimited } from '../../errors.ts';
import { clientInfo } from '../../http/negotiation.ts';
import { completeAuthorization } from '../../oauth/authorization-response.ts';
import type { Services } from '../../services.ts';
import { subjectId } from '../../sessions/subject.ts';
import { giveBackOnError } from '../../storage/rate-limits.ts';
import { answerLogin, loggedIn } from '../respond.ts';

export function registerPinLoginRoutes(server: FastifyInstance, services: Services): void {
  const { pins, limits, audit } = services;

  /**
   * Counts a PIN attempt against both failure budgets before the PIN is looked at (a success
   * gives the points back), so that a burst of parallel guesses cannot all pass a check made
   * before any of them had failed. Answers false when either budget is already spent.
   */
  async function reserveAttempt(ip: string, projectId: string): Promise<boolean> {
    if (!(await limits.pinFailuresPerIp.hit(ip))) return false;
    if (!(await limits.pinFailuresPerProject.hit(projectId))) {
      await limits.pinFailuresPerIp.refund(ip);
      return false;
    }
    return true;
  }

  server.post('/login/pin', (request, reply) =>
    answerLogin(request, reply, services, 'pin', async (authorization, fields) => {
      const { ip, userAgent } = clientInfo(request);
      const projectId = authorization.project.id;
      // Once an address, or the project as a whole, has used up its failures, even the right
      // PIN is refused until the window passes.
      if (!(await reserveAttempt(ip, projectId))) throw RateLimited();

      // Anything but a string of the configured number of digits matches no PIN.
      const pinId = await pins
        .findActive(projectId, fields.pin)
        .catch(giveBackOnError([limits.pinFailuresPerIp, ip], [limits.pinFailuresPerProject, projectId]));
      if (pinId === undefined) {
        // The attempt stays counted: a failure for this address and for the project.
        await audit.record({ type: 'login.pin', outcome: 'failure', projectId, subject: null, ip, userAgent, detail: { reason: 'invalid_pin' } });
        throw InvalidPin();
      }
      await Promise.all([limits.pinFailuresPerIp.refund(ip), limits.pinFailuresPerProject.refund(projectId)]);
      const subject = { kind: 'pin', pinId } as const;
      await audit.record({ type: 'login.pin', outcome: 'success', projectId, subject: subjectId(subject), ip, userAgent });
      return loggedIn(await completeAuthorization(services, authorization, subject, 'pin'));
    }),
  );
}
