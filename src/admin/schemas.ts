// Request shapes of the admin API, as TypeBox schemas (plain JSON Schema underneath). Bodies
// reject unknown fields, so that a misspelt field is a 400 and never a silent no-op.
import { Type } from 'typebox';
import { InvalidRequest } from '../errors.ts';
import { LOGIN_METHODS, MAX_PROJECT_NAME_LENGTH, PROJECT_ID_PATTERN } from '../projects/projects.ts';
import { MAX_REDIRECT_URI_LENGTH, MAX_REDIRECT_URIS } from '../projects/redirect-uris.ts';
import { PagingQuery } from './paging.ts';
import { MAX_LOGO_URL_LENGTH } from '../projects/branding.ts';
import { MAX_ALLOWED_ORIGINS, MAX_ORIGIN_LENGTH } from '../projects/allowed-origins.ts';
import { MAX_LOCALE_LENGTH, MAX_NAME_LENGTH, MAX_PICTURE_LENGTH } from '../users/profile.ts';
import { MAX_WEBHOOK_DESCRIPTION_LENGTH, MAX_WEBHOOK_URL_LENGTH } from '../webhooks/webhooks.ts';

// No control characters in anything that is stored or looked up: PostgreSQL refuses NUL in
// text, and such a request must be a 400, not a storage error.
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';
const Printable = (options: { minLength?: number; maxLength: number }) => Type.String({ ...options, pattern: PRINTABLE });

// The shapes only: what a good name or redirect URI is, is the project rules' to say
// (checkProjectName, checkRedirectUris), which the command line applies too.
const Name = Type.String({ minLength: 1, maxLength: MAX_PROJECT_NAME_LENGTH });
const RedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: MAX_REDIRECT_URI_LENGTH }), { minItems: 1, maxItems: MAX_REDIRECT_URIS });
// single sign-on (docs/sso.md): the rules of redirect_uris, and none is allowed
const PostLogoutRedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: MAX_REDIRECT_URI_LENGTH }), { maxItems: MAX_REDIRECT_URIS });

// Upper bounds: a code is meant to live seconds (RFC 6749 §4.1.2 says at most 10 minutes);
// signing keys stay published for at least a day after they retire, so no access token may
// outlive that; a refresh chain of a year is already generous.
const MAX_CODE_TTL_SECONDS = 600;
const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;
const MAX_REFRESH_TOKEN_TTL_SECONDS = 31_536_000;
// An absolute session lifetime of more than a few years would be no bound at all.
const MAX_SESSION_SECONDS = 5 * 31_536_000;
// What a project's tokens are signed with (src/crypto/keys.ts SIGNING_ALGS).
const SigningAlgSchema = Type.Union([Type.Literal('ES256'), Type.Literal('RS256')]);
const Lifetime = (maximum: number) => Type.Union([Type.Integer({ minimum: 1, maximum }), Type.Null()]);

// Single sign-on (sso.md): the project fields it adds. What a good origin is, is checkAllowedOrigins' to say.
const SsoProjectFields = {
  allowed_origins: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: MAX_ORIGIN_LENGTH }), { maxItems: MAX_ALLOWED_ORIGINS })),
  require_pkce: Type.Optional(Type.Boolean()),
  login_methods: Type.Optional(Type.Array(Type.Union(LOGIN_METHODS.map((method) => Type.Literal(method))), { minItems: 1, uniqueItems: true })),
  // accounts.md: sign-ins need a verified email
  require_verified_email: Type.Optional(Type.Boolean()),
  // mfa.md: sign-ins need a second factor
  require_mfa: Type.Optional(Type.Boolean()),
  // accounts.md: the hosted pages' branding; null clears. What a good value is, is checkBranding's to say.
  logo_url: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: MAX_LOGO_URL_LENGTH }), Type.Null()])),
  brand_color: Type.Optional(Type.Union([Type.String({ minLength: 7, maxLength: 7 }), Type.Null()])),
};

// Machines (docs/machines.md): what a good scope is, is checkServiceScopes' to say.
const MAX_SERVICE_SCOPES = 50;
const MachineProjectFields = {
  client_credentials: Type.Optional(Type.Boolean()),
  service_scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: MAX_SERVICE_SCOPES })),
  admin_api: Type.Optional(Type.Boolean()),
  // back-channel logout (docs/backchannel-logout.md); null: none. What a good URI is, is checkReceiverUrl's to say.
  backchannel_logout_uri: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH }), Type.Null()])),
};

// federation.md: the upstream providers offered on the project's page; which ids exist is the
// connections' rule to say (checkOfferedConnections).
const FederationProjectFields = {
  connections: Type.Optional(Type.Array(Printable({ minLength: 1, maxLength: 64 }), { maxItems: 50, uniqueItems: true })),
};

// The lifetimes: set at creation or changed later; null is the instance default.
const LifetimeProjectFields = {
  code_ttl_seconds: Type.Optional(Lifetime(MAX_CODE_TTL_SECONDS)),
  access_token_ttl_seconds: Type.Optional(Lifetime(MAX_ACCESS_TOKEN_TTL_SECONDS)),
  refresh_token_ttl_seconds: Type.Optional(Lifetime(MAX_REFRESH_TOKEN_TTL_SECONDS)),
  session_max_seconds: Type.Optional(Lifetime(MAX_SESSION_SECONDS)),
};

export const NewProjectBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: PROJECT_ID_PATTERN.source })),
    name: Name,
    redirect_uris: RedirectUris,
    registration_open: Type.Optional(Type.Boolean()),
    confidential: Type.Optional(Type.Boolean()),
    ...LifetimeProjectFields,
    // single sign-on (docs/sso.md)
    post_logout_redirect_uris: Type.Optional(PostLogoutRedirectUris),
    // Signing keys and algorithms
    token_signing_alg: Type.Optional(SigningAlgSchema),
    ...SsoProjectFields,
    ...MachineProjectFields,
    ...FederationProjectFields,
  },
  { additionalProperties: false },
);

export const ProjectChangesBody = Type.Object(
  {
    name: Type.Optional(Name),
    redirect_uris: Type.Optional(RedirectUris),
    registration_open: Type.Optional(Type.Boolean()),
    ...LifetimeProjectFields,
    // single sign-on (docs/sso.md)
    post_logout_redirect_uris: Type.Optional(PostLogoutRedirectUris),
    // Signing keys and algorithms
    token_signing_alg: Type.Optional(SigningAlgSchema),
    ...SsoProjectFields,
    ...MachineProjectFields,
    ...FederationProjectFields,
  },
  { additionalProperties: false },
);

const Email = Printable({ minLength: 1, maxLength: 320 });
// The password policy decides about length; this bound only keeps absurd inputs out.
const Password = Type.String({ maxLength: 4096 });

// Single sign-on (sso.md "Profile claims"): the shapes only; checkProfile says what a good value is.
const ProfileValue = (maxLength: number) => Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength }), Type.Null()]));
const ProfileFields = {
  name: ProfileValue(MAX_NAME_LENGTH * 2),
  given_name: ProfileValue(MAX_NAME_LENGTH * 2),
  family_name: ProfileValue(MAX_NAME_LENGTH * 2),
  picture: ProfileValue(MAX_PICTURE_LENGTH),
  locale: ProfileValue(MAX_LOCALE_LENGTH),
};

const UserFields = {
  email: Email,
  password: Type.Optional(Password),
  is_admin: Type.Optional(Type.Boolean()),
  email_verified: Type.Optional(Type.Boolean()),
  ...ProfileFields,
};

// A hash made elsewhere (machines.md "Moving accounts in and out"); crypto/foreign-hashes.ts reads it.
export const PasswordHash = Type.String({ minLength: 1, maxLength: 1024 });

export const NewUserBody = Type.Object(
  { ...UserFields, password_hash: Type.Optional(PasswordHash) },
  { additionalProperties: false },
);

// Type.Partial drops the object's options, so additionalProperties is said again.
export const UserChangesBody = Type.Partial(Type.Object(UserFields), { additionalProperties: false });

export const UserQuery = Type.Object({ email: Type.Optional(Email), ...PagingQuery });

/** GET /admin/projects: `search` finds the projects whose id or name contains it. */
export const ProjectListQuery = Type.Object({ search: Type.Optional(Printable({ maxLength: 200 })), ...PagingQuery });

const Filter = Printable({ minLength: 1, maxLength: 256 });
const Instant = Type.String({ minLength: 1, maxLength: 64 });

export const AuditQueryString = Type.Object({
  project: Type.Optional(Filter),
  subject: Type.Optional(Filter),
  type: Type.Optional(Filter),
  since: Type.Optional(Instant),
  until: Type.Optional(Instant),
  before: Type.Optional(Instant),
  before_id: Type.Optional(Filter),
  ...PagingQuery,
});

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

// Signing keys: a rotation, pre-published unless `immediately` (for a leaked key).
export const RotateKeysBody = Type.Object({ immediately: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

// Webhooks (docs/webhooks.md): the shapes only; checkWebhookUrl and checkEvents say what a good
// URL and a good list of event types are.
const WebhookUrl = Printable({ minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH });
const WebhookEvents = Type.Array(Printable({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 100 });
const WebhookProject = Type.Union([Printable({ minLength: 1, maxLength: 256 }), Type.Null()]);
const WebhookDescription = Type.Union([Printable({ maxLength: MAX_WEBHOOK_DESCRIPTION_LENGTH }), Type.Null()]);

export const NewWebhookBody = Type.Object(
  {
    url: WebhookUrl,
    events: WebhookEvents,
    project: Type.Optional(WebhookProject),
    description: Type.Optional(WebhookDescription),
  },
  { additionalProperties: false },
);

export const WebhookChangesBody = Type.Partial(NewWebhookBody, { additionalProperties: false });

// Connections (docs/federation.md): the shapes only; ConnectionService says what a good id,
// issuer and scope list are (400 Invalid request with a detail).
const ConnectionFields = {
  name: Printable({ minLength: 1, maxLength: 100 }),
  issuer: Printable({ minLength: 1, maxLength: 2048 }),
  client_id: Printable({ minLength: 1, maxLength: 512 }),
  client_secret: Printable({ minLength: 1, maxLength: 2048 }),
  scopes: Type.Optional(Printable({ minLength: 1, maxLength: 1024 })),
};

export const NewConnectionBody = Type.Object({ id: Printable({ minLength: 1, maxLength: 64 }), ...ConnectionFields }, { additionalProperties: false });

export const ConnectionChangesBody = Type.Partial(Type.Object(ConnectionFields), { additionalProperties: false });
