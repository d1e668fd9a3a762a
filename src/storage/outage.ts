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

/** Messages of the pg, pg-pool, ioredis and better-sqlite3 clients that carry no code. */
const OUTAGE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /is not queryable/,
  /^Cannot use a pool after calling end/,
  /^Connection is closed/,
  /^Command timed out/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^The database connection is not open/,
  /^driver has already been destroyed/,
  /^Redis cannot be reached/,
  /^Redis connection is not ready/,
];

function isOutageItself(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLITE_OUTAGE.test(code)) return true;
    // A five-character SQLSTATE from PostgreSQL.
    if (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_OUTAGE_CLASSES.has(code.slice(0, 2))) return true;
  }
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && OUTAGE_MESSAGES.some((pattern) => pattern.test(message));
}

/** True when the error, or anything it wraps (`cause`, an AggregateError's errors), is an outage. */
export function isOutage(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  if (isOutageItself(error)) return true;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (Array.isArray(errors) && errors.some((inner) => isOutage(inner, depth + 1))) return true;
  return isOutage(cause, depth + 1);
}
