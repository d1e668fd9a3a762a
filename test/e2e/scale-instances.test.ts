// Three real Gatehouse processes on one PostgreSQL schema and one Redis prefix, driven over
// HTTP, behave as one server: whatever instance a request lands on, single-use things are used
// once, limits count every instance's requests, and a revocation anywhere holds everywhere.
// They are started at the same moment, so the first start (migrations, signing key, console
// project, admin) is itself raced.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pkcePair, TEST_ARGON2 } from '../support/app.ts';
import { postgresRedisEnv, releaseTestStorage, testBackend } from '../support/backend.ts';
import { bearer } from '../support/flow.ts';
import { freePort } from '../support/server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ISSUER = 'http://gatehouse.scale.test';
const ADMIN_EMAIL = 'admin@scale.test';
const ADMIN_PASSWORD = 'three instances, one gatehouse';
const REDIRECT_URI = 'https://app.scale.test/callback';
const CONSOLE_CALLBACK = `${ISSUER}/console/callback`;

const skip =
  testBackend === 'postgres'
    ? false
    : 'several instances only mean something on a shared PostgreSQL + Redis: this runs in the Postgres+Redis pass (npm run test:postgres)';

interface Instance {
  url: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, body?: object, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A client address of its own, so one test's per-IP counters never meet another's. */
function freshIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

async function waitForHealth(instance: Instance, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${instance.url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (instance.child.exitCode !== null) throw new Error(`instance exited during start:\n${instance.output()}`);
    if (Date.now() > deadline) throw new Error(`instance not healthy in time:\n${instance.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('three instances sharing one PostgreSQL schema and one Redis prefix', { skip }, () => {
  const storage = testBackend === 'postgres' ? postgresRedisEnv() : {};
  const instances: Instance[] = [];
  let adminToken = '';
  let projectId = '';
  const userEmail = 'grace@scale.test';
  const userPassword = 'cobol and compilers';

  function start(port: number): Instance {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEHOUSE_DATABASE_URL: storage.GATEHOUSE_DATABASE_URL,
        GATEHOUSE_DATABASE_POOL_SIZE: '5',
        GATEHOUSE_REDIS_URL: storage.GATEHOUSE_REDIS_URL,
        GATEHOUSE_REDIS_PREFIX: storage.GATEHOUSE_REDIS_PREFIX,
        GATEHOUSE_ISSUER: ISSUER,
        GATEHOUSE_ADMIN_EMAIL: ADMIN_EMAIL,
        GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        GATEHOUSE_TRUST_PROXY: 'true',
        GATEHOUSE_LOG_LEVEL: 'warn',
        ...TEST_ARGON2,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
  }

  /** Logs in by password on one instance; answers the code and its PKCE verifier. */
  async function passwordCode(on: Instance, clientId: string, email: string, password: string, redirectUri = REDIRECT_URI) {
    const { verifier, challenge } = pkcePair();
    const login = await call(on.url, 'POST', '/login', {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'openid email',
      email,
      password,
    }, { 'x-forwarded-for': freshIp() });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return { code: String(login.body.code), verifier };
  }

  function exchange(on: Instance, clientId: string, code: string, verifier: string, redirectUri = REDIRECT_URI): Promise<Answer> {
    return call(on.url, 'POST', '/token', { grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: redirectUri });
  }

  function refresh(on: Instance, clientId: string, refreshToken: string): Promise<Answer> {
    return call(on.url, 'POST', '/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });
  }

  async function newProject(): Promise<string> {
    const created = await call(instances[0]!.url, 'POST', '/admin/projects', { name: 'Scale App', redirect_uris: [REDIRECT_URI] }, bearer(adminToken));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return String(created.body.id);
  }

  before(async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    // All three at once: the first start is raced on purpose.
    instances.push(...ports.map(start));
    const deadline = Date.now() + 60_000;
    await Promise.all(instances.map((instance) => waitForHealth(instance, deadline)));

    const [a, b, c] = instances as [Instance, Instance, Instance];
    // The admin signs in through instance A and exchanges the code on B.
    const login = await passwordCode(a, 'console', ADMIN_EMAIL, ADMIN_PASSWORD, CONSOLE_CALLBACK);
    const tokens = await exchange(b, 'console', login.code, login.verifier, CONSOLE_CALLBACK);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    adminToken = String(tokens.body.access_token);

    projectId = await newProject();
    const user = await call(c.url, 'POST', '/admin/users', { email: userEmail, password: userPassword }, bearer(adminToken));
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const member = await call(a.url, 'PUT', `/admin/projects/${projectId}/members/${String(user.body.id)}`, undefined, bearer(adminToken));
    assert.ok(member.status < 300, JSON.stringify(member.body));
  });

  after(async () => {
    for (const instance of instances) instance.child.kill('SIGTERM');
    const codes = await Promise.all(instances.map((instance) => instance.exited));
    await releaseTestStorage({ databaseUrl: storage.GATEHOUSE_DATABASE_URL ?? '', redisPrefix: storage.GATEHOUSE_REDIS_PREFIX ?? '' });
    for (const [i, code] of codes.entries()) assert.equal(code, 0, `instance ${i} did not stop cleanly:\n${instances[i]?.output()}`);
  });

  it('started together, they made one signing key of each algorithm, one console project and one admin, and publish the same JWKS', async () => {
    const client = new pg.Client({ connectionString: storage.GATEHOUSE_DATABASE_URL });
    await client.connect();
    try {
      const keys = await client.query<{ alg: string }>('select alg from signing_keys order by alg');
      assert.deepEqual(keys.rows.map((r) => r.alg), ['ES256', 'RS256'], 'one signing key of each algorithm');
      const consoles = await client.query("select id from projects where id = 'console'");
      assert.equal(consoles.rowCount, 1);
      const admins = await client.query('select id from users where is_admin = 1');
      assert.equal(admins.rowCount, 1);
    } finally {
      await client.end();
    }
    const published = await Promise.all(instances.map((i) => call(i.url, 'GET', '/.well-known/jwks.json')));
    for (const jwks of published) assert.deepEqual(jwks.body, published[0]?.body);
  });

  it('an access token issued by one instance is accepted by the others', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const { code, verifier } = await passwordCode(a, projectId, userEmail, userPassword);
    const tokens = await exchange(a, projectId, code, verifier);
    assert.equal(tokens.status, 200);
    for (const other of [b, c]) {
      const info = await call(other.url, 'GET', '/userinfo', undefined, bearer(String(tokens.body.access_token)));
      assert.equal(info.status, 200, JSON.stringify(info.body));
      assert.equal(info.body.email, userEmail);
    }
    // And the admin token (issued through B in before()) opens the admin API on C.
    const listed = await call(c.url, 'GET', '/admin/projects', undefined, bearer(adminToken));
    assert.equal(listed.status, 200);
  });

  it('a code redeemed concurrently on all three instances succeeds exactly once', async () => {
    const { code, verifier } = await passwordCode(instances[1]!, projectId, userEmail, userPassword);
    const attempts = await Promise.all(Array.from({ length: 9 }, (_, n) => exchange(instances[n % 3]!, projectId, code, verifier)));
    assert.equal(attempts.filter((r) => r.status === 200).length, 1, JSON.stringify(attempts));
    for (const failed of attempts.filter((r) => r.status !== 200)) {
      assert.equal(failed.status, 400);
      assert.deepEqual(failed.body, { error: 'Invalid or expired code' });
    }
  });

  it('a refresh token replayed on another instance is detected as reuse and ends the session', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const { code, verifier } = await passwordCode(a, projectId, userEmail, userPassword);
    const first = await exchange(a, projectId, code, verifier);
    const firstRefresh = String(first.body.refresh_token);
    const rotated = await refresh(b, projectId, firstRefresh);
    assert.equal(rotated.status, 200);
    const replay = await refresh(c, projectId, firstRefresh);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.body, { error: 'Invalid refresh token' });
    // The whole session ended: the token B handed out is dead on every instance.
    const next = await refresh(a, projectId, String(rotated.body.refresh_token));
    assert.equal(next.status, 401);
    assert.deepEqual(next.body, { error: 'Invalid refresh token' });
  });

  it('failed password logins from one address count across instances: after 5, every instance answers 429', async () => {
    const ip = freshIp();
    const { challenge } = pkcePair();
    const attempt = (on: Instance, password: string) =>
      call(on.url, 'POST', '/login', {
        response_type: 'code',
        client_id: projectId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        email: userEmail,
        password,
      }, { 'x-forwarded-for': ip });
    for (let n = 0; n < 5; n++) {
      const wrong = await attempt(instances[n % 3]!, 'not the password');
      assert.equal(wrong.status, 401, `failure ${n + 1}`);
      assert.deepEqual(wrong.body, { error: 'Invalid credentials' });
    }
    for (const instance of instances) {
      const limited = await attempt(instance, userPassword);
      assert.equal(limited.status, 429);
      assert.deepEqual(limited.body, { error: 'Rate limited' });
    }
    // Another address is untouched.
    const other = await passwordCode(instances[2]!, projectId, userEmail, userPassword);
    assert.ok(other.code);
  });

  it('the 20-per-minute /token limit of a client counts across instances', async () => {
    const client = await newProject();
    const tokenRequest = (on: Instance) => call(on.url, 'POST', '/token', { grant_type: 'password', client_id: client });
    for (let n = 0; n < 20; n++) {
      const answer = await tokenRequest(instances[n % 3]!);
      assert.equal(answer.status, 400, `request ${n + 1}`);
      assert.deepEqual(answer.body, { error: 'Unsupported grant_type' });
    }
    for (const instance of instances) {
      const limited = await tokenRequest(instance);
      assert.equal(limited.status, 429);
      assert.deepEqual(limited.body, { error: 'Rate limited' });
    }
    // Another client's budget is its own.
    const untouched = await call(instances[0]!.url, 'POST', '/token', { grant_type: 'password', client_id: projectId });
    assert.equal(untouched.status, 400);
  });

  it('a PIN revoked through one instance is refused by the others at once', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const created = await call(a.url, 'POST', `/admin/projects/${projectId}/pins`, { label: 'kiosk' }, bearer(adminToken));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pin = String(created.body.pin);
    const pinLogin = async (on: Instance) => {
      const { verifier, challenge } = pkcePair();
      const answer = await call(on.url, 'POST', '/login/pin', {
        response_type: 'code',
        client_id: projectId,
        redirect_uri: REDIRECT_URI,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        pin,
      }, { 'x-forwarded-for': freshIp() });
      return { answer, verifier };
    };
    const before = await pinLogin(b);
    assert.equal(before.answer.status, 200, JSON.stringify(before.answer.body));
    const tokens = await exchange(c, projectId, String(before.answer.body.code), before.verifier);
    assert.equal(tokens.status, 200);

    const revoked = await call(a.url, 'DELETE', `/admin/projects/${projectId}/pins/${String(created.body.id)}`, undefined, bearer(adminToken));
    assert.ok(revoked.status < 300, JSON.stringify(revoked.body));

    for (const other of [b, c]) {
      const { answer } = await pinLogin(other);
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, { error: 'Invalid PIN' });
    }
    const refreshed = await refresh(b, projectId, String(tokens.body.refresh_token));
    assert.equal(refreshed.status, 403);
    assert.deepEqual(refreshed.body, { error: 'PIN revoked' });
  });
});
