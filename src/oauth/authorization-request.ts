// The authorization parameters shared by GET /authorize and every login endpoint,
// checked in the order of SPEC.md ("Authorization flow").
import {
  InvalidClientId,
  InvalidRedirectUri,
  MissingOrInvalidParameters,
  OnlyS256,
} from '../errors.ts';
import type { Project, ProjectService } from '../projects/projects.ts';
import { field, type Fields } from '../http/fields.ts';

export interface AuthorizationRequest {
  project: Project;
  clientId: string;
  redirectUri: string;
  /** the S256 challenge; '' when a project that does not require PKCE was sent none (NO_CHALLENGE) */
  codeChallenge: string;
  state?: string;
  nonce?: string;
  /** granted scopes: the requested ones Gatehouse knows */
  scope: string;
}

export const SUPPORTED_SCOPES = ['openid', 'email', 'profile', 'offline_access'] as const;
/** What S256 produces: 32 bytes in base64url without padding. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE_LENGTH = 2048;
/** The challenge of a request without PKCE, from a project with `require_pkce: false`. */
export const NO_CHALLENGE = '';

/** The parameter names a login form carries along. */
export const AUTHORIZATION_FIELDS = [
  'response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'nonce',
  // not checked: the page's language (src/pages/i18n.ts), carried so that every page and mail of the flow keeps it
  'ui_locales',
] as const;

export async function checkAuthorizationRequest(
  fields: Fields | undefined,
  projects: ProjectService,
): Promise<AuthorizationRequest> {
  const responseType = field(fields, 'response_type');
  const clientId = field(fields, 'client_id');
  const redirectUri = field(fields, 'redirect_uri');
  const codeChallenge = field(fields, 'code_challenge');
  const state = field(fields, 'state');
  const nonce = field(fields, 'nonce');

  // 1. shape of the request. A confidential project with `require_pkce: false` may leave the
  // challenge out (sso.md); for every other project a missing one is check 1's answer as before.
  const withoutPkce = !codeChallenge && !!clientId && (await projects.find(clientId))?.project.require_pkce === false;
  if (
    responseType !== 'code' ||
    !clientId ||
    !redirectUri ||
    (!withoutPkce && (!codeChallenge || !S256_CHALLENGE.test(codeChallenge))) ||
    (state !== undefined && state.length > MAX_STATE_LENGTH) ||
    (nonce !== undefined && nonce.length > MAX_STATE_LENGTH)
  ) {
    throw MissingOrInvalidParameters();
  }
  // 2. PKCE method: absent means plain, which is refused
  const method = field(fields, 'code_challenge_method');
  if (withoutPkce ? method !== undefined && method !== '' && method !== 'S256' : method !== 'S256') throw OnlyS256();
  // 3. the project
  const record = await projects.find(clientId);
  if (!record) throw InvalidClientId();
  // 4. the redirect URI, exact string match against the allowlist
  if (!record.project.redirect_uris.includes(redirectUri)) throw InvalidRedirectUri();

  const requested = (field(fields, 'scope') ?? '').split(' ').filter(Boolean);
  const scope = SUPPORTED_SCOPES.filter((s) => requested.includes(s)).join(' ');
  return {
    project: record.project,
    clientId,
    redirectUri,
    codeChallenge: withoutPkce ? NO_CHALLENGE : (codeChallenge ?? NO_CHALLENGE),
    scope,
    ...(state !== undefined && state !== '' ? { state } : {}),
    ...(nonce !== undefined && nonce !== '' ? { nonce } : {}),
  };
}

/** An authorization request as kept beside a mailed token, to be finished when the link is used. */
export interface StoredAuthorization {
  projectId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  state?: string;
  nonce?: string;
}

export function storeAuthorization(authorization: AuthorizationRequest): StoredAuthorization {
  const { redirectUri, codeChallenge, scope, state, nonce } = authorization;
  return {
    projectId: authorization.project.id,
    redirectUri,
    codeChallenge,
    scope,
    ...(state !== undefined ? { state } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
  };
}

/**
 * The stored request against the project as it is now: undefined when the project is gone or no
 * longer allows the redirect URI (both may have changed since the link was mailed).
 */
export async function resumeAuthorization(stored: StoredAuthorization, projects: ProjectService): Promise<AuthorizationRequest | undefined> {
  const record = await projects.find(stored.projectId);
  if (!record || !record.project.redirect_uris.includes(stored.redirectUri)) return undefined;
  const { redirectUri, codeChallenge, scope, state, nonce } = stored;
  return {
    project: record.project,
    clientId: record.project.id,
    redirectUri,
    codeChallenge,
    scope,
    ...(state !== undefined ? { state } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
  };
}
