// Three real Gatehouse processes on one PostgreSQL schema and one Redis prefix, driven over
// HTTP, behave as one server: whatever instance a request lands on, single-use things are used
// once, limits count every instance's requests, and a revocation anywhere holds everywhere.
// They are started at the same moment, so the first start (migrations, signing key, console
// project, admin) is itself raced.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pkcePair } from '../support/app.ts';
import { postgresRedisEnv, releaseTestStorage, testBackend } from '../support/backend.ts';
import { bearer } from '../support/flow.ts';
import {
  adminTokenVia,
  call,
  exchange as exchangeOn,
  freshIp,
  passwordCode as passwordCodeOn,
  refresh as refreshOn,
  startInstances,
  stopInstances,
  type Answer,
  type Instance,
} from '../support/instances.ts';

const ISSUER = 'http://gatehouse.scale.test';
const ADMIN_EMAIL = 'admin@scale.test';
const ADMIN_PASSWORD = 'three instances, one gatehouse';
const REDIRECT_URI = 'https://app.scale.test/callback';

const skip =
  testBackend === 'postgres'
    ? false
    : 'several instances only mean something on a shared PostgreSQL + Redis: this runs in the Postgres+Redis pass (npm run test:postgres)';

describe('three instances sharing one PostgreSQL schema and one Redis prefix', { skip }, () => {
  const storage = testBackend === 'postgres' ? postgresRedisEnv() : {};
  const instances: Instance[] = [];
  let adminToken = '';
  let projectId = '';
  const userEmail = 'grace@scale.test';
  const userPassword = 'cobol and compilers';

  const settings = { storage, issuer: ISSUER, adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD };

  /** Logs in by password on one instance; answers the code and its PKCE verifier. */
  function passwordCode(on: Instance, clientId: string, email: string, password: string) {
    return passwordCodeOn(on.url, clientId, email, password, REDIRECT_URI);
  }

  function exchange(on: Instance, clientId: string, code: string, verifier: string): Promise<Answer> {
    return exchangeOn(on.url, clientId, code, verifier, REDIRECT_URI);
  }

  function refresh(on: Instance, clientId: string, refreshToken: string): Promise<Answer> {
    return refreshOn(on.url, clientId, refreshToken);
  }

  async function newProject(): Promise<string> {
    const created = await call(instances[0]!.url, 'POST', '/admin/projects', { name: 'Scale App', redirect_uris: [REDIRECT_URI] }, bearer(adminToken));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return String(created.body.id);
  }

  before(async () => {
    // All three at once: the first start is raced on purpose.
    await startInstances(3, settings, instances);
    const [a, b, c] = instances as [Instance, Instance, Instance];
    // The admin signs in through instance A and exchanges the code on B.
    adminToken = await adminTokenVia(a.url, b.url, settings);

    projectId = await newProject();
    const user = await call(c.url, 'POST', '/admin/users', { email: userEmail, password: userPassword }, bearer(adminToken));
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const member = await call(a.url, 'PUT', `/admin/projects/${projectId}/members/${String(user.body.id)}`, undefined, bearer(adminToken));
    assert.ok(member.status < 300, JSON.stringify(member.body));
  });

  after(async () => {
    try {
      await stopInstances(instances);
    } finally {
      await releaseTestStorage({ databaseUrl: storage.GATEHOUSE_DATABASE_URL ?? '', redisPrefix: storage.GATEHOUSE_REDIS_PREFIX ?? '' });
    }
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
