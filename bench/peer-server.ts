// The peer: node-oidc-provider (oidc-provider on npm) set up as close to Gatehouse as it allows,
// in a process of its own:
// - one public client (token_endpoint_auth_method none), authorization code + PKCE S256 only;
// - one confidential client for client_credentials (client_secret_post), as Gatehouse's
//   confidential project with client_credentials: its access tokens opaque by default, where
//   Gatehouse signs a JWT;
// - refresh tokens issued to it and rotated on every use (rotateRefreshToken: true), each
//   living as long as Gatehouse's (30 days) and not bound to the browser session, like a
//   Gatehouse session's chain;
// - lifetimes as Gatehouse's defaults: code 60 s, access token 900 s;
// - ID tokens signed ES256 with one P-256 key, scope "openid email" (the same scope the bench
//   asks Gatehouse for);
// - its in-memory adapter (oidc-provider's own MemoryAdapter), on a store that keeps every entry
//   until it expires: the default store is a development-only LRU of 1000 entries, which with 1000
//   refresh chains dropped live grants and tokens (400 invalid_grant on chains still in use, 47
//   in one round on 2026-12-02). That gives the peer more, never less (Gatehouse writes to its
//   SQLite file instead).
// Differences that remain are in the peer's favour: its access tokens are opaque (kept in
// memory) where Gatehouse signs a JWT for each, and it has no rate limiter to consult.
// With PEER_JWT_ACCESS_TOKENS=1 (`npm run bench -- --peer-jwt-access-tokens`) it issues JWT
// access tokens instead (resourceIndicators with one default resource, ES256, typ at+jwt), so
// that it signs two JWTs per refresh as Gatehouse does; for information only, the targets are
// set against the default.
//
// Refresh tokens are minted through the provider's real interaction flow: /auth sends the
// browser to /interaction/:uid, where this file's handler finishes the interaction with
// provider.interactionFinished (login + a Grant for the scope, the documented way for an
// app's own login page), then /auth/:uid redirects with a code that /token exchanges.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import { announceReady, BENCH_PROJECT, BENCH_REDIRECT_URI, BENCH_SERVICE, serveCommands } from './ipc.ts';

const ACCOUNT = 'bench-user';
const BENCH_RESOURCE = 'https://api.bench.test';
const JWT_ACCESS_TOKENS = process.env.PEER_JWT_ACCESS_TOKENS === '1';
const port = Number(process.env.PORT ?? '0');
const SERVICE_SECRET = process.env.PEER_SERVICE_SECRET ?? randomBytes(24).toString('base64url');
const issuer = `http://127.0.0.1:${port}`;

/** The store MemoryAdapter uses (get, set with a maxAge, delete), without the default's bound of 1000 entries. */
class UnboundedStore {
  private readonly entries = new Map<string, { value: unknown; expiry: number }>();
  constructor() {
    // Expired entries are also swept now and then, as the LRU's turnover dropped them.
    setInterval(() => {
      const now = Date.now();
      for (const [key, entry] of this.entries) if (entry.expiry <= now) this.entries.delete(key);
    }, 10_000).unref();
  }
  get(key: string): unknown {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiry <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: unknown, options: { maxAge?: number } = {}): this {
    const { maxAge } = options;
    this.entries.set(key, { value, expiry: typeof maxAge === 'number' ? Date.now() + maxAge : Infinity });
    return this;
  }
  delete(key: string): boolean {
    return this.entries.delete(key);
  }
}
const store = new UnboundedStore();

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: BENCH_PROJECT,
      token_endpoint_auth_method: 'none',
      redirect_uris: [BENCH_REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
    {
      // client_credentials: the secret the driver gave (PEER_SERVICE_SECRET), sent in the form.
      client_id: BENCH_SERVICE,
      client_secret: SERVICE_SECRET,
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [signingKey] },
  adapter: (model: string) => new MemoryAdapter(model, store),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    ...(JWT_ACCESS_TOKENS
      ? {
          resourceIndicators: {
            enabled: true,
            defaultResource: () => BENCH_RESOURCE,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({ scope: 'api', audience: BENCH_PROJECT, accessTokenTTL: 900, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
          },
        }
      : {}),
  },
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  findAccount: (_ctx: unknown, sub: string) => ({
    accountId: sub,
    claims: () => ({ sub, email: `${sub}@bench.test`, email_verified: true }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  expiresWithSession: () => false,
  ttl: { AuthorizationCode: 60, AccessToken: 900, ClientCredentials: 900, IdToken: 900, RefreshToken: 2592000, Grant: 2592000, Session: 2592000, Interaction: 600 },
});
// oidc-provider warns about each of these at start; none concerns the measured paths.
const handle = provider.callback();

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/interaction/')) {
    finishInteraction(req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
    return;
  }
  handle(req, res);
});

async function finishInteraction(req: Parameters<typeof handle>[0], res: Parameters<typeof handle>[1]): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope));
  if (JWT_ACCESS_TOKENS) grant.addResourceScope(BENCH_RESOURCE, 'api');
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

serveCommands({});
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
announceReady(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
