// A person's profile claims (sso.md "Profile claims"): what the `profile` scope releases at
// /userinfo and in the ID token. Every front door that sets them (admin API, command line,
// registration) checks them here.
import { InvalidRequest } from '../errors.ts';

export const PROFILE_FIELDS = ['name', 'given_name', 'family_name', 'picture', 'locale'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
/** A profile as stored: null where not set. */
export type Profile = Record<ProfileField, string | null>;
/** Changes: a string sets the field, null clears it, absent leaves it. */
export type ProfileChanges = Partial<Record<ProfileField, string | null>>;

export const MAX_NAME_LENGTH = 200;
export const MAX_PICTURE_LENGTH = 2048;
/** BCP 47 (RFC 5646) language tags in their common shape: language, then subtags of 1–8 letters or digits. */
const LOCALE = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/;
export const MAX_LOCALE_LENGTH = 35;

function problem(field: ProfileField, value: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  if (field === 'picture') {
    if (value.length > MAX_PICTURE_LENGTH) return `must be at most ${MAX_PICTURE_LENGTH} characters`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return 'must be an https URL';
    }
    if (url.protocol !== 'https:' || /\s/.test(value) || url.username || url.password) return 'must be an https URL';
    return undefined;
  }
  if (field === 'locale') return value.length <= MAX_LOCALE_LENGTH && LOCALE.test(value) ? undefined : 'must be a BCP 47 language tag (en, de-CH, …)';
  const length = [...value].length;
  return value.trim() === '' || length > MAX_NAME_LENGTH ? `must be 1 to ${MAX_NAME_LENGTH} characters` : undefined;
}

/** The profile fields of `input` that are given, checked. Throws 400 `Invalid request` naming the field. */
export function checkProfile(input: ProfileChanges): ProfileChanges {
  const checked: ProfileChanges = {};
  for (const field of PROFILE_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value !== null) {
      const found = problem(field, value);
      if (found) throw InvalidRequest({ detail: `${field} ${found}` });
    }
    checked[field] = value;
  }
  return checked;
}

/** The `profile` claims: those set, and `updated_at` in seconds. */
export function profileClaims(profile: Partial<Profile>, updatedAtMs: number): Record<string, string | number> {
  const claims: Record<string, string | number> = {};
  for (const field of PROFILE_FIELDS) {
    const value = profile[field];
    if (typeof value === 'string') claims[field] = value;
  }
  claims.updated_at = Math.floor(updatedAtMs / 1000);
  return claims;
}
