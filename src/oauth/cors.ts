// CORS for single-page apps (sso.md "CORS, for single-page apps"): the token endpoints answer a
// browser page of an origin the project allows; never with credentials (no cookie is read here).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden } from '../errors.ts';
import { isOriginShaped } from '../projects/allowed-origins.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Services } from '../services.ts';

const PREFLIGHT_MAX_AGE_SECONDS = '600';
const PREFLIGHT_HEADERS = 'authorization, content-type';

function allowOrigin(reply: FastifyReply, origin: string): void {
  void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
}

/**
 * /token and /revoke, right after `Invalid client_id`: a request with an `Origin` the project does
 * not allow is refused (403 `Forbidden`) before any code or refresh token is looked at; an allowed
 * one gets its CORS headers. Without an `Origin` (a server, a native app) this is one header read.
 */
export function checkClientOrigin(services: Services, request: FastifyRequest, reply: FastifyReply, record: ProjectRecord): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (!services.projects.originAllowed(record, origin)) throw Forbidden();
  allowOrigin(reply, origin);
}

/** /userinfo: the CORS headers when the access token's project allows the `Origin`; nothing is refused. */
export async function allowTokenProjectOrigin(services: Services, request: FastifyRequest, reply: FastifyReply, projectId: string): Promise<void> {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const record = await services.projects.find(projectId);
  if (record && services.projects.originAllowed(record, origin)) allowOrigin(reply, origin);
}

/** An `OPTIONS` preflight of a token endpoint: 204, with CORS headers when some project allows the `Origin`. */
export function preflight(services: Services, methods: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const origin = request.headers.origin;
    if (origin !== undefined && isOriginShaped(origin) && (await services.projects.anyAllowsOrigin(origin))) {
      allowOrigin(reply, origin);
      void reply
        .header('access-control-allow-methods', methods)
        .header('access-control-allow-headers', PREFLIGHT_HEADERS)
        .header('access-control-max-age', PREFLIGHT_MAX_AGE_SECONDS);
    }
    await reply.code(204).send();
  };
}
