// Keyset paging for long lists (the admin API's, the command line's). A page starts after the
// position (a time and an id) of the last entry of the previous page, never at an offset: an
// entry inserted meanwhile cannot shift what the next page holds, and reading page 100 costs what
// reading page 1 does (one indexed range, not 99 pages skipped). At 10,350 sessions one unpaged
// list answered 1.55 MB and held SQLite for up to 236 ms.
import { sql, type Expression, type SqlBool } from 'kysely';

/** Where a list is ordered: a time (epoch ms) and an id that breaks ties within one millisecond. */
export interface Position {
  at: number;
  id: string;
}

export interface PageRequest {
  limit: number;
  /** the position of the last entry already seen; absent for the first page */
  after?: Position | undefined;
}

export interface Page<T> {
  items: T[];
  /** the position to ask for the next page from; null on the last page */
  next: Position | null;
}

/** The longest page anyone may ask for (the admin API refuses more). */
export const MAX_PAGE_SIZE = 1000;

/**
 * The condition for the entries after `after` in a list ordered by (`atColumn`, `idColumn`) in
 * `order`. Column names are the code's, never a request's.
 */
export function after(atColumn: string, idColumn: string, order: 'asc' | 'desc', position: Position): Expression<SqlBool> {
  const at = sql.ref(atColumn);
  const id = sql.ref(idColumn);
  return order === 'asc'
    ? sql<SqlBool>`(${at} > ${position.at} or (${at} = ${position.at} and ${id} > ${position.id}))`
    : sql<SqlBool>`(${at} < ${position.at} or (${at} = ${position.at} and ${id} < ${position.id}))`;
}

/**
 * A page from rows read with `limit + 1` (the extra row says whether a next page exists, without
 * a count).
 */
export function toPage<Row, T>(rows: readonly Row[], limit: number, position: (row: Row) => Position, toItem: (row: Row) => T): Page<T> {
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return { items: kept.map(toItem), next: rows.length > limit && last !== undefined ? position(last) : null };
}

/** Every entry of a paged list, following its positions (for the command line, which prints them all). */
export async function allPages<T>(read: (page: PageRequest) => Promise<Page<T>>, limit = MAX_PAGE_SIZE): Promise<T[]> {
  const items: T[] = [];
  let position: Position | undefined;
  for (;;) {
    const page = await read({ limit, after: position });
    items.push(...page.items);
    if (page.next === null) return items;
    position = page.next;
  }
}
