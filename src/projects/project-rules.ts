// What a new project or a change to one may say, beyond the shape of the fields: the rules every
// front door applies (the admin API, the command line) before ProjectService stores anything.
import { InvalidRequest, NotFound } from '../errors.ts';
import { checkAllowedOrigins } from './allowed-origins.ts';
import { checkBranding } from './branding.ts';
import { ACCOUNT_PROJECT_ID, checkProjectName, CONSOLE_PROJECT_ID, type NewProject, type ProjectChanges, type ProjectService } from './projects.ts';
import { checkRedirectUris } from './redirect-uris.ts';

/** sso.md: only a client that keeps a secret may do without PKCE. */
const PUBLIC_NEEDS_PKCE = 'require_pkce: only a confidential project may set false';

function checkLists(input: { post_logout_redirect_uris?: string[] | undefined; allowed_origins?: string[] | undefined }): void {
  if (input.post_logout_redirect_uris) checkRedirectUris(input.post_logout_redirect_uris, { field: 'post_logout_redirect_uris', allowEmpty: true });
  if (input.allowed_origins) checkAllowedOrigins(input.allowed_origins);
}

/** A new project as it may be created (its name trimmed). Throws 400 Invalid request with a detail. */
export function checkNewProject<T extends NewProject>(input: T): T {
  const name = checkProjectName(input.name);
  checkRedirectUris(input.redirect_uris);
  checkLists(input);
  if (input.require_pkce === false && input.confidential !== true) throw InvalidRequest({ detail: PUBLIC_NEEDS_PKCE });
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
  if (changes.require_pkce === false) {
    const current = await projects.find(id);
    if (!current) throw NotFound();
    if (!current.project.confidential) throw InvalidRequest({ detail: PUBLIC_NEEDS_PKCE });
  }
  const branded = checkBranding(changes);
  return branded.name !== undefined ? { ...branded, name: checkProjectName(branded.name) } : branded;
}
