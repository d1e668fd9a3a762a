// What a new project or a change to one may say, beyond the shape of the fields: the rules every
// front door applies (the admin API, the command line) before ProjectService stores anything.
import { AccountProjectProtected, ConsoleProjectProtected, InvalidRequest, NotFound } from '../errors.ts';
import { checkAllowedOrigins } from './allowed-origins.ts';
import { checkBranding } from './branding.ts';
import { ACCOUNT_PROJECT_ID, checkProjectName, CONSOLE_PROJECT_ID, type NewProject, type ProjectChanges, type ProjectService } from './projects.ts';
import { checkRedirectUris } from './redirect-uris.ts';
import { checkReceiverUrl } from '../webhooks/webhooks.ts';

/** sso.md: only a client that keeps a secret may do without PKCE. */
const PUBLIC_NEEDS_PKCE = 'require_pkce: only a confidential project may set false';
/** machines.md: a client that authenticates with nothing but its id is no service. */
const PUBLIC_NO_CLIENT_CREDENTIALS = 'client_credentials: only a confidential project may set true';
/** RFC 6749 §3.3: a scope-token is printable ASCII without space, `"` or `\\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** The scope of service access to the admin API: granted by `admin_api`, never listed (docs/decisions/0101). */
export const ADMIN_SCOPE = 'admin';

function checkServiceScopes(scopes: string[] | undefined): void {
  if (!scopes) return;
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw InvalidRequest({ detail: 'service_scopes: each scope is printable ASCII without spaces, quotes or backslashes' });
    if (scope === ADMIN_SCOPE) throw InvalidRequest({ detail: 'service_scopes: `admin` is granted by admin_api, not listed' });
  }
  if (new Set(scopes).size !== scopes.length) throw InvalidRequest({ detail: 'service_scopes: each scope once' });
}

function checkLists(input: { post_logout_redirect_uris?: string[] | undefined; allowed_origins?: string[] | undefined; backchannel_logout_uri?: string | null | undefined }): void {
  if (input.post_logout_redirect_uris) checkRedirectUris(input.post_logout_redirect_uris, { field: 'post_logout_redirect_uris', allowEmpty: true });
  if (input.allowed_origins) checkAllowedOrigins(input.allowed_origins);
  // machines.md: https, or http on loopback, as a webhook's url; null: no logout tokens
  if (typeof input.backchannel_logout_uri === 'string') checkReceiverUrl(input.backchannel_logout_uri, 'backchannel_logout_uri');
}

/** A new project as it may be created (its name trimmed). Throws 400 Invalid request with a detail. */
export function checkNewProject<T extends NewProject>(input: T): T {
  const name = checkProjectName(input.name);
  checkRedirectUris(input.redirect_uris);
  checkLists(input);
  if (input.require_pkce === false && input.confidential !== true) throw InvalidRequest({ detail: PUBLIC_NEEDS_PKCE });
  if (input.client_credentials === true && input.confidential !== true) throw InvalidRequest({ detail: PUBLIC_NO_CLIENT_CREDENTIALS });
  checkServiceScopes(input.service_scopes);
  return { ...checkBranding(input), name };
}

/**
 * Changes to project `id` as they may be made (a name trimmed). Throws 400 Invalid request with
 * a detail, or NotFound when the rule needs the project and there is none. The console's and the
 * account page's redirect URIs are left to ProjectService.update, which refuses any other with 409 whatever it is.
 */
export async function checkProjectChanges<T extends ProjectChanges>(projects: ProjectService, id: string, changes: T): Promise<T> {
  if (changes.redirect_uris && id !== CONSOLE_PROJECT_ID && id !== ACCOUNT_PROJECT_ID) checkRedirectUris(changes.redirect_uris);
  checkLists(changes);
  checkServiceScopes(changes.service_scopes);
  if (changes.require_pkce === false || changes.client_credentials === true) {
    const current = await projects.find(id);
    if (!current) throw NotFound();
    if (!current.project.confidential) throw InvalidRequest({ detail: changes.require_pkce === false ? PUBLIC_NEEDS_PKCE : PUBLIC_NO_CLIENT_CREDENTIALS });
  }
  const branded = checkBranding(changes);
  return branded.name !== undefined ? { ...branded, name: checkProjectName(branded.name) } : branded;
}

/**
 * The built-in projects are never deleted nor given a secret: without the console every admin
 * is locked out of the admin API, and every person signs in to their account page through the
 * account project; both are public clients, whose pages have nowhere to keep a secret. Throws 409.
 */
export function requireOrdinaryProject(id: string): void {
  if (id === CONSOLE_PROJECT_ID) throw ConsoleProjectProtected();
  if (id === ACCOUNT_PROJECT_ID) throw AccountProjectProtected();
}
