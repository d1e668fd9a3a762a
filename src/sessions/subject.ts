// Who a session and its tokens are for: a person (a user id), or a device signed in with one of
// a project's shared PINs. As a token's `sub` a PIN's subject is its id behind PIN_SUBJECT_PREFIX,
// so a user id and a PIN id can never be mistaken for each other.

export type Subject = { kind: 'user'; userId: string } | { kind: 'pin'; pinId: string };

/** How the person signed in, as an `amr` value (RFC 8176 where one fits). */
export type LoginMethod = 'pwd' | 'pin' | 'magic_link';

/**
 * What a sign-in may have used besides its first factor (mfa.md): a one-time code, a passkey
 * (`hwk`, RFC 8176: proof of a hardware-secured key), and `mfa` for two factors.
 */
export type AmrValue = LoginMethod | 'otp' | 'hwk' | 'mfa' | 'fed';

/**
 * Whether a sign-in counts as two factors for `require_mfa`: two steps (`mfa`), or a passkey,
 * which holds the key (something one has) and verified its person (something one is or knows)
 * in one step (docs/decisions/0098).
 */
export function countsAsMfa(amr: readonly string[]): boolean {
  return amr.includes('mfa') || amr.includes('hwk');
}

/**
 * The `amr` of a sign-in as a code and a session keep it: the values joined by spaces in the one
 * `method` text ('pwd', 'pwd otp mfa'), so that sessions from before second factors read as they
 * were (docs/decisions/0091-amr-in-the-method-column.md).
 */
export function methodText(amr: LoginMethod | readonly AmrValue[]): string {
  return typeof amr === 'string' ? amr : amr.join(' ');
}

/** The `amr` claim of a session's `method` text. */
export function amrOf(method: string): string[] {
  return method.split(' ').filter(Boolean);
}

const PIN_SUBJECT_PREFIX = 'pin:';

/** The subject as a token's `sub` and the audit log's `subject`. */
export function subjectId(subject: Subject): string {
  return subject.kind === 'user' ? subject.userId : `${PIN_SUBJECT_PREFIX}${subject.pinId}`;
}

/** True when a token's `sub` names a PIN rather than a person. */
export function isPinSubject(sub: string): boolean {
  return sub.startsWith(PIN_SUBJECT_PREFIX);
}
