// What goes into the JSON log (pino, through Fastify): one line per request with its id, and
// never a password, PIN, code, token or secret. Secrets travel in bodies (never logged), in the
// Authorization and Cookie headers (never logged) and in a few query strings (the magic-link
// token): the request line keeps only the query parameters known to be harmless.
import type { FastifyBaseLogger, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { MailMessage } from './mail/mailer.ts';

/** Query parameters whose values are logged; every other value is replaced by "~". */
const LOGGED_QUERY_PARAMETERS = new Set(['response_type', 'client_id', 'redirect_uri', 'scope', 'code_challenge_method', 'project', 'limit']);

/** Defence in depth, should a body or headers ever be logged by mistake. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'body',
  '*.body',
  '*.password',
  '*.pin',
  '*.client_secret',
  '*.code_verifier',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
  '*.token',
];

/** The request's path with every query value but the harmless ones masked. */
export function loggableUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const params = new URLSearchParams(url.slice(mark + 1));
  const kept = [...params].map(([name, value]) => `${encodeURIComponent(name)}=${LOGGED_QUERY_PARAMETERS.has(name) ? encodeURIComponent(value) : '~'}`);
  return `${url.slice(0, mark)}?${kept.join('&')}`;
}

function requestSerializer(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: loggableUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

type LoggerOption = FastifyServerOptions['logger'];

/**
 * The caller's pino options (level, stream, …) with Gatehouse's request serializer and
 * redaction added; `false`/undefined keep logging off.
 */
export function secureLoggerOptions(logger: LoggerOption): LoggerOption {
  if (!logger) return false;
  const base = logger === true ? {} : logger;
  const redact = base.redact;
  const callerPaths = Array.isArray(redact) ? redact : (redact?.paths ?? []);
  return {
    ...base,
    serializers: { ...base.serializers, req: requestSerializer as (request: unknown) => Record<string, unknown> },
    redact: { paths: [...new Set([...REDACTED_PATHS, ...callerPaths])], censor: '[redacted]' },
  };
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogArgs = Parameters<FastifyBaseLogger['info']>;
type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

function levelAware(logger: FastifyBaseLogger): logger is LevelAwareLogger {
  return typeof (logger as Partial<LevelAwareLogger>).isLevelEnabled === 'function';
}

/**
 * A request's logger that becomes pino's child logger (its bindings, the request id,
 * serialized and run through the redaction paths) only when a line is written at an enabled
 * level. Fastify made that child for every request, about 1.5 % of the event loop in a refresh
 * profile. At `warn` or above almost no request writes a line; at the default `info` each
 * request writes two (received, answered), so the child is made as before (docs/decisions/0027-lazy-request-logger.md).
 */
class LazyRequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: LevelAwareLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  private write(level: Level, args: LogArgs): void {
    if (this.made) this.made[level](...args);
    else if (this.parent.isLevelEnabled(level)) this.real[level](...args);
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  fatal(...args: LogArgs): void {
    this.write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.write('error', args);
  }
  warn(...args: LogArgs): void {
    this.write('warn', args);
  }
  info(...args: LogArgs): void {
    this.write('info', args);
  }
  debug(...args: LogArgs): void {
    this.write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.write('trace', args);
  }
  /** pino's `silent` writes nothing at any level */
  silent(): void {}
}

/**
 * Fastify's childLoggerFactory: each request's logger is made when it first writes. A route
 * with a level of its own, or a logger that cannot say which levels are on, gets its child at
 * once as before.
 */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || !levelAware(logger)) return logger.child(bindings, options);
  return new LazyRequestLogger(logger, bindings, options);
}

/**
 * The development outbox: without GATEHOUSE_SMTP_URL a message is written to the log instead of
 * sent, so that `npm start` works without a mail server. It holds the message's link (a live
 * magic-link token), which is why production must configure SMTP.
 */
export function logDevOutbox(log: FastifyBaseLogger | undefined, message: MailMessage): void {
  const entry = { outbox: { to: message.to, subject: message.subject, text: message.text } };
  const note = 'dev outbox: mail not sent (GATEHOUSE_SMTP_URL is not set), written here instead';
  if (log) log.info(entry, note);
  else process.stderr.write(`${JSON.stringify({ level: 30, msg: note, ...entry })}\n`);
}

/**
 * Outage lines, folded: while a dependency is down every request fails the same way, and one
 * line each wrote 21.6 MB in a 20 s PostgreSQL stop. Each dependency gets at most one line per
 * `intervalMs`; the next line says how many were folded into it meanwhile. Bugs are not folded.
 */
export class FoldedOutageLog {
  private readonly sources = new Map<string, { loggedAt: number; folded: number }>();

  constructor(
    private readonly now: () => number,
    private readonly intervalMs = 1000,
  ) {}

  /** How many lines of `source` were folded since its last line, when this one is to be written; undefined when it is folded too. */
  admit(source: string): number | undefined {
    const now = this.now();
    const seen = this.sources.get(source);
    if (seen && now - seen.loggedAt < this.intervalMs) {
      seen.folded++;
      return undefined;
    }
    this.sources.set(source, { loggedAt: now, folded: 0 });
    return seen?.folded ?? 0;
  }
}
