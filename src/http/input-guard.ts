// Text that no field of this API may hold: a NUL byte cannot be stored in PostgreSQL text and
// has no business in an email, id or token anywhere. Refused before any route looks at it.
import type { FastifyInstance } from 'fastify';
import { InvalidRequest } from '../errors.ts';

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 8 || value === null || typeof value !== 'object') return false;
  // A plain loop: this runs on every request, and entries() + some() allocated for each.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (key.includes('\u0000') || holdsNul((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

export function registerInputGuard(server: FastifyInstance): void {
  // A callback hook, not an async one: no promise and no extra microtask per request.
  server.addHook('preValidation', (request, _reply, done) => {
    if (holdsNul(request.query) || holdsNul(request.body) || holdsNul(request.params)) {
      done(InvalidRequest({ detail: 'a field holds a NUL character' }));
      return;
    }
    done();
  });
}
