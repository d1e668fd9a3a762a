// POST /login/pin, and the PIN rows of the admin API (create, list, revoke).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../admin/guard.ts';
import { InvalidPin, InvalidRequest, MaxActivePins, NotFound, RateLimited } from '../errors.ts';
import { answerLogin, loggedIn } from '../login/respond.ts';
import { bodyFields, clientInfo } from '../http/negotiation.ts';
import { completeAuthorization } from '../oauth/authorization-response.ts';
import type { Services } from '../services.ts';
import { giveBackOnError } from '../storage/rate-limits.ts';

export const MAX_LABEL_LENGTH = 100;

interface ProjectParams {
  id: string;
}

interface PinParams extends ProjectParams {
  pin_id: string;
}

/** The optional `label` of a new PIN: absent, null or empty means none; else a string of at most 100 characters. */
function labelOf(request: FastifyRequest): string | null {
  const label = bodyFields(request).label;
  if (label === undefined || label === null || label === '') return null;
  if (typeof label !== 'string' || [...label].length > MAX_LABEL_LENGTH) {
    throw InvalidRequest({ detail: `label must be a string of at most ${MAX_LABEL_LENGTH} characters` });
  }
  return label;
}

export function registerPinRoutes(server: FastifyInstance, services: Services): void {
  const { pins, projects, limits, audit } = services;

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
      await audit.record({ type: 'login.pin', outcome: 'success', projectId, subject: `pin:${pinId}`, ip, userAgent });
      return loggedIn(await completeAuthorization(services, authorization, { kind: 'pin', pinId }, 'pin'));
    }),
  );

  async function existingProject(id: string): Promise<string> {
    const record = await projects.find(id);
    if (!record) throw NotFound();
    return record.project.id;
  }

  server.get<{ Params: ProjectParams }>('/admin/projects/:id/pins', async (request) => {
    await requireAdmin(services, request);
    const projectId = await existingProject(request.params.id);
    return { pins: await pins.list(projectId) };
  });

  server.post<{ Params: ProjectParams }>('/admin/projects/:id/pins', async (request, reply) => {
    const admin = await requireAdmin(services, request);
    const projectId = await existingProject(request.params.id);
    const label = labelOf(request);
    const created = await pins.create(projectId, label);
    if (created === 'no_project') throw NotFound();
    if (created === 'max_active') throw MaxActivePins();
    const { ip, userAgent } = clientInfo(request);
    await audit.record({ type: 'pin.created', outcome: 'success', projectId, subject: admin.id, ip, userAgent, detail: { pin_id: created.id } });
    // The PIN itself is in this answer and nowhere else.
    return reply.code(201).header('cache-control', 'no-store').send({ id: created.id, pin: created.pin, label: created.label });
  });

  server.delete<{ Params: PinParams }>('/admin/projects/:id/pins/:pin_id', async (request, reply) => {
    const admin = await requireAdmin(services, request);
    const projectId = await existingProject(request.params.id);
    const outcome = await pins.revoke(projectId, request.params.pin_id);
    if (outcome === 'not_found') throw NotFound();
    if (outcome === 'revoked') {
      const { ip, userAgent } = clientInfo(request);
      await audit.record({ type: 'pin.revoked', outcome: 'success', projectId, subject: admin.id, ip, userAgent, detail: { pin_id: request.params.pin_id } });
    }
    return reply.code(204).send();
  });
}
