// Content negotiation and request facts shared by the routes.
import type { FastifyRequest } from 'fastify';

function quality(accept: string, type: string): number {
  let best = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    const [major] = type.split('/');
    const matches = range === type ? 3 : range === `${major}/*` ? 2 : range === '*/*' ? 1 : 0;
    if (matches > 0 && Number.isFinite(weight)) best = Math.max(best, weight + matches / 1000);
  }
  return best;
}

/** True when the request's Accept ranks text/html above application/json (a browser). */
export function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  const html = quality(accept, 'text/html');
  return html > 0 && html > quality(accept, 'application/json');
}

interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

export function clientInfo(request: FastifyRequest): ClientInfo {
  return { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
}
