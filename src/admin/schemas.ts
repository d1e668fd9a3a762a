// Request shapes of the admin API, as TypeBox schemas (plain JSON Schema underneath). Bodies
// reject unknown fields, so that a misspelt field is a 400 and never a silent no-op.
import { Type } from 'typebox';
import { InvalidRequest } from '../errors.ts';
import { PROJECT_ID_PATTERN } from '../projects/projects.ts';

// No control characters in anything that is stored or looked up: PostgreSQL refuses NUL in
// text, and such a request must be a 400, not a storage error.
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';
const Printable = (options: { minLength?: number; maxLength: number }) => Type.String({ ...options, pattern: PRINTABLE });

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^(?=.*\\S)[^\\u0000-\\u001f\\u007f]*$' });
const RedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 50, uniqueItems: true });

// Upper bounds: a code is meant to live seconds (RFC 6749 §4.1.2 says at most 10 minutes);
// signing keys stay published for at least a day after they retire, so no access token may
// outlive that; a refresh chain of a year is already generous.
export const MAX_CODE_TTL_SECONDS = 600;
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;
export const MAX_REFRESH_TOKEN_TTL_SECONDS = 31_536_000;
const Lifetime = (maximum: number) => Type.Union([Type.Integer({ minimum: 1, maximum }), Type.Null()]);

export const NewProjectBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: PROJECT_ID_PATTERN.source })),
    name: Name,
    redirect_uris: RedirectUris,
    registration_open: Type.Optional(Type.Boolean()),
    confidential: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ProjectChangesBody = Type.Object(
  {
    name: Type.Optional(Name),
    redirect_uris: Type.Optional(RedirectUris),
    registration_open: Type.Optional(Type.Boolean()),
    code_ttl_seconds: Type.Optional(Lifetime(MAX_CODE_TTL_SECONDS)),
    access_token_ttl_seconds: Type.Optional(Lifetime(MAX_ACCESS_TOKEN_TTL_SECONDS)),
    refresh_token_ttl_seconds: Type.Optional(Lifetime(MAX_REFRESH_TOKEN_TTL_SECONDS)),
  },
  { additionalProperties: false },
);

const Email = Printable({ minLength: 1, maxLength: 320 });
// The password policy decides about length; this bound only keeps absurd inputs out.
const Password = Type.String({ maxLength: 4096 });

export const NewUserBody = Type.Object(
  {
    email: Email,
    password: Type.Optional(Password),
    is_admin: Type.Optional(Type.Boolean()),
    email_verified: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

// Type.Partial drops the object's options, so additionalProperties is said again.
export const UserChangesBody = Type.Partial(NewUserBody, { additionalProperties: false });

export const UserQuery = Type.Object({ email: Type.Optional(Email) });

const Filter = Printable({ minLength: 1, maxLength: 256 });
const Instant = Type.String({ minLength: 1, maxLength: 64 });
export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 500;

export const AuditQueryString = Type.Object({
  project: Type.Optional(Filter),
  subject: Type.Optional(Filter),
  type: Type.Optional(Filter),
  since: Type.Optional(Instant),
  until: Type.Optional(Instant),
  before: Type.Optional(Instant),
  before_id: Type.Optional(Filter),
  // Digits only: a conversion to integer would quietly read "1.5" as 1.
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
});

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return AUDIT_DEFAULT_LIMIT;
  const limit = Number(value);
  if (limit < 1 || limit > AUDIT_MAX_LIMIT) throw InvalidRequest({ detail: `limit must be between 1 and ${AUDIT_MAX_LIMIT}` });
  return limit;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Redirect URIs are matched as exact strings, so they are checked as written: an absolute
 * https URL, or http only on the loopback host (a developer's machine, RFC 8252 §7.3); no
 * fragment (RFC 6749 §3.1.2), no credentials, no whitespace.
 */
export function checkRedirectUris(uris: readonly string[]): void {
  for (const uri of uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw InvalidRequest({ detail: `redirect_uris: ${uri.slice(0, 200)} ${problem}` });
  }
}

function redirectUriProblem(uri: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'must not contain whitespace or control characters';
  if (!/^https?:\/\//i.test(uri)) return 'must be an absolute https URL (http only for localhost)';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not a valid URL';
  }
  if (uri.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http only for localhost, 127.0.0.1 or [::1])';
  return undefined;
}

const DIGITS = /^\d{1,15}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** An instant given as epoch milliseconds or as an ISO 8601 date / date-time with a zone. */
export function parseInstant(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = DIGITS.test(value) ? Number(value) : ISO_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw InvalidRequest({ detail: `${name} must be epoch milliseconds or an ISO 8601 date-time` });
  return ms;
}

// The label's length is the PIN rule's to judge (pinLabel, counted in code points).
export const NewPinBody = Type.Object({ label: Type.Optional(Type.Union([Type.String(), Type.Null()])) }, { additionalProperties: false });

export const IdParams = Type.Object({ id: Printable({ maxLength: 256 }) });
export const MemberParams = Type.Object({ id: Printable({ maxLength: 256 }), user_id: Printable({ maxLength: 256 }) });
export const PinParams = Type.Object({ id: Printable({ maxLength: 256 }), pin_id: Printable({ maxLength: 256 }) });
