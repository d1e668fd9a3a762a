// The paging of every admin list: `limit` (default 100, at most 1000) and an opaque `cursor`;
// the answer carries `next_cursor` beside the list, null on the last page.
import { Type } from 'typebox';
import { InvalidRequest } from '../errors.ts';
import { MAX_PAGE_SIZE, type Page, type PageRequest, type Position } from '../storage/paging.ts';

export const DEFAULT_PAGE_SIZE = 100;

/** The query fields of paging, to spread into a list route's querystring schema. */
export const PagingQuery = {
  // Digits only: a conversion to integer would quietly read "1.5" as 1.
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })),
};

export const PagingQueryString = Type.Object(PagingQuery);

/** The cursor is the position of the last entry sent, in base64url: opaque to clients, checked when it comes back. */
function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || typeof value[1] !== 'string' || value[1].length > 256) {
    throw InvalidRequest({ detail: 'cursor is not one this server gave' });
  }
  return { at: value[0] as number, id: value[1] };
}

export function pageRequest(query: { limit?: string | undefined; cursor?: string | undefined }): PageRequest {
  const limit = query.limit === undefined ? DEFAULT_PAGE_SIZE : Number(query.limit);
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw InvalidRequest({ detail: `limit must be between 1 and ${MAX_PAGE_SIZE}` });
  return { limit, ...(query.cursor !== undefined ? { after: decodeCursor(query.cursor) } : {}) };
}

/** The answer of a list route: `{ <name>: [...], next_cursor }`. */
export function pagedAnswer<Name extends string, T>(name: Name, page: Page<T>): Record<Name, T[]> & { next_cursor: string | null } {
  return { [name]: page.items, next_cursor: page.next === null ? null : encodeCursor(page.next) } as Record<Name, T[]> & { next_cursor: string | null };
}
