// Authorization codes: random, stored only as a hash in the key-value store, single use.
import { createHash } from 'node:crypto';
import { constantTimeEqual, sha256 } from '../crypto/tokens.ts';
import type { KeyValueStore } from '../storage/kv.ts';
import type { Subject } from '../sessions/subject.ts';
import type { Ids } from '../crypto/random.ts';

interface CodeGrant {
  projectId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  nonce?: string;
  subject: Subject;
  /** the amr, as methodText joins it */
  method: string;
  authTime: number;
  /** the browser session the sign-in started or used (docs/sso.md), for logout */
  browserSessionId?: string;
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

  /**
   * Remembers which session a code's exchange started, in the key-value store (so every
   * instance sees it), for as long as a replay is worth catching: RFC 6749 §4.1.2 asks that a
   * code used twice revoke what its first use issued. The value is the session's stored key,
   * never its sid.
   */
  async recordExchange(code: string, sessionKey: string, ttlMs: number): Promise<void> {
    await this.kv.put(`code_used:${sha256(code)}`, sessionKey, Math.max(ttlMs, USED_CODE_MEMORY_MS));
  }

  /** The stored key of the session a used code started, taken out so a replay revokes it once. */
  async replayedSession(code: string): Promise<string | null> {
    return this.kv.take(`code_used:${sha256(code)}`);
  }
}

/**
 * How long a used code is remembered at least: RFC 6749 §4.1.2's longest code lifetime (10
 * minutes), so a replay within any code's life is caught whatever the project's code lifetime
 * (docs/decisions/0045-code-replay-revokes.md).
 */
const USED_CODE_MEMORY_MS = 600_000;
