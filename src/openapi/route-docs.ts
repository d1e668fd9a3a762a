// What each route is for and which errors of the catalogue it can answer: the part of the
// API reference that a validation schema cannot say. The OpenAPI document (src/http/openapi.ts)
// joins it to the routes' own schemas; a test fails when a registered route has no entry here.
import * as E from '../errors.ts';
import type { ErrorFactory } from '../errors.ts';
import { ACCOUNT_ROUTE_DOCS } from '../account/routes.ts';
import { PASSKEY_ROUTE_DOCS } from '../login/passkey/routes.ts';
import { ENROLMENT_ROUTE_DOCS } from '../login/mfa/enrolment-routes.ts';
import { FEDERATION_ROUTE_DOCS } from '../federation/routes.ts';

export interface RouteDoc {
  summary: string;
  tag: 'OAuth' | 'Login' | 'Admin' | 'Operations' | 'Pages';
  /** errors beyond the ones every route can give (see COMMON_ERRORS) */
  errors: ErrorFactory[];
  /** fields of the JSON or form body, for routes that validate in code (SPEC check order) */
  bodyFields?: Record<string, string>;
  /** query parameters, for routes that validate in code */
  queryFields?: Record<string, string>;
  /** the answer on success */
  success?: { status: number; description: string; contentType?: string };
  /** Bearer access token of the console project */
  admin?: boolean;
}

/** Errors any route may answer: a malformed request, one that arrived too slowly or with too many headers, or storage that is down. */
const COMMON_ERRORS: ErrorFactory[] = [E.InvalidRequest, E.RequestTimeout, E.HeadersTooLarge, E.InternalError, E.ServiceUnavailable];
/** Errors any route with a body may answer. */
const BODY_ERRORS: ErrorFactory[] = [E.UnsupportedMediaType, E.PayloadTooLarge];
const ADMIN_ERRORS: ErrorFactory[] = [E.Unauthorized, E.Forbidden];

const AUTHORIZATION_ERRORS = [E.MissingOrInvalidParameters, E.OnlyS256, E.InvalidClientId, E.InvalidRedirectUri];
const LOGOUT_FIELDS: Record<string, string> = {
  id_token_hint: 'an ID token of this issuer (signature checked, expiry not); its `aud` names the project',
  client_id: 'the project, when there is no id_token_hint',
  post_logout_redirect_uri: 'one of the project\'s `post_logout_redirect_uris`, exactly',
  state: 'given back on the redirect',
};
const AUTHORIZATION_FIELDS: Record<string, string> = {
  response_type: '`code`',
  client_id: 'the project id',
  redirect_uri: 'one of the project\'s redirect URIs, exactly',
  code_challenge: 'PKCE S256 challenge: 43 base64url characters',
  code_challenge_method: '`S256`',
  state: 'optional; returned with the code',
  scope: 'optional, space-separated: `openid`, `email`, `profile`, `offline_access`',
  nonce: 'optional; put into the ID token',
};
const LOGIN_SUCCESS = {
  status: 200,
  description:
    '`{"redirect_to", "code", "state"}`; a form post from the hosted page gets a 303 to `redirect_to`. A person with a second factor gets `{"mfa_required": true, "mfa_token", "methods"}` and no code (docs/mfa.md): `POST /login/mfa` finishes',
};

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /authorize': {
    summary: 'Checks the authorization request and shows the hosted login page',
    tag: 'OAuth',
    errors: AUTHORIZATION_ERRORS,
    queryFields: AUTHORIZATION_FIELDS,
    success: { status: 200, description: 'the login page; with a live browser session a 302 to redirect_uri with code, state and iss (single sign-on, docs/sso.md), or with error for prompt=none', contentType: 'text/html' },
  },
  'POST /authorize': {
    summary: 'The "Continue as" button of the prompt=select_account page: single sign-on with the browser session (docs/sso.md)',
    tag: 'OAuth',
    errors: [...AUTHORIZATION_ERRORS, E.AccountBlocked, E.NotAMember, E.EmailNotVerified, E.Forbidden],
    bodyFields: AUTHORIZATION_FIELDS,
    success: { status: 302, description: 'to redirect_uri with code, state and iss (or the login page when the browser session has ended)' },
  },
  'GET /logout': {
    summary: 'RP-initiated logout (docs/sso.md): signs out at once, or shows a confirmation page',
    tag: 'OAuth',
    errors: [E.InvalidPostLogoutRedirectUri],
    queryFields: LOGOUT_FIELDS,
    success: { status: 302, description: 'to post_logout_redirect_uri (with state), or 200 the "You are signed out" page or the confirmation page' },
  },
  'POST /logout': {
    summary: 'RP-initiated logout, or the confirmation page\'s button: signs out',
    tag: 'OAuth',
    errors: [E.InvalidPostLogoutRedirectUri, E.Forbidden],
    bodyFields: LOGOUT_FIELDS,
    success: { status: 302, description: 'to post_logout_redirect_uri (with state), or 200 the "You are signed out" page' },
  },
  'POST /login': {
    summary: 'Signs in with email and password',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.InvalidCredentials, E.AccountBlocked, E.NotAMember, E.EmailNotVerified, E.MfaEnrollmentRequired, E.RateLimited, E.Forbidden],
    bodyFields: { ...AUTHORIZATION_FIELDS, email: 'the account\'s email', password: 'its password' },
    success: LOGIN_SUCCESS,
  },
  'POST /login/mfa': {
    summary: 'The second step (docs/mfa.md): the `mfa_token` of the first factor with a TOTP code, a recovery code or a passkey\'s assertion',
    tag: 'Login',
    errors: [E.MissingRequiredFields, E.InvalidOrExpiredToken, E.InvalidCode, E.RateLimited, E.AccountBlocked, E.NotAMember, E.Forbidden],
    bodyFields: {
      mfa_token: 'the `mfa_token` of the first factor\'s answer (5 minutes, single use; 5 wrong codes end it)',
      totp_code: 'the 6-digit code of the authenticator app',
      recovery_code: 'instead of totp_code: one of the recovery codes (each works once)',
      passkey_response: 'instead of a code: the answer of `startAuthentication` to the options of `POST /login/mfa/passkey/options` (an object in JSON, its JSON text in a form)',
    },
    success: { status: 200, description: '`{"redirect_to", "code", "state"}`; a form post from the hosted page gets a 303 to `redirect_to`' },
  },
  'POST /login/pin': {
    summary: 'Signs a device in with a project PIN',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.InvalidPin, E.RateLimited, E.Forbidden],
    bodyFields: { ...AUTHORIZATION_FIELDS, pin: 'a PIN of the project' },
    success: LOGIN_SUCCESS,
  },
  'GET /register': {
    summary: 'The page "Create an account" leads to: the registration form, keeping the authorization parameters',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.RegistrationClosed],
    queryFields: { ...AUTHORIZATION_FIELDS, login_hint: 'optional: prefills the email' },
    success: { status: 200, description: 'the page', contentType: 'text/html' },
  },
  'POST /register': {
    summary: 'Creates an account and its membership, then signs in',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.EmailAlreadyRegistered, E.InvalidPassword, E.RegistrationClosed, E.RateLimited, E.Forbidden],
    bodyFields: { ...AUTHORIZATION_FIELDS, email: 'the new account\'s email, plain ASCII `local@domain` (an international domain as `xn--…`)', password: '8 to 256 characters, not a common password', name: 'optional: the person\'s name, 1 to 200 characters (the `name` claim)' },
    success: { status: 201, description: '`{"redirect_to", "code", "state"}`; a form post gets a 303 to `redirect_to`. A verification link is mailed; on a project with `require_verified_email` the answer is 202 `{"verification_sent": true}` with no code, and the link signs in' },
  },
  'POST /magic-link': {
    summary: 'Mails a single-use sign-in link',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.RateLimited, E.Forbidden],
    bodyFields: { ...AUTHORIZATION_FIELDS, email: 'where to send the link, plain ASCII `local@domain`' },
    success: { status: 202, description: '`{"sent": true}`, whether or not the email has an account' },
  },
  'GET /magic-link/verify': {
    summary: 'Checks a magic-link token without using it',
    tag: 'Login',
    errors: [E.InvalidOrExpiredToken],
    queryFields: { token: 'the token from the mail' },
    success: { status: 200, description: '`{"valid": true}`, or a page whose button uses the link' },
  },
  'POST /magic-link/verify': {
    summary: 'Uses a magic-link token (once) and signs in',
    tag: 'Login',
    errors: [E.InvalidOrExpiredToken, E.RegistrationClosed, E.NotAMember, E.AccountBlocked, E.MfaEnrollmentRequired, E.Forbidden],
    bodyFields: { token: 'the token from the mail' },
    success: LOGIN_SUCCESS,
  },
  'GET /password-reset': {
    summary: 'The page "Forgot password?" leads to: an email form that keeps the authorization parameters',
    tag: 'Login',
    errors: AUTHORIZATION_ERRORS,
    queryFields: { ...AUTHORIZATION_FIELDS, login_hint: 'optional: prefills the email' },
    success: { status: 200, description: 'the page', contentType: 'text/html' },
  },
  'POST /password-reset': {
    summary: 'Mails a password-reset link to an existing account (3 per email and 10 per client address an hour)',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.RateLimited, E.Forbidden],
    bodyFields: { ...AUTHORIZATION_FIELDS, email: 'the account\'s email, plain ASCII `local@domain`' },
    success: { status: 202, description: '`{"sent": true}`, whether or not the email has an account (the page: "Check your mail")' },
  },
  'GET /password-reset/verify': {
    summary: 'Checks a reset token without using it',
    tag: 'Login',
    errors: [E.InvalidOrExpiredToken],
    queryFields: { token: 'the token from the mail' },
    success: { status: 200, description: '`{"valid": true}`, or a page with the new-password form' },
  },
  'POST /password-reset/verify': {
    summary: 'Sets a new password with a reset token (once), ends every session of the account and signs in to the app the request came from',
    tag: 'Login',
    errors: [E.InvalidPassword, E.InvalidOrExpiredToken, E.AccountBlocked, E.NotAMember, E.MfaEnrollmentRequired, E.Forbidden],
    bodyFields: { token: 'the token from the mail', password: 'the new password: 8 to 256 characters, not a common one (checked first: a refused one leaves the token usable)' },
    success: LOGIN_SUCCESS,
  },
  'POST /verify-email/resend': {
    summary: 'Mails the verification link again to an account whose email is not verified (3 per email an hour); using it signs in to the app',
    tag: 'Login',
    errors: [...AUTHORIZATION_ERRORS, E.LoginMethodNotAllowed, E.RateLimited, E.Forbidden],
    bodyFields: { ...AUTHORIZATION_FIELDS, email: 'the account\'s email' },
    success: { status: 202, description: '`{"sent": true}`, whether or not such an account exists' },
  },
  'GET /verify-email': {
    summary: 'Checks an email verification (or email change) token without using it',
    tag: 'Login',
    errors: [E.InvalidOrExpiredToken],
    queryFields: { token: 'the token from the mail' },
    success: { status: 200, description: '`{"valid": true}`, or a page whose button uses the link' },
  },
  'POST /verify-email': {
    summary: 'Uses a verification token (once): the email is verified (an email change switches to the new address); a registration\'s link also signs in',
    tag: 'Login',
    errors: [E.InvalidOrExpiredToken, E.EmailAlreadyRegistered, E.AccountBlocked, E.NotAMember, E.Forbidden],
    bodyFields: { token: 'the token from the mail' },
    success: { status: 200, description: '`{"verified": true}`; for a registration\'s link `{"verified": true, "redirect_to", "code", "state"}` (a form post gets a 303 to `redirect_to`)' },
  },
  'POST /token': {
    summary: 'Exchanges an authorization code or a refresh token for tokens',
    tag: 'OAuth',
    errors: [
      E.MissingClientId, E.RateLimited, E.InvalidClientId, E.InvalidClientSecret, E.UnsupportedGrantType,
      E.MissingRequiredFields, E.InvalidOrExpiredCode, E.ProjectMismatch, E.RedirectUriMismatch, E.PkceFailed,
      E.MissingRefreshToken, E.InvalidRefreshToken, E.RefreshTokenExpired, E.PinRevoked, E.UserNotFound, E.AccountBlocked, E.Forbidden,
      E.InvalidScope,
    ],
    bodyFields: {
      grant_type: '`authorization_code`, `refresh_token` or `client_credentials` (a confidential project given it, docs/machines.md)',
      client_id: 'the project id (or HTTP Basic)',
      client_secret: 'for confidential projects (or HTTP Basic)',
      code: 'authorization_code: the code',
      code_verifier: 'authorization_code: the PKCE verifier (RFC 7636, 43-128 characters)',
      redirect_uri: 'authorization_code: the redirect URI the code was issued for',
      refresh_token: 'refresh_token: the current refresh token',
      scope: 'client_credentials: optional, space-separated, each one of the project\'s `service_scopes` (or `admin` with `admin_api`); none: every service scope',
    },
    success: { status: 200, description: '`{"access_token", "token_type", "expires_in", "refresh_token", "scope"}` and `id_token` for `openid`; client_credentials: `{"access_token", "token_type", "expires_in", "scope"}`' },
  },
  'POST /revoke': {
    summary: 'Revokes a token (RFC 7009); a refresh or access token ends its session',
    tag: 'OAuth',
    errors: [E.MissingTokenOrClientId, E.InvalidClientId, E.Forbidden, E.InvalidClientSecret],
    bodyFields: { token: 'the token', client_id: 'the project id', client_secret: 'for confidential projects' },
    success: { status: 200, description: '`{}` for any token, known or not' },
  },
  'POST /introspect': {
    summary: 'Whether a token is active (RFC 7662): the tokens of the calling project, or any with `admin_api` (docs/machines.md)',
    tag: 'OAuth',
    errors: [E.MissingTokenOrClientId, E.InvalidClientId, E.RateLimited, E.Forbidden, E.InvalidClientSecret],
    bodyFields: {
      token: 'an access token or a refresh token',
      token_type_hint: 'optional: `access_token` or `refresh_token` (not needed: the two look different)',
      client_id: 'the project id (or HTTP Basic)',
      client_secret: 'for confidential projects (or HTTP Basic)',
    },
    success: { status: 200, description: '`{"active": true, "scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "sid", "token_type"}` (`Bearer` or `refresh_token`), or `{"active": false}` for a revoked, expired, ended, unknown or other project\'s token' },
  },
  'OPTIONS /introspect': { summary: 'CORS preflight: 204, with CORS headers when some project allows the Origin', tag: 'OAuth', errors: [], success: { status: 204, description: 'no body' } },
  'GET /.well-known/openid-configuration': { summary: 'OpenID Connect discovery', tag: 'OAuth', errors: [], success: { status: 200, description: 'the discovery document' } },
  'GET /.well-known/oauth-authorization-server': { summary: 'OAuth 2.0 server metadata (RFC 8414), the same document', tag: 'OAuth', errors: [], success: { status: 200, description: 'the discovery document' } },
  'GET /.well-known/jwks.json': { summary: 'The public signing keys', tag: 'OAuth', errors: [], success: { status: 200, description: '`{"keys": [...]}`' } },
  'GET /userinfo': { summary: 'Claims of the access token\'s subject', tag: 'OAuth', errors: [E.Unauthorized], success: { status: 200, description: '`{"sub"}`, `email` and `email_verified` with the `email` scope, the profile claims that are set and `updated_at` with `profile`' } },
  'OPTIONS /token': { summary: 'CORS preflight: 204, with CORS headers when some project allows the Origin', tag: 'OAuth', errors: [], success: { status: 204, description: 'no body' } },
  'OPTIONS /revoke': { summary: 'CORS preflight: 204, with CORS headers when some project allows the Origin', tag: 'OAuth', errors: [], success: { status: 204, description: 'no body' } },
  'OPTIONS /userinfo': { summary: 'CORS preflight: 204, with CORS headers when some project allows the Origin', tag: 'OAuth', errors: [], success: { status: 204, description: 'no body' } },
  'POST /userinfo': { summary: 'Claims of the access token\'s subject', tag: 'OAuth', errors: [E.Unauthorized], success: { status: 200, description: '`{"sub"}`, `email` and `email_verified` with the `email` scope, the profile claims that are set and `updated_at` with `profile`' } },

  'POST /admin/projects': { summary: 'Creates a project', tag: 'Admin', admin: true, errors: [E.ProjectAlreadyExists], success: { status: 201, description: 'the project (+ `client_secret` once when confidential)' } },
  'GET /admin/projects': { summary: 'Lists projects (paged: `limit`, `cursor`); `search` keeps those whose id or name contains it (letters compared without case)', tag: 'Admin', admin: true, errors: [], success: { status: 200, description: '`{"projects": [...], "next_cursor"}`' } },
  'GET /admin/projects/:id': { summary: 'One project', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'PATCH /admin/projects/:id': { summary: 'Changes a project (the console\'s and the account page\'s redirect URIs follow the issuer)', tag: 'Admin', admin: true, errors: [E.NotFound, E.ConsoleRedirectUriFixed, E.AccountRedirectUriFixed] },
  'DELETE /admin/projects/:id': { summary: 'Deletes a project with its members, PINs and sessions', tag: 'Admin', admin: true, errors: [E.NotFound, E.ConsoleProjectProtected, E.AccountProjectProtected], success: { status: 204, description: 'deleted' } },
  'GET /admin/keys': {
    summary: 'The signing keys, newest first, never their private parts',
    tag: 'Admin',
    admin: true,
    errors: [],
    success: { status: 200, description: '`{"keys": [{"kid", "alg", "state": "next" | "current" | "retired", "created_at", "signs_from", "published_until"}]}`' },
  },
  'POST /admin/keys/rotate': {
    summary: 'Adds a next signing key of each algorithm, published at once, signing after `GATEHOUSE_KEY_PREPUBLISH_SECONDS`; `{"immediately": true}` makes it sign at once and withdraws the old keys',
    tag: 'Admin',
    admin: true,
    errors: [],
    success: { status: 200, description: '`{"kids": {"ES256", "RS256"}, "signs_from", "withdrawn", "keys": [...]}`' },
  },
  'POST /admin/projects/:id/secret': { summary: 'Issues a new client secret, shown once', tag: 'Admin', admin: true, errors: [E.NotFound, E.ConsoleProjectProtected, E.AccountProjectProtected] },
  'GET /admin/projects/:id/members': { summary: 'Members of a project (paged: `limit`, `cursor`)', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"members": [{"user_id", "email", "blocked"}], "next_cursor"}`' } },
  'PUT /admin/projects/:id/members/:user_id': { summary: 'Adds a member', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'DELETE /admin/projects/:id/members/:user_id': { summary: 'Removes a member and ends their sessions in the project', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'removed' } },
  'POST /admin/projects/:id/members/:user_id/block': { summary: 'Blocks a member in this project', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'POST /admin/projects/:id/members/:user_id/unblock': { summary: 'Unblocks a member', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'GET /admin/projects/:id/pins': { summary: 'PINs of a project, never the PIN itself (paged: `limit`, `cursor`)', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"pins": [{"id", "label", "created_at", "revoked_at"}], "next_cursor"}`' } },
  'POST /admin/projects/:id/pins': { summary: 'Creates a PIN, shown once', tag: 'Admin', admin: true, errors: [E.NotFound, E.MaxActivePins], success: { status: 201, description: '`{"id", "pin", "label"}`' } },
  'DELETE /admin/projects/:id/pins/:pin_id': { summary: 'Revokes a PIN; its refresh tokens answer `PIN revoked`', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'revoked' } },
  'GET /admin/users': { summary: 'Lists users, optionally by `email` (paged: `limit`, `cursor`)', tag: 'Admin', admin: true, errors: [], success: { status: 200, description: '`{"users": [...], "next_cursor"}`' } },
  'POST /admin/users': { summary: 'Creates a user', tag: 'Admin', admin: true, errors: [E.EmailAlreadyRegistered, E.InvalidPassword], success: { status: 201, description: 'the user' } },
  'GET /admin/users/:id': { summary: 'One user, with `"mfa": {"totp", "passkeys", "recovery_codes_left"}` (docs/mfa.md)', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'DELETE /admin/users/:id/mfa': { summary: 'Removes every second factor of a user and their recovery codes (docs/mfa.md)', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'removed (also when there was none)' } },
  'PATCH /admin/users/:id': { summary: 'Changes a user', tag: 'Admin', admin: true, errors: [E.NotFound, E.EmailAlreadyRegistered, E.InvalidPassword] },
  'DELETE /admin/users/:id': { summary: 'Deletes a user (their refresh tokens then answer `User not found`)', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'deleted' } },
  'GET /admin/projects/:id/sessions': { summary: 'Live sessions of a project, newest first (paged: `limit`, `cursor`)', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"sessions": [{"id", "subject", "method", "created_at", "expires_at"}], "next_cursor"}`; a session\'s `id` is the `sid` claim of its tokens' } },
  'DELETE /admin/sessions/:id': { summary: 'Ends a session (`:id` is its `sid`)', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'ended' } },
  'GET /admin/users/:id/browser-sessions': { summary: 'Live browser sessions of a user (docs/sso.md), newest first', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"browser_sessions": [{"id", "user_id", "auth_time", "amr", "created_at", "last_used_at", "ip", "user_agent"}]}`' } },
  'DELETE /admin/browser-sessions/:id': { summary: 'Ends a browser session: that browser is signed out', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'ended' } },
  'POST /admin/webhooks': { summary: 'Adds a webhook (docs/webhooks.md); its signing secret is shown once', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 201, description: '`{"id", "url", "events", "project", "description", "created_at", "updated_at", "secret"}`' } },
  'GET /admin/webhooks': { summary: 'Every webhook, never its secret', tag: 'Admin', admin: true, errors: [], success: { status: 200, description: '`{"webhooks": [{"id", "url", "events", "project", "description", "created_at", "updated_at"}]}`' } },
  'GET /admin/webhooks/:id': { summary: 'One webhook', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'PATCH /admin/webhooks/:id': { summary: 'Changes a webhook (`url`, `events`, `project`, `description`)', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'DELETE /admin/webhooks/:id': { summary: 'Deletes a webhook and its deliveries, pending ones included', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'deleted' } },
  'POST /admin/webhooks/:id/secret': { summary: 'A new signing secret, shown once; the old one signs nothing more', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"id", "secret"}`' } },
  'POST /admin/webhooks/:id/test': { summary: 'Sends a `webhook.test` event now, once, and answers how it went', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"event_id", "delivered", "status", "error", "duration_ms"}`' } },
  'GET /admin/webhooks/:id/deliveries': { summary: 'The latest deliveries of a webhook, newest first', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"deliveries": [{"id", "event_id", "event_type", "attempt", "status", "last_status", "last_error", "duration_ms", "next_attempt_at", "created_at", "delivered_at"}]}`' } },
  'GET /admin/audit/:id': { summary: 'One audit event by its id', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"id", "at", "type", "outcome", "project_id", "subject", "ip", "user_agent", "detail"}`' } },
  'GET /admin/users/:id/sessions': { summary: "A user's live sessions in every project, newest first (paged: `limit`, `cursor`)", tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 200, description: '`{"sessions": [{"id", "project_id", "subject", "method", "created_at", "expires_at"}], "next_cursor"}`' } },
  'DELETE /admin/users/:id/sessions': { summary: 'Signs a user out everywhere: every project session and every browser session ends', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'ended' } },
  'POST /admin/users/:id/password-reset': {
    summary: 'Mails the user a password reset link (as "Forgot password?" does); optional `project` names the app in the mail. The link sets the password and signs in nowhere',
    tag: 'Admin',
    admin: true,
    errors: [E.NotFound],
    success: { status: 202, description: '`{"sent": true, "expires_in"}`' },
  },
  'GET /admin/audit': { summary: 'Security events, newest first (paged: `limit`, `cursor`)', tag: 'Admin', admin: true, errors: [], success: { status: 200, description: '`{"events": [...], "next_cursor"}`' } },

  'GET /healthz': { summary: 'Readiness: 200 when storage answers', tag: 'Operations', errors: [], success: { status: 200, description: '`{"status": "ok"}`' } },
  'GET /metrics': { summary: 'Prometheus metrics (when GATEHOUSE_METRICS_TOKEN is set; Bearer that token)', tag: 'Operations', errors: [E.Unauthorized, E.NotFound], success: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' } },
  'GET /openapi.json': { summary: 'This document', tag: 'Operations', errors: [], success: { status: 200, description: 'OpenAPI 3.1' } },
  'GET /docs': { summary: 'This reference as a page', tag: 'Operations', errors: [], success: { status: 200, description: 'HTML', contentType: 'text/html' } },
  'GET /assets/gatehouse.css': { summary: 'Stylesheet of the hosted pages', tag: 'Pages', errors: [], success: { status: 200, description: 'CSS', contentType: 'text/css' } },
  'GET /assets/brand/:file': {
    summary: "Stylesheet of a project's brand colour: `<rrggbb>.css` (lower case), the button and link colours per colour scheme where they contrast enough",
    tag: 'Pages',
    errors: [E.NotFound],
    success: { status: 200, description: 'CSS', contentType: 'text/css' },
  },
  'GET /console': { summary: 'The admin console (docs/console.md): the HTML shell of the browser app, never cached', tag: 'Pages', errors: [], success: { status: 200, description: 'HTML', contentType: 'text/html' } },
  'GET /console/callback': { summary: "Redirect URI of the console project: the console's shell, whose app exchanges the code itself", tag: 'Pages', errors: [], success: { status: 200, description: 'HTML', contentType: 'text/html' } },
  'GET /console/assets/:file': { summary: "The console's fingerprinted script and stylesheet (`app-<hash>.js`, `app-<hash>.css`), cached a year, immutable", tag: 'Pages', errors: [E.NotFound], success: { status: 200, description: 'JavaScript or CSS', contentType: 'text/javascript' } },
  ...ACCOUNT_ROUTE_DOCS,
  ...PASSKEY_ROUTE_DOCS,
  ...ENROLMENT_ROUTE_DOCS,
  // federation.md: the upstream OpenID providers
  'POST /admin/connections': {
    summary: 'Adds an upstream OpenID provider (docs/federation.md): its discovery document is fetched at once (unreachable, invalid, or another `issuer`: 400 `Invalid request` with a `detail`); the client secret is never shown again',
    tag: 'Admin',
    admin: true,
    errors: [],
    success: { status: 201, description: '`{"id", "name", "issuer", "client_id", "scopes", "redirect_uri", "created_at", "updated_at"}`: register `redirect_uri` at the provider' },
  },
  'GET /admin/connections': { summary: 'Every connection, never its secret', tag: 'Admin', admin: true, errors: [], success: { status: 200, description: '`{"connections": [{"id", "name", "issuer", "client_id", "scopes", "redirect_uri", "created_at", "updated_at"}]}`' } },
  'GET /admin/connections/:id': { summary: 'One connection, never its secret', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'PATCH /admin/connections/:id': { summary: 'Changes a connection (`name`, `issuer`: discovered again, `client_id`, `client_secret`, `scopes`)', tag: 'Admin', admin: true, errors: [E.NotFound] },
  'DELETE /admin/connections/:id': { summary: 'Deletes a connection and every link to it; projects stop offering it; people keep their accounts', tag: 'Admin', admin: true, errors: [E.NotFound], success: { status: 204, description: 'deleted' } },
  ...FEDERATION_ROUTE_DOCS,
};

export function errorsOf(method: string, url: string): ErrorFactory[] {
  const doc = ROUTE_DOCS[`${method} ${url}`];
  if (!doc) return COMMON_ERRORS;
  const all = [...COMMON_ERRORS, ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? BODY_ERRORS : []), ...(doc.admin ? ADMIN_ERRORS : []), ...doc.errors];
  return [...new Set(all)];
}
