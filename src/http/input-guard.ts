// Text that no field of this API may hold: a NUL byte cannot be stored in PostgreSQL text and
// has no business in an email, id or token anywhere. Refused before any route looks at it.
import type { FastifyInstance } from 'fastify';
import { InvalidRequest } from '../errors.ts';

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 8 || value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || holdsNul(inner, depth + 1));
}

export function registerInputGuard(server: FastifyInstance): void {
  server.addHook('preValidation', async (request) => {
    if (holdsNul(request.query) || holdsNul(request.body) || holdsNul(request.params)) {
      throw InvalidRequest({ detail: 'a field holds a NUL character' });
    }
  });
}
