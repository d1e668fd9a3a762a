// GET /metrics and the hooks that feed it. Off unless GATEHOUSE_METRICS_TOKEN is set: then
// the route does not exist (404 Not found) and nothing is collected.
import type { FastifyInstance } from 'fastify';
import { constantTimeEqual } from '../crypto/tokens.ts';
import { Unauthorized } from '../errors.ts';
import type { Services } from '../services.ts';
import { Metrics } from './metrics.ts';
import { bodyFields } from '../http/fields.ts';

/** Registers collection and the route; answers the Metrics, or undefined when metrics are off. */
export function registerMetrics(server: FastifyInstance, services: Services): Metrics | undefined {
  const token = services.config.metricsToken;
  if (!token) return undefined;
  const metrics = new Metrics();

  services.audit.onRecord((event) => metrics.observeAuditEvent(event));
  services.hasher.onQueueFull(() => metrics.observeHashQueueFull());

  server.addHook('onResponse', (request, reply, done) => {
    const grantType = bodyFields(request).grant_type;
    metrics.observeResponse({
      method: request.method,
      // Requests that match no route share one label: raw URLs would grow the series without bound.
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
      grantType: typeof grantType === 'string' ? grantType : undefined,
    });
    done();
  });

  server.get('/metrics', async (request, reply) => {
    const match = /^Bearer (\S+)$/i.exec(request.headers.authorization?.trim() ?? '');
    if (!match?.[1] || !constantTimeEqual(match[1], token)) {
      void reply.header('www-authenticate', 'Bearer');
      throw Unauthorized();
    }
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(await metrics.exposition());
  });

  return metrics;
}
