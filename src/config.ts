// The environment -> one typed, validated Config. Nothing else reads process.env.

type TrustProxy = boolean | number | string[];

export interface Argon2Params {
  /** memory in KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface Config {
  port: number;
  host: string;
  issuer: string;
  databaseUrl: string;
  /** connections each instance keeps open to PostgreSQL at most */
  databasePoolSize: number;
  redisUrl: string | undefined;
  /** prepended to every Redis key (codes, magic links, rate-limit counters) */
  redisPrefix: string;
  /** how long a query, a Redis command or a connection attempt may take before the request gets a 503 */
  storeTimeoutMs: number;
  smtpUrl: string | undefined;
  mailFrom: string;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  trustProxy: TrustProxy;
  codeTtlSeconds: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  magicLinkTtlSeconds: number;
  /** how long a password-reset link works */
  passwordResetTtlSeconds: number;
  /** how long an email verification (or email change) link works */
  emailVerificationTtlSeconds: number;
  /** failed PIN logins a project accepts per day before PIN login is refused */
  pinFailuresPerDay: number;
  /**
   * POST /token requests per client_id per 60 s (SPEC: 20). An ops/benchmark knob: the bench
   * raises it so that it measures grants rather than 429s; the limiter is still consulted.
   */
  tokenRequestsPerMinute: number;
  /** POST /introspect requests per project and client address per 60 s (docs/machines.md) */
  introspectionRequestsPerMinute: number;
  /** failed logins (password, PIN) one address may make per 15 min (SPEC: 5); ops/benchmark knob like the one above */
  loginFailuresPerIp: number;
  pinDigits: number;
  /** key for the PIN HMAC; derived from the database's secret when unset */
  pinSecret: string | undefined;
  argon2: Argon2Params;
  /** how many password hashes may run at once (bounded so logins cannot take every core) */
  hashConcurrency: number;
  bodyLimitBytes: number;
  logLevel: string;
  /** audit events older than this many days are deleted (at start and every hour) */
  auditRetentionDays: number;
  /** Bearer token for GET /metrics; unset: no metrics route (404) and no collection */
  metricsToken: string | undefined;
  /** how often each instance re-reads the signing keys, to pick up another instance's rotation */
  keyReloadSeconds: number;
  /**
   * what the POST /token limit counts per: `client_and_address` (default: one address cannot use
   * up a project's budget for everyone) or `client` (the reference's per-client count)
   */
  tokenRateLimitScope: TokenRateLimitScope;
  /** failed passwords one account may have per hour before every password sign-in to it answers 429 */
  loginFailuresPerAccount: number;
  /** mails (links, resets, verifications) one client address may have sent per hour */
  mailSendsPerIp: number;
  /** passkey sign-in challenges (POST /login/passkey/options) one client address may ask for per minute */
  passkeyChallengesPerIp: number;
  /** password hashes that may wait for the hashing gate; past it a login answers 503 at once */
  hashQueue: number;
  /** how long connecting to the SMTP server, its greeting and each later step may take */
  smtpTimeoutMs: number;
  /** longest wait for a webhook receiver's or a back-channel logout URI's answer (docs/webhooks.md, docs/backchannel-logout.md) */
  webhookTimeoutMs: number;
  /**
   * GATEHOUSE_SECRET_KEY: the key that seals secrets at rest (signing keys, the PIN key; see
   * crypto/sealed.ts); unset: they are stored as they are
   */
  secretKey: Buffer | undefined;
  /** a project session ends this long after it began, however often it is refreshed (per project: session_max_seconds) */
  sessionMaxSeconds: number;
  /** record an audit event for every refresh grant (one more write per grant) */
  auditRefreshes: boolean;
  /** how long a request (headers and body) may take to arrive before it answers 408 and its connection closes */
  requestTimeoutMs: number;
  /** a browser session ends after this long without use (docs/sso.md) */
  browserSessionIdleSeconds: number;
  /** and at the latest this long after its sign-in */
  browserSessionMaxSeconds: number;
  /** how long a rotation's new signing keys are in the JWKS before they sign (GATEHOUSE_KEY_PREPUBLISH_SECONDS) */
  keyPrepublishSeconds: number;
  /** the signing keys are rotated (pre-published) when the newest is this many days old; 0: never */
  keyRotationDays: number;
}

export const TOKEN_RATE_LIMIT_SCOPES = ['client_and_address', 'client'] as const;
export type TokenRateLimitScope = (typeof TOKEN_RATE_LIMIT_SCOPES)[number];

/** OWASP's recommended Argon2id parameters: m=19 MiB, t=2, p=1. */
export const PRODUCTION_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min) throw new ConfigError(`${name} must be at least ${min}`);
  return value;
}

function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'false') return false;
  const value = raw.trim();
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

function tokenRateLimitScope(raw: string | undefined): TokenRateLimitScope {
  const value = raw === undefined || raw.trim() === '' ? 'client_and_address' : raw.trim();
  const scope = TOKEN_RATE_LIMIT_SCOPES.find((known) => known === value);
  if (!scope) throw new ConfigError(`GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE must be ${TOKEN_RATE_LIMIT_SCOPES.join(' or ')}, got "${raw}"`);
  return scope;
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000);
  const issuer = (env.GATEHOUSE_ISSUER ?? `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    new URL(issuer);
  } catch {
    throw new ConfigError(`GATEHOUSE_ISSUER must be an absolute URL, got "${issuer}"`);
  }
  const databaseUrl = env.GATEHOUSE_DATABASE_URL ?? 'sqlite:./data/gatehouse.db';
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError('GATEHOUSE_DATABASE_URL must start with sqlite: or postgres://');
  }
  const redisUrl = env.GATEHOUSE_REDIS_URL;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('GATEHOUSE_REDIS_URL must start with redis:// or rediss://');
  }
  const metricsToken = env.GATEHOUSE_METRICS_TOKEN || undefined;
  // The token is a password for scrapers: a short one could be guessed over the network.
  if (metricsToken !== undefined && metricsToken.length < 16) throw new ConfigError('GATEHOUSE_METRICS_TOKEN must be at least 16 characters');
  const pinDigits = integer(env, 'GATEHOUSE_PIN_DIGITS', 8, 6);
  if (pinDigits > 12) throw new ConfigError('GATEHOUSE_PIN_DIGITS must be at most 12');
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    issuer,
    databaseUrl,
    databasePoolSize: integer(env, 'GATEHOUSE_DATABASE_POOL_SIZE', 10, 1),
    redisUrl: env.GATEHOUSE_REDIS_URL || undefined,
    redisPrefix: env.GATEHOUSE_REDIS_PREFIX || 'gatehouse:',
    storeTimeoutMs: integer(env, 'GATEHOUSE_STORE_TIMEOUT_MS', 5000, 100),
    smtpUrl: env.GATEHOUSE_SMTP_URL || undefined,
    mailFrom: env.GATEHOUSE_MAIL_FROM || `Gatehouse <no-reply@${new URL(issuer).hostname}>`,
    adminEmail: env.GATEHOUSE_ADMIN_EMAIL || undefined,
    adminPassword: env.GATEHOUSE_ADMIN_PASSWORD || undefined,
    trustProxy: parseTrustProxy(env.GATEHOUSE_TRUST_PROXY),
    codeTtlSeconds: integer(env, 'GATEHOUSE_CODE_TTL_SECONDS', 60, 1),
    accessTokenTtlSeconds: integer(env, 'GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS', 900, 1),
    refreshTokenTtlSeconds: integer(env, 'GATEHOUSE_REFRESH_TOKEN_TTL_SECONDS', 2592000, 1),
    magicLinkTtlSeconds: integer(env, 'GATEHOUSE_MAGIC_LINK_TTL_SECONDS', 900, 1),
    passwordResetTtlSeconds: integer(env, 'GATEHOUSE_PASSWORD_RESET_TTL_SECONDS', 1800, 1),
    emailVerificationTtlSeconds: integer(env, 'GATEHOUSE_EMAIL_VERIFICATION_TTL_SECONDS', 86_400, 1),
    pinFailuresPerDay: integer(env, 'GATEHOUSE_PIN_FAILURES_PER_DAY', 100, 1),
    tokenRequestsPerMinute: integer(env, 'GATEHOUSE_TOKEN_RATE_LIMIT', 20, 1),
    introspectionRequestsPerMinute: integer(env, 'GATEHOUSE_INTROSPECTION_RATE_LIMIT', 600, 1),
    loginFailuresPerIp: integer(env, 'GATEHOUSE_LOGIN_FAILURES_PER_IP', 5, 1),
    pinDigits,
    pinSecret: env.GATEHOUSE_PIN_SECRET || undefined,
    argon2: {
      memoryCost: integer(env, 'GATEHOUSE_ARGON2_MEMORY_KIB', PRODUCTION_ARGON2.memoryCost, 1024),
      timeCost: integer(env, 'GATEHOUSE_ARGON2_TIME_COST', PRODUCTION_ARGON2.timeCost, 1),
      parallelism: integer(env, 'GATEHOUSE_ARGON2_PARALLELISM', PRODUCTION_ARGON2.parallelism, 1),
    },
    hashConcurrency: integer(env, 'GATEHOUSE_HASH_CONCURRENCY', 1, 1),
    bodyLimitBytes: integer(env, 'GATEHOUSE_BODY_LIMIT_BYTES', 64 * 1024, 1024),
    logLevel: env.GATEHOUSE_LOG_LEVEL ?? 'info',
    auditRetentionDays: integer(env, 'GATEHOUSE_AUDIT_RETENTION_DAYS', 90, 1),
    metricsToken,
    keyReloadSeconds: integer(env, 'GATEHOUSE_KEY_RELOAD_SECONDS', 60, 1),
    tokenRateLimitScope: tokenRateLimitScope(env.GATEHOUSE_TOKEN_RATE_LIMIT_SCOPE),
    loginFailuresPerAccount: integer(env, 'GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT', 20, 1),
    mailSendsPerIp: integer(env, 'GATEHOUSE_MAIL_SENDS_PER_IP', 10, 1),
    passkeyChallengesPerIp: integer(env, 'GATEHOUSE_PASSKEY_CHALLENGES_PER_IP', 30, 1),
    hashQueue: integer(env, 'GATEHOUSE_HASH_QUEUE', 64, 0),
    smtpTimeoutMs: integer(env, 'GATEHOUSE_SMTP_TIMEOUT_MS', 10000, 100),
    webhookTimeoutMs: integer(env, 'GATEHOUSE_WEBHOOK_TIMEOUT_MS', 10000, 100),
    secretKey: secretKeySetting(env.GATEHOUSE_SECRET_KEY),
    sessionMaxSeconds: integer(env, 'GATEHOUSE_SESSION_MAX_SECONDS', 7_776_000, 1),
    auditRefreshes: booleanSetting(env, 'GATEHOUSE_AUDIT_REFRESHES', false),
    requestTimeoutMs: integer(env, 'GATEHOUSE_REQUEST_TIMEOUT_MS', 30_000, 100),
    browserSessionIdleSeconds: integer(env, 'GATEHOUSE_BROWSER_SESSION_IDLE_SECONDS', 259_200, 1),
    browserSessionMaxSeconds: integer(env, 'GATEHOUSE_BROWSER_SESSION_MAX_SECONDS', 1_209_600, 1),
    keyPrepublishSeconds: integer(env, 'GATEHOUSE_KEY_PREPUBLISH_SECONDS', 900, 0),
    keyRotationDays: integer(env, 'GATEHOUSE_KEY_ROTATION_DAYS', 90, 0),
  };
}

/** At least 32 random bytes in base64 (or base64url): an AES-256 key's worth of entropy. */
function secretKeySetting(raw: string | undefined): Buffer | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : Buffer.alloc(0);
  if (bytes.length < 32) {
    throw new ConfigError('GATEHOUSE_SECRET_KEY must be at least 32 random bytes in base64 (make one with: openssl rand -base64 32)');
  }
  return bytes;
}

function booleanSetting(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name] ?? ''}"`);
}
