// grant_type=client_credentials (RFC 6749 §4.4, docs/machines.md): a confidential project gets an
// access token of its own, for the scopes it was given, after /token's five checks.
import { InvalidScope, UnsupportedGrantType } from '../errors.ts';
import { field, type Fields } from '../http/fields.ts';
import { ADMIN_SCOPE } from '../projects/project-rules.ts';
import type { Project, ProjectRecord } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import type { ClientFacts } from '../sessions/sessions.ts';
import { clientSubject, type ClientTokenResponse } from './token-issuer.ts';

/**
 * The scope a client_credentials token gets: each asked-for scope must be one of the project's
 * `service_scopes`, or `admin` when it has `admin_api`; none asked for is every service scope
 * and never `admin`, which is only granted when asked for (docs/decisions/0101). Throws InvalidScope.
 */
export function grantedServiceScope(project: Project, asked: string | undefined): string {
  if (asked === undefined || asked.trim() === '') return project.service_scopes.join(' ');
  const scopes = [...new Set(asked.split(' ').filter((scope) => scope !== ''))];
  for (const scope of scopes) {
    const allowed = scope === ADMIN_SCOPE ? project.admin_api : project.service_scopes.includes(scope);
    if (!allowed) throw InvalidScope();
  }
  return scopes.join(' ');
}

export async function clientCredentialsGrant(services: Services, record: ProjectRecord, fields: Fields, client: ClientFacts): Promise<ClientTokenResponse> {
  const { project } = record;
  // Check 5 of /token: a project that was not given the grant does not have it. A public project
  // cannot be given it (project-rules.ts); one made public since is refused all the same.
  if (!project.client_credentials || !project.confidential) throw UnsupportedGrantType();
  const scope = grantedServiceScope(project, field(fields, 'scope'));
  const { accessTokenSeconds } = services.projects.lifetimes(project);
  const response = services.tokens.issueForClient(project, scope, accessTokenSeconds);
  await services.audit.record({
    type: 'token.client_credentials',
    outcome: 'success',
    projectId: project.id,
    subject: clientSubject(project.id),
    ...client,
    detail: { scope },
  });
  return response;
}

/**
 * Whether a project's own token (sub `client:<id>`) still works: checked against the project at
 * each use, so deleting the project, switching the grant off or taking admin_api away stops its
 * tokens at once, without a revocation list (docs/decisions/0102).
 */
export function clientTokenStillGood(record: ProjectRecord | undefined, scope: string): record is ProjectRecord {
  if (!record || !record.project.client_credentials || !record.project.confidential) return false;
  return record.project.admin_api || !scope.split(' ').includes(ADMIN_SCOPE);
}

/** The project a `client:<id>` subject names, or undefined for any other subject. */
export function clientOfSubject(sub: string): string | undefined {
  return sub.startsWith(CLIENT_SUBJECT_PREFIX) ? sub.slice(CLIENT_SUBJECT_PREFIX.length) : undefined;
}

const CLIENT_SUBJECT_PREFIX = 'client:';
