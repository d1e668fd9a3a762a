// The fields of a request (query string, JSON or form body) as plain values. Routes that keep a
// SPEC check order read them one by one with field(), instead of validating a schema up front.
import type { FastifyRequest } from 'fastify';

export type Fields = Record<string, unknown>;

/** A field's value when it is a string; anything else (absent, a list, a number) is undefined. */
export function field(fields: Fields | undefined, name: string): string | undefined {
  const value = fields?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The body of a JSON or form post as plain fields (an empty object when there is none). */
export function bodyFields(request: FastifyRequest): Fields {
  const body = request.body;
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Fields) : {};
}

export function queryFields(request: FastifyRequest): Fields {
  const query = request.query;
  return query !== null && typeof query === 'object' ? (query as Fields) : {};
}
