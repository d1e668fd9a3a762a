// What an email address is to Gatehouse: one account per address, compared after trimming and
// lower-casing; valid when it has the simple shape below. Every front door (registration, magic
// links, the admin API, the command line) checks an address here.
import { InvalidRequest } from '../errors.ts';

/** Emails are trimmed and compared case-insensitively. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

// Deliberately simple: one @, something on each side, a dot in the domain, no spaces.
const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;
/** RFC 5321's limit on a forward path, which is what a mail server will accept. */
const MAX_EMAIL_LENGTH = 254;

export function isValidEmail(email: string): boolean {
  const trimmed = email.trim();
  return trimmed.length <= MAX_EMAIL_LENGTH && EMAIL_PATTERN.test(trimmed);
}

/** Throws 400 Invalid request (with a detail) unless the address is valid. */
export function requireValidEmail(email: string): void {
  if (!isValidEmail(email)) throw InvalidRequest({ detail: 'email is not a valid address' });
}
