// Table shapes shared by SQLite and PostgreSQL. Booleans are 0/1 integers and times are
// epoch milliseconds so that one set of migrations and one set of queries serve both.
import type { ColumnType } from 'kysely';

export interface ProjectsTable {
  id: string;
  name: string;
  /** JSON array of exact-match redirect URIs */
  redirect_uris: string;
  /** SHA-256 of the client secret; null for public clients */
  secret_hash: string | null;
  registration_open: number;
  code_ttl_seconds: number | null;
  access_token_ttl_seconds: number | null;
  refresh_token_ttl_seconds: number | null;
  /** absolute session lifetime; null: GATEHOUSE_SESSION_MAX_SECONDS */
  session_max_seconds: number | null;
  /** JSON array of origins allowed for CORS besides those of the redirect URIs (default `[]`) */
  allowed_origins: ColumnType<string, string | undefined, string>;
  /** 1: PKCE required (default); 0: a confidential project may leave it out */
  require_pkce: ColumnType<number, number | undefined, number>;
  /** JSON array of the sign-in methods offered (default all) */
  login_methods: ColumnType<string, string | undefined, string>;
  created_at: number;
  /** JSON array of exact-match URIs a logout may redirect to (0007) */
  post_logout_redirect_uris: ColumnType<string, string | undefined, string>;
  updated_at: number;
  /** new (random) at every change of the row: the refresh grant's check of a remembered project (migration 0020) */
  revision: ColumnType<string, string | undefined, string>;
  /** 'ES256' or 'RS256': what the project's tokens are signed with (default ES256) */
  token_signing_alg: ColumnType<string, string | undefined, string>;
  /** 1: a sign-in needs a verified email (0010; default 0) */
  require_verified_email: ColumnType<number, number | undefined, number>;
  /** 1: every sign-in needs a second factor (0012; default 0) */
  require_mfa: ColumnType<number, number | undefined, number>;
  /** an https URL of the logo the hosted pages show (0011; null: none) */
  logo_url: ColumnType<string | null, string | null | undefined, string | null>;
  /** `#rrggbb`, lower case: the hosted pages' button and link colour where it contrasts enough (0011; null: the default) */
  brand_color: ColumnType<string | null, string | null | undefined, string | null>;
  /** 1: the project may use the client_credentials grant (0014; default 0) */
  client_credentials: ColumnType<number, number | undefined, number>;
  /** JSON array of the scopes a client_credentials token may carry (0014; default `[]`) */
  service_scopes: ColumnType<string, string | undefined, string>;
  /** 1: its client_credentials tokens with the scope `admin` may use the admin API (0014; default 0) */
  admin_api: ColumnType<number, number | undefined, number>;
  /** where its back-channel logout tokens are POSTed; null: none are (0017) */
  backchannel_logout_uri: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON array of the ids of the upstream providers offered on its page (0016; default `[]`) */
  connections: ColumnType<string, string | undefined, string>;
}

export interface UsersTable {
  id: string;
  email: string;
  /** trimmed, lower-cased email: the unique key */
  email_normalized: string;
  password_hash: string | null;
  email_verified: number;
  is_admin: number;
  created_at: number;
  updated_at: number;
  // Profile claims (sso.md); null: not set.
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  locale: string | null;
}

interface MembershipsTable {
  project_id: string;
  user_id: string;
  blocked: number;
  created_at: number;
}

interface PinsTable {
  id: string;
  project_id: string;
  label: string | null;
  /** HMAC-SHA-256 of project id and PIN under the instance's PIN key */
  pin_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface SessionsTable {
  /** SHA-256 of the session's sid; the sid itself is only in its tokens */
  id: string;
  project_id: string;
  /** user id, or pin:<id> */
  subject: string;
  user_id: string | null;
  pin_id: string | null;
  method: string;
  scope: string;
  auth_time: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /**
   * The sid, sealed (AES-256-GCM, sessions/sid-key.ts) with the row's id as associated data, so
   * that the admin listing can show it; null for a session from before it was kept (0006)
   */
  sid_sealed: string | null;
  /** the browser session this project session was started from (0007); null otherwise */
  browser_session_id: string | null;
}

export interface BrowserSessionsTable {
  id: string;
  /** SHA-256 of the cookie's value; the value itself is only in the browser */
  token_hash: string;
  user_id: string;
  auth_time: number;
  /** JSON array of the methods used (amr) */
  amr: string;
  created_at: number;
  last_used_at: number;
  ip: string | null;
  user_agent: string | null;
  ended_at: number | null;
}

interface RefreshTokensTable {
  /** SHA-256 of the token; the token itself is never stored */
  token_hash: string;
  session_id: string;
  project_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** SHA-256 of the token this one was exchanged for, set when it is spent (migration 0019) */
  successor_hash: string | null;
}

interface KvTable {
  key: string;
  value: string;
  expires_at: number;
}

interface SigningKeysTable {
  kid: string;
  alg: string;
  /** the private JWK, sealed (crypto/sealed.ts) when GATEHOUSE_SECRET_KEY is set */
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  /** when it stops (or stopped) signing; it stays in the JWKS until tokens it signed have expired */
  retired_at: number | null;
  /** when it starts signing (a pre-published key is in the JWKS before); null: created_at */
  signs_from: ColumnType<number | null, number | null | undefined, number | null>;
}

interface InstanceSecretsTable {
  name: string;
  /** sealed (crypto/sealed.ts) when GATEHOUSE_SECRET_KEY is set */
  value: string;
  created_at: number;
}

export interface AccountTokensTable {
  /** SHA-256 of the mailed token; the token itself is never stored */
  token_hash: string;
  /** 'password_reset' | 'verify_email' | 'email_change' */
  purpose: string;
  user_id: string;
  /** the account's address when the token was mailed: the token works only while it still is */
  email: string;
  /** email_change: the address the account switches to */
  new_email: string | null;
  /** JSON of the authorization request a sign-in with the token resumes; null: none */
  authorization: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** a newer token of the same purpose ended this one */
  ended_at: number | null;
}

export interface AuditEventsTable {
  id: string;
  at: number;
  type: string;
  project_id: string | null;
  subject: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: string;
  detail: string | null;
}

export interface SecondFactorsTable {
  id: string;
  user_id: string;
  /** 'totp' */
  kind: string;
  /** the secret, sealed (crypto/sealed.ts) with `second_factors:<id>` as associated data */
  secret_sealed: string;
  created_at: number;
  /** null until the person typed a valid code: an unconfirmed factor counts for nothing */
  confirmed_at: number | null;
  /** the last time step a code was accepted for */
  last_step: number | null;
}

export interface RecoveryCodesTable {
  /** SHA-256 of the code; the code itself is shown once and never stored */
  code_hash: string;
  user_id: string;
  created_at: number;
  used_at: number | null;
}

/** mfa.md: a WebAuthn credential of a person (migration 0021_passkeys). */
export interface PasskeysTable {
  /** the credential id, base64url */
  id: string;
  user_id: string;
  /** the COSE public key, base64url */
  public_key: string;
  sign_count: number;
  /** JSON list of the authenticator's transports ("internal", "usb", …) */
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface WebhooksTable {
  id: string;
  url: string;
  /** JSON list of audit event types, or ["*"] */
  events: string;
  project_id: string | null;
  description: string | null;
  /** sealed (crypto/sealed.ts) when GATEHOUSE_SECRET_KEY is set */
  secret: string;
  created_at: number;
  updated_at: number;
}

/** What a delivery row carries (0017): an audit event to a webhook, or a logout token to a project. */
export type DeliveryKind = 'webhook' | 'backchannel_logout';

export interface WebhookDeliveriesTable {
  id: string;
  /** 'webhook' (the default) or 'backchannel_logout' (0017) */
  kind: ColumnType<DeliveryKind, DeliveryKind | undefined, DeliveryKind>;
  /** the webhook's id; for a back-channel logout, the project's */
  webhook_id: string;
  event_id: string;
  event_type: string;
  /** the JSON body, fixed when the event was recorded */
  payload: string;
  attempt: number;
  status: 'pending' | 'delivered' | 'failed';
  next_attempt_at: number;
  claimed_until: number | null;
  last_status: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface ConnectionsTable {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  /** sealed (crypto/sealed.ts) with `connections:<id>` as associated data when GATEHOUSE_SECRET_KEY is set */
  client_secret: string;
  /** space-separated, `openid` among them */
  scopes: string;
  /** JSON of the provider's discovery document, fetched when the connection was made or its issuer changed */
  metadata: string;
  created_at: number;
  updated_at: number;
}

export interface IdentitiesTable {
  connection_id: string;
  /** the provider's `sub` */
  sub: string;
  user_id: string;
  /** the email the provider last asserted, for the account page; null: none */
  email: string | null;
  created_at: number;
  last_used_at: number | null;
}

export interface Database {
  projects: ProjectsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  pins: PinsTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  kv: KvTable;
  signing_keys: SigningKeysTable;
  instance_secrets: InstanceSecretsTable;
  audit_events: AuditEventsTable;
  browser_sessions: BrowserSessionsTable;
  account_tokens: AccountTokensTable;
  second_factors: SecondFactorsTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  connections: ConnectionsTable;
  identities: IdentitiesTable;
}
