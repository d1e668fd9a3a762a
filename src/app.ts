// The composition root: opens storage, builds the services, registers the routes.
// The only place that picks SQLite or PostgreSQL, Redis or SQL.
import { requestLocale } from './pages/i18n.ts';
import { randomBytes } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { HelmetOptions } from 'helmet';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { ACCOUNT_PAGE_ROUTES, registerAccountRoutes } from './account/routes.ts';
import { registerAdminRoutes } from './admin/routes.ts';
import { registerConsoleRoutes } from './console/routes.ts';
import { AuditLog } from './audit/audit-log.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConfigError, type Config } from './config.ts';
import { KeyRing, retiredKeyOverlapMs, type KeyLock } from './crypto/keys.ts';
import { PasswordHasher } from './crypto/passwords.ts';
import {
  HttpError,
  InvalidRequest,
  RequestTimeout,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  InternalError,
  UnsupportedMediaType,
} from './errors.ts';
import { registerRegistrationRoutes } from './login/register/routes.ts';
import { registerLoginRoutes } from './login/password/routes.ts';
import { FoldedOutageLog, lazyRequestLogger, logDevOutbox, secureLoggerOptions } from './logging.ts';
import { LogMailer, SmtpMailer, type Mailer } from './mail/mailer.ts';
import { registerMagicLinkRoutes } from './login/magic-link/routes.ts';
import { registerPasswordResetRoutes } from './login/reset/routes.ts';
import { registerVerifyEmailRoutes } from './login/verify-email/routes.ts';
import { registerMetrics } from './metrics/routes.ts';
import { AuthorizationCodes } from './oauth/codes.ts';
import { registerOAuthRoutes } from './oauth/routes.ts';
import { registerSingleSignOnRoutes } from './oauth/sso-routes.ts';
import { registerLogoutRoutes } from './oauth/logout-routes.ts';
import { TokenIssuer } from './oauth/token-issuer.ts';
import { registerInputGuard } from './http/input-guard.ts';
import { registerSameOriginCheck } from './http/same-origin.ts';
import { everyAnswerHeaders, securityHeaderSteps } from './http/security-headers.ts';
import { answerOnSocket, clientErrorAnswer, frameworkErrorAnswer, missingHost } from './http/early-answers.ts';
import { bodyStillArriving, drainRefusedBody } from './http/refused-body.ts';
import { registerOpenApi } from './openapi/routes.ts';
import { prefersHtml } from './http/negotiation.ts';
import { renderErrorPage } from './pages/render.ts';
import { registerPageRoutes } from './pages/routes.ts';
import { PinService } from './pins/pins.ts';
import { loadPinKey } from './pins/pin-key.ts';
import { SecretBox } from './crypto/sealed.ts';
import { SecondFactors } from './users/second-factors.ts';
import { ENROLMENT_TOKEN_TTL_MS, MfaChallenges } from './login/mfa/challenges.ts';
import { Passkeys } from './users/passkeys.ts';
import { PasskeyCeremonies } from './login/passkey/webauthn.ts';
import { registerPinLoginRoutes } from './login/pin/routes.ts';
import { registerMfaLoginRoutes } from './login/mfa/routes.ts';
import { registerPasskeyLoginRoutes } from './login/passkey/routes.ts';
import { ENROLMENT_ROUTES, registerMfaEnrolmentRoutes } from './login/mfa/enrolment-routes.ts';
import { CONSOLE_PROJECT_ID, ProjectService } from './projects/projects.ts';
import { periodicJobs, startJobs } from './jobs.ts';
import type { Services } from './services.ts';
import { SessionService } from './sessions/sessions.ts';
import { BrowserSessionService } from './sessions/browser-sessions.ts';
import { loadSidBox } from './sessions/sid-key.ts';
import { openDatabase, type OpenedDatabase } from './storage/database.ts';
import { RedisKeyValueStore, SqlKeyValueStore, type KeyValueStore } from './storage/kv.ts';
import { migrateDatabase } from './storage/migrations.ts';
import { connectRedis, createRedis } from './storage/redis.ts';
import { createRateLimits } from './storage/rate-limits.ts';
import { isOutage, outageSource } from './storage/outage.ts';
import { UserService } from './users/users.ts';
import { AccountsIo } from './users/accounts-io.ts';
import { isValidEmail } from './users/email.ts';
import { requireAcceptableAdminPassword } from './users/password-policy.ts';
import { sendHtml } from './http/html.ts';
import { CSP_DIRECTIVES } from './http/csp.ts';
import { type Ids, randomIds } from './crypto/random.ts';
import { Deliverer, Outbox } from './webhooks/outbox.ts';
import { DELIVERIES_IN_FLIGHT, DELIVERY_BATCH, deliveryLeaseMs, WebhookService } from './webhooks/webhooks.ts';
import { BackchannelLogout } from './oauth/backchannel-logout.ts';
import { SessionEndings } from './sessions/session-endings.ts';
import { ConnectionService } from './federation/connections.ts';
import { Journeys } from './federation/journeys.ts';
import { FEDERATION_PAGE_ROUTES, registerFederationRoutes } from './federation/routes.ts';

export interface AppOptions {
  config: Config;
  clock?: Clock;
  ids?: Ids;
  mailer?: Mailer;
  /** pino options, or false for no logging */
  logger?: FastifyServerOptions['logger'];
}

export interface App {
  server: FastifyInstance;
  services: Services;
  close(): Promise<void>;
}

/** Opens storage and applies migrations; shared by `serve` and the command line. */
export async function openStorage(config: Config): Promise<OpenedDatabase> {
  const database = openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize, timeoutMs: config.storeTimeoutMs });
  await migrateDatabase(database);
  return database;
}

/** The configured admin's address and password follow the rules every other account follows. */
function checkConfiguredAdmin(config: Config): void {
  if (config.adminEmail !== undefined && !isValidEmail(config.adminEmail)) {
    throw new ConfigError('GATEHOUSE_ADMIN_EMAIL is not a plain email address (local@domain, ASCII only)');
  }
  if (config.adminPassword !== undefined) requireAcceptableAdminPassword(config.adminPassword);
}

export async function buildServices(options: AppOptions, database: OpenedDatabase, redis?: Redis, log?: FastifyBaseLogger): Promise<Services> {
  const { config } = options;
  checkConfiguredAdmin(config);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const db = database.db;
  const kv: KeyValueStore = redis ? new RedisKeyValueStore(redis, clock, config.redisPrefix) : new SqlKeyValueStore(db, clock);
  const { limits, close: closeLimits } = await createRateLimits(config, database, redis, (err) => log?.error({ err }, 'writing rate-limit counters failed'));
  const hasher = new PasswordHasher(config.argon2, config.hashConcurrency, undefined, config.hashQueue);
  const secretBox = new SecretBox(config.secretKey);
  const keyLock: KeyLock = (work) => database.withLock('signing keys', work);
  const keys = new KeyRing(db, clock, ids, () => retiredKeyOverlapMs(db, config.accessTokenTtlSeconds, config.keyReloadSeconds * 1000), secretBox, keyLock);
  await keys.load();
  const projects = new ProjectService(db, clock, ids, config, database.othersCommitted);
  const sidBox = await loadSidBox(db, clock, secretBox);
  // The outbox and the process's one deliverer, for every kind of delivery: webhooks' events and
  // back-channel logout tokens (docs/webhooks.md, docs/backchannel-logout.md).
  const outbox = new Outbox(db, clock);
  const deliverer = new Deliverer(outbox, {
    batch: DELIVERY_BATCH,
    maxInFlight: DELIVERIES_IN_FLIGHT,
    leaseMs: deliveryLeaseMs(config.webhookTimeoutMs),
    onError: (err) => log?.error({ err }, 'webhook delivery failed'),
  });
  const audit = new AuditLog(db, clock, ids, outbox);
  const webhooks = new WebhookService(db, clock, ids, secretBox, outbox, deliverer, { timeoutMs: config.webhookTimeoutMs });
  const backchannelLogout = new BackchannelLogout(clock, ids, config.issuer, keys, projects, sidBox, outbox, deliverer, { timeoutMs: config.webhookTimeoutMs });
  // Every way a session ends goes through these, with its logout tokens in the same transaction.
  const endings = new SessionEndings(db, clock, backchannelLogout);
  const users = new UserService(db, clock, ids, hasher, endings);
  const pinKey = config.pinSecret ? Buffer.from(config.pinSecret) : await loadPinKey(db, clock, secretBox);
  const pins = new PinService(db, clock, ids, pinKey, config.pinDigits, endings);
  const sessions = new SessionService(db, clock, ids, sidBox, {
    onReuseDetected: (session, client) =>
      void audit
        .record({
          type: 'refresh_token.reuse_detected',
          outcome: 'failure',
          projectId: session.project_id,
          subject: session.subject,
          ip: client.ip ?? null,
          userAgent: client.userAgent ?? null,
          detail: { session_id: session.id },
        })
        .catch(() => {}),
  }, endings);
  const browserSessions = new BrowserSessionService(db, clock, ids, {
    idleMs: config.browserSessionIdleSeconds * 1000,
    maxMs: config.browserSessionMaxSeconds * 1000,
  });
  const passkeys = new Passkeys(db, clock);
  const mailer =
    options.mailer ??
    (config.smtpUrl
      ? new SmtpMailer(config.smtpUrl, config.mailFrom, config.smtpTimeoutMs)
      : new LogMailer((message) => logDevOutbox(log, message)));

  /** Every project session and browser session of an account: what a password set by someone else ends. */
  const endAccountSessions = async (userId: string): Promise<void> => {
    await sessions.revokeWhere({ userId });
    await browserSessions.endForUser(userId);
  };
  await projects.ensureConsole();
  await projects.ensureAccount();
  if (config.adminEmail && config.adminPassword) {
    // A new GATEHOUSE_ADMIN_PASSWORD is a password set by the operator: the old one's sessions end.
    const { user, passwordChanged } = await users.ensureAdmin(config.adminEmail, config.adminPassword, CONSOLE_PROJECT_ID);
    if (passwordChanged) await endAccountSessions(user.id);
  }

  return {
    config,
    clock,
    ids,
    database,
    kv,
    limits,
    closeLimits,
    hasher,
    keys,
    projects,
    users,
    // A password hash replaced by an import ends the account's sessions, as an admin's new password does.
    accountsIo: new AccountsIo(db, clock, ids, endAccountSessions),
    pins,
    codes: new AuthorizationCodes(kv, ids),
    sessions,
    tokens: new TokenIssuer(config.issuer, keys, clock, ids),
    audit,
    mailer,
    secretBox,
    browserSessions,
    secondFactors: new SecondFactors(db, clock, ids, secretBox),
    mfaChallenges: new MfaChallenges(kv, ids, clock),
    mfaEnrolments: new MfaChallenges(kv, ids, clock, 'mfa_enrol', ENROLMENT_TOKEN_TTL_MS),
    passkeys,
    passkeyCeremonies: new PasskeyCeremonies(kv, ids, clock, passkeys, config.issuer),
    webhooks,
    backchannelLogout,
    connections: new ConnectionService(db, clock, secretBox, config.issuer),
    journeys: new Journeys(kv),
    async healthy() {
      try {
        await sql`select 1`.execute(db);
        if (redis) await redis.ping();
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** How long a shutdown waits for bodies still arriving (well inside serve's 25 s grace). */
const SHUTDOWN_BODY_WAIT_MS = 10_000;

const SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  frameguard: { action: 'deny' },
  // same-origin: our own form posts keep their Origin header (the CSRF check reads it);
  // other sites never see the authorization parameters in a Referer.
  referrerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'cross-origin' },
};

/** Routes a browser opens or posts a form to (SPEC: these answer HTML to a browser). */
const BROWSER_ROUTES = new Set([
  '/authorize', '/login', '/login/pin', '/login/mfa', '/login/passkey', '/register', '/magic-link', '/magic-link/verify',
  '/password-reset', '/password-reset/verify', '/verify-email', '/verify-email/resend',
  ...ACCOUNT_PAGE_ROUTES,
  ...ENROLMENT_ROUTES,
  ...FEDERATION_PAGE_ROUTES,
]);

function toHttpError(error: FastifyError | HttpError | Error): HttpError {
  if (error instanceof HttpError) return error;
  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return UnsupportedMediaType();
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return PayloadTooLarge();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return InvalidRequest();
    case 'FST_ERR_VALIDATION':
      return InvalidRequest({ detail: fastifyError.message });
  }
  if (fastifyError.statusCode === 405) return MethodNotAllowed();
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return InvalidRequest();
  }
  return isOutage(error) ? ServiceUnavailable() : InternalError();
}

/**
 * Request ids: a random prefix per process and a counter, so ids are unique across instances
 * without a call into the CSPRNG per request (they are labels, not secrets), and never derived
 * from the request, so a client cannot forge log lines.
 */
function requestIds(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let next = 0;
  return () => `${prefix}-${(next++).toString(36)}`;
}

export async function buildApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const database = await openStorage(config);
  const redis = config.redisUrl ? createRedis(config.redisUrl, config.storeTimeoutMs) : undefined;
  // Nothing may keep the process alive after a failed start (a reconnecting Redis, a pool).
  const abandon = async (error: unknown): Promise<never> => {
    redis?.disconnect();
    await database.close().catch(() => {});
    throw error;
  };
  if (redis) await connectRedis(redis).catch(abandon);
  const nextRequestId = requestIds();
  const early = { headers: everyAnswerHeaders(SECURITY_HEADERS), nextId: nextRequestId, log: () => server.log };
  const server = Fastify({
    logger: secureLoggerOptions(options.logger),
    childLoggerFactory: lazyRequestLogger,
    // A hop count becomes proxy-addr's function form: trust the first N hops.
    trustProxy:
      typeof config.trustProxy === 'number'
        ? ((hops: number) => (_address: string, hop: number) => hop < hops)(config.trustProxy)
        : config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => nextRequestId(),
    // What Fastify and Node answer before any hook runs goes through our answers too
    // (src/http/early-answers.ts): the catalogue's JSON, X-Request-Id, the security headers.
    frameworkErrors: frameworkErrorAnswer(early),
    clientErrorHandler: clientErrorAnswer(early),
    // Node refused a request without Host itself, with an empty body; the hook below does it.
    http: {
      requireHostHeader: false,
      // A request (headers and body) that has not arrived in time answers 408 and its connection
      // closes (hardening, "slow bodies"); Node looks for such connections at this interval.
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: Math.min(config.requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
    },
    requestTimeout: config.requestTimeoutMs,
    // Fastify's own 503 during shutdown bypassed every hook; requests on open connections are
    // answered instead (with Connection: close, below) while the process drains.
    return503OnClosing: false,
  });
  // Instances starting together take turns, so they agree on one signing key, one console, one admin.
  const services = await database.withLock('start', () => buildServices(options, database, redis, server.log)).catch(abandon);

  await server.register(formbody, { bodyLimit: config.bodyLimitBytes });
  const securityHeaders = securityHeaderSteps(SECURITY_HEADERS);
  // Requests whose body is still arriving, for shutdown: Node stops enforcing the request timeout
  // once the server closes, so a slow client could otherwise hold the process past its grace.
  const receiving = new Set<FastifyRequest>();
  // What every request gets first, in one hook (each hook is a step of Fastify's hook runner on
  // every request, the JWKS and discovery answers included): its id back as X-Request-Id, so that
  // a client's report can be found in the log, and the security headers; then a request without
  // Host is refused, and one whose body is still arriving is tracked for shutdown.
  server.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    securityHeaders.everyAnswer(reply);
    if (missingHost(request)) {
      done(InvalidRequest({ detail: 'HTTP/1.1 requires a Host header' }));
      return;
    }
    if (bodyStillArriving(request.raw) && request.method !== 'GET' && request.method !== 'HEAD') {
      // Forgotten once answered or gone: listeners on these requests only, rather than an
      // onResponse hook on every request.
      const forget = () => receiving.delete(request);
      receiving.add(request);
      request.raw.once('close', forget);
      reply.raw.once('finish', forget);
    }
    done();
  });
  // Once shutdown starts, every answer closes its connection: a keep-alive client must not
  // hold the process open until its idle timeout.
  let closing = false;
  server.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // The one onSend hook of every answer: an HTML page gets helmet's page headers.
  server.addHook('onSend', (_request, reply, payload, done) => {
    securityHeaders.onPage(reply);
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  await registerOpenApi(server, config.issuer);
  registerInputGuard(server);
  registerSameOriginCheck(server, config.issuer);

  const outageLog = new FoldedOutageLog(() => services.clock.now());
  server.setErrorHandler(async (error: FastifyError | HttpError, request, reply) => {
    const httpError = toHttpError(error);
    // Refused before its body was read: the rest is read and dropped first, so that the client
    // hears the answer instead of a reset connection (src/http/refused-body.ts).
    if (bodyStillArriving(request.raw)) {
      reply.header('connection', 'close');
      await drainRefusedBody(request.raw);
    }
    if (httpError.statusCode >= 500) {
      // A bug is logged every time; an outage at most once a second per dependency, with a count.
      const dependency = httpError.statusCode === 503 ? outageSource(error) : undefined;
      const folded = dependency === undefined ? 0 : outageLog.admit(dependency);
      if (folded !== undefined) request.log.error({ err: error, ...(dependency !== undefined ? { dependency, folded } : {}) }, 'request failed');
    }
    // A person on one of the hosted pages gets the message as a page, like every other error there.
    if (BROWSER_ROUTES.has(request.routeOptions.url ?? '') && prefersHtml(request)) {
      return sendHtml(reply, httpError.statusCode, renderErrorPage(httpError.statusCode, httpError.message, undefined, requestLocale(request)));
    }
    return reply.code(httpError.statusCode).type('application/json').send({ error: httpError.message, ...httpError.extra });
  });
  server.setNotFoundHandler((request, reply) => {
    // sso.md "CORS": an OPTIONS no route answers is 204, without CORS headers.
    if (request.method === 'OPTIONS') return void reply.code(204).send();
    void reply.code(404).type('application/json').send({ error: NotFound.message });
  });

  registerMetrics(server, services);
  if (!config.smtpUrl && !options.mailer) server.log.warn('GATEHOUSE_SMTP_URL is not set: mail is written to this log (dev outbox), not sent');
  const { runningAtMost } = services.hasher;
  if (runningAtMost < config.hashConcurrency) {
    server.log.warn(`UV_THREADPOOL_SIZE (${runningAtMost}) is below GATEHOUSE_HASH_CONCURRENCY (${config.hashConcurrency}): at most ${runningAtMost} password hashes run at once`);
  }
  // A server that died mid-delivery on SQLite left claims nobody holds: sent again now (docs/webhooks.md).
  const released = await services.webhooks.releaseClaimsOfTheDead();
  if (released > 0) server.log.warn({ deliveries: released }, 'deliveries under way when the last process stopped are sent again');
  const jobs = await startJobs(periodicJobs(services, server.log), server.log);

  server.get('/healthz', async (_request, reply) => {
    const ok = await services.healthy();
    return reply.code(ok ? 200 : 503).send(ok ? { status: 'ok' } : { status: 'unavailable', error: ServiceUnavailable.message });
  });

  registerOAuthRoutes(server, services);
  registerSingleSignOnRoutes(server, services);
  registerLogoutRoutes(server, services);
  registerLoginRoutes(server, services);
  registerRegistrationRoutes(server, services);
  registerMagicLinkRoutes(server, services);
  registerPinLoginRoutes(server, services);
  registerMfaLoginRoutes(server, services);
  registerPasskeyLoginRoutes(server, services);
  registerMfaEnrolmentRoutes(server, services);
  registerPasswordResetRoutes(server, services);
  registerVerifyEmailRoutes(server, services);
  registerAdminRoutes(server, services);
  registerPageRoutes(server, services);
  registerAccountRoutes(server, services);
  registerFederationRoutes(server, services);
  registerConsoleRoutes(server, services);

  database.checkpointInBackground?.((message) => server.log.warn(message));
  await server.ready();
  return {
    server,
    services,
    async close() {
      // A request whose body has not arrived within the shutdown's bound answers 408, and its
      // connection ends, so that the shutdown finishes (and exits 0) within its own bound.
      const slowBodies = setTimeout(() => {
        for (const request of receiving) {
          if (bodyStillArriving(request.raw)) answerOnSocket(early, request.raw.socket, RequestTimeout, 'shutdown', request.id);
        }
      }, Math.min(config.requestTimeoutMs, SHUTDOWN_BODY_WAIT_MS));
      slowBodies.unref();
      await server.close();
      clearTimeout(slowBodies);
      await jobs.stop();
      await services.webhooks.stop();
      services.mailer.close();
      await services.closeLimits().catch((err: unknown) => server.log.error({ err }, 'writing rate-limit counters failed'));
      redis?.disconnect();
      await database.close();
    },
  };
}
