// The `mfa_token` of a second step (mfa.md): opaque, kept only as its SHA-256 in the KV store for
// 5 minutes, bound to the authorization request of the first factor, used once. A request takes it
// (of racing requests exactly one gets it) and gives it back only after a wrong code, counted.
import type { Clock } from '../../clock.ts';
import type { Ids } from '../../crypto/random.ts';
import { sha256 } from '../../crypto/tokens.ts';
import type { StoredAuthorization } from '../../oauth/authorization-request.ts';
import type { AmrValue } from '../../sessions/subject.ts';
import type { KeyValueStore } from '../../storage/kv.ts';

export const MFA_TOKEN_TTL_MS = 5 * 60 * 1000;
/** An enrolment at sign-in (a QR code to scan, a passkey to make) may take longer than a code. */
export const ENROLMENT_TOKEN_TTL_MS = 15 * 60 * 1000;
/** mfa.md: 5 wrong codes end the mfa_token. */
export const MFA_TOKEN_MAX_FAILURES = 5;

export interface MfaChallenge {
  userId: string;
  authorization: StoredAuthorization;
  /** what the person has already done: the first factor, or a browser session's amr (a step-up) */
  amr: AmrValue[];
  failures: number;
  expiresAt: number;
  /** an enrolment (docs/decisions/0099): the factor added with this token, once it was */
  added?: 'otp' | 'hwk';
}

function parse(value: string | null): MfaChallenge | undefined {
  return value === null ? undefined : (JSON.parse(value) as MfaChallenge);
}

/**
 * The mfa_tokens of second steps (prefix `mfa`), and with another prefix and lifetime the tokens of
 * enrolments at sign-in (`mfa_enrol`, src/login/mfa/enrolment-routes.ts): the two never answer
 * for each other.
 */
export class MfaChallenges {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ids: Ids,
    private readonly clock: Clock,
    private readonly prefix = 'mfa',
    private readonly ttlMs = MFA_TOKEN_TTL_MS,
  ) {}

  private keyOf(token: string): string {
    return `${this.prefix}:${sha256(token)}`;
  }

  async create(input: { userId: string; authorization: StoredAuthorization; amr: AmrValue[] }): Promise<string> {
    const token = this.ids.token();
    const challenge: MfaChallenge = { ...input, failures: 0, expiresAt: this.clock.now() + this.ttlMs };
    await this.kv.put(this.keyOf(token), JSON.stringify(challenge), this.ttlMs);
    return token;
  }

  /** The live challenge, without taking it (the page's form after a wrong code). */
  async peek(token: string | undefined): Promise<MfaChallenge | undefined> {
    if (token === undefined || token === '' || token.length > 200) return undefined;
    return parse(await this.kv.get(this.keyOf(token)));
  }

  /** Takes the challenge: of concurrent callers at most one gets it. */
  async take(token: string | undefined): Promise<MfaChallenge | undefined> {
    if (token === undefined || token === '' || token.length > 200) return undefined;
    return parse(await this.kv.take(this.keyOf(token)));
  }

  /** Puts a taken challenge back for the rest of its lifetime (a refusal that did not use it up). */
  async giveBack(token: string, challenge: MfaChallenge): Promise<void> {
    const left = challenge.expiresAt - this.clock.now();
    if (left > 0) await this.kv.put(this.keyOf(token), JSON.stringify(challenge), left);
  }

  /** After a wrong code: back with one more failure, unless that was the last allowed. Answers whether it still lives. */
  async countFailure(token: string, challenge: MfaChallenge): Promise<boolean> {
    const failures = challenge.failures + 1;
    if (failures >= MFA_TOKEN_MAX_FAILURES) return false;
    await this.giveBack(token, { ...challenge, failures });
    return true;
  }

  async discard(token: string): Promise<void> {
    await this.kv.take(this.keyOf(token));
  }
}
