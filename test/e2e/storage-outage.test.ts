// PostgreSQL or Redis going away in the middle of traffic, and coming back. The app reaches
// both through TCP proxies written here, which the test cuts (every connection destroyed, the
// port closed) and restores; the real services are never touched. While a store is gone:
// /healthz says 503, requests that need it answer at once with 503 {"error": "Service
// unavailable"} (nothing hangs, nothing internal leaks), and when it is back the same process
// serves again without a restart.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { createTestApp, pkcePair, TEST_ARGON2, type TestApp } from '../support/app.ts';
import { postgresRedisEnv, TEST_POSTGRES_URL, TEST_REDIS_URL, testBackend } from '../support/backend.ts';
import { authParams, bearer, createProject, createUser, passwordTokens, post, refresh, type TestProject } from '../support/flow.ts';
import { freePort } from '../support/server.ts';

const skip = testBackend === 'postgres' ? false : 'the outages are of PostgreSQL and Redis: this runs in the Postgres+Redis pass (npm run test:postgres)';

/** A request needing a missing store must be answered within this long (pg's connect timeout is 5 s). */
const PROMPT_MS = 2_000;
const RECOVERY_MS = 15_000;
/** GATEHOUSE_STORE_TIMEOUT_MS of the app under test: how long a hanging store is waited for. */
const STORE_TIMEOUT_MS = 1_000;
const UNAVAILABLE = { error: 'Service unavailable' };

/** Forwards 127.0.0.1:<port> to a real service until cut. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private frozen = false;

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort);
    await proxy.restore();
    return proxy;
  }

  /** Listens again: new connections reach the service. */
  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.frozen) {
        client.pause();
        upstream.pause();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  /**
   * Keeps every connection open but passes nothing either way, and accepts new connections
   * without ever reaching the service: a store that hangs instead of refusing.
   */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
  }

  /** Destroys every connection and stops listening: to the app, the service is gone. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}

function viaProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}

describe('PostgreSQL or Redis going away and coming back', { skip }, () => {
  const PASSWORD = 'a long enough passphrase';
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let app: TestApp;
  let project: TestProject;
  let adminAccess: string;
  let directUrl: string;
  let pin: string;

  before(async () => {
    postgresProxy = await TcpProxy.start(Number(new URL(TEST_POSTGRES_URL).port || 5432));
    redisProxy = await TcpProxy.start(Number(new URL(TEST_REDIS_URL).port || 6379));
    const storage = postgresRedisEnv();
    directUrl = storage.GATEHOUSE_DATABASE_URL ?? '';
    app = await createTestApp({
      env: {
        ...storage,
        GATEHOUSE_DATABASE_URL: viaProxy(storage.GATEHOUSE_DATABASE_URL ?? '', postgresProxy),
        GATEHOUSE_REDIS_URL: viaProxy(storage.GATEHOUSE_REDIS_URL ?? '', redisProxy),
        GATEHOUSE_PIN_FAILURES_PER_DAY: '5',
        GATEHOUSE_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
        GATEHOUSE_TRUST_PROXY: 'true',
        // The hanging-store tests send more /token requests at once than the per-client limit allows.
        GATEHOUSE_TOKEN_RATE_LIMIT: '1000',
      },
    });
    project = await createProject(app);
    await createUser(app, 'ada@example.com', PASSWORD, project.id);
    const { verifier, challenge } = pkcePair();
    const login = await post(app, '/login', {
      ...authParams('console', challenge, { redirect_uri: `${app.config.issuer}/console/callback` }),
      email: app.config.adminEmail,
      password: app.config.adminPassword,
    });
    const token = await post(app, '/token', {
      grant_type: 'authorization_code',
      client_id: 'console',
      code: login.json<{ code: string }>().code,
      code_verifier: verifier,
      redirect_uri: `${app.config.issuer}/console/callback`,
    });
    adminAccess = token.json<{ access_token: string }>().access_token;
    const created = await app.server.inject({ method: 'POST', url: `/admin/projects/${project.id}/pins`, headers: bearer(adminAccess), payload: {} });
    assert.equal(created.statusCode, 201, created.body);
    pin = created.json<{ pin: string }>().pin;
  });

  after(async () => {
    await redisProxy?.restore().catch(() => {});
    await postgresProxy?.restore().catch(() => {});
    await app?.close();
    await redisProxy?.cut();
    await postgresProxy?.cut();
  });

  // Each test signs in from an address of its own: a rate-limit hit sent just before a store
  // hung may still land when it answers, and must not leak into the next test.
  let clientIp = '';
  let hosts = 0;
  beforeEach(() => {
    clientIp = `192.0.2.${++hosts}`;
  });
  const fromClient = () => ({ 'x-forwarded-for': clientIp });

  const health = () => app.server.inject({ method: 'GET', url: '/healthz' });

  /** Runs a request and answers it with how long it took. */
  async function timed(request: () => Promise<LightMyRequestResponse>): Promise<{ res: LightMyRequestResponse; ms: number }> {
    const started = Date.now();
    const res = await request();
    return { res, ms: Date.now() - started };
  }

  async function waitForHealth(status: number, within: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      if ((await health()).statusCode === status) return Date.now() - started;
      if (Date.now() - started > within) assert.fail(`/healthz did not answer ${status} within ${within} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A prompt 503: JSON for API clients, the error page for a browser on a hosted page (SPEC). */
  function assertUnavailable(answer: { res: LightMyRequestResponse; ms: number }, what: string, browser = false): void {
    assert.equal(answer.res.statusCode, 503, `${what}: ${answer.res.body}`);
    if (browser) {
      assert.match(String(answer.res.headers['content-type']), /^text\/html/, what);
      assert.match(answer.res.body, new RegExp(UNAVAILABLE.error), what);
    } else {
      assert.deepEqual(answer.res.json(), UNAVAILABLE, what);
      assert.match(String(answer.res.headers['content-type']), /^application\/json/);
    }
    assert.ok(answer.ms < PROMPT_MS, `${what} took ${answer.ms} ms`);
  }

  /** A whole sign-in: login, code exchange and a refresh. */
  async function signIn(): Promise<void> {
    const tokens = await passwordTokens(app, project, 'ada@example.com', PASSWORD);
    const refreshed = await refresh(app, project, tokens.refresh_token);
    assert.equal(refreshed.statusCode, 200, refreshed.body);
  }

  function passwordLogin() {
    const { challenge } = pkcePair();
    return timed(() => post(app, '/login', { ...authParams(project.id, challenge), email: 'ada@example.com', password: PASSWORD }, fromClient()));
  }
  function pinLogin() {
    const { challenge } = pkcePair();
    return timed(() => post(app, '/login/pin', { ...authParams(project.id, challenge), pin }, fromClient()));
  }
  async function assertLoginsWork(): Promise<void> {
    const byPassword = await passwordLogin();
    assert.equal(byPassword.res.statusCode, 200, byPassword.res.body);
    const byPin = await pinLogin();
    assert.equal(byPin.res.statusCode, 200, byPin.res.body);
  }

  it('through the proxies, the app is healthy and signs people in', async () => {
    assert.equal((await health()).statusCode, 200);
    await signIn();
  });

  it('without Redis: /healthz 503, sign-in answers 503 at once, data-only routes still work; back by itself', async () => {
    const tokens = await passwordTokens(app, project, 'ada@example.com', PASSWORD);

    await redisProxy.cut();
    await waitForHealth(503, PROMPT_MS);
    assert.deepEqual((await health()).json(), { status: 'unavailable', error: 'Service unavailable' });

    const { challenge } = pkcePair();
    const burst = await Promise.all([
      ...Array.from({ length: 5 }, () =>
        timed(() => post(app, '/login', { ...authParams(project.id, challenge), email: 'ada@example.com', password: PASSWORD }, fromClient())),
      ),
      ...Array.from({ length: 5 }, () => timed(() => refresh(app, project, tokens.refresh_token))),
    ]);
    for (const [n, answer] of burst.entries()) assertUnavailable(answer, `request ${n}`);
    // What needs only PostgreSQL goes on: the token verifies and the admin API answers.
    const userinfo = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal(userinfo.statusCode, 200);
    const admin = await app.server.inject({ method: 'GET', url: '/admin/projects', headers: bearer(adminAccess) });
    assert.equal(admin.statusCode, 200);

    await redisProxy.restore();
    await waitForHealth(200, RECOVERY_MS);
    // The refresh token was never used (the limiter refused first), so it still rotates.
    const refreshed = await refresh(app, project, tokens.refresh_token);
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    await signIn();
  });

  it('without PostgreSQL: /healthz 503, every route needing it answers 503 at once; back by itself', async () => {
    const tokens = await passwordTokens(app, project, 'ada@example.com', PASSWORD);

    await postgresProxy.cut();
    await waitForHealth(503, PROMPT_MS);

    const { challenge } = pkcePair();
    const burst = await Promise.all([
      timed(() => post(app, '/login', { ...authParams(project.id, challenge), email: 'ada@example.com', password: PASSWORD }, fromClient())),
      timed(() => refresh(app, project, tokens.refresh_token)),
      timed(() => app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) })),
      timed(() => app.server.inject({ method: 'GET', url: '/admin/projects', headers: bearer(adminAccess) })),
      timed(() => app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(project.id, challenge) })}` })),
      timed(() =>
        app.server.inject({
          method: 'POST',
          url: '/login',
          headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...fromClient() },
          payload: new URLSearchParams({ ...authParams(project.id, challenge), email: 'ada@example.com', password: PASSWORD }).toString(),
        }),
      ),
    ]);
    for (const [n, answer] of burst.entries()) assertUnavailable(answer, `request ${n}`, n === burst.length - 1); // the last is the hosted page's form post
    // Apps can still verify the tokens they hold: discovery and the JWKS are served from memory.
    for (const url of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
      assert.equal((await app.server.inject({ method: 'GET', url })).statusCode, 200, url);
    }

    await postgresProxy.restore();
    await waitForHealth(200, RECOVERY_MS);
    const refreshed = await refresh(app, project, tokens.refresh_token);
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    await signIn();
  });

  it('logins refused during an outage do not count as failures: nobody is locked out once it is over', async () => {
    await postgresProxy.cut();
    // More than the per-address limit (5) and than this app's daily PIN budget for the project (5).
    for (let n = 0; n < 7; n++) {
      assertUnavailable(await passwordLogin(), `password login ${n}`);
      assertUnavailable(await pinLogin(), `PIN login ${n}`);
    }
    await postgresProxy.restore();
    await waitForHealth(200, RECOVERY_MS);
    await assertLoginsWork();
  });

  it('a login counted before its lookup, whose lookup then fails, answers 503 and gives the attempt back', async () => {
    // The project is found, the attempt counted, then the table the credentials live in does
    // not answer (another connection holds it locked) until the store timeout: the same order
    // of events as an outage striking between the two queries.
    for (const table of ['users', 'pins']) {
      const holder = new pg.Client({ connectionString: directUrl });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query(`lock table ${table} in access exclusive mode`);
        for (let n = 0; n < 7; n++) assertUnavailable(await (table === 'users' ? passwordLogin() : pinLogin()), `${table} login ${n}`);
      } finally {
        await holder.query('rollback').catch(() => {});
        await holder.end();
      }
    }
    await assertLoginsWork();
  });

  for (const store of ['Redis', 'PostgreSQL'] as const) {
    it(`${store} hanging instead of refusing: requests answer 503 once the store timeout passes; it serves again when ${store} answers`, async () => {
      const proxy = store === 'Redis' ? redisProxy : postgresProxy;
      proxy.freeze();
      try {
        const refreshes = (n: number) => Array.from({ length: n }, () => timed(() => refresh(app, project, 'not-a-real-token')));
        const first = [timed(() => health()), ...Array.from({ length: 3 }, () => passwordLogin()), ...refreshes(10)];
        // A second wave while the first holds every connection of the pool: these wait for a
        // connection first, some get one just before the timeout, and that wait must come out of
        // the same budget as their query (it used to be added to it: up to twice the timeout).
        await new Promise((resolve) => setTimeout(resolve, STORE_TIMEOUT_MS / 3));
        const answers = await Promise.all([...first, ...refreshes(12)]);
        const [healthz, ...requests] = answers;
        assert.equal(healthz?.res.statusCode, 503);
        for (const [n, answer] of requests.entries()) {
          assert.equal(answer.res.statusCode, 503, `request ${n}: ${answer.res.body}`);
          assert.deepEqual(answer.res.json(), UNAVAILABLE);
        }
        // No request waits longer than the store timeout plus a small margin (it was up to twice the timeout).
        for (const answer of answers) assert.ok(answer.ms < STORE_TIMEOUT_MS + 600, `an answer took ${answer.ms} ms`);
      } finally {
        proxy.thaw();
      }
      await waitForHealth(200, RECOVERY_MS);
      await assertLoginsWork();
    });
  }

  it('a Redis command cut off with its connection is not run later: a code whose redemption failed is still there', async () => {
    await app.services.kv.put('stranded', 'a code grant', 60_000);
    redisProxy.freeze();
    await assert.rejects(app.services.kv.take('stranded'));
    // The connection then drops with the command still unanswered, and comes back.
    await redisProxy.cut();
    redisProxy.thaw();
    await redisProxy.restore();
    await waitForHealth(200, RECOVERY_MS);
    assert.equal(await app.services.kv.get('stranded'), 'a code grant');
  });

  it('cut and restored under steady traffic: every answer is a success or a prompt 503, and traffic resumes', async () => {
    const seen = new Map<string, number>();
    let stop = false;
    let sent = 0;
    const worker = async () => {
      while (!stop) {
        const { challenge } = pkcePair();
        // Each login from an address of its own: an attempt in flight at the instant of the cut
        // may stay counted against its address (see "a login counted before its lookup" for
        // what is given back), and this test is about answers and recovery, not those counters.
        const n = ++sent;
        const from = { 'x-forwarded-for': `10.9.${n >> 8}.${n & 255}` };
        const answer = await timed(() => post(app, '/login', { ...authParams(project.id, challenge), email: 'ada@example.com', password: PASSWORD }, from));
        const key = `${answer.res.statusCode} ${answer.res.body.startsWith('{"redirect_to"') ? 'signed in' : answer.res.body}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        assert.ok(answer.ms < PROMPT_MS + 500, `a login took ${answer.ms} ms`);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Promise.all([postgresProxy.cut(), redisProxy.cut()]);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await Promise.all([postgresProxy.restore(), redisProxy.restore()]);
    await waitForHealth(200, RECOVERY_MS);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(workers);

    assert.deepEqual(
      [...seen.keys()].filter((k) => k !== '200 signed in' && k !== `503 ${JSON.stringify(UNAVAILABLE)}`),
      [],
      JSON.stringify([...seen]),
    );
    assert.ok((seen.get(`503 ${JSON.stringify(UNAVAILABLE)}`) ?? 0) > 0, 'the outage was seen');
    await signIn();
  });
});

describe('starting while a store is away', { skip }, () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));

  /** Runs `gatehouse serve` and answers its exit code and output; it must end by itself. */
  async function serve(env: Record<string, string>): Promise<{ code: number | null; output: string; ms: number }> {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), ...TEST_ARGON2, GATEHOUSE_STORE_TIMEOUT_MS: '2000', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(killer);
    return { code, output, ms: Date.now() - started };
  }

  it('an instance whose Redis cannot be reached exits with the reason instead of hanging', async () => {
    const storage = postgresRedisEnv();
    const result = await serve({ ...storage, GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /Redis cannot be reached: connect ECONNREFUSED/);
  });

  it('an instance whose PostgreSQL cannot be reached exits with the reason', async () => {
    const result = await serve({ GATEHOUSE_DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/test` });
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /ECONNREFUSED/);
  });
});
