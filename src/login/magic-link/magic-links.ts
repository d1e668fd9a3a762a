// Magic-link tokens: 256 random bits, handed out once in a mail and stored only as a SHA-256
// digest in the key-value store, together with the authorization request they finish.
//
// Only the newest link of an address for a project works: beside the links, the store keeps one
// entry per (project, address) naming the digest of the newest, and a link that is not named
// there is over. Writing that entry is one atomic set, in SQL as in Redis, so of two requests
// racing on several instances exactly one link stays usable.
import type { Clock } from '../../clock.ts';
import { constantTimeEqual, sha256 } from '../../crypto/tokens.ts';
import { storeAuthorization, type AuthorizationRequest, type StoredAuthorization } from '../../oauth/authorization-request.ts';
import type { KeyValueStore } from '../../storage/kv.ts';
import type { Ids } from '../../crypto/random.ts';

/** What a token stands for: the authorization request, and the (normalised) address it was sent to. */
export interface MagicLinkGrant extends StoredAuthorization {
  email: string;
  /** epoch ms; lets a link taken by a request that then failed be given back with its own lifetime */
  expiresAt?: number;
}

/** A link just stored, until its mail is sent. */
export interface NewMagicLink {
  token: string;
  grant: MagicLinkGrant;
  /** the digest the newest-link entry named before this one */
  previous: string | null;
}

// ids.token() gives 43 characters; anything much longer is not one of ours and is not hashed.
const MAX_TOKEN_LENGTH = 128;

function storageKey(token: string): string {
  return `magic:${sha256(token)}`;
}

function newestKey(projectId: string, email: string): string {
  return `magic-newest:${sha256(`${projectId}\n${email}`)}`;
}

function parseGrant(value: string | null): MagicLinkGrant | null {
  if (value === null) return null;
  const grant = JSON.parse(value) as MagicLinkGrant;
  return typeof grant.projectId === 'string' && typeof grant.email === 'string' ? grant : null;
}

export class MagicLinks {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ids: Ids,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /**
   * Stores a new token for this request and address, and makes it the newest: the older unused
   * links of the address for this project stop working. The token is to be mailed, never kept.
   */
  async create(authorization: AuthorizationRequest, email: string): Promise<NewMagicLink> {
    const grant: MagicLinkGrant = { ...storeAuthorization(authorization), email, expiresAt: this.clock.now() + this.ttlMs };
    const token = this.ids.token();
    const newest = newestKey(grant.projectId, email);
    const previous = await this.kv.get(newest);
    await this.kv.put(storageKey(token), JSON.stringify(grant), this.ttlMs);
    await this.kv.put(newest, sha256(token), this.ttlMs);
    return { token, grant, previous };
  }

  /** The grant of a live token that is the newest of its address, without using it up (mail scanners open links). */
  async peek(token: string | undefined): Promise<MagicLinkGrant | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const grant = parseGrant(await this.kv.get(storageKey(token)));
    if (!grant) return null;
    const newest = await this.kv.get(newestKey(grant.projectId, grant.email));
    // No entry: a link stored before links were ended by newer ones.
    return newest === null || constantTimeEqual(newest, sha256(token)) ? grant : null;
  }

  /** Takes the token out of the store: of many concurrent callers, only the first gets the grant. */
  async consume(token: string | undefined): Promise<MagicLinkGrant | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    return parseGrant(await this.kv.take(storageKey(token)));
  }

  /**
   * Puts a taken token back, for the rest of its lifetime: the request that took it failed for
   * an outage, and a 503 must not use up a link (docs/decisions/0042-a-503-keeps-the-link.md).
   */
  async giveBack(token: string, grant: MagicLinkGrant): Promise<void> {
    const remainingMs = (grant.expiresAt ?? this.clock.now() + this.ttlMs) - this.clock.now();
    if (remainingMs > 0) await this.kv.put(storageKey(token), JSON.stringify(grant), remainingMs);
  }

  /**
   * Withdraws a link whose mail could not be sent; the link it replaced is the newest again, so
   * a failed send ends nothing.
   */
  async discard(link: NewMagicLink): Promise<void> {
    await this.kv.take(storageKey(link.token));
    const newest = newestKey(link.grant.projectId, link.grant.email);
    // A link requested meanwhile stays the newest.
    if ((await this.kv.get(newest)) !== sha256(link.token)) return;
    if (link.previous === null) {
      await this.kv.take(newest);
    } else {
      const left = (link.grant.expiresAt ?? 0) - this.clock.now();
      await this.kv.put(newest, link.previous, Math.max(1, left));
    }
  }
}
