// Whether an existing account may sign in to a project, shared by every login that names a person.
import { AccountBlocked, NotAMember } from '../errors.ts';
import { ACCOUNT_PROJECT_ID, type Project } from '../projects/projects.ts';
import type { UserService } from '../users/users.ts';

/**
 * Blocked members are refused; a non-member joins when the project's registration is open
 * and is refused with "Not a member" when it is closed. The account page's project is every
 * person's own: an account joins it at its first sign-in although it creates no accounts
 * (docs/decisions/0077-the-account-page-signs-in-as-its-own-client.md).
 */
export async function admitMember(users: UserService, project: Project, userId: string): Promise<void> {
  const membership = await users.membership(project.id, userId);
  if (membership?.blocked) throw AccountBlocked();
  if (!membership) {
    if (!project.registration_open && project.id !== ACCOUNT_PROJECT_ID) throw NotAMember();
    await users.addMember(project.id, userId);
  }
}
