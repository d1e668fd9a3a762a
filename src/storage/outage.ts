// Which failures are outages (503 Service unavailable) and which are bugs (500 Internal error).
// An outage is a dependency that cannot be reached or did not answer in time: PostgreSQL, Redis,
// the SQLite file, the SMTP server. Everything else that escapes a route is a bug, and must not
// look like an outage to the operator (docs/decisions/0035-bugs-are-not-outages.md).

/** Socket-level failures, whichever client saw them. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ESOCKET',
  'ECONNECTION',
  'EDNS',
]);

/**
 * PostgreSQL SQLSTATE classes of an unavailable server: 08 connection exception, 53 insufficient
 * resources, 57 operator intervention (shutdown, statement timeout), 58 system error.
 */
const POSTGRES_OUTAGE_CLASSES = new Set(['08', '53', '57', '58']);

/** SQLite result codes of a file that cannot be used right now (locked, full, unreadable). */
const SQLITE_OUTAGE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|NOMEM|PROTOCOL)/;

/** Messages of the pg, pg-pool, ioredis and better-sqlite3 clients that carry no code, with the dependency each names. */
const OUTAGE_MESSAGES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^Connection terminated/, 'postgresql'],
  [/timeout exceeded when trying to connect/, 'postgresql'],
  [/^Query read timeout/, 'postgresql'],
  [/is not queryable/, 'postgresql'],
  [/^Cannot use a pool after calling end/, 'postgresql'],
  [/^Connection is closed/, 'redis'],
  [/^Command timed out/, 'redis'],
  [/^Stream isn't writeable/, 'redis'],
  [/^Reached the max retries per request limit/, 'redis'],
  [/^The database connection is not open/, 'sqlite'],
  [/^driver has already been destroyed/, 'postgresql'],
  [/^Redis cannot be reached/, 'redis'],
  [/^Redis connection is not ready/, 'redis'],
];

/** nodemailer's codes for a mail server that cannot be reached. */
const SMTP_CODES = new Set(['ESOCKET', 'ECONNECTION', 'EDNS']);

/** The dependency an error says is out, or undefined when it is no outage itself. */
function outageSourceItself(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, name, message, address, port } = error as { code?: unknown; name?: unknown; message?: unknown; address?: unknown; port?: unknown };
  if (typeof code === 'string') {
    if (SQLITE_OUTAGE.test(code)) return 'sqlite';
    if (SMTP_CODES.has(code)) return 'smtp';
    // A socket error names the server it could not reach, whichever client saw it.
    if (NETWORK_CODES.has(code)) return typeof address === 'string' ? `${address}:${String(port ?? '')}` : 'network';
    // A five-character SQLSTATE from PostgreSQL.
    if (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_OUTAGE_CLASSES.has(code.slice(0, 2))) return 'postgresql';
  }
  if (name === 'MaxRetriesPerRequestError') return 'redis';
  if (typeof message !== 'string') return undefined;
  return OUTAGE_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * The dependency (`postgresql`, `redis`, `sqlite`, `smtp`, or the address of a server that
 * refused a connection) that the error, or anything it wraps, says is out; undefined for a bug.
 */
export function outageSource(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  const itself = outageSourceItself(error);
  if (itself !== undefined) return itself;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const source = outageSource(inner, depth + 1);
      if (source !== undefined) return source;
    }
  }
  return outageSource(cause, depth + 1);
}

/** True when the error, or anything it wraps (`cause`, an AggregateError's errors), is an outage. */
export function isOutage(error: unknown): boolean {
  return outageSource(error) !== undefined;
}
