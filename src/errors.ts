// The error catalogue: every row of the reference (shared/seed/error-reference.txt), named once.
// A service or route throws one of these; the error hook in app.ts turns it into
// {"error": message}. Each error knows the factory that made it, so code tells errors apart with
// isError(e, AccountBlocked), never by comparing messages.

export interface ErrorFactory {
  (extra?: Record<string, unknown>): HttpError;
  readonly status: number;
  readonly message: string;
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** the catalogue entry this error was made by */
    readonly kind?: ErrorFactory,
  ) {
    super(message);
  }
}

export function httpError(status: number, message: string): ErrorFactory {
  const factory: ErrorFactory = Object.assign((extra?: Record<string, unknown>) => new HttpError(status, message, extra, factory), { status, message });
  return factory;
}

/** True when `error` was made by this entry of the catalogue. */
export function isError(error: unknown, factory: ErrorFactory): error is HttpError {
  return error instanceof HttpError && error.kind === factory;
}

// Authorization parameters (GET /authorize and every login endpoint)
export const MissingOrInvalidParameters = httpError(400, 'Missing or invalid parameters');
export const OnlyS256 = httpError(400, 'Only S256 code_challenge_method is supported');
export const InvalidClientId = httpError(400, 'Invalid client_id');
export const InvalidRedirectUri = httpError(400, 'Invalid redirect_uri');

// POST /token
export const MissingClientId = httpError(400, 'Missing client_id');
export const RateLimited = httpError(429, 'Rate limited');
export const InvalidClientSecret = httpError(401, 'Invalid client_secret');
export const MissingRequiredFields = httpError(400, 'Missing required fields');
export const InvalidOrExpiredCode = httpError(400, 'Invalid or expired code');
export const RedirectUriMismatch = httpError(400, 'redirect_uri mismatch');
export const ProjectMismatch = httpError(400, 'project mismatch');
export const PkceFailed = httpError(400, 'PKCE verification failed');
export const MissingRefreshToken = httpError(400, 'Missing refresh_token');
export const InvalidRefreshToken = httpError(401, 'Invalid refresh token');
export const RefreshTokenExpired = httpError(401, 'Refresh token expired');
export const AccountBlocked = httpError(403, 'Account blocked');
export const PinRevoked = httpError(403, 'PIN revoked');
export const UserNotFound = httpError(401, 'User not found');
export const UnsupportedGrantType = httpError(400, 'Unsupported grant_type');
// machines.md: client_credentials asking for a scope the project may not have.
export const InvalidScope = httpError(400, 'Invalid scope');

// POST /revoke
export const MissingTokenOrClientId = httpError(400, 'Missing token or client_id');

// Login endpoints
export const InvalidCredentials = httpError(401, 'Invalid credentials');
export const NotAMember = httpError(403, 'Not a member');
// single sign-on (docs/sso.md): /logout
export const InvalidPostLogoutRedirectUri = httpError(400, 'Invalid post_logout_redirect_uri');
export const InvalidPin = httpError(401, 'Invalid PIN');
export const EmailAlreadyRegistered = httpError(409, 'Email already registered');
export const InvalidPassword = httpError(400, 'Invalid password');
export const RegistrationClosed = httpError(403, 'Registration closed');
export const InvalidOrExpiredToken = httpError(400, 'Invalid or expired token');

// Admin API
export const Unauthorized = httpError(401, 'Unauthorized');
export const Forbidden = httpError(403, 'Forbidden');
export const NotFound = httpError(404, 'Not found');
export const MaxActivePins = httpError(400, 'Max active PINs reached');

// Beyond the reference: answers for requests the reference does not cover.
export const InvalidRequest = httpError(400, 'Invalid request');
export const UnsupportedMediaType = httpError(415, 'Unsupported content type');
export const PayloadTooLarge = httpError(413, 'Request body too large');
export const MethodNotAllowed = httpError(405, 'Method not allowed');
export const ProjectAlreadyExists = httpError(409, 'Project already exists');
export const ConsoleProjectProtected = httpError(409, 'The console project cannot be deleted or given a secret');
// The console's redirect URI is <issuer>/console/callback, set on every start (hardening).
export const ConsoleRedirectUriFixed = httpError(409, 'The console project\'s redirect URI follows GATEHOUSE_ISSUER and cannot be changed');
// The account page's own project (accounts.md "The account page"), kept like the console's.
export const AccountProjectProtected = httpError(409, 'The account project cannot be deleted or given a secret');
export const AccountRedirectUriFixed = httpError(409, 'The account project\'s redirect URI follows GATEHOUSE_ISSUER and cannot be changed');
// Single sign-on (sso.md): a login endpoint of a method the project has switched off.
export const LoginMethodNotAllowed = httpError(403, 'Login method not allowed');
// accounts.md: a sign-in to a project that requires a verified email.
export const EmailNotVerified = httpError(403, 'Email not verified');
// mfa.md: a wrong TOTP or recovery code; a JSON sign-in to a project that requires a second factor, by a person with none.
export const InvalidCode = httpError(401, 'Invalid code');
export const MfaEnrollmentRequired = httpError(403, 'MFA enrollment required');
// Answers the server gives before any route sees the request (hardening, "the one error path").
export const RequestTimeout = httpError(408, 'Request timeout');
export const HeadersTooLarge = httpError(431, 'Request headers too large');
// A dependency (database, Redis, SMTP) cannot be reached: an outage, never a bug.
export const ServiceUnavailable = httpError(503, 'Service unavailable');
// federation.md: an upstream OpenID provider could not be reached or answered wrongly (docs/decisions/0115).
export const UpstreamUnavailable = httpError(502, 'Sign-in provider unavailable');
// A bug: the cause is logged with its stack, and only this message is sent.
export const InternalError = httpError(500, 'Internal error');

/** Every factory above, for the test that walks the reference. */
export const catalogue: readonly ErrorFactory[] = [
  MissingOrInvalidParameters, OnlyS256, InvalidClientId, InvalidRedirectUri,
  MissingClientId, RateLimited, InvalidClientSecret, MissingRequiredFields, InvalidOrExpiredCode,
  RedirectUriMismatch, ProjectMismatch, PkceFailed, MissingRefreshToken, InvalidRefreshToken,
  RefreshTokenExpired, AccountBlocked, PinRevoked, UserNotFound, UnsupportedGrantType,
  MissingTokenOrClientId,
  InvalidCredentials, NotAMember, InvalidPin, EmailAlreadyRegistered, InvalidPassword,
  RegistrationClosed, InvalidOrExpiredToken,
  Unauthorized, Forbidden, NotFound, MaxActivePins,
  InvalidRequest, UnsupportedMediaType, PayloadTooLarge, MethodNotAllowed, ServiceUnavailable, InternalError,
  ProjectAlreadyExists, ConsoleProjectProtected,
  ConsoleRedirectUriFixed, RequestTimeout, HeadersTooLarge,
  AccountProjectProtected, AccountRedirectUriFixed,
  InvalidPostLogoutRedirectUri,
  LoginMethodNotAllowed,
  EmailNotVerified,
  InvalidCode,
  MfaEnrollmentRequired,
  InvalidScope,
  UpstreamUnavailable,
];
