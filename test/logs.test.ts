// The JSON log: a request id on every request line, and never a password, PIN, code, token
// or secret. Whole flows run with the logger at trace level writing to a captured stream, and
// the capture is then searched for every secret the flows used.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, type App } from '../src/app.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { lazyRequestLogger, loggableUrl } from '../src/logging.ts';
import { pkcePair, testEnv } from './support/app.ts';
import { releaseTestStorage } from './support/backend.ts';
import { LogCapture as Capture } from './support/log-capture.ts';
import { authParams, bearer, REDIRECT_URI } from './support/flow.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const METRICS_TOKEN = 'scrape-token-that-is-a-secret-0001';
const PIN_SECRET = 'instance-pin-hmac-key-that-is-secret';

async function logged(env: Record<string, string>, capture: Capture, level = 'trace'): Promise<{ app: App; config: Config; clock: ManualClock }> {
  const config = loadConfig(testEnv(env));
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const app = await buildApp({ config, clock, logger: { level, stream: capture } });
  return { app, config, clock };
}

describe('log lines never carry secrets', () => {
  let smtp: TestSmtpServer;
  let app: App;
  let config: Config;
  const capture = new Capture();
  /** every secret the flows below handle */
  const secrets = new Map<string, string>();
  const keep = (label: string, value: unknown) => {
    assert.ok(typeof value === 'string' && value.length >= 6, `${label} is a usable secret: ${String(value)}`);
    secrets.set(`${label} #${secrets.size}`, value);
    return value;
  };

  before(async () => {
    smtp = await startSmtpServer();
    // SMTP is configured: the dev outbox (which logs mail, links included) is off, as in production.
    ({ app, config } = await logged(
      { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN, GATEHOUSE_PIN_SECRET: PIN_SECRET, GATEHOUSE_TRUST_PROXY: 'true' },
      capture,
    ));
    keep('admin password', config.adminPassword);
    keep('metrics token', METRICS_TOKEN);
    keep('PIN key', PIN_SECRET);
  });
  after(async () => {
    await app.close();
    await releaseTestStorage(config);
    await smtp.close();
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    app.server.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers });

  /** Any login endpoint up to the code, then the exchange; every secret on the way is kept. */
  async function codeAndTokens(url: string, projectId: string, fields: Record<string, string>, client: Record<string, string> = {}) {
    const { verifier, challenge } = pkcePair();
    keep('code_verifier', verifier);
    const redirectUri = projectId === 'console' ? `${config.issuer}/console/callback` : REDIRECT_URI;
    const login = await post(url, { ...authParams(projectId, challenge, { redirect_uri: redirectUri }), ...fields });
    assert.ok(login.statusCode === 200 || login.statusCode === 201, `${url}: ${login.statusCode} ${login.body}`);
    const code = keep('authorization code', login.json<{ code: string }>().code);
    const res = await post('/token', { grant_type: 'authorization_code', client_id: projectId, ...client, code, code_verifier: verifier, redirect_uri: redirectUri });
    assert.equal(res.statusCode, 200, res.body);
    const tokens = res.json<{ access_token: string; refresh_token: string; id_token?: string }>();
    keep('access token', tokens.access_token);
    keep('refresh token', tokens.refresh_token);
    if (tokens.id_token) keep('ID token', tokens.id_token);
    return tokens;
  }

  it('runs the flows: admin API, password login, code exchange, refresh, revoke, PINs, magic link, registration, metrics', async () => {
    // The admin signs in to the console and creates a confidential project and a user.
    const admin = await codeAndTokens('/login', 'console', { email: config.adminEmail ?? '', password: config.adminPassword ?? '' });
    const created = await post('/admin/projects', { id: 'shop', name: 'Shop', redirect_uris: [REDIRECT_URI], confidential: true }, bearer(admin.access_token));
    assert.equal(created.statusCode, 201, created.body);
    const clientSecret = keep('client secret', created.json<{ client_secret: string }>().client_secret);
    const client = { client_secret: clientSecret };
    const userPassword = keep('user password', 'Tr0ub4dor&3 but longer');
    const user = await post('/admin/users', { email: 'ada@example.com', password: userPassword }, bearer(admin.access_token));
    assert.equal(user.statusCode, 201, user.body);
    const rotated = await post('/admin/projects/shop/secret', {}, bearer(admin.access_token));
    assert.equal(rotated.statusCode, 200, rotated.body);
    const secret = keep('rotated client secret', rotated.json<{ client_secret: string }>().client_secret);
    client.client_secret = secret;

    // Password login (the open project admits the account), code exchange, refresh, userinfo, revoke.
    const tokens = await codeAndTokens('/login', 'shop', { email: 'ada@example.com', password: userPassword }, client);
    const refreshed = await post('/token', { grant_type: 'refresh_token', client_id: 'shop', ...client, refresh_token: tokens.refresh_token });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    const next = refreshed.json<{ access_token: string; refresh_token: string }>();
    keep('refreshed access token', next.access_token);
    keep('refreshed refresh token', next.refresh_token);
    assert.equal((await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(next.access_token) })).statusCode, 200);
    // A replayed refresh token (reuse detection), then revocation of both kinds of token.
    assert.equal((await post('/token', { grant_type: 'refresh_token', client_id: 'shop', ...client, refresh_token: tokens.refresh_token })).statusCode, 401);
    assert.equal((await post('/revoke', { token: next.refresh_token, client_id: 'shop', ...client })).statusCode, 200);
    assert.equal((await post('/revoke', { token: next.access_token, client_id: 'shop', ...client })).statusCode, 200);

    // Failures carry secrets too: a wrong password, a wrong secret, a made-up code.
    const { challenge } = pkcePair();
    const wrong = keep('wrong password', 'not-the-password-123');
    assert.equal((await post('/login', { ...authParams('shop', challenge), email: 'ada@example.com', password: wrong }, { 'x-forwarded-for': '198.51.100.7' })).statusCode, 401);
    const badSecret = keep('wrong client secret', 'wrong-client-secret-value');
    assert.equal((await post('/token', { grant_type: 'refresh_token', client_id: 'shop', client_secret: badSecret, refresh_token: 'x' })).statusCode, 401);
    const basic = Buffer.from(`shop:${secret}`).toString('base64');
    keep('basic credentials', basic);
    assert.equal((await post('/token', { grant_type: 'refresh_token', refresh_token: keep('made-up refresh token', 'made-up-refresh-token-1') }, { authorization: `Basic ${basic}` })).statusCode, 401);
    const madeUpCode = keep('made-up code', 'made-up-authorization-code');
    assert.equal((await post('/token', { grant_type: 'authorization_code', client_id: 'shop', ...client, code: madeUpCode, code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT_URI })).statusCode, 400);

    // PINs: created through the admin API, used to log in; a wrong PIN is refused.
    const pinRes = await post('/admin/projects/shop/pins', { label: 'kiosk' }, bearer(admin.access_token));
    assert.equal(pinRes.statusCode, 201, pinRes.body);
    const pin = keep('PIN', pinRes.json<{ pin: string }>().pin);
    await codeAndTokens('/login/pin', 'shop', { pin }, client);
    const guess = keep('wrong PIN', pin === '12345678' ? '87654321' : '12345678');
    assert.equal((await post('/login/pin', { ...authParams('shop', pkcePair().challenge), pin: guess }, { 'x-forwarded-for': '198.51.100.8' })).statusCode, 401);

    // Magic link: the mailed token is looked at (GET, token in the query string) and used (POST).
    const { verifier, challenge: mlChallenge } = pkcePair();
    keep('code_verifier', verifier);
    assert.equal((await post('/magic-link', { ...authParams('shop', mlChallenge), email: 'grace@example.com' })).statusCode, 202);
    const mail = smtp.to('grace@example.com').at(-1);
    assert.ok(mail);
    const linkToken = keep('magic-link token', magicLinkToken(mail));
    const look = await app.server.inject({ method: 'GET', url: `/magic-link/verify?token=${encodeURIComponent(linkToken)}`, headers: { accept: 'text/html' } });
    assert.equal(look.statusCode, 200);
    const used = await post('/magic-link/verify', { token: linkToken });
    assert.equal(used.statusCode, 200, used.body);
    const mlCode = keep('magic-link code', used.json<{ code: string }>().code);
    const mlTokens = await post('/token', { grant_type: 'authorization_code', client_id: 'shop', ...client, code: mlCode, code_verifier: verifier, redirect_uri: REDIRECT_URI });
    keep('magic-link access token', mlTokens.json<{ access_token: string }>().access_token);

    // Registration, and a metrics scrape with its token.
    await codeAndTokens('/register', 'shop', { email: 'new@example.com', password: keep('registration password', 'a fresh registration passphrase') }, client);
    assert.equal((await app.server.inject({ method: 'GET', url: '/metrics', headers: bearer(METRICS_TOKEN) })).statusCode, 200);
    assert.equal((await app.server.inject({ method: 'GET', url: '/metrics', headers: bearer(keep('wrong metrics token', 'guessed-metrics-token-value')) })).statusCode, 401);
  });

  it('the captured log has a line for every request, each with its request id, and none of the secrets', () => {
    const lines = capture.lines();
    const requests = lines.filter((l) => l.msg === 'incoming request');
    assert.ok(requests.length >= 25, `the flows were logged (${requests.length} requests)`);
    for (const line of lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')) {
      assert.match(String(line.reqId), /^[0-9a-f]{8}-[0-9a-z]+$/, JSON.stringify(line));
    }
    const verify = requests.find((l) => String((l.req as { url?: string }).url).startsWith('/magic-link/verify?'));
    assert.equal((verify?.req as { url?: string }).url, '/magic-link/verify?token=~', 'the query value is masked');

    assert.ok(secrets.size >= 30, `${secrets.size} secrets collected`);
    const text = capture.text;
    for (const [label, secret] of secrets) {
      for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
        assert.ok(!text.includes(form), `the log contains the ${label}`);
      }
    }
  });

  it('X-Request-Id answers the id the log lines carry', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/healthz' });
    const id = String(res.headers['x-request-id']);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-z]+$/);
    assert.ok(capture.lines().some((l) => l.reqId === id && l.msg === 'request completed'));
  });
});

describe('the dev outbox (no SMTP configured)', () => {
  it('writes mail to the app log at info level as a "dev outbox" line, never to the console, and warns at start', async () => {
    const capture = new Capture();
    const printed: unknown[] = [];
    const consoleLog = console.log;
    console.log = (...args: unknown[]) => printed.push(args);
    let app: App | undefined;
    let config: Config | undefined;
    try {
      ({ app, config } = await logged({}, capture));
      const warning = capture.lines().find((l) => l.level === 40 && /GATEHOUSE_SMTP_URL is not set/.test(String(l.msg)));
      assert.ok(warning, 'a warning at start says mail goes to the log');
      const project = await app.services.projects.create({ id: 'dev-app', name: 'Dev', redirect_uris: [REDIRECT_URI] });
      assert.ok(project);
      const res = await app.server.inject({ method: 'POST', url: '/magic-link', payload: { ...authParams('dev-app', pkcePair().challenge), email: 'dev@example.com' } });
      assert.equal(res.statusCode, 202);
      const outbox = capture.lines().find((l) => String(l.msg).startsWith('dev outbox'));
      assert.ok(outbox, 'the message went to the log');
      assert.equal(outbox.level, 30);
      const mail = outbox.outbox as { to: string; subject: string; text: string };
      assert.equal(mail.to, 'dev@example.com');
      assert.match(mail.text, /\/magic-link\/verify\?token=/, 'the link is there: this is the point of the dev outbox');
      assert.deepEqual(printed, [], 'nothing went through console.log');
    } finally {
      console.log = consoleLog;
      await app?.close();
      if (config) await releaseTestStorage(config);
    }
  });
});

describe("a request's logger at warn level (made only when it writes)", () => {
  const capture = new Capture();
  let app: App;
  let config: Config;
  before(async () => {
    ({ app, config } = await logged({}, capture, 'warn'));
  });
  after(async () => {
    await app.close().catch(() => {}); // its storage was closed by the last test
    await releaseTestStorage(config);
  });

  it('writes nothing and makes no child below the level; at the level, one child with the request id, redacted', () => {
    const parent = app.server.log;
    let children = 0;
    const counting = Object.create(parent, {
      child: { value: (...args: Parameters<typeof parent.child>) => (children++, parent.child(...args)) },
    }) as typeof parent;
    const log = lazyRequestLogger(counting, { reqId: 'req-lazy-1' }, {});
    const before = capture.lines().length;
    log.info('not written');
    log.debug({ detail: 'nor this' }, 'not written');
    assert.equal(capture.lines().length, before);
    assert.equal(children, 0, 'no child logger for a request that writes nothing');
    assert.equal(log.level, 'warn');

    log.warn({ detail: { token: 'a-secret-token-value' } }, 'first');
    log.error('second');
    log.info('still not written');
    log.child({ step: 'inner' }).warn('third');
    assert.equal(children, 1, 'one child, made at the first line written');
    const lines = capture.lines().slice(before);
    assert.deepEqual(
      lines.map((l) => [l.msg, l.reqId]),
      [
        ['first', 'req-lazy-1'],
        ['second', 'req-lazy-1'],
        ['third', 'req-lazy-1'],
      ],
    );
    assert.equal(lines[2]?.step, 'inner');
    assert.ok(!capture.text.includes('a-secret-token-value'), 'the redaction paths still apply');
  });

  it('a request that fails on the server is logged with its request id', async () => {
    // The storage goes away under the app: the next refresh grant cannot read from it.
    await app.services.database.close();
    const res = await app.server.inject({
      method: 'POST',
      url: '/token',
      payload: { grant_type: 'refresh_token', client_id: 'console', refresh_token: 'whatever-token-value' },
    });
    assert.ok(res.statusCode >= 500, `a server error: ${res.statusCode}`);
    const line = capture.lines().find((l) => l.msg === 'request failed');
    assert.ok(line, 'the failure was logged');
    assert.equal(line.reqId, res.headers['x-request-id']);
  });
});

describe('loggableUrl', () => {
  it('keeps the path and harmless parameters, masks every other query value', () => {
    assert.equal(loggableUrl('/healthz'), '/healthz');
    assert.equal(loggableUrl('/magic-link/verify?token=abc'), '/magic-link/verify?token=~');
    assert.equal(
      loggableUrl('/authorize?client_id=shop&response_type=code&code_challenge=xyz&state=s3cret&redirect_uri=https%3A%2F%2Fa.example%2Fcb'),
      '/authorize?client_id=shop&response_type=code&code_challenge=~&state=~&redirect_uri=https%3A%2F%2Fa.example%2Fcb',
    );
  });
});

describe('the thread pool against the hashing concurrency', () => {
  it('warns at start when UV_THREADPOOL_SIZE is below GATEHOUSE_HASH_CONCURRENCY, and not otherwise', async () => {
    const saved = process.env.UV_THREADPOOL_SIZE;
    const warned = async (pool: string, concurrency: string) => {
      const capture = new Capture();
      process.env.UV_THREADPOOL_SIZE = pool; // read at start, as libuv read it when this process began
      const { app } = await logged({ GATEHOUSE_HASH_CONCURRENCY: concurrency }, capture, 'info');
      await app.close();
      return capture.lines().find((l) => l.level === 40 && /UV_THREADPOOL_SIZE/.test(String(l.msg)));
    };
    try {
      const warning = await warned('1', '2');
      assert.equal(warning?.msg, 'UV_THREADPOOL_SIZE (1) is below GATEHOUSE_HASH_CONCURRENCY (2): at most 1 password hashes run at once');
      assert.equal(await warned('2', '2'), undefined);
      assert.equal(await warned('4', '1'), undefined);
    } finally {
      if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = saved;
    }
  });
});
