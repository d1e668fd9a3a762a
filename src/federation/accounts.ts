// Which account an upstream provider's person is (federation.md "Which account"), in the order of
// the contract: a known link (connection, provider `sub`); else the provider's email when it calls
// it verified (the pre-hijacking rule of accounts.md for an account whose own email was not); else
// a new account under the project's registration rule. An email the provider does not call
// verified never links to an existing account (409 Email already registered).
import { EmailAlreadyRegistered, InvalidRequest, isError, RegistrationClosed } from '../errors.ts';
import type { Project } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import { mailboxProven } from '../users/mailbox-proof.ts';
import { isValidEmail } from '../users/email.ts';
import { checkProfile, PROFILE_FIELDS, type ProfileChanges } from '../users/profile.ts';
import type { User } from '../users/users.ts';
import type { ConnectionService } from './connections.ts';
import type { UpstreamClaims } from './upstream.ts';

type AccountServices = Pick<Services, 'users' | 'sessions' | 'browserSessions' | 'audit'> & { connections: ConnectionService };

interface Asker {
  ip: string | null;
  userAgent: string | null;
}

export interface FederatedAccount {
  user: User;
  /** how it was found: a link, an email linked now, a new account */
  via: 'link' | 'verified_email' | 'new_account';
}

/** The email the claims assert, when it is one Gatehouse can keep; and whether the provider calls it verified. */
export function assertedEmail(claims: UpstreamClaims): { email: string; verified: boolean } | undefined {
  const email = claims.email;
  if (typeof email !== 'string' || !isValidEmail(email)) return undefined;
  // Only the boolean true counts: "true" as text is not a provider vouching for the mailbox.
  return { email, verified: claims.email_verified === true };
}

/** The profile claims of the provider that fit Gatehouse's rules (the others are left out). */
function profileOf(claims: UpstreamClaims): ProfileChanges {
  const profile: ProfileChanges = {};
  for (const field of PROFILE_FIELDS) {
    const value = claims[field];
    if (typeof value !== 'string' || value === '') continue;
    try {
      Object.assign(profile, checkProfile({ [field]: value }));
    } catch {
      // a claim Gatehouse would not store (a picture over http, an odd locale): not taken
    }
  }
  return profile;
}

/** federation.md: empty profile fields are filled from the provider's claims; set ones are the person's. */
export async function fillEmptyProfile(services: Pick<Services, 'users'>, user: User, claims: UpstreamClaims): Promise<User> {
  const offered = profileOf(claims);
  const missing = Object.fromEntries(Object.entries(offered).filter(([field]) => user[field as keyof ProfileChanges] === null));
  if (Object.keys(missing).length === 0) return user;
  return (await services.users.update(user.id, missing)) ?? user;
}

/**
 * The account of the provider's person for a sign-in to `project`. Throws 409 Email already
 * registered, 403 Registration closed, 400 Invalid request (no usable email for a new account).
 */
export async function federatedAccount(
  services: AccountServices,
  input: { connectionId: string; claims: UpstreamClaims; project: Project; asker: Asker },
): Promise<FederatedAccount> {
  const { connectionId, claims, project, asker } = input;
  const { users, connections } = services;
  const asserted = assertedEmail(claims);

  const link = await connections.identity(connectionId, claims.sub);
  if (link) {
    const record = await users.find(link.user_id);
    if (record) {
      await connections.touch(connectionId, claims.sub, asserted?.email ?? null);
      return { user: record.user, via: 'link' };
    }
    // The account is gone (deleted meanwhile): the stale link goes, and the person is new again.
    await connections.unlink(link.user_id, connectionId);
  }

  if (!asserted) throw InvalidRequest({ detail: 'the provider shared no email address' });
  const existing = await users.findByEmail(asserted.email);
  if (existing) {
    // Linking by email only when the provider vouches for the mailbox (the audit's attack: an
    // upstream account claiming someone else's unverified address must not get in).
    if (!asserted.verified) throw EmailAlreadyRegistered();
    // A mailbox proven by the provider: an unverified registrant's password and sessions go first (H1).
    await mailboxProven(services, existing.user, { via: 'upstream_provider', projectId: project.id, ...asker });
    await linkIdentity(services, { connectionId, sub: claims.sub, user: existing.user, email: asserted.email, projectId: project.id, asker, reason: 'verified_email' });
    const refreshed = (await users.find(existing.user.id))?.user ?? existing.user;
    return { user: refreshed, via: 'verified_email' };
  }

  if (!project.registration_open) throw RegistrationClosed();
  let created: User;
  try {
    created = await users.create({ email: asserted.email, email_verified: asserted.verified, ...profileOf(claims) });
  } catch (error) {
    // Registered meanwhile by someone else: the rules above apply to it on the next try.
    if (isError(error, EmailAlreadyRegistered)) throw EmailAlreadyRegistered();
    throw error;
  }
  await users.addMember(project.id, created.id);
  await linkIdentity(services, { connectionId, sub: claims.sub, user: created, email: asserted.email, projectId: project.id, asker, reason: 'new_account' });
  return { user: created, via: 'new_account' };
}

/** Links (connection, sub) to an account and records `identity.linked`; false when the pair was linked already. */
export async function linkIdentity(
  services: Pick<Services, 'audit'> & { connections: ConnectionService },
  input: { connectionId: string; sub: string; user: User; email: string | null; projectId: string | null; asker: Asker; reason: 'verified_email' | 'new_account' | 'account_page' },
): Promise<boolean> {
  const linked = await services.connections.link({ connectionId: input.connectionId, sub: input.sub, userId: input.user.id, email: input.email });
  if (linked) {
    await services.audit.record({
      type: 'identity.linked',
      outcome: 'success',
      projectId: input.projectId,
      subject: input.user.id,
      ip: input.asker.ip,
      userAgent: input.asker.userAgent,
      detail: { connection_id: input.connectionId, via: input.reason },
    });
  }
  return linked;
}

/**
 * The account page's "Unlink": only while another way in remains (a password, a passkey, or another
 * linked provider), so that nobody locks themselves out (docs/decisions/0116-unlinking-never-the-last-way-in.md).
 */
export async function unlinkOwnProvider(
  services: Pick<Services, 'audit'> & { connections: ConnectionService },
  input: { userId: string; /** a password or a passkey */ hasOwnWayIn: boolean; connectionId: string; asker: Asker },
): Promise<'unlinked' | 'last_way_in' | 'not_linked'> {
  const identities = await services.connections.identitiesOf(input.userId);
  if (!identities.some((identity) => identity.connection_id === input.connectionId)) return 'not_linked';
  const others = identities.filter((identity) => identity.connection_id !== input.connectionId).length;
  if (!input.hasOwnWayIn && others === 0) return 'last_way_in';
  await services.connections.unlink(input.userId, input.connectionId);
  await services.audit.record({
    type: 'identity.unlinked',
    outcome: 'success',
    projectId: null,
    subject: input.userId,
    ip: input.asker.ip,
    userAgent: input.asker.userAgent,
    detail: { connection_id: input.connectionId },
  });
  return 'unlinked';
}
