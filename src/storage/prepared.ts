// Queries built and compiled once, for the hot paths. Kysely builds a query's operation tree and
// compiles it to SQL on every call; on a refresh grant that was a larger share of the CPU than
// SQLite's own work (bench/, README "Performance"). A prepared query is written with the same
// typed builder, with named placeholders where values go, compiled once for the database's
// dialect, and then only its parameters change. It runs on the database or on a transaction.
import type { CompiledQuery, Compilable, QueryResult } from 'kysely';

const MARK = '\u0000gatehouse-param:';

/** Stands for a value given at each execution; typed as the value it stands for. */
export function param<T>(name: string): T {
  return `${MARK}${name}` as unknown as T;
}

type Slot = { name: string } | { value: unknown };

/** Anything that runs a compiled query: a Kysely instance or a transaction of one. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

export class PreparedQuery<P extends Record<string, unknown>, R> {
  private readonly compiled: CompiledQuery<R>;
  private readonly slots: Slot[];

  constructor(query: Compilable<R>) {
    this.compiled = query.compile();
    const names = new Set<string>();
    this.slots = this.compiled.parameters.map((value) => {
      if (typeof value === 'string' && value.startsWith(MARK)) {
        const name = value.slice(MARK.length);
        names.add(name);
        return { name };
      }
      return { value };
    });
    if (names.size === 0) throw new Error(`a prepared query without placeholders: ${this.compiled.sql}`);
  }

  async execute(runner: QueryRunner, values: P): Promise<QueryResult<R>> {
    const parameters = this.slots.map((slot) => {
      if (!('name' in slot)) return slot.value;
      const value = values[slot.name];
      if (value === undefined) throw new Error(`no value for placeholder ${slot.name}`);
      return value;
    });
    return runner.executeQuery({ ...this.compiled, parameters });
  }

  async first(runner: QueryRunner, values: P): Promise<R | undefined> {
    return (await this.execute(runner, values)).rows[0];
  }

  /** rows changed by an insert, update or delete */
  async changes(runner: QueryRunner, values: P): Promise<number> {
    return Number((await this.execute(runner, values)).numAffectedRows ?? 0n);
  }
}

export function prepare<P extends Record<string, unknown>, R>(query: Compilable<R>): PreparedQuery<P, R> {
  return new PreparedQuery<P, R>(query);
}
