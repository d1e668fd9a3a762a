// Authorization codes: random, stored only as a hash in the key-value store, single use.
import { createHash } from 'node:crypto';
import { constantTimeEqual, sha256 } from '../crypto/tokens.ts';
import type { KeyValueStore } from '../storage/kv.ts';
import type { LoginMethod, Subject } from '../sessions/subject.ts';
import type { Ids } from '../crypto/random.ts';

interface CodeGrant {
  projectId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  nonce?: string;
  subject: Subject;
  method: LoginMethod;
  authTime: number;
}

const RFC7636_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.1 verifier shape and §4.6 S256 comparison. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!RFC7636_VERIFIER.test(verifier)) return false;
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return constantTimeEqual(computed, challenge);
}

export class AuthorizationCodes {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ids: Ids,
  ) {}

  async issue(grant: CodeGrant, ttlMs: number): Promise<string> {
    const code = this.ids.token();
    await this.kv.put(`code:${sha256(code)}`, JSON.stringify(grant), ttlMs);
    return code;
  }

  /** Takes the code out of the store: only the first caller gets the grant. */
  async consume(code: string): Promise<CodeGrant | null> {
    const value = await this.kv.take(`code:${sha256(code)}`);
    return value === null ? null : (JSON.parse(value) as CodeGrant);
  }
}
