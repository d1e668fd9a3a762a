// Queries built and compiled once, for the hot paths. Kysely builds a query's operation tree and
// compiles it to SQL on every call; on a refresh grant that was a larger share of the CPU than
// SQLite's own work (bench/, docs/decisions/0011-hot-path-queries-compiled-once.md). A prepared query is written with the same
// typed builder, with named placeholders where values go, compiled once for the database's
// dialect, and then only its parameters change. It runs on the database or on a transaction.
//
// On SQLite it also skips Kysely's asynchronous machinery: better-sqlite3 is synchronous and a
// process has one connection, so a query (or a whole write transaction, `writeAtomically`) runs
// to completion at once, unless a Kysely transaction is open on that connection and waiting;
// then the query queues behind it through Kysely like any other, and never reads or writes
// inside someone else's transaction.
import type SqliteDatabase from 'better-sqlite3';
import type { CompiledQuery, Compilable, Kysely, QueryResult } from 'kysely';

const MARK = '\u0000gatehouse-param:';

/** Stands for a value given at each execution; typed as the value it stands for. */
export function param<T>(name: string): T {
  return `${MARK}${name}` as unknown as T;
}

type Slot = { name: string } | { value: unknown };

/** Anything that runs a compiled query: a Kysely instance or a transaction of one. */
interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/**
 * The SQL of every prepared query, with the name PostgreSQL keeps it under. The pool's query
 * function (database.ts) sends such a text as a named statement, which PostgreSQL parses and
 * plans once per connection instead of on every execution
 * (docs/decisions/0121-postgresql-hot-paths-in-fewer-round-trips.md).
 */
const statementNames = new Map<string, string>();

export function statementName(sql: string): string | undefined {
  return statementNames.get(sql) || undefined;
}

/** The text is sent unnamed from now on (its named statement no longer fits its tables). */
export function forgetStatementName(sql: string): void {
  statementNames.set(sql, '');
}

/** Kysely instances over SQLite, with their connection (registered by openDatabase). */
const sqliteHandles = new WeakMap<object, SqliteDatabase.Database>();

export function registerSqlite(db: object, sqlite: SqliteDatabase.Database): void {
  sqliteHandles.set(db, sqlite);
}

/** Whether a Kysely instance is over SQLite (opened by openDatabase). */
export function onSqlite(db: object): boolean {
  return sqliteHandles.has(db);
}

/**
 * On SQLite, a function that tells whether another connection (another process: the command
 * line, say) has committed anything since it last looked (`PRAGMA data_version`); undefined on
 * PostgreSQL, where every instance is "another connection" and nothing local can tell. It looks
 * once per event-loop turn: under load the pragma (a read transaction of its own) cost about
 * half as much as the lookup it guards, and the requests of one turn are concurrent with a
 * commit made elsewhere meanwhile anyway.
 */
export function otherConnectionsCommitted(db: object): (() => boolean) | undefined {
  const sqlite = sqliteHandles.get(db);
  if (!sqlite) return undefined;
  const probe = sqlite.prepare('PRAGMA data_version');
  let last: unknown;
  let lookedThisTurn = false;
  const nextTurn = () => {
    lookedThisTurn = false;
  };
  return () => {
    if (lookedThisTurn) return false;
    lookedThisTurn = true;
    setImmediate(nextTurn);
    const version = (probe.get() as { data_version: number }).data_version;
    const changed = version !== last;
    last = version;
    return changed;
  };
}

/** The SQLite connection to use synchronously now, if `runner` is one and it is free. */
function freeSqlite(runner: QueryRunner): SqliteDatabase.Database | undefined {
  const sqlite = sqliteHandles.get(runner);
  return sqlite && !sqlite.inTransaction ? sqlite : undefined;
}

function runSync<R>(sqlite: SqliteDatabase.Database, query: CompiledQuery<R>): QueryResult<R> {
  const statement = sqlite.prepare(query.sql);
  if (statement.reader) return { rows: statement.all(query.parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(query.parameters);
  return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
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
    if (!statementNames.has(this.compiled.sql)) statementNames.set(this.compiled.sql, `gatehouse_${statementNames.size + 1}`);
  }

  /** The compiled query with these values in its placeholders. */
  bind(values: P): CompiledQuery<R> {
    const parameters = this.slots.map((slot) => {
      if (!('name' in slot)) return slot.value;
      const value = values[slot.name];
      if (value === undefined) throw new Error(`no value for placeholder ${slot.name}`);
      return value;
    });
    return { ...this.compiled, parameters };
  }

  async execute(runner: QueryRunner, values: P): Promise<QueryResult<R>> {
    const query = this.bind(values);
    const sqlite = freeSqlite(runner);
    return sqlite ? runSync(sqlite, query) : runner.executeQuery(query);
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

/** One write of a transaction; with `mustChange`, a write that changes no row undoes them all. */
export interface WriteStep {
  query: CompiledQuery<unknown>;
  mustChange: boolean;
  /** the rows the step changed, set when it runs */
  changed?: number;
  /** called once the transaction has committed, when the step changed a row (an outbox's nudge) */
  afterCommit?: () => void;
}

/** A write bound to its values, for writeAtomically. */
export function step<P extends Record<string, unknown>>(query: PreparedQuery<P, unknown>, values: P, mustChange = false, afterCommit?: () => void): WriteStep {
  return { query: query.bind(values), mustChange, ...(afterCommit ? { afterCommit } : {}) };
}

/** Runs a step on SQLite and notes what it changed. */
function runStep(sqlite: SqliteDatabase.Database, s: WriteStep): number {
  s.changed = Number(runSync(sqlite, s.query).numAffectedRows);
  return s.changed;
}

class Undone extends Error {}

/** Runs the steps on a connection already in a transaction; throws Undone when a mustChange step changed nothing. */
function runSteps(sqlite: SqliteDatabase.Database, steps: WriteStep[]): void {
  for (const s of steps) if (runStep(sqlite, s) === 0 && s.mustChange) throw new Undone();
}

async function viaKysely<DB>(db: Kysely<DB>, steps: WriteStep[]): Promise<boolean> {
  try {
    await db.transaction().execute(async (trx) => {
      for (const s of steps) {
        s.changed = Number((await trx.executeQuery(s.query)).numAffectedRows ?? 0n);
        if (s.changed === 0 && s.mustChange) throw new Undone();
      }
    });
    return true;
  } catch (error) {
    if (error instanceof Undone) return false;
    throw error;
  }
}

type Outcome = { applied: boolean } | { error: unknown };

/** A caller's writes stopped half-way: the group goes again with savepoints. */
class NeedsSavepoints extends Error {}

/**
 * One caller's steps without a savepoint of their own, which is most of the time enough: when
 * the first step fails or changes nothing (a refresh token used twice), nothing of the caller's
 * was written (SQLite undoes a failed statement by itself). Anything later that would leave
 * part of it applied throws NeedsSavepoints instead. Savepoints cost about 3 % of a refresh
 * grant (two statements each).
 */
function runStepsBare(sqlite: SqliteDatabase.Database, steps: WriteStep[]): boolean {
  for (const [i, s] of steps.entries()) {
    let changed: number;
    try {
      changed = runStep(sqlite, s);
    } catch (error) {
      if (i > 0) throw new NeedsSavepoints();
      throw error;
    }
    if (changed === 0 && s.mustChange) {
      if (i > 0) throw new NeedsSavepoints();
      return false;
    }
  }
  return true;
}

interface Waiting {
  steps: WriteStep[];
  resolve(applied: boolean): void;
  reject(error: unknown): void;
}

/** SQLite connections with writes waiting for the group commit at the end of this event-loop turn. */
const waiting = new Map<SqliteDatabase.Database, Waiting[]>();

/**
 * Group commit on SQLite: the write transactions asked for during one turn of the event loop
 * are committed together at its end, and every caller gets its answer once that one commit is
 * on disk. A commit (writing the dirty pages to the WAL) cost more than the writes themselves,
 * and the rotations of concurrent refresh grants share some of their pages (the ends of the
 * token table and of its expiry index). Each caller's writes still apply all or nothing: a
 * caller that fails at its first write has written nothing (runStepsBare); one that fails later
 * sends the whole group round again, each caller in a savepoint of its own, so that a
 * mustChange step that changes nothing, or a write that fails, rolls back that caller's
 * savepoint only. Between asking and committing, other requests read the
 * state before these writes, exactly as they would have on PostgreSQL before a concurrent
 * commit; the conditional updates (mustChange) are what settle races, on both databases.
 */
function commitTogether(db: object, sqlite: SqliteDatabase.Database): void {
  const group = waiting.get(sqlite) ?? [];
  waiting.delete(sqlite);
  if (sqlite.inTransaction) {
    // A Kysely transaction is open and waiting: queue behind it, one transaction each.
    for (const w of group) viaKysely(db as Kysely<unknown>, w.steps).then(w.resolve, w.reject);
    return;
  }
  let outcomes: Outcome[] = [];
  const attempt = (savepoints: boolean) => {
    outcomes = [];
    sqlite.transaction(() => {
      for (const w of group) {
        try {
          if (savepoints) {
            sqlite.transaction(runSteps)(sqlite, w.steps); // a savepoint inside the group's transaction
            outcomes.push({ applied: true });
          } else {
            outcomes.push({ applied: runStepsBare(sqlite, w.steps) });
          }
        } catch (error) {
          if (error instanceof NeedsSavepoints) throw error;
          // An error that ended the whole transaction (disk full, I/O) fails the whole group.
          if (!sqlite.inTransaction) throw error;
          outcomes.push(error instanceof Undone ? { applied: false } : { error });
        }
      }
    })();
  };
  try {
    try {
      attempt(false);
    } catch (error) {
      if (!(error instanceof NeedsSavepoints)) throw error;
      attempt(true); // the first try was rolled back whole: again, each caller in a savepoint
    }
  } catch (error) {
    for (const w of group) w.reject(error);
    return;
  }
  group.forEach((w, i) => {
    const outcome = outcomes[i] as Outcome;
    if ('error' in outcome) w.reject(outcome.error);
    else w.resolve(outcome.applied);
  });
}

/**
 * Runs the writes in one transaction, in order. Answers false, having changed nothing, when a
 * `mustChange` step changed no row (a conditional update that lost a race, say). On SQLite the
 * transaction commits with the others asked for in the same event-loop turn (commitTogether).
 */
export function writeAtomically<DB>(db: Kysely<DB>, steps: WriteStep[]): Promise<boolean> {
  const written = writeTogether(db, steps);
  if (!steps.some((s) => s.afterCommit)) return written;
  return written.then((applied) => {
    if (applied) for (const s of steps) if (s.afterCommit && (s.changed ?? 0) > 0) s.afterCommit();
    return applied;
  });
}

function writeTogether<DB>(db: Kysely<DB>, steps: WriteStep[]): Promise<boolean> {
  const sqlite = sqliteHandles.get(db);
  if (!sqlite) return viaKysely(db, steps);
  return new Promise<boolean>((resolve, reject) => {
    let group = waiting.get(sqlite);
    if (!group) {
      group = [];
      waiting.set(sqlite, group);
      setImmediate(() => commitTogether(db, sqlite));
    }
    group.push({ steps, resolve, reject });
  });
}
