// Login CSRF defence for form posts: a browser marks where a request comes from
// (Sec-Fetch-Site) and names its origin; a form post must come from a page of this server.
import type { FastifyRequest } from 'fastify';
import { Forbidden } from '../errors.ts';

export function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw Forbidden();
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw Forbidden();
  }
  if (host !== request.headers.host) throw Forbidden();
}
