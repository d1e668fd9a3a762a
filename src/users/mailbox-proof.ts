// Account pre-hijacking (spec/accounts.md, "Pre-hijacking"; the audit's H1): anyone can register
// someone else's address with a password of their own, and wait. When the owner of the mailbox
// later proves it another way (a magic link today; a password reset or an upstream provider
// asserting the email later), the account becomes theirs: the registrant's password is removed
// and every session of the account ends before the owner is signed in, so whoever registered it
// keeps nothing. Only the verification link mailed by the account's own registration proves the
// mailbox *and* the registrant at once; that path calls users.markEmailVerified alone.
import type { Services } from '../services.ts';
import type { User } from './users.ts';

interface ProofContext {
  /** how the mailbox was proven, for the audit event */
  via: 'magic_link' | 'password_reset' | 'upstream_provider';
  projectId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * The first proof of an account's mailbox by any way but its own registration's verification
 * link. A verified account is left as it is (it keeps its password). Every way in that proves a
 * mailbox calls this, before it signs the person in.
 */
export async function mailboxProven(services: Pick<Services, 'users' | 'sessions' | 'browserSessions' | 'audit'>, user: User, context: ProofContext): Promise<void> {
  if (user.email_verified) return;
  const { users, sessions, browserSessions, audit } = services;
  // In this order, each step safe to repeat: with the password gone nobody can start a new
  // session while the old ones are ended, and the email counts as verified only once both are
  // done, so a proof cut short by an outage is made again in full by the next one.
  const passwordRemoved = await users.removeUnverifiedPassword(user.id);
  await sessions.revokeWhere({ userId: user.id });
  await browserSessions.endForUser(user.id);
  if (!(await users.markEmailVerified(user.id))) return;
  await audit.record({
    type: 'account.unverified_credentials_cleared',
    outcome: 'success',
    projectId: context.projectId,
    subject: user.id,
    ip: context.ip,
    userAgent: context.userAgent,
    detail: { via: context.via, password_removed: passwordRemoved },
  });
}
