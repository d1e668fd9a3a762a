// A real upstream OpenID provider for the federation tests: node-oidc-provider (oidc-provider on
// npm) on a free port of 127.0.0.1, with one confidential client for Gatehouse. Its people are
// the `accounts` given (sub → claims). Its sign-in page is a plain form: the account's `sub` and
// "Allow" or "Deny" (the person says no). `forgeIdTokens` makes its token endpoint answer ID
// tokens re-signed with another key (same kid, same claims, a real ES256 signature): what a
// man in the middle or a compromised proxy would send.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface UpstreamAccount {
  sub: string;
  email?: string;
  email_verified?: boolean | string;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  locale?: string;
}

export interface Upstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, UpstreamAccount>;
  /** true: every ID token from now on is re-signed with a key the JWKS does not hold */
  forgeIdTokens: boolean;
  /** the login page's POST target for an interaction URL */
  close(): Promise<void>;
}

interface KoaContext {
  path: string;
  method: string;
  body: unknown;
}

type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function loginPage(uid: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Upstream sign-in</title></head><body>
<h1>Upstream sign-in</h1>
<form method="post" action="/interaction/${uid}">
<label for="sub">Account</label> <input id="sub" name="sub" autocomplete="username">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>`;
}

/** Starts the provider; `redirectUris` are the Gatehouse callbacks its client may be sent back to. */
export async function startUpstream(options: { redirectUris: string[]; accounts?: UpstreamAccount[] }): Promise<Upstream> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'gatehouse';
  const clientSecret = randomBytes(24).toString('base64url');
  const accounts = new Map((options.accounts ?? []).map((a) => [a.sub, a]));

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'upstream-es256', alg: 'ES256', use: 'sig' };
  // The forger's key: same curve, same kid in the header, not in the JWKS.
  const forger = await importJWK({ ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK), alg: 'ES256' }, 'ES256');

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      return account ? { accountId: sub, claims: () => ({ ...account }) } : undefined;
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'picture', 'locale'] },
    ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  });

  const upstream: Upstream = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    forgeIdTokens: false,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  const forge: KoaMiddleware = async (ctx, next) => {
    await next();
    if (!upstream.forgeIdTokens || ctx.path !== '/token' || ctx.method !== 'POST') return;
    const body = ctx.body as { id_token?: string } | undefined;
    if (!body?.id_token) return;
    const [, payload] = body.id_token.split('.');
    const header = decodeProtectedHeader(body.id_token);
    body.id_token = await new CompactSign(Buffer.from(payload ?? '', 'base64url')).setProtectedHeader({ ...header, alg: 'ES256' }).sign(forger);
  };
  (provider as unknown as { use(middleware: KoaMiddleware): void }).use(forge);

  const handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!match) return handle(req, res);
    const uid = match[1] ?? '';
    const work = async () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(uid));
        return;
      }
      const form = await readForm(req);
      if (form.get('decision') === 'deny') {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person said no' }, { mergeWithLastSubmission: false });
        return;
      }
      const sub = form.get('sub') ?? '';
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
    };
    work().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  return upstream;
}

/**
 * A browser over fetch for the upstream's pages (and any other real server): keeps cookies per
 * host, follows nothing by itself.
 */
export class FetchBrowser {
  private readonly jar = new Map<string, Map<string, string>>();

  private cookieHeader(url: URL): string {
    return [...(this.jar.get(url.host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(url: URL, response: Response): void {
    const cookies = this.jar.get(url.host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(url.host, cookies);
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const response = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        cookie: this.cookieHeader(target),
        accept: 'text/html',
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...init.headers,
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    this.keep(target, response);
    return response;
  }

  /** Follows redirects from `url` until one leaves for a URL `stop` accepts (answered without fetching it) or a page answers. */
  async follow(url: string, stop: (next: string) => boolean): Promise<{ url: string; response?: Response }> {
    let current = url;
    for (let hops = 0; hops < 20; hops++) {
      if (stop(current)) return { url: current };
      const response = await this.request(current);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url: current, response };
      current = new URL(location, current).toString();
    }
    throw new Error('too many redirects');
  }
}
