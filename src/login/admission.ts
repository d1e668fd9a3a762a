// Whether an existing account may sign in to a project, shared by every login that names a person.
import { AccountBlocked, NotAMember } from '../errors.ts';
import { ACCOUNT_PROJECT_ID, CONSOLE_PROJECT_ID, type Project } from '../projects/projects.ts';
import type { UserService } from '../users/users.ts';

/**
 * Blocked members are refused; a non-member joins when the project's registration is open
 * and is refused with "Not a member" when it is closed. The account page's project is every
 * person's own: an account joins it at its first sign-in although it creates no accounts
 * (docs/decisions/0077-the-account-page-signs-in-as-its-own-client.md). The console's project admits
 * every admin the same way, so that an account given the admin flag can sign in to the console
 * at once (docs/decisions/0119-admins-join-the-console-at-their-first-sign-in.md).
 */
export async function admitMember(users: UserService, project: Project, userId: string): Promise<void> {
  const membership = await users.membership(project.id, userId);
  if (membership?.blocked) throw AccountBlocked();
  if (!membership) {
    if (!project.registration_open && project.id !== ACCOUNT_PROJECT_ID && !(project.id === CONSOLE_PROJECT_ID && (await users.find(userId))?.user.is_admin === true)) {
      throw NotAMember();
    }
    await users.addMember(project.id, userId);
  }
}
