// GET /authorize, POST /token, POST /revoke, POST /introspect, discovery, JWKS and user info.
import { localeOf } from '../pages/i18n.ts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  InvalidClientId,
  InvalidClientSecret,
  InvalidOrExpiredCode,
  MissingClientId,
  MissingRefreshToken,
  MissingRequiredFields,
  MissingTokenOrClientId,
  PkceFailed,
  ProjectMismatch,
  RedirectUriMismatch,
  UnsupportedGrantType,
  HttpError,
  isError,
  MissingOrInvalidParameters,
  OnlyS256,
} from '../errors.ts';
import { rateLimited } from '../audit/rate-limit-refusals.ts';
import { clientInfo, prefersHtml } from '../http/negotiation.ts';
import { renderErrorPage } from '../pages/render.ts';
import { answerAuthorization } from './sso-routes.ts';
import { SIGNING_ALGS } from '../crypto/keys.ts';
import { isProjectId, type ProjectRecord } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import { tokenRequestKey } from '../storage/rate-limits.ts';
import { checkAuthorizationRequest, NO_CHALLENGE, SUPPORTED_SCOPES } from './authorization-request.ts';
import { clientCredentials } from './client-auth.ts';
import { clientCredentialsGrant } from './client-credentials.ts';
import { introspect } from './introspection.ts';
import { verifierMatches } from './codes.ts';
import { verifyAccessToken, type AccessTokenClaims } from './access-tokens.ts';
import type { TokenResponse } from './token-issuer.ts';
import { StaleProject, type ClientFacts, type Session } from '../sessions/sessions.ts';
import { bodyFields, field, type Fields, queryFields } from '../http/fields.ts';
import { sendHtml } from '../http/html.ts';
import { allowTokenProjectOrigin, checkClientOrigin, preflight } from './cors.ts';

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/revoke`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
    // Introspection (RFC 7662, docs/machines.md): a caller authenticates as at /token.
    introspection_endpoint: `${issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
    scopes_supported: [...SUPPORTED_SCOPES],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'sid', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'picture', 'locale', 'updated_at'],
    authorization_response_iss_parameter_supported: true,
    // Single sign-on (docs/sso.md).
    prompt_values_supported: ['none', 'login', 'select_account'],
    end_session_endpoint: `${issuer}/logout`,
    // Back-channel logout (docs/backchannel-logout.md): a project's backchannel_logout_uri gets a
    // logout token, with the session's sid, when one of its sessions ends.
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}

/** Client authentication shared by /token (checks 3 and 4) and /revoke. */
async function authenticateClient(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  clientId: string,
  clientSecret: string | undefined,
): Promise<ProjectRecord> {
  const record = await services.projects.find(clientId);
  if (!record) throw InvalidClientId();
  checkClientOrigin(services, request, reply, record);
  if (!services.projects.secretMatches(record, clientSecret)) {
    const { ip, userAgent } = clientInfo(request);
    await services.audit.record({
      type: 'client.authentication_failed',
      outcome: 'failure',
      projectId: clientId,
      ip,
      userAgent,
      detail: { endpoint: request.routeOptions.url ?? request.url, reason: clientSecret === undefined ? 'missing_secret' : 'wrong_secret' },
    });
    throw InvalidClientSecret();
  }
  return record;
}

/**
 * RFC 6749 §5.2 and RFC 9110 §11.6.1: a 401 names the authentication scheme of the endpoint. At
 * /token and /revoke that is client authentication, HTTP Basic among its forms.
 */
function challengeClient(_request: FastifyRequest, reply: FastifyReply, error: FastifyError | HttpError, done: () => void): void {
  if (error instanceof HttpError && error.statusCode === 401) void reply.header('www-authenticate', 'Basic realm="gatehouse"');
  done();
}

async function authorizationCodeGrant(services: Services, record: ProjectRecord, fields: Fields, client: ClientFacts): Promise<TokenResponse> {
  const code = field(fields, 'code');
  const verifier = field(fields, 'code_verifier');
  const redirectUri = field(fields, 'redirect_uri');
  // A project that does not require PKCE need not send a verifier (sso.md); its codes issued
  // with a challenge still need one (PkceFailed below).
  if (!code || (!verifier && record.project.require_pkce) || !redirectUri) throw MissingRequiredFields();
  // Consumed here, before any other check: a code is good for one try whatever its outcome.
  const grant = await services.codes.consume(code);
  if (!grant) {
    await revokeReplayedCode(services, record, code, client);
    throw InvalidOrExpiredCode();
  }
  if (grant.projectId !== record.project.id) throw ProjectMismatch();
  if (grant.redirectUri !== redirectUri) throw RedirectUriMismatch();
  // A code issued without a challenge takes no verifier either (no PKCE downgrade, RFC 9700 §2.1.1).
  if (grant.codeChallenge === NO_CHALLENGE ? verifier !== undefined : !verifier || !verifierMatches(verifier, grant.codeChallenge)) throw PkceFailed();
  const user = await services.sessions.checkSubject(grant.subject, record.project.id, !record.project.registration_open);

  const lifetimes = services.projects.lifetimes(record.project);
  const { session, sid, refreshToken } = await services.sessions.start({
    projectId: record.project.id,
    subject: grant.subject,
    method: grant.method,
    scope: grant.scope,
    authTime: grant.authTime,
    refreshTtlMs: lifetimes.refreshTokenMs,
    sessionMaxMs: lifetimes.sessionMaxMs,
    browserSessionId: grant.browserSessionId ?? null,
    // The event in the session's own commit, as a refresh records its event in its rotation's.
    alsoWrite: (started) =>
      services.audit.recordStep({
        type: 'token.code_exchanged',
        outcome: 'success',
        projectId: record.project.id,
        subject: started.subject,
        ...client,
        detail: { session_id: started.id, method: started.method },
      }),
  });
  // One more write per code exchange (not per refresh): what a replay of this code must revoke.
  await services.codes.recordExchange(code, session.id, lifetimes.codeMs);
  return services.tokens.issue({
    session,
    sid,
    project: record.project,
    refreshToken,
    accessTokenSeconds: lifetimes.accessTokenSeconds,
    ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
    ...(user ? { user } : {}),
  });
}

/**
 * A used code came back (RFC 6749 §4.1.2): the session its first exchange started ends, so its
 * refresh token and access token stop working; the answer stays "Invalid or expired code".
 */
async function revokeReplayedCode(services: Services, record: ProjectRecord, code: string, client: ClientFacts): Promise<void> {
  const sessionKey = await services.codes.replayedSession(code);
  if (sessionKey === null) return;
  const ended = await services.sessions.revokeStored(sessionKey);
  await services.audit.record({
    type: 'token.code_replayed',
    outcome: 'failure',
    projectId: record.project.id,
    ...client,
    detail: { session_id: sessionKey, session_ended: ended },
  });
}

/** `rememberedRevision`: the record is a remembered one of that revision (ProjectService.findForRefresh); StaleProject when it moved on. */
async function refreshTokenGrant(services: Services, record: ProjectRecord, fields: Fields, client: ClientFacts, rememberedRevision?: string): Promise<TokenResponse> {
  const presented = field(fields, 'refresh_token');
  if (!presented) throw MissingRefreshToken();
  const lifetimes = services.projects.lifetimes(record.project);
  const { session, sid, refreshToken, user } = await services.sessions.rotate(presented, record.project.id, lifetimes.refreshTokenMs, {
    sessionMaxMs: lifetimes.sessionMaxMs,
    membersOnly: !record.project.registration_open,
    client,
    ...(rememberedRevision !== undefined ? { projectRevision: rememberedRevision } : {}),
    // Off by default: the event's row and its webhook deliveries in each rotation's transaction,
    // on the benchmarked path (docs/decisions/0047-rehash-inline-and-refresh-audit-off.md,
    // 0106-webhook-deliveries-in-the-events-transaction.md).
    ...(services.config.auditRefreshes
      ? {
          alsoWrite: (s: Session) =>
            services.audit.recordStep({ type: 'token.refreshed', outcome: 'success', projectId: record.project.id, subject: s.subject, ...client, detail: { session_id: s.id } }),
        }
      : {}),
  });
  return services.tokens.issue({
    session,
    sid,
    project: record.project,
    refreshToken,
    accessTokenSeconds: lifetimes.accessTokenSeconds,
    ...(user ? { user } : {}),
  });
}

/** sso.md: the page for a missing or `plain` challenge tells the developer what to send. */
function pkceHint(error: HttpError, fields: Fields): string | undefined {
  const challenge = field(fields, 'code_challenge');
  if (isError(error, OnlyS256) || (isError(error, MissingOrInvalidParameters) && !challenge)) {
    return 'For developers: send code_challenge (the base64url SHA-256 of a random code_verifier, 43 characters) with code_challenge_method=S256 (PKCE, RFC 7636); plain is not supported.';
  }
  return undefined;
}

export function registerOAuthRoutes(server: FastifyInstance, services: Services): void {
  const { config } = services;

  server.get('/authorize', async (request, reply) => {
    const fields = queryFields(request);
    try {
      const authorization = await checkAuthorizationRequest(fields, services.projects);
      // After the four checks: single sign-on with the browser session, or the login page.
      return await answerAuthorization(services, request, reply, authorization, fields);
    } catch (error) {
      if (error instanceof HttpError && prefersHtml(request)) {
        return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, pkceHint(error, fields), localeOf(fields, request.headers)));
      }
      throw error;
    }
  });

  server.post('/token', { onError: challengeClient }, async (request, reply) => {
    noStore(reply);
    const fields = bodyFields(request);
    const { clientId, clientSecret } = clientCredentials(request, fields);
    // The checks of SPEC.md "POST /token", in order. An id no project can have is check 3's
    // answer given before check 2, so that made-up ids create no counters.
    if (!clientId) throw MissingClientId();
    if (!isProjectId(clientId)) throw InvalidClientId();
    const { ip, userAgent } = clientInfo(request);
    const limitKey = tokenRequestKey(config.tokenRateLimitScope, clientId, ip);
    const limit = services.limits.tokenRequestsPerClient;
    if (!(await limit.hit(limitKey))) throw await rateLimited(services.audit, limit, limitKey, { ip, userAgent, projectId: clientId });
    const grantType = field(fields, 'grant_type');
    if (grantType === 'refresh_token' && request.headers.origin === undefined && field(fields, 'refresh_token')) {
      // The hot path: on PostgreSQL the client is judged by the project as last read here, and
      // the grant's read of the token checks that it is still the project's revision.
      const remembered = await services.projects.findForRefresh(clientId);
      if (remembered && services.projects.secretMatches(remembered, clientSecret)) {
        try {
          return await refreshTokenGrant(services, remembered, fields, clientInfo(request), remembered.revision);
        } catch (error) {
          if (!(error instanceof StaleProject)) throw error;
        }
      }
      // Unknown, refused or changed since: judged afresh, as every other request is.
      services.projects.forgetForRefresh(clientId);
    }
    const record = await authenticateClient(services, request, reply, clientId, clientSecret);
    if (grantType === 'authorization_code') return authorizationCodeGrant(services, record, fields, clientInfo(request));
    if (grantType === 'refresh_token') return refreshTokenGrant(services, record, fields, clientInfo(request));
    if (grantType === 'client_credentials') return clientCredentialsGrant(services, record, fields, clientInfo(request));
    throw UnsupportedGrantType();
  });

  server.post('/revoke', { onError: challengeClient }, async (request, reply) => {
    noStore(reply);
    const fields = bodyFields(request);
    const token = field(fields, 'token');
    const { clientId, clientSecret } = clientCredentials(request, fields);
    if (!token || !clientId) throw MissingTokenOrClientId();
    const record = await authenticateClient(services, request, reply, clientId, clientSecret);
    // RFC 7009 §2.2: the answer is the same whether or not the token was known.
    let ended = await services.sessions.revokeByRefreshToken(token, record.project.id);
    if (!ended && token.split('.').length === 3) {
      // An access token: revoking it ends its session too (its refresh tokens stop working).
      const payload = await services.keys.verifyJwt(token, { issuer: config.issuer, audience: record.project.id }).catch(() => undefined);
      if (typeof payload?.sid === 'string') {
        const session = await services.sessions.find(payload.sid);
        if (session && (await services.sessions.revokeStored(session.id))) ended = session;
      }
    }
    if (ended) {
      await services.audit.record({
        type: 'token.revoked',
        outcome: 'success',
        projectId: record.project.id,
        subject: ended.subject,
        ...clientInfo(request),
        detail: { session_id: ended.id },
      });
    }
    return {};
  });

  // RFC 7662: the checks in the order of /token's (missing fields, the limit, the client), then the answer.
  server.post('/introspect', { onError: challengeClient }, async (request, reply) => {
    noStore(reply);
    const fields = bodyFields(request);
    const token = field(fields, 'token');
    const { clientId, clientSecret } = clientCredentials(request, fields);
    if (!token || !clientId) throw MissingTokenOrClientId();
    // As at /token: an id no project can have makes no counter.
    if (!isProjectId(clientId)) throw InvalidClientId();
    const { ip, userAgent } = clientInfo(request);
    const limitKey = `${clientId}|${ip}`;
    const limit = services.limits.introspectionRequests;
    if (!(await limit.hit(limitKey))) throw await rateLimited(services.audit, limit, limitKey, { ip, userAgent, projectId: clientId });
    const record = await authenticateClient(services, request, reply, clientId, clientSecret);
    return introspect(services, record, token);
  });

  const discovery = JSON.stringify(discoveryDocument(config.issuer));
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    server.get(path, (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=300').header('access-control-allow-origin', '*').type('application/json; charset=utf-8').send(discovery);
    });
  }

  // Encoded once per key set: with an RSA key beside the EC one the body is about 1 KB, and
  // encoding it on every answer showed in the JWKS scenario of the bench.
  let jwksBody = Buffer.alloc(0);
  let jwksFor: unknown;
  server.get('/.well-known/jwks.json', (_request, reply) => {
    const jwks = services.keys.jwks();
    if (jwksFor !== jwks.keys) {
      jwksBody = Buffer.from(JSON.stringify(jwks));
      jwksFor = jwks.keys;
    }
    void reply.header('cache-control', 'public, max-age=300').header('access-control-allow-origin', '*').type('application/json; charset=utf-8').send(jwksBody);
  });

  const userinfo = async (request: FastifyRequest, reply: FastifyReply) => {
    let claims: AccessTokenClaims;
    try {
      claims = await verifyAccessToken(services, request);
    } catch (error) {
      void reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw error;
    }
    await allowTokenProjectOrigin(services, request, reply, claims.aud);
    const info: Record<string, unknown> = { sub: claims.sub };
    if (claims.user && claims.scope.split(' ').includes('email')) {
      info.email = claims.user.email;
      info.email_verified = claims.user.email_verified;
    }
    if (claims.user && claims.scope.split(' ').includes('profile')) Object.assign(info, claims.user.profile);
    noStore(reply);
    return info;
  };
  server.get('/userinfo', userinfo);
  server.post('/userinfo', userinfo);

  server.options('/token', preflight(services, 'POST'));
  server.options('/revoke', preflight(services, 'POST'));
  server.options('/introspect', preflight(services, 'POST'));
  server.options('/userinfo', preflight(services, 'GET, POST'));
}
