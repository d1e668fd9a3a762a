// Access tokens (RFC 9068 JWTs) and ID tokens for a session.
import type { Clock } from '../clock.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { Project } from '../projects/projects.ts';
import type { Session, UserClaims } from '../sessions/sessions.ts';
import type { Ids } from '../crypto/random.ts';
import { amrOf } from '../sessions/subject.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  id_token?: string;
}

/** A client_credentials answer (machines.md): no refresh token, no ID token. */
export interface ClientTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** The subject of a project's own tokens (machines.md): never a user id, which has no colon. */
export function clientSubject(projectId: string): string {
  return `client:${projectId}`;
}

export class TokenIssuer {
  constructor(
    private readonly issuer: string,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly ids: Ids,
  ) {}

  /**
   * A project's own access token (client_credentials): no session, so no `sid` and no `amr`;
   * whether it still works is the project's settings' to say at each use (docs/decisions/0102).
   */
  issueForClient(project: Project, scope: string, accessTokenSeconds: number): ClientTokenResponse {
    const iat = Math.floor(this.clock.now() / 1000);
    const accessToken = this.keys.signJwt(
      {
        iss: this.issuer,
        sub: clientSubject(project.id),
        aud: project.id,
        client_id: project.id,
        exp: iat + accessTokenSeconds,
        iat,
        jti: this.ids.id(),
        scope,
      },
      'at+jwt',
      project.token_signing_alg,
    );
    return { access_token: accessToken, token_type: 'Bearer', expires_in: accessTokenSeconds, scope };
  }

  async issue(input: {
    session: Session;
    /** the session's id as its tokens carry it (the database keeps only its hash) */
    sid: string;
    project: Project;
    refreshToken: string;
    accessTokenSeconds: number;
    nonce?: string;
    /** the user's claims, from the subject check (none for a PIN) */
    user?: UserClaims;
  }): Promise<TokenResponse> {
    const { session, project, sid } = input;
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = iat + input.accessTokenSeconds;
    const amr = amrOf(session.method);
    const accessToken = this.keys.signJwt(
      {
        iss: this.issuer,
        sub: session.subject,
        aud: project.id,
        client_id: project.id,
        exp,
        iat,
        jti: this.ids.id(),
        scope: session.scope,
        sid,
        amr,
      },
      'at+jwt',
      project.token_signing_alg,
    );
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: input.accessTokenSeconds,
      refresh_token: input.refreshToken,
      scope: session.scope,
    };
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
        sid,
        amr,
      };
      if (input.nonce !== undefined) claims.nonce = input.nonce;
      if (scopes.includes('email') && input.user) {
        claims.email = input.user.email;
        claims.email_verified = input.user.email_verified;
      }
      if (scopes.includes('profile') && input.user) Object.assign(claims, input.user.profile);
      response.id_token = this.keys.signJwt(claims, 'JWT', project.token_signing_alg);
    }
    return response;
  }
}
