// Access tokens (RFC 9068 JWTs) and ID tokens for a session.
import { availableParallelism } from 'node:os';
import type { Clock, Ids } from '../clock.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { Project } from '../projects/projects.ts';
import type { Session, UserClaims } from '../sessions/sessions.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  id_token?: string;
}

/**
 * Where a grant's signatures are made. The two ES256 signatures are the largest single cost of a
 * refresh grant on the event loop. On libuv's pool the loop spends about half of that and another
 * core does the rest, which pays only while a core is spare: not when password hashes (which run
 * on the same pool, `GATEHOUSE_HASH_CONCURRENCY` at most) and the event loop already use them
 * all. Then signing stays on the event loop, so that a login storm does not slow token refresh
 * more than it must (README "Performance").
 */
export function signOnPoolWhileCoreIsSpare(hashing: { readonly running: number }, cores = availableParallelism()): () => boolean {
  return () => hashing.running + 1 < cores;
}

export class TokenIssuer {
  constructor(
    private readonly issuer: string,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly ids: Ids,
    /** asked at each grant: sign on libuv's pool (true) or on the event loop */
    private readonly signOnPool: () => boolean = () => false,
  ) {}

  private sign(onPool: boolean, payload: Record<string, unknown>, typ?: string): string | Promise<string> {
    return onPool ? this.keys.signJwtOnPool(payload, typ) : this.keys.signJwt(payload, typ);
  }

  async issue(input: {
    session: Session;
    project: Project;
    refreshToken: string;
    accessTokenSeconds: number;
    nonce?: string;
    /** the user's claims, from the subject check (none for a PIN) */
    user?: UserClaims;
  }): Promise<TokenResponse> {
    const { session, project } = input;
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = iat + input.accessTokenSeconds;
    const amr = [session.method];
    const onPool = this.signOnPool();
    const accessToken = this.sign(
      onPool,
      {
        iss: this.issuer,
        sub: session.subject,
        aud: project.id,
        client_id: project.id,
        exp,
        iat,
        jti: this.ids.id(),
        scope: session.scope,
        sid: session.id,
        amr,
      },
      'at+jwt',
    );
    let idToken: string | Promise<string> | undefined;
    const scopes = session.scope.split(' ');
    if (scopes.includes('openid')) {
      const claims: Record<string, unknown> = {
        iss: this.issuer,
        sub: session.subject,
        aud: project.id,
        azp: project.id,
        exp,
        iat,
        auth_time: Math.floor(session.auth_time / 1000),
        sid: session.id,
        amr,
      };
      if (input.nonce !== undefined) claims.nonce = input.nonce;
      if (scopes.includes('email') && input.user) {
        claims.email = input.user.email;
        claims.email_verified = input.user.email_verified;
      }
      idToken = this.sign(onPool, claims);
    }
    // Both at once when on the pool (and both awaited, so neither rejection goes unhandled).
    const [access, id] = await Promise.all([accessToken, idToken]);
    const response: TokenResponse = {
      access_token: access,
      token_type: 'Bearer',
      expires_in: input.accessTokenSeconds,
      refresh_token: input.refreshToken,
      scope: session.scope,
    };
    if (id !== undefined) response.id_token = id;
    return response;
  }
}
