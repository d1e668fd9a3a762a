// What an email address is to Gatehouse: one account per address, in the plain ASCII form
// `local@domain` only, compared with ASCII letters folded to lower case. Every front door
// (registration, magic links, the admin API, the command line, the configured admin) checks an
// address here, and the user service refuses to store any other.
//
// Why so strict (docs/decisions/0040-plain-ascii-emails.md): Unicode lower-casing and
// normalisation fold look-alikes together (the Kelvin sign U+212A lower-cases to `k`, NFKC turns
// fullwidth letters and ligatures into ASCII), so `Kate@…` spelt with a Kelvin sign signed in as
// `kate@…`; and mail servers deliver `x(1)@d`, `"x"@d` and `x@d` to one mailbox while they looked
// like three addresses to every limit. In the plain form one address is one string.
import { InvalidRequest } from '../errors.ts';

/** RFC 5322 atext: letters, digits and these; a dot only between them (dot-atom). */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/**
 * An LDH label (RFC 5890): letters, digits and hyphens, not at either end, 63 at most. An
 * international domain passes only as its A-label (`xn--…`), which is what DNS carries.
 */
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** RFC 5321 §4.5.3.1.1. */
const MAX_LOCAL_LENGTH = 64;
/** RFC 5321's limit on a forward path, which is what a mail server will accept. */
const MAX_EMAIL_LENGTH = 254;
/** Surrounding ASCII white space is forgiven (a pasted address); any other is not. */
const SURROUNDING_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/**
 * The address as it is stored and mailed to (surrounding ASCII white space removed), or
 * undefined when it is not in the plain form: one @, a dot-atom local part, a domain of at
 * least two LDH labels. Nothing outside ASCII, no comments, quotes, spaces or IP literals.
 */
export function plainEmail(input: string): string | undefined {
  const email = input.replace(SURROUNDING_SPACE, '');
  if (email.length > MAX_EMAIL_LENGTH) return undefined;
  const at = email.indexOf('@');
  if (at < 1 || at !== email.lastIndexOf('@')) return undefined;
  const local = email.slice(0, at);
  const labels = email.slice(at + 1).split('.');
  if (local.length > MAX_LOCAL_LENGTH || !LOCAL_PART.test(local)) return undefined;
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) return undefined;
  return email;
}

export function isValidEmail(input: string): boolean {
  return plainEmail(input) !== undefined;
}

/**
 * The key an account is found by: the plain address with ASCII letters folded to lower case,
 * nothing else (no Unicode case mapping, no NFC/NFKC). Only meaningful for a plain address.
 */
export function normalizeEmail(email: string): string {
  return email.replace(SURROUNDING_SPACE, '').replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The plain address (see plainEmail); throws 400 Invalid request (with a detail) when there is none. */
export function requireValidEmail(input: string): string {
  const email = plainEmail(input);
  if (email === undefined) throw InvalidRequest({ detail: 'email is not a valid address' });
  return email;
}

/**
 * The key that accounts stored before the plain-form rule were filed under: trimmed and
 * lower-cased by Unicode's rules. Only the admin API's search uses it, so that an admin can
 * find such an account and give it a plain address (docs/decisions/0040-plain-ascii-emails.md).
 */
export function legacyEmailKey(email: string): string {
  return email.trim().toLowerCase();
}
