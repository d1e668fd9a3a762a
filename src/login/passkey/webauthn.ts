// The WebAuthn ceremonies of passkeys (mfa.md), through @simplewebauthn/server: the RP ID is the
// issuer's host and the origin the issuer's origin; discoverable credentials and user verification
// are required. A challenge is state like an mfa_token: kept in the KV store (SQL or Redis) under
// its SHA-256 for as long as the ceremony may take, bound to what it was made for, and taken once
// when the answer comes back, so that of racing answers to one challenge exactly one is verified.
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Clock } from '../../clock.ts';
import type { Ids } from '../../crypto/random.ts';
import { sha256 } from '../../crypto/tokens.ts';
import type { KeyValueStore } from '../../storage/kv.ts';
import type { Passkey, Passkeys } from '../../users/passkeys.ts';
import type { NewPasskey } from '../../users/second-factors.ts';
import { lazyImport } from '../../lazy.ts';

/** The WebAuthn library, loaded at the first ceremony. */
const simpleWebAuthn = lazyImport(() => import('@simplewebauthn/server'));

/** How long a ceremony may take, from the options to the answer (the browser's `timeout` too). */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60 * 1000;

/** What a challenge was made for: it answers nothing else. */
export type ChallengePurpose =
  /** adding a passkey on the account page, or on the hosted enrolment page */
  | { kind: 'register'; userId: string }
  /** the second step of `userId` (login/mfa/) */
  | { kind: 'second_step'; userId: string }
  /** a sign-in with nothing else, to `projectId` */
  | { kind: 'sign_in'; projectId: string };

/** The largest field of a response we read: credential ids are at most 1023 bytes (WebAuthn §5.8.3). */
const MAX_FIELD = 16_384;

function isBase64url(value: unknown, max = MAX_FIELD): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max && /^[A-Za-z0-9_-]+={0,2}$/.test(value);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A form posts the response as JSON text, a JSON body as an object. */
function parsed(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'string') {
    if (value.length > 4 * MAX_FIELD) return undefined;
    try {
      return record(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return record(value);
}

/** The shape of an assertion (`navigator.credentials.get`, as @simplewebauthn/browser sends it), or undefined. */
export function asAuthenticationResponse(value: unknown): AuthenticationResponseJSON | undefined {
  const outer = parsed(value);
  const inner = record(outer?.response);
  if (!outer || !inner || outer.type !== 'public-key' || !isBase64url(outer.id, 1400) || !isBase64url(outer.rawId, 1400)) return undefined;
  if (!isBase64url(inner.clientDataJSON) || !isBase64url(inner.authenticatorData) || !isBase64url(inner.signature)) return undefined;
  if (inner.userHandle !== undefined && inner.userHandle !== null && !isBase64url(inner.userHandle, 100)) return undefined;
  return {
    id: outer.id,
    rawId: outer.rawId,
    type: 'public-key',
    clientExtensionResults: {},
    response: { clientDataJSON: inner.clientDataJSON, authenticatorData: inner.authenticatorData, signature: inner.signature, ...(typeof inner.userHandle === 'string' ? { userHandle: inner.userHandle } : {}) },
  };
}

/** The shape of an attestation (`navigator.credentials.create`), or undefined. */
export function asRegistrationResponse(value: unknown): RegistrationResponseJSON | undefined {
  const outer = parsed(value);
  const inner = record(outer?.response);
  if (!outer || !inner || outer.type !== 'public-key' || !isBase64url(outer.id, 1400) || !isBase64url(outer.rawId, 1400)) return undefined;
  if (!isBase64url(inner.clientDataJSON) || !isBase64url(inner.attestationObject)) return undefined;
  const transports = Array.isArray(inner.transports) ? inner.transports.filter((t): t is string => typeof t === 'string' && /^[a-z-]{1,20}$/.test(t)).slice(0, 8) : [];
  return {
    id: outer.id,
    rawId: outer.rawId,
    type: 'public-key',
    clientExtensionResults: {},
    response: { clientDataJSON: inner.clientDataJSON, attestationObject: inner.attestationObject, transports: transports as RegistrationResponseJSON['response']['transports'] },
  };
}

/** The challenge the browser signed, read from the client data (verification checks it again). */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const data = record(JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')));
    return isBase64url(data?.challenge, 200) ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}

function keyOf(challenge: string): string {
  return `webauthn:${sha256(challenge)}`;
}

function samePurpose(a: ChallengePurpose, b: ChallengePurpose): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface VerifiedUse {
  passkey: Passkey;
  newSignCount: number;
}

export class PasskeyCeremonies {
  readonly rpId: string;
  readonly origin: string;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly ids: Ids,
    private readonly clock: Clock,
    private readonly passkeys: Passkeys,
    issuer: string,
  ) {
    const url = new URL(issuer);
    this.rpId = url.hostname;
    this.origin = url.origin;
  }

  private async remember(challenge: string, purpose: ChallengePurpose): Promise<void> {
    await this.kv.put(keyOf(challenge), JSON.stringify({ purpose, expiresAt: this.clock.now() + PASSKEY_CHALLENGE_TTL_MS }), PASSKEY_CHALLENGE_TTL_MS);
  }

  /**
   * Takes the challenge a response signed, if it is live and was made for `purpose`: of racing
   * responses to one challenge at most one gets it. A challenge of another purpose is spent too.
   */
  private async takeChallenge(clientDataJSON: string, purpose: ChallengePurpose): Promise<string | undefined> {
    const challenge = challengeOf(clientDataJSON);
    if (challenge === undefined) return undefined;
    const stored = await this.kv.take(keyOf(challenge));
    if (stored === null) return undefined;
    const { purpose: madeFor } = JSON.parse(stored) as { purpose: ChallengePurpose };
    return samePurpose(madeFor, purpose) ? challenge : undefined;
  }

  /** The options of `navigator.credentials.create` for a new passkey of this person. */
  async registrationOptions(user: { id: string; email: string; name: string | null }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.passkeys.listForUser(user.id);
    const options = await (await simpleWebAuthn()).generateRegistrationOptions({
      rpName: this.rpId,
      rpID: this.rpId,
      userName: user.email,
      userDisplayName: user.name ?? user.email,
      // The user handle a discoverable credential gives back at sign-in: the account's id.
      userID: new TextEncoder().encode(user.id),
      challenge: this.ids.token(),
      timeout: PASSKEY_CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    await this.remember(options.challenge, { kind: 'register', userId: user.id });
    return options;
  }

  /** A verified new passkey of `userId` (to be named and stored), or undefined. */
  async verifyRegistration(userId: string, value: unknown, name: string): Promise<NewPasskey | undefined> {
    const response = asRegistrationResponse(value);
    if (!response) return undefined;
    const challenge = await this.takeChallenge(response.response.clientDataJSON, { kind: 'register', userId });
    if (challenge === undefined) return undefined;
    try {
      const { verified, registrationInfo } = await (await simpleWebAuthn()).verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: true,
      });
      if (!verified) return undefined;
      const { credential } = registrationInfo;
      return {
        credentialId: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        signCount: credential.counter,
        transports: credential.transports ?? response.response.transports ?? [],
        name,
      };
    } catch {
      // A malformed or forged attestation: refused like a wrong one.
      return undefined;
    }
  }

  /**
   * The options of `navigator.credentials.get`: for a second step, the person's own passkeys; for
   * a sign-in with nothing else, any discoverable credential of this RP.
   */
  async authenticationOptions(purpose: Exclude<ChallengePurpose, { kind: 'register' }>): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = purpose.kind === 'second_step' ? await this.passkeys.listForUser(purpose.userId) : [];
    const options = await (await simpleWebAuthn()).generateAuthenticationOptions({
      rpID: this.rpId,
      challenge: this.ids.token(),
      timeout: PASSKEY_CHALLENGE_TTL_MS,
      userVerification: 'required',
      ...(allow.length > 0 ? { allowCredentials: allow.map((passkey) => ({ id: passkey.id, transports: passkey.transports })) } : {}),
    });
    await this.remember(options.challenge, purpose);
    return options;
  }

  /**
   * Verifies an assertion for `purpose`: its challenge (taken once), a passkey we know (of the
   * second step's person, when it is one), the user handle naming that passkey's person, the RP
   * ID, the origin, user verification, the signature and the sign count. The new count is stored
   * over the one read. Undefined when anything fails.
   */
  async verifyAuthentication(value: unknown, purpose: Exclude<ChallengePurpose, { kind: 'register' }>): Promise<Passkey | undefined> {
    const response = asAuthenticationResponse(value);
    if (!response) return undefined;
    const challenge = await this.takeChallenge(response.response.clientDataJSON, purpose);
    if (challenge === undefined) return undefined;
    const passkey = await this.passkeys.find(response.id);
    if (!passkey) return undefined;
    if (purpose.kind === 'second_step' && passkey.userId !== purpose.userId) return undefined;
    const handle = response.response.userHandle;
    if (handle !== undefined && Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId) return undefined;
    try {
      const { verified, authenticationInfo } = await (await simpleWebAuthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: passkey.signCount, transports: passkey.transports },
        requireUserVerification: true,
      });
      if (!verified || !authenticationInfo.userVerified) return undefined;
      return (await this.passkeys.recordUse(passkey, authenticationInfo.newCounter)) ? passkey : undefined;
    } catch {
      // A malformed signature, another RP ID, a sign count gone back: refused like a wrong one.
      return undefined;
    }
  }
}
