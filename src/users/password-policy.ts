// Which passwords Gatehouse accepts, after NIST SP 800-63B §5.1.1.2: a length range and a
// screen against commonly used and breached passwords; no composition rules, which push
// people towards predictable patterns without adding strength.
import { lazyRequire } from '../lazy.ts';
import { ConfigError } from '../config.ts';
import { InvalidPassword } from '../errors.ts';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

/** Why a password was refused; sent to the client as the `reason` field. */
type PasswordRejection = 'too_short' | 'too_long' | 'common';

type PasswordCheck = { ok: true } | { ok: false; reason: PasswordRejection };

// The screening list: zxcvbn's "passwords-common" (about 49,000 entries drawn from public
// breach corpora), lower-cased into a Set when the first password is checked.
let commonPasswords: Set<string> | undefined;
const zxcvbnCommon = lazyRequire<typeof import('@zxcvbn-ts/language-common')>('@zxcvbn-ts/language-common');

function screeningKey(password: string): string {
  return password.normalize('NFKC').toLowerCase();
}

function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(zxcvbnCommon().dictionary['passwords-common'].map(screeningKey));
  return commonPasswords.has(screeningKey(password));
}

/**
 * Checks a new password (registration, admin-set passwords). Length counts Unicode code
 * points, as SP 800-63B asks, so an emoji is one character and not two UTF-16 units.
 */
export function checkPassword(password: string): PasswordCheck {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return { ok: false, reason: 'too_short' };
  if (length > MAX_PASSWORD_LENGTH) return { ok: false, reason: 'too_long' };
  if (isCommonPassword(password)) return { ok: false, reason: 'common' };
  return { ok: true };
}

/** Throws 400 Invalid password, with the reason, unless the password is acceptable. */
export function requireAcceptablePassword(password: string): void {
  const check = checkPassword(password);
  if (!check.ok) throw InvalidPassword({ reason: check.reason });
}

/** Each reason in words, for people (the command line). */
export const PASSWORD_REJECTIONS: Readonly<Record<PasswordRejection, string>> = {
  too_short: `fewer than ${MIN_PASSWORD_LENGTH} characters`,
  too_long: `more than ${MAX_PASSWORD_LENGTH} characters`,
  common: 'a commonly used or breached password',
};

/**
 * GATEHOUSE_ADMIN_PASSWORD meets the policy too: the configured admin holds the keys to every
 * project, and a weak password there is the easiest way in. Throws a ConfigError naming the
 * variable and the reason, so the start stops with a message instead of serving.
 */
export function requireAcceptableAdminPassword(password: string): void {
  const check = checkPassword(password);
  if (!check.ok) throw new ConfigError(`GATEHOUSE_ADMIN_PASSWORD is not acceptable: ${PASSWORD_REJECTIONS[check.reason]}`);
}
