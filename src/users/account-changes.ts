// What an admin does to an account, whichever front door asks (the admin API's /admin/users and
// member routes, the command line's user and member commands): the checks and their consequences,
// written once so that both doors answer alike.
import { requireImportableHash } from '../crypto/foreign-hashes.ts';
import { InvalidRequest } from '../errors.ts';
import type { Services } from '../services.ts';
import { normalizeEmail, requireValidEmail } from './email.ts';
import { requireAcceptablePassword } from './password-policy.ts';
import { checkProfile } from './profile.ts';
import type { SecondFactorSummary } from './second-factors.ts';
import type { Membership, User, UserService } from './users.ts';

export type NewAccount = Parameters<UserService['create']>[0];
export type AccountChanges = NonNullable<Parameters<UserService['update']>[1]>;

/** A new account as an admin may create it: a plain email, the password policy, an importable hash, the profile rules. */
export function checkNewAccount<T extends NewAccount>(input: T): T {
  const checked = { ...input, email: requireValidEmail(input.email) };
  // Admin-set passwords meet the same policy as the ones people choose at registration.
  if (checked.password !== undefined) requireAcceptablePassword(checked.password);
  if (checked.password_hash !== undefined) {
    if (checked.password !== undefined) throw InvalidRequest({ detail: 'give password or password_hash, not both' });
    requireImportableHash(checked.password_hash);
  }
  checkProfile(checked);
  return checked;
}

/**
 * Applies an admin's changes to account `id`; undefined when there is none. Throws 400 for a
 * refused value, 409 Email already registered for another account's address.
 */
export async function changeAccount(
  services: Pick<Services, 'users' | 'sessions' | 'browserSessions'>,
  id: string,
  input: AccountChanges,
): Promise<User | undefined> {
  const changes = { ...input };
  if (changes.email !== undefined) changes.email = requireValidEmail(changes.email);
  if (changes.password !== undefined) requireAcceptablePassword(changes.password);
  checkProfile(changes);
  const current = await services.users.find(id);
  if (!current) return undefined;
  // A new address has not been proven to reach anyone yet, unless the admin says so.
  if (changes.email !== undefined && changes.email_verified === undefined && normalizeEmail(changes.email) !== normalizeEmail(current.user.email)) {
    changes.email_verified = false;
  }
  const user = await services.users.update(id, changes);
  if (!user) return undefined;
  // A password set by an admin replaces whatever someone else knew: every session of the
  // account ends, so nobody stays signed in on the strength of the old one.
  if (changes.password !== undefined) {
    await services.sessions.revokeWhere({ userId: id });
    await services.browserSessions.endForUser(id);
  }
  return user;
}

/**
 * Deletes the account and its memberships; false when there is none. Its project sessions stay,
 * so that their refresh tokens answer "User not found" (SPEC, POST /token); its browser sessions
 * end, as a deleted account is signed in nowhere (docs/sso.md).
 */
export async function deleteAccount(services: Pick<Services, 'users' | 'browserSessions'>, id: string): Promise<boolean> {
  if (!(await services.users.delete(id))) return false;
  await services.browserSessions.endForUser(id);
  return true;
}

export type AccountWithFactors = User & { mfa: SecondFactorSummary };

/** The account and which second factors it has (mfa.md). */
export async function accountWithFactors(services: Pick<Services, 'users' | 'secondFactors'>, id: string): Promise<AccountWithFactors | undefined> {
  const record = await services.users.find(id);
  if (!record) return undefined;
  const { totp, passkeys, recovery_codes_left } = await services.secondFactors.summary(record.user.id);
  return { ...record.user, mfa: { totp, passkeys, recovery_codes_left } };
}

/**
 * Makes account `userId` a member of project `projectId`. Idempotent: adding a member twice
 * answers the same member and never unblocks (`added` says whether it was new). Undefined when
 * the project or the account does not exist.
 */
export async function addMembership(
  services: Pick<Services, 'users' | 'projects'>,
  projectId: string,
  userId: string,
): Promise<{ member: Membership; added: boolean } | undefined> {
  const { users, projects } = services;
  if (!(await projects.find(projectId)) || !(await users.find(userId))) return undefined;
  const added = (await users.membership(projectId, userId)) === undefined;
  await users.addMember(projectId, userId);
  const member = await users.member(projectId, userId);
  return member && { member, added };
}
