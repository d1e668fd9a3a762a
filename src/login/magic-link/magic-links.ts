// Magic-link tokens: 256 random bits, handed out once in a mail and stored only as a SHA-256
// digest in the key-value store, together with the authorization request they finish.
import { sha256 } from '../../crypto/tokens.ts';
import type { AuthorizationRequest } from '../../oauth/authorization-request.ts';
import type { Project } from '../../projects/projects.ts';
import type { KeyValueStore } from '../../storage/kv.ts';
import type { Ids } from '../../crypto/random.ts';

/** What a token stands for: the authorization request, and the (normalised) address it was sent to. */
export interface MagicLinkGrant {
  projectId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  state?: string;
  nonce?: string;
  email: string;
}

// ids.token() gives 43 characters; anything much longer is not one of ours and is not hashed.
const MAX_TOKEN_LENGTH = 128;

function storageKey(token: string): string {
  return `magic:${sha256(token)}`;
}

function parseGrant(value: string | null): MagicLinkGrant | null {
  if (value === null) return null;
  const grant = JSON.parse(value) as MagicLinkGrant;
  return typeof grant.projectId === 'string' && typeof grant.email === 'string' ? grant : null;
}

/** The authorization request a grant finishes, against the project as it is now. */
export function authorizationOf(grant: MagicLinkGrant, project: Project): AuthorizationRequest {
  const { redirectUri, codeChallenge, scope, state, nonce } = grant;
  return {
    project,
    clientId: project.id,
    redirectUri,
    codeChallenge,
    scope,
    ...(state !== undefined ? { state } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
  };
}

export class MagicLinks {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ids: Ids,
    private readonly ttlMs: number,
  ) {}

  /** Stores a new token for this request and address; answers the token (to be mailed, never kept). */
  async create(authorization: AuthorizationRequest, email: string): Promise<string> {
    const grant: MagicLinkGrant = {
      projectId: authorization.project.id,
      redirectUri: authorization.redirectUri,
      codeChallenge: authorization.codeChallenge,
      scope: authorization.scope,
      ...(authorization.state !== undefined ? { state: authorization.state } : {}),
      ...(authorization.nonce !== undefined ? { nonce: authorization.nonce } : {}),
      email,
    };
    const token = this.ids.token();
    await this.kv.put(storageKey(token), JSON.stringify(grant), this.ttlMs);
    return token;
  }

  /** The grant of a live token, without using it up (mail scanners open links). */
  async peek(token: string | undefined): Promise<MagicLinkGrant | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    return parseGrant(await this.kv.get(storageKey(token)));
  }

  /** Takes the token out of the store: of many concurrent callers, only the first gets the grant. */
  async consume(token: string | undefined): Promise<MagicLinkGrant | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    return parseGrant(await this.kv.take(storageKey(token)));
  }

  /** Withdraws a token whose mail could not be sent. */
  async discard(token: string): Promise<void> {
    await this.kv.take(storageKey(token));
  }
}
