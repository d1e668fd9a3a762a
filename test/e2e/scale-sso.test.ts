// Single sign-on across three real Gatehouse processes on one PostgreSQL schema and one Redis
// prefix, behind a round-robin balancer on one issuer URL (issue 16, "How we will check it"):
// a browser (a cookie jar over HTTP) signed in through any instance is signed in on all of them,
// a logout or an admin ending the browser session on one is seen by the others, and a key
// rotation made by one is published and used by all. The children cannot share an injected
// clock, so the key test runs on short real intervals (GATEHOUSE_KEY_RELOAD_SECONDS=1,
// GATEHOUSE_KEY_PREPUBLISH_SECONDS=3) with bounded waits.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { pkcePair } from '../support/app.ts';
import { postgresRedisEnv, releaseTestStorage, testBackend } from '../support/backend.ts';
import { bearer } from '../support/flow.ts';
import { adminTokenVia, call, exchange, freshIp, passwordCode, refresh, startInstances, stopInstances, type Answer, type Instance } from '../support/instances.ts';

const ADMIN_EMAIL = 'admin@sso-scale.test';
const ADMIN_PASSWORD = 'one sign-in, three instances';
const REDIRECT_URI = 'https://app.sso-scale.test/callback';
const SIGNED_OUT = 'https://app.sso-scale.test/signed-out';
const EMAIL = 'hedy@sso-scale.test';
const PASSWORD = 'frequency hopping spread spectrum';
const RELOAD_SECONDS = 1;
const PREPUBLISH_SECONDS = 3;

const skip =
  testBackend === 'postgres'
    ? false
    : 'single sign-on across instances only means something on a shared PostgreSQL + Redis: this runs in the Postgres+Redis pass (npm run test:postgres)';

/** A round-robin HTTP balancer: each request goes to the next instance; the answer says which one (x-instance). */
class Balancer {
  private next = 0;
  instances: Instance[] = [];
  private readonly server: Server = createServer((req, res) => {
    const index = this.next++ % this.instances.length;
    const target = new URL(this.instances[index]?.url ?? '');
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-instance': String(index) });
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The cookies a browser keeps, by name (one host: the issuer). */
class CookieJar {
  readonly cookies = new Map<string, string>();

  keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || attributes.some((a) => a.toLowerCase() === 'max-age=0')) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}

interface Visit {
  status: number;
  /** the instance that answered (through the balancer), else -1 */
  instance: number;
  location: URL | undefined;
  body: string;
}

describe('single sign-on across three instances behind a round-robin balancer', { skip }, () => {
  const storage = testBackend === 'postgres' ? postgresRedisEnv() : {};
  const balancer = new Balancer();
  const instances: Instance[] = [];
  let issuer = '';
  let admin = '';
  let first = '';
  let second = '';
  let userId = '';

  before(async () => {
    issuer = await balancer.listen();
    const settings = {
      storage,
      issuer,
      adminEmail: ADMIN_EMAIL,
      adminPassword: ADMIN_PASSWORD,
      env: {
        GATEHOUSE_KEY_RELOAD_SECONDS: String(RELOAD_SECONDS),
        GATEHOUSE_KEY_PREPUBLISH_SECONDS: String(PREPUBLISH_SECONDS),
        // Not what this file is about: every /token request of a client counts, on every instance.
        GATEHOUSE_TOKEN_RATE_LIMIT: '1000',
      },
    };
    balancer.instances = await startInstances(3, settings, instances);
    admin = await adminTokenVia(issuer, issuer, settings);
    const project = async (name: string, extra: object = {}) => {
      const created = await call(issuer, 'POST', '/admin/projects', { name, redirect_uris: [REDIRECT_URI], ...extra }, bearer(admin));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return String(created.body.id);
    };
    first = await project('First App', { post_logout_redirect_uris: [SIGNED_OUT] });
    second = await project('Second App');
    const user = await call(issuer, 'POST', '/admin/users', { email: EMAIL, password: PASSWORD }, bearer(admin));
    assert.equal(user.status, 201, JSON.stringify(user.body));
    userId = String(user.body.id);
    const member = await call(issuer, 'PUT', `/admin/projects/${first}/members/${userId}`, undefined, bearer(admin));
    assert.ok(member.status < 300, JSON.stringify(member.body));
  });

  after(async () => {
    try {
      await stopInstances(instances);
    } finally {
      await balancer.close();
      await releaseTestStorage({ databaseUrl: storage.GATEHOUSE_DATABASE_URL ?? '', redisPrefix: storage.GATEHOUSE_REDIS_PREFIX ?? '' });
    }
  });

  /** A browser's GET (redirects not followed), with the jar's cookies or the ones given. */
  async function visit(base: string, path: string, cookies: CookieJar | Record<string, string>): Promise<Visit> {
    const res = await fetch(`${base}${path}`, {
      redirect: 'manual',
      headers: { accept: 'text/html', 'x-forwarded-for': freshIp(), ...(cookies instanceof CookieJar ? cookies.header() : cookies) },
    });
    if (cookies instanceof CookieJar) cookies.keep(res);
    const location = res.headers.get('location');
    return { status: res.status, instance: Number(res.headers.get('x-instance') ?? -1), location: location !== null ? new URL(location) : undefined, body: await res.text() };
  }

  function authorizePath(clientId: string, challenge: string, extra: Record<string, string> = {}): string {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'openid email',
      state: 'st-1',
      ...extra,
    });
    return `/authorize?${query.toString()}`;
  }

  /** The code of a 302 back to the app (state and iss checked); fails on anything else. */
  function codeOf(answer: Visit): string {
    assert.equal(answer.status, 302, answer.body);
    const target = answer.location;
    assert.ok(target);
    assert.equal(`${target.origin}${target.pathname}`, REDIRECT_URI);
    assert.equal(target.searchParams.get('state'), 'st-1');
    assert.equal(target.searchParams.get('iss'), issuer);
    assert.equal(target.searchParams.get('error'), null, target.toString());
    const code = target.searchParams.get('code');
    assert.ok(code);
    return code;
  }

  function assertLoginRequired(answer: Visit, where: string): void {
    assert.equal(answer.status, 302, `${where}: ${answer.body}`);
    assert.equal(answer.location?.searchParams.get('error'), 'login_required', where);
    assert.equal(answer.location?.searchParams.get('code'), null, where);
  }

  /** Repeats `step` through the balancer until each instance has answered it once at least (bounded). */
  async function onEveryInstance(step: () => Promise<number>): Promise<void> {
    const answered = new Set<number>();
    for (let tries = 0; answered.size < instances.length; tries++) {
      assert.ok(tries < 12, `only instances ${[...answered].join(', ')} answered in ${tries} tries`);
      answered.add(await step());
    }
  }

  /** Signs in by password through the balancer (POST /login, JSON): the jar gets the browser session cookie. */
  async function signIn(jar: CookieJar): Promise<Answer> {
    const login = await passwordCode(issuer, first, EMAIL, PASSWORD, REDIRECT_URI);
    const cookie = /gatehouse_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    assert.ok(cookie, 'the sign-in set the browser session cookie');
    jar.cookies.set('gatehouse_session', cookie);
    const tokens = await exchange(issuer, first, login.code, login.verifier, REDIRECT_URI);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    return tokens;
  }

  const jar = new CookieJar();
  let firstTokens: Answer;
  const secondTokens: Answer[] = [];

  it('a sign-in through the balancer is honoured by every instance: /authorize for another project gives a code on each, and each code exchanges', async () => {
    firstTokens = await signIn(jar);
    await onEveryInstance(async () => {
      const { verifier, challenge } = pkcePair();
      const answer = await visit(issuer, authorizePath(second, challenge), jar);
      const tokens = await exchange(issuer, second, codeOf(answer), verifier, REDIRECT_URI);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      secondTokens.push(tokens);
      return answer.instance;
    });
    // One account, one sign-in: the ID tokens of both projects name the same person.
    for (const tokens of [firstTokens, ...secondTokens]) {
      const info = await call(issuer, 'GET', '/userinfo', undefined, bearer(String(tokens.body.access_token)));
      assert.deepEqual([info.status, info.body.sub], [200, userId]);
    }
  });

  it('prompt=none gives a code on every instance', async () => {
    await onEveryInstance(async () => {
      const answer = await visit(issuer, authorizePath(second, pkcePair().challenge, { prompt: 'none' }), jar);
      codeOf(answer);
      return answer.instance;
    });
  });

  it('GET /logout with id_token_hint on one instance signs the browser out on all: login_required, refresh tokens 401, access tokens 401', async () => {
    const cookie = { cookie: `gatehouse_session=${jar.cookies.get('gatehouse_session') ?? ''}` };
    const query = new URLSearchParams({ id_token_hint: String(firstTokens.body.id_token), post_logout_redirect_uri: SIGNED_OUT, state: 'bye' });
    const logout = await visit(instances[1]!.url, `/logout?${query.toString()}`, jar);
    assert.equal(logout.status, 302, logout.body);
    assert.equal(logout.location?.toString(), `${SIGNED_OUT}?state=bye`);
    assert.equal(jar.cookies.size, 0, 'the browser was told to drop its cookie');

    // A copy of the old cookie (a second tab that missed the logout) signs nobody in, anywhere.
    for (const [i, instance] of instances.entries()) {
      assertLoginRequired(await visit(instance.url, authorizePath(second, pkcePair().challenge, { prompt: 'none' }), cookie), `instance ${i}, prompt=none`);
      for (const [project, tokens] of [[first, firstTokens], ...secondTokens.map((t) => [second, t] as const)] as const) {
        const refreshed = await refresh(instance.url, project, String(tokens.body.refresh_token));
        assert.deepEqual([refreshed.status, refreshed.body], [401, { error: 'Invalid refresh token' }], `instance ${i}, a refresh of ${project}`);
        const info = await call(instance.url, 'GET', '/userinfo', undefined, bearer(String(tokens.body.access_token)));
        assert.equal(info.status, 401, `instance ${i}, /userinfo with an access token of ${project}`);
      }
    }
  });

  it('an admin ending a browser session on one instance signs that browser out on the others', async () => {
    const browser = new CookieJar();
    const tokens = await signIn(browser);
    for (const [i, instance] of instances.entries()) {
      codeOf(await visit(instance.url, authorizePath(second, pkcePair().challenge, { prompt: 'none' }), browser));
      assert.ok(browser.cookies.has('gatehouse_session'), `instance ${i} kept the browser signed in`);
    }
    const listed = await call(instances[0]!.url, 'GET', `/admin/users/${userId}/browser-sessions`, undefined, bearer(admin));
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const sessions = listed.body.browser_sessions as Array<{ id: string }>;
    assert.equal(sessions.length, 1, 'the one live browser session (the logged-out one ended)');
    const ended = await call(instances[2]!.url, 'DELETE', `/admin/browser-sessions/${sessions[0]!.id}`, undefined, bearer(admin));
    assert.equal(ended.status, 204, JSON.stringify(ended.body));
    for (const [i, instance] of instances.entries()) {
      assertLoginRequired(await visit(instance.url, authorizePath(second, pkcePair().challenge, { prompt: 'none' }), browser), `instance ${i}`);
      const again = await call(instance.url, 'DELETE', `/admin/browser-sessions/${sessions[0]!.id}`, undefined, bearer(admin));
      assert.equal(again.status, 404, `instance ${i} knows it has ended`);
    }
    // Ending the browser session signs the browser out; the project session it started is the app's own.
    const info = await call(issuer, 'GET', '/userinfo', undefined, bearer(String(tokens.body.access_token)));
    assert.equal(info.status, 200);
  });

  it('a key rotation on one instance is in every instance\'s JWKS within the reload interval, and signs on every instance after the pre-publication', async () => {
    const asked = Date.now();
    const rotated = await call(instances[0]!.url, 'POST', '/admin/keys/rotate', {}, bearer(admin));
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const kids = rotated.body.kids as { ES256: string; RS256: string };
    const signsFrom = Date.parse(String(rotated.body.signs_from));
    assert.ok(signsFrom >= asked + PREPUBLISH_SECONDS * 1000 - 1000, 'pre-published');

    // Each instance reloads its keys every RELOAD_SECONDS: allow that twice over, and a second for the round trips.
    const deadline = Date.now() + 2 * RELOAD_SECONDS * 1000 + 1000;
    for (const [i, instance] of instances.entries()) {
      for (;;) {
        const published = (await (await fetch(`${instance.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
        const publishedKids = published.keys.map((k) => k.kid);
        if (publishedKids.includes(kids.ES256) && publishedKids.includes(kids.RS256)) break;
        assert.ok(Date.now() < deadline, `instance ${i} does not publish the next keys ${JSON.stringify(kids)} in time: ${JSON.stringify(publishedKids)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    // Pre-published: until signs_from, the old key still signs (everywhere).
    const early = await passwordCode(instances[2]!.url, first, EMAIL, PASSWORD, REDIRECT_URI);
    const earlyTokens = await exchange(instances[2]!.url, first, early.code, early.verifier, REDIRECT_URI);
    if (Date.now() < signsFrom - 200) assert.notEqual(decodeProtectedHeader(String(earlyTokens.body.access_token)).kid, kids.ES256);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, signsFrom - Date.now() + 100)));
    for (const [i, instance] of instances.entries()) {
      const login = await passwordCode(instance.url, first, EMAIL, PASSWORD, REDIRECT_URI);
      const tokens = await exchange(instance.url, first, login.code, login.verifier, REDIRECT_URI);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(decodeProtectedHeader(String(tokens.body.access_token)).kid, kids.ES256, `instance ${i} signs with the new key`);
      // A token of the old key (signed before the switch) is still good on every instance.
      const info = await call(instance.url, 'GET', '/userinfo', undefined, bearer(String(earlyTokens.body.access_token)));
      assert.equal(info.status, 200, `instance ${i} accepts a token of the retired key`);
    }
  });
});
