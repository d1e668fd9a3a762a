// POST /login/pin: a device signs in with one of the project's shared PINs.
import type { FastifyInstance } from 'fastify';
import { InvalidPin } from '../../errors.ts';
import { rateLimited } from '../../audit/rate-limit-refusals.ts';
import { clientInfo } from '../../http/negotiation.ts';
import { completeAuthorization } from '../../oauth/authorization-response.ts';
import type { Services } from '../../services.ts';
import { subjectId } from '../../sessions/subject.ts';
import { giveBackOnError, reserve } from '../../storage/rate-limits.ts';
import { answerLogin, loggedIn } from '../respond.ts';

export function registerPinLoginRoutes(server: FastifyInstance, services: Services): void {
  const { pins, limits, audit } = services;

  server.post('/login/pin', (request, reply) =>
    answerLogin(request, reply, services, 'pin', async (authorization, fields) => {
      const { ip, userAgent } = clientInfo(request);
      const projectId = authorization.project.id;
      // A PIN attempt counts against both failure budgets before the PIN is looked at (a
      // success gives the points back), so that a burst of parallel guesses cannot all pass a
      // check made before any of them had failed. Once an address, or the project as a whole,
      // has used up its failures, even the right PIN is refused until the window passes.
      const spent = await reserve([limits.pinFailuresPerIp, ip], [limits.pinFailuresPerProject, projectId]);
      if (spent) throw await rateLimited(audit, ...spent, { ip, userAgent, projectId });

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
