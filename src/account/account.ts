// What a person may do on their own account page (accounts.md "The account page"): each rule once,
// given the services it needs, for the routes of account/routes.ts.
import { InvalidCode, InvalidCredentials, InvalidRequest } from '../errors.ts';
import { rateLimited } from '../audit/rate-limit-refusals.ts';
import { ACCOUNT_PROJECT_ID } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import type { BrowserSession, BrowserSessionSummary } from '../sessions/browser-sessions.ts';
import type { OwnSessionSummary } from '../sessions/sessions.ts';
import { giveBackOnError } from '../storage/rate-limits.ts';
import { requireValidEmail } from '../users/email.ts';
import { requireAcceptablePassword } from '../users/password-policy.ts';
import { checkProfile, PROFILE_FIELDS, type ProfileChanges } from '../users/profile.ts';
import type { User } from '../users/users.ts';
import { MAX_PASSKEY_NAME_LENGTH, passkeyName } from '../users/passkeys.ts';
import { SecondFactors } from '../users/second-factors.ts';

/**
 * How recent a sign-in must be to stand in for the password an account does not have: to change
 * its email (accounts.md) or set a first password (docs/decisions/0078).
 */
export const RECENT_SIGN_IN_MS = 5 * 60 * 1000;

/** Who is asking, for the audit log and the limits. */
export interface Asker {
  ip: string;
  userAgent: string | null;
}

export interface AccountOverview {
  user: User;
  projects: Array<{ project_id: string; name: string; blocked: boolean }>;
  sessions: OwnSessionSummary[];
  browserSessions: BrowserSessionSummary[];
}

/** Everything the page shows. The account project itself is not listed: it is this page. */
export async function accountOverview(services: Pick<Services, 'users' | 'sessions' | 'browserSessions'>, user: User): Promise<AccountOverview> {
  const [projects, sessions, browserSessions] = await Promise.all([
    services.users.projectsOf(user.id),
    services.sessions.listForUser(user.id),
    services.browserSessions.listForUser(user.id),
  ]);
  return { user, projects: projects.filter((p) => p.project_id !== ACCOUNT_PROJECT_ID), sessions, browserSessions };
}

/** True when the browser session's sign-in is recent enough to stand in for a password. */
export function signedInRecently(services: Pick<Services, 'clock'>, session: BrowserSession): boolean {
  return services.clock.now() - session.authTime < RECENT_SIGN_IN_MS;
}

/**
 * The profile form: every field is sent; an empty one clears it. Checked as the admin API checks
 * them (users/profile.ts: 400 Invalid request naming the field). Answers the fields that changed.
 */
export async function updateOwnProfile(services: Pick<Services, 'users' | 'audit'>, user: User, form: Partial<Record<string, string>>, asker: Asker): Promise<string[]> {
  const wanted: ProfileChanges = {};
  for (const name of PROFILE_FIELDS) {
    const value = form[name];
    if (value === undefined) continue;
    const trimmed = value.trim();
    wanted[name] = trimmed === '' ? null : trimmed;
  }
  const changes = checkProfile(wanted);
  const changed = PROFILE_FIELDS.filter((name) => changes[name] !== undefined && changes[name] !== user[name]);
  if (changed.length === 0) return [];
  await services.users.update(user.id, Object.fromEntries(changed.map((name) => [name, changes[name]])));
  await services.audit.record({ type: 'profile.updated', outcome: 'success', subject: user.id, ip: asker.ip, userAgent: asker.userAgent, detail: { fields: changed, via: 'account_page' } });
  return changed;
}

const MAX_PASSWORD_INPUT = 1024;

/**
 * The current password of an account that has one, under the account's own failure budget, as at
 * /login: a spent budget answers 429 without hashing; a wrong password records `fail` and answers
 * 401 Invalid credentials; the right one gives its attempt back.
 */
async function confirmCurrentPassword(
  services: Pick<Services, 'hasher' | 'limits' | 'audit'>,
  user: User,
  passwordHash: string,
  current: string,
  asker: Asker,
  fail: (reason: string) => Promise<unknown>,
): Promise<void> {
  const { hasher, limits, audit } = services;
  const account = limits.passwordFailuresPerAccount;
  if (!(await account.hit(user.id))) throw await rateLimited(audit, account, user.id, { ip: asker.ip, userAgent: asker.userAgent, subject: user.id });
  const valid = await (current.length > 0 && current.length <= MAX_PASSWORD_INPUT ? hasher.verify(passwordHash, current) : hasher.verifyNothing(current.slice(0, MAX_PASSWORD_INPUT))).catch(
    giveBackOnError([account, user.id]),
  );
  if (!valid) {
    await fail('invalid_credentials');
    throw InvalidCredentials();
  }
  await account.refund(user.id);
}

/**
 * A password change (or a first password, for an account that has none), in order: the current
 * password under the account's own failure budget, as at /login (a spent budget: 429 without
 * hashing; a wrong one: 401 Invalid credentials); the policy (400 Invalid password with its
 * reason). Then every other session of the account ends: every project session (refresh chain)
 * and every browser session but this one, which stays signed in (the route then mails the
 * account's address a notice). An account without a password sets one only within RECENT_SIGN_IN_MS of
 * its sign-in (the route asks the person to sign in again otherwise).
 */
export async function changeOwnPassword(
  services: Pick<Services, 'users' | 'hasher' | 'limits' | 'audit' | 'sessions' | 'browserSessions'>,
  input: { user: User; passwordHash: string | null; browserSession: BrowserSession; current: string; next: string; asker: Asker },
): Promise<void> {
  const { users, audit } = services;
  const { user, passwordHash, asker } = input;
  const fail = (reason: string) => audit.record({ type: 'password.changed', outcome: 'failure', subject: user.id, ip: asker.ip, userAgent: asker.userAgent, detail: { reason } });
  if (passwordHash !== null) await confirmCurrentPassword(services, user, passwordHash, input.current, asker, fail);
  try {
    requireAcceptablePassword(input.next);
  } catch (error) {
    await fail('invalid_password');
    throw error;
  }
  await users.update(user.id, { password: input.next });
  await services.sessions.revokeWhere({ userId: user.id });
  await services.browserSessions.endForUser(user.id, input.browserSession.id);
  await audit.record({ type: 'password.changed', outcome: 'success', subject: user.id, ip: asker.ip, userAgent: asker.userAgent, detail: { first_password: passwordHash === null } });
}

/**
 * The email change form's own checks, in order: a plausible new address (400 Invalid request,
 * before any password attempt is spent); the current password of an account that has one, under
 * the same failure budget as the password form (429, then 401 Invalid credentials: audit
 * `email.change_requested` failure). Answers the address; the route then mails the link
 * (login/verify-email's requestEmailChange: 409 Email already registered when another account has
 * it, 429 past 3 an hour per address, audit `email.change_requested`). An account without a
 * password gets here only within RECENT_SIGN_IN_MS of its sign-in (the route asks the person to
 * sign in again otherwise).
 */
export async function confirmEmailChange(
  services: Pick<Services, 'hasher' | 'limits' | 'audit'>,
  input: { user: User; passwordHash: string | null; current: string; newEmail: string; asker: Asker },
): Promise<string> {
  const { user, passwordHash, asker } = input;
  const email = requireValidEmail(input.newEmail);
  if (passwordHash !== null) {
    const fail = (reason: string) =>
      services.audit.record({ type: 'email.change_requested', outcome: 'failure', projectId: null, subject: user.id, ip: asker.ip, userAgent: asker.userAgent, detail: { reason } });
    await confirmCurrentPassword(services, user, passwordHash, input.current, asker, fail);
  }
  return email;
}

/** "Sign out" on one project session of the person's; answers whether it was theirs and live. */
export async function endOwnSession(services: Pick<Services, 'sessions' | 'audit'>, userId: string, sessionId: string, asker: Asker): Promise<boolean> {
  if (!(await services.sessions.revokeOwn(userId, sessionId))) return false;
  await services.audit.record({ type: 'session.ended_by_user', outcome: 'success', subject: userId, ip: asker.ip, userAgent: asker.userAgent, detail: { session_id: sessionId } });
  return true;
}

/**
 * "Sign out" on one browser session of the person's: as a logout of that browser, the project
 * sessions started from it end too. Answers whether it was theirs and live.
 */
export async function endOwnBrowserSession(services: Pick<Services, 'sessions' | 'browserSessions' | 'audit'>, userId: string, browserSessionId: string, asker: Asker): Promise<boolean> {
  const session = await services.browserSessions.find(browserSessionId);
  if (!session || session.userId !== userId || !(await services.browserSessions.end(session.id))) return false;
  const ended = await services.sessions.revokeStartedFrom(session.id);
  await services.audit.record({
    type: 'session.ended_by_user',
    outcome: 'success',
    subject: userId,
    ip: asker.ip,
    userAgent: asker.userAgent,
    detail: { browser_session_id: session.id, session_ids: ended },
  });
  return true;
}

/** "Sign out everywhere": every project session and every browser session of the account, this one too. */
export async function signOutEverywhere(services: Pick<Services, 'sessions' | 'browserSessions' | 'audit'>, userId: string, asker: Asker): Promise<void> {
  await services.sessions.revokeWhere({ userId });
  await services.browserSessions.endForUser(userId);
  await services.audit.record({ type: 'session.ended_by_user', outcome: 'success', subject: userId, ip: asker.ip, userAgent: asker.userAgent, detail: { everywhere: true } });
}

/**
 * mfa.md: a code typed on the account page (confirming or removing the authenticator app) counts
 * against the account's second-step pool, as at /login/mfa: counted up front, given back when right.
 */
async function checkedCode<T>(
  services: Pick<Services, 'limits' | 'audit'>,
  user: User,
  asker: Asker,
  check: () => Promise<T | undefined>,
  failure: string,
): Promise<T> {
  const { limits, audit } = services;
  const pool = limits.mfaFailuresPerAccount;
  if (!(await pool.hit(user.id))) throw await rateLimited(audit, pool, user.id, { ip: asker.ip, userAgent: asker.userAgent, subject: user.id });
  const right = await check().catch(giveBackOnError([pool, user.id]));
  if (right === undefined) {
    await audit.record({ type: 'mfa.failed', outcome: 'failure', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { on: failure } });
    throw InvalidCode();
  }
  await pool.refund(user.id);
  return right;
}

/** "Add an authenticator app": a new secret waits for its first code. */
export async function beginOwnTotp(services: Pick<Services, 'secondFactors'>, user: User): Promise<void> {
  const { totp } = await services.secondFactors.summary(user.id);
  if (!totp) await services.secondFactors.beginTotp(user.id);
}

/** The app's first code makes the secret count; answers the recovery codes made with it (shown once). */
export async function confirmOwnTotp(services: Pick<Services, 'secondFactors' | 'limits' | 'audit'>, user: User, code: string, asker: Asker): Promise<string[]> {
  const codes = await checkedCode(services, user, asker, async () => (await services.secondFactors.confirmTotp(user.id, code.slice(0, 64))) || undefined, 'confirm');
  await services.audit.record({ type: 'mfa.added', outcome: 'success', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { kind: 'totp' } });
  return codes.recoveryCodes ?? (await services.secondFactors.newRecoveryCodes(user.id));
}

/** Removing the authenticator app needs a current code of it or a recovery code; the recovery codes go with it. */
export async function removeOwnTotp(services: Pick<Services, 'secondFactors' | 'limits' | 'audit'>, user: User, code: string, asker: Asker): Promise<void> {
  const used = await checkedCode(services, user, asker, async () => (code.length <= 64 ? services.secondFactors.verifyAny(user.id, code) : undefined), 'remove');
  if (used === 'recovery_code') await services.audit.record({ type: 'mfa.recovery_code_used', outcome: 'success', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker });
  await services.secondFactors.removeTotp(user.id);
  await services.audit.record({ type: 'mfa.removed', outcome: 'success', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { kind: 'totp', with: used } });
}

/** "Make new recovery codes": the old ones end; only a person with a factor has codes. */
export async function newOwnRecoveryCodes(services: Pick<Services, 'secondFactors'>, user: User): Promise<string[] | undefined> {
  const summary = await services.secondFactors.summary(user.id);
  return SecondFactors.hasFactor(summary) ? services.secondFactors.newRecoveryCodes(user.id) : undefined;
}

function requirePasskeyName(typed: string | undefined): string {
  const name = passkeyName(typed);
  if (name === undefined) throw InvalidRequest({ detail: `name: 1 to ${MAX_PASSKEY_NAME_LENGTH} characters, no control characters` });
  return name;
}

/**
 * "Add a passkey": the name, then the browser's answer to the registration options this person
 * was given (login/passkey/webauthn.ts: its challenge taken once, RP ID, origin, user
 * verification). Answers the recovery codes when it is the person's first factor (shown once).
 */
export async function addOwnPasskey(
  services: Pick<Services, 'passkeyCeremonies' | 'secondFactors' | 'audit'>,
  user: User,
  input: { response: unknown; name: string | undefined },
  asker: Asker,
): Promise<string[] | undefined> {
  const name = requirePasskeyName(input.name);
  const verified = await services.passkeyCeremonies.verifyRegistration(user.id, input.response, name);
  if (!verified) {
    await services.audit.record({ type: 'passkey.added', outcome: 'failure', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { reason: 'not_verified' } });
    throw InvalidRequest({ detail: 'The passkey could not be verified' });
  }
  const added = await services.secondFactors.addPasskey(user.id, verified);
  if (!added) throw InvalidRequest({ detail: 'This passkey is already registered' });
  await services.audit.record({ type: 'passkey.added', outcome: 'success', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { passkey_id: verified.credentialId, name } });
  return added.recoveryCodes;
}

/** Renames one passkey of the person's; answers whether it was theirs. */
export async function renameOwnPasskey(services: Pick<Services, 'passkeys' | 'audit'>, user: User, passkeyId: string, typedName: string | undefined, asker: Asker): Promise<boolean> {
  const name = requirePasskeyName(typedName);
  if (!(await services.passkeys.rename(user.id, passkeyId, name))) return false;
  await services.audit.record({ type: 'passkey.renamed', outcome: 'success', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { passkey_id: passkeyId, name } });
  return true;
}

/** Removes one passkey of the person's (the recovery codes go with the last factor); answers whether it was theirs. */
export async function removeOwnPasskey(services: Pick<Services, 'secondFactors' | 'audit'>, user: User, passkeyId: string, asker: Asker): Promise<boolean> {
  if (!(await services.secondFactors.removePasskey(user.id, passkeyId))) return false;
  await services.audit.record({ type: 'passkey.removed', outcome: 'success', projectId: ACCOUNT_PROJECT_ID, subject: user.id, ...asker, detail: { passkey_id: passkeyId } });
  return true;
}
