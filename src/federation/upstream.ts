// The conversation with an upstream OpenID provider (docs/federation.md), through openid-client:
// discovery when a connection is made, the authorization URL (PKCE S256, state, nonce), and the
// callback's code exchange with the ID token validated (signature against the provider's JWKS,
// iss, aud, nonce, exp). Every outbound request has a timeout and a bound on the answer's size,
// so that a slow or hostile provider costs a bounded wait and bounded memory
// (docs/decisions/0114-outbound-requests-to-providers.md).
import type * as oidc from 'openid-client';
import type { Clock } from '../clock.ts';
import { lazyImport } from '../lazy.ts';

/** openid-client, loaded at the first conversation with a provider. */
const openidClient = lazyImport(() => import('openid-client'));

/** Seconds any one request to a provider may take (discovery, token, JWKS, userinfo). */
export const UPSTREAM_TIMEOUT_SECONDS = 10;
/** Bytes a provider's answer may have: discovery documents and JWKS are a few KiB. */
export const MAX_UPSTREAM_RESPONSE_BYTES = 256 * 1024;

/** The provider could not be reached, or answered something that is not OpenID Connect. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    /** true: an outage or timeout (the provider may work later); false: it answered wrongly */
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

/** The answer was too large: read no further than the bound. */
class ResponseTooLarge extends Error {}

async function boundedBody(response: Response): Promise<ArrayBuffer | null> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_UPSTREAM_RESPONSE_BYTES) throw new ResponseTooLarge(`the provider's answer is larger than ${MAX_UPSTREAM_RESPONSE_BYTES} bytes`);
  if (!response.body) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_UPSTREAM_RESPONSE_BYTES) {
      await reader.cancel().catch(() => {});
      throw new ResponseTooLarge(`the provider's answer is larger than ${MAX_UPSTREAM_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const body = Buffer.concat(chunks);
  return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
}

/**
 * fetch with the size bound (openid-client passes its own timeout signal). Redirects are not
 * followed: a discovery or token endpoint that redirects is not one to trust blindly.
 */
const boundedFetch: oidc.CustomFetch = async (url, options) => {
  const response = await fetch(url, { ...options, redirect: 'manual' } as RequestInit);
  const body = await boundedBody(response);
  const empty = response.status === 204 || response.status === 304;
  return new Response(empty ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
}

/** http is allowed only toward a loopback issuer (a provider on the operator's own machine). */
function insecureAllowed(issuer: string): boolean {
  return new URL(issuer).protocol === 'http:';
}

/** Why a request to the provider failed, in words for an admin's `detail` or the log. */
function explain(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const cause = error instanceof Error ? ((error as { cause?: unknown }).cause ?? error) : error;
  if (cause instanceof ResponseTooLarge || error instanceof ResponseTooLarge) return new UpstreamError((cause as Error).message, false);
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'TimeoutError' || name === 'AbortError' || (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError'))) {
    return new UpstreamError(`the provider did not answer within ${UPSTREAM_TIMEOUT_SECONDS} seconds`, true);
  }
  if (message === 'fetch failed' || (cause instanceof Error && /ECONNREFUSED|ENOTFOUND|ECONNRESET|EAI_AGAIN|EHOSTUNREACH|socket/i.test(`${cause.message} ${(cause as { code?: string }).code ?? ''}`))) {
    return new UpstreamError('the provider could not be reached', true);
  }
  return new UpstreamError(message, false);
}

/** `https`, or `http` on a loopback address; no credentials, query or fragment. Answers the reason it is not, or undefined. */
export function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'issuer must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) return 'issuer must be https, or http on a loopback address';
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return 'issuer must not carry credentials, a query or a fragment';
  return undefined;
}

/**
 * Fetches `<issuer>/.well-known/openid-configuration` and checks it (openid-client refuses a
 * document whose `issuer` differs). Answers the document; throws UpstreamError.
 */
export async function discoverProvider(issuer: string): Promise<oidc.ServerMetadata> {
  const oidc = await openidClient();
  try {
    const config = await oidc.discovery(new URL(issuer), 'gatehouse', undefined, undefined, {
      [oidc.customFetch]: boundedFetch,
      timeout: UPSTREAM_TIMEOUT_SECONDS,
      ...(insecureAllowed(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    const metadata = config.serverMetadata();
    if (!metadata.authorization_endpoint || !metadata.token_endpoint || !metadata.jwks_uri) {
      throw new UpstreamError('the discovery document names no authorization_endpoint, token_endpoint or jwks_uri', false);
    }
    return { ...metadata };
  } catch (error) {
    throw explain(error);
  }
}

export interface UpstreamClient {
  issuer: string;
  clientId: string;
  clientSecret: string;
  metadata: oidc.ServerMetadata;
}

/**
 * One openid-client Configuration per use. Its notion of "now" is the injected clock's (clockSkew
 * is the clock's distance from the system time), so that expiry checks follow the clock as every
 * other time-dependent rule does.
 */
async function configurationOf(client: UpstreamClient, clock: Clock): Promise<{ oidc: typeof oidc; config: oidc.Configuration }> {
  const oidc = await openidClient();
  const methods = client.metadata.token_endpoint_auth_methods_supported;
  // OIDC Discovery §3: absent means client_secret_basic.
  const auth = !methods || methods.includes('client_secret_basic') ? oidc.ClientSecretBasic(client.clientSecret) : oidc.ClientSecretPost(client.clientSecret);
  const config = new oidc.Configuration(client.metadata, client.clientId, { [oidc.clockSkew]: Math.round((clock.now() - Date.now()) / 1000) }, auth);
  config[oidc.customFetch] = boundedFetch;
  config.timeout = UPSTREAM_TIMEOUT_SECONDS;
  // The ID token's signature is checked against the provider's JWKS even though it came over TLS
  // from the token endpoint (which OIDC Core §3.1.3.7 would let a client skip): federation.md asks
  // for it, and a proxy or a compromised hop must not be able to hand Gatehouse a person.
  oidc.enableNonRepudiationChecks(config);
  if (insecureAllowed(client.issuer)) oidc.allowInsecureRequests(config);
  return { oidc, config };
}

export interface JourneySecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Fresh state, nonce and PKCE verifier for one journey. */
export async function newJourneySecrets(): Promise<JourneySecrets> {
  const oidc = await openidClient();
  return { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
}

/** The provider's authorization URL: response_type=code, client_id, redirect_uri, scope, state, nonce, S256 challenge. */
export async function authorizationUrl(client: UpstreamClient, clock: Clock, input: { redirectUri: string; scope: string; secrets: JourneySecrets }): Promise<string> {
  const { oidc, config } = await configurationOf(client, clock);
  return oidc
    .buildAuthorizationUrl(config, {
      response_type: 'code',
      redirect_uri: input.redirectUri,
      scope: input.scope,
      state: input.secrets.state,
      nonce: input.secrets.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(input.secrets.codeVerifier),
      code_challenge_method: 'S256',
    })
    .toString();
}

/** What the provider says about the person: the validated ID token's claims, with userinfo's where the token has none. */
export type UpstreamClaims = Record<string, unknown> & { sub: string };

/** The callback's code exchanged; the ID token validated (a failure is an UpstreamError, unreachable or not). */
export async function exchangeCallback(
  client: UpstreamClient,
  clock: Clock,
  input: { callbackUrl: URL; secrets: JourneySecrets },
): Promise<UpstreamClaims> {
  const { oidc, config } = await configurationOf(client, clock);
  try {
    const tokens = await oidc.authorizationCodeGrant(config, input.callbackUrl, {
      pkceCodeVerifier: input.secrets.codeVerifier,
      expectedState: input.secrets.state,
      expectedNonce: input.secrets.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    if (!idToken) throw new UpstreamError('the provider sent no ID token', false);
    const claims: UpstreamClaims = { ...idToken };
    // Many providers (oidc-provider among them) put the scope's claims at userinfo only.
    if (claims.email === undefined && tokens.access_token && client.metadata.userinfo_endpoint) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
      for (const [name, value] of Object.entries(info)) if (claims[name] === undefined) claims[name] = value;
    }
    return claims;
  } catch (error) {
    throw explain(error);
  }
}
