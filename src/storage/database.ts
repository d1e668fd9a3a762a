// Opens the configured SQL database. This is the one place that knows SQLite from PostgreSQL.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { lazyRequire } from '../lazy.ts';
import { startCheckpointer, type Checkpointer } from './checkpointer.ts';
import { forgetStatementName, otherConnectionsCommitted, registerSqlite, statementName } from './prepared.ts';
import type { Database } from './schema.ts';

/** PostgreSQL's client, loaded when a postgres: URL is opened. */
const postgres = lazyRequire<typeof pg>('pg');

export interface OpenedDatabase {
  db: Kysely<Database>;
  kind: 'sqlite' | 'postgres';
  /** the raw SQLite handle, for stores that take one (rate limiters) */
  sqlite?: SqliteDatabase.Database;
  /**
   * SQLite only: whether another connection (the command line, say) has committed since it last
   * looked, for caches of this process (the projects); see otherConnectionsCommitted.
   */
  othersCommitted?: () => boolean;
  /** the raw Postgres pool, for stores that take one (rate limiters) */
  pgPool?: pg.Pool;
  /**
   * Runs `work` while no other instance sharing this database runs work under the same
   * lock name: first-start steps (migrations, creating the first signing key, the console
   * project, the configured admin) then happen once, not once per instance racing.
   * `work` is handed a connection on which queries may take as long as they need
   * (migrations), where `db` gives up after the store timeout.
   */
  withLock<T>(name: string, work: (unhurried: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * SQLite: copy the WAL back into the file from a worker thread from now on, instead of inside
   * the commits of the server's connection (checkpointer.ts). For a long-running server; a
   * command that opens the database for a moment leaves it to SQLite.
   */
  checkpointInBackground?(onError: (message: string) => void): void;
  close(): Promise<void>;
}

interface DatabaseOptions {
  /** PostgreSQL connections kept at most */
  poolSize?: number;
  /** how long connecting, or one query, may take (ms) */
  timeoutMs?: number;
}

const INT8_OID = 20;

const STATEMENT_CACHE_SIZE = 500;

/**
 * Compiles each distinct SQL text once: Kysely and the rate limiter call prepare() for every
 * query, and compiling was about a tenth of a refresh grant's CPU (bench/, "Performance").
 * Sharing is safe because every use runs a statement to completion synchronously; one still
 * being iterated (busy) is not handed out twice, and no caller changes a statement's mode.
 */
function reuseStatements(sqlite: SqliteDatabase.Database): void {
  const compile = sqlite.prepare.bind(sqlite);
  const statements = new Map<string, SqliteDatabase.Statement>();
  sqlite.prepare = ((source: string) => {
    const cached = statements.get(source);
    if (cached && !cached.busy) return cached;
    const statement = compile(source);
    if (!cached) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      statements.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
}

/**
 * Creates the SQLite file's folder (0700) and the file itself (0600) when they do not exist yet:
 * the file holds every hash and key of the instance, and SQLite gives its WAL and shared-memory
 * files the permissions of the database file. Existing files and folders are left as they are
 * (an operator may have chosen otherwise); docs/operations.md says how to tighten them.
 */
function createPrivately(path: string): void {
  const folder = dirname(path);
  if (!existsSync(folder)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700); // mkdir's mode is filtered by the umask
  }
  if (!existsSync(path)) {
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
}

export function openDatabase(url: string, options: DatabaseOptions = {}): OpenedDatabase {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') createPrivately(path);
    const sqlite = new SqliteDatabase(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // A file another process holds locked is waited for as long as any store is, no longer.
    sqlite.pragma(`busy_timeout = ${Math.trunc(options.timeoutMs ?? 5000)}`);
    reuseStatements(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    registerSqlite(db, sqlite);
    const othersCommitted = otherConnectionsCommitted(db);
    let checkpointer: Checkpointer | undefined;
    // One connection per process: SQLite itself serialises writers across processes.
    return {
      db,
      kind: 'sqlite',
      sqlite,
      ...(othersCommitted ? { othersCommitted } : {}),
      withLock: (_name, work) => work(db),
      checkpointInBackground(onError) {
        checkpointer ??= startCheckpointer(sqlite, { onError });
      },
      async close() {
        await checkpointer?.stop();
        await db.destroy();
      },
    };
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  const pool = newPool(url, { max: options.poolSize ?? 10, connectTimeoutMs: timeoutMs, queryTimeoutMs: timeoutMs });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withinOneBudget(pool, timeoutMs) }) });
  return { db, kind: 'postgres', pgPool: pool, withLock: (name, work) => withAdvisoryLock(url, timeoutMs, name, work), close: () => db.destroy() };
}

interface PoolOptions {
  max: number;
  connectTimeoutMs: number;
  /** undefined: no limit */
  queryTimeoutMs?: number;
  /** keep an idle connection open instead of closing it after 10 s (a lock lives on it) */
  keepIdle?: boolean;
}

const CLIENT_TIMEOUT_MARGIN_MS = 250;

function newPool(url: string, options: PoolOptions): pg.Pool {
  const { Pool, types } = postgres();
  const pool = new Pool({
    connectionString: url,
    max: options.max,
    // A database that refuses, or hangs, fails the request in seconds instead of holding it.
    connectionTimeoutMillis: options.connectTimeoutMs,
    // The server cancels a statement at the timeout, so its connection is free again for the
    // next query; the client's own timer, a little later, covers a server that stopped answering.
    ...(options.queryTimeoutMs !== undefined
      ? { statement_timeout: options.queryTimeoutMs, query_timeout: options.queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS }
      : {}),
    ...(options.keepIdle ? { idleTimeoutMillis: 0 } : {}),
    keepAlive: true,
    // Times are epoch milliseconds in bigint columns: they fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
    },
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Nor a client in use (mid-query, mid-transaction): its query fails on its own, the pool drops
  // it on release, but pg also emits 'error' on it, which with no listener would crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** PostgreSQL refusing a prepared statement whose tables changed shape since it was planned (feature_not_supported). */
function planChanged(error: unknown): boolean {
  return (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(String((error as Error).message));
}

/**
 * The pool the requests' queries go through: a request's wait for PostgreSQL (for a connection
 * from the pool, then for its first query on it) comes out of one budget, the store timeout, plus
 * the client's margin. Separately, the two waits added up to twice the timeout on a frozen server
 * (measured: 2 s answers at a 1 s timeout): a request queued for a connection until just before
 * the timeout, then got one whose query hung for a whole timeout again. A connection whose query
 * timed out is closed rather than handed to the next request: pg would queue that request's query
 * behind the hung one.
 */
function withinOneBudget(pool: pg.Pool, timeoutMs: number): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const asked = performance.now();
      const client = await pool.connect();
      let waited: number | undefined = performance.now() - asked;
      let hung = false;
      const query = async <R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
        // Only the first query pays for the wait: later ones (in a transaction) each have the timeout.
        const budget = Math.max(timeoutMs - (waited ?? 0), 0) + CLIENT_TIMEOUT_MARGIN_MS;
        // The first query of a checkout is never inside a transaction (Kysely's begins with BEGIN).
        const outsideTransaction = waited !== undefined;
        waited = undefined;
        const name = statementName(text);
        // pg reads a per-query query_timeout, which its types do not list.
        const config: pg.QueryConfig & { query_timeout: number } = { text, values: [...values], query_timeout: budget, ...(name !== undefined ? { name } : {}) };
        try {
          return (await client.query(config)) as unknown as PostgresQueryResult<R>;
        } catch (error) {
          if (error instanceof Error && error.message === 'Query read timeout') hung = true;
          // Another instance migrated a table under a named statement (its rows changed shape):
          // the text goes unnamed from now on, and this query is asked again when it can be.
          if (name !== undefined && planChanged(error)) {
            forgetStatementName(text);
            if (outsideTransaction) return (await client.query({ text, values: [...values], query_timeout: budget } as pg.QueryConfig)) as unknown as PostgresQueryResult<R>;
          }
          throw error;
        }
      };
      return {
        query: query as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy === true || hung),
      };
    },
    end: () => pool.end(),
  };
}

/**
 * A session-level advisory lock, held on a connection of its own while `work` runs. That
 * connection (a pool of one, so every query is in the session holding the lock) has no query
 * timeout: waiting for another instance's first start, or a long migration, is not a hanging
 * database. The key includes the schema, so deployments sharing one database in different
 * schemas do not wait for each other. Closing the connection frees the lock whatever happened.
 */
async function withAdvisoryLock<T>(url: string, connectTimeoutMs: number, name: string, work: (unhurried: Kysely<Database>) => Promise<T>): Promise<T> {
  const session = new Kysely<Database>({ dialect: new PostgresDialect({ pool: newPool(url, { max: 1, connectTimeoutMs, keepIdle: true }) }) });
  try {
    // current_schema() is null until the schema named by search_path exists (see migrations.ts).
    await sql`select pg_advisory_lock(hashtext('gatehouse:' || ${name}::text || ':' || coalesce(current_schema(), current_setting('search_path'))))`.execute(session);
    return await work(session);
  } finally {
    await session.destroy().catch(() => {});
  }
}
