// Pre-published signing keys: a rotation's keys are in the JWKS at once and sign after
// GATEHOUSE_KEY_PREPUBLISH_SECONDS on every instance; `immediately` withdraws the old keys.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { buildApp, type App } from '../src/app.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { testEnv, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, bearer, passwordTokens, type Tokens } from './support/flow.ts';

const PASSWORD = 'pre-published keys';
const PROJECT = 'prepub-app';
const RS_PROJECT = 'prepub-rsa';

interface Rotation {
  kids: { ES256: string; RS256: string };
  signs_from: string;
  withdrawn: string[];
}

async function publishedKids(app: App): Promise<string[]> {
  return (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<JSONWebKeySet>().keys.map((k) => String(k.kid));
}

function kidOf(token: string): string {
  return String(decodeProtectedHeader(token).kid);
}

describe('pre-published signing keys, seen by two instances on one database', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const env = testEnv({ GATEHOUSE_KEY_PREPUBLISH_SECONDS: '600' });
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = { ...(await buildApp({ config: loadConfig(env), clock })), clock, config: loadConfig(env) };
    b = { ...(await buildApp({ config: loadConfig(env), clock })), clock, config: loadConfig(env) };
    await a.services.projects.create({ id: PROJECT, name: 'Prepub', redirect_uris: ['https://app.example.com/callback'] });
    await a.services.projects.create({ id: RS_PROJECT, name: 'Prepub RSA', redirect_uris: ['https://app.example.com/callback'], token_signing_alg: 'RS256' });
    const user = await a.services.users.create({ email: 'lin@example.com', password: PASSWORD });
    await a.services.users.addMember(PROJECT, user!.id);
    await a.services.users.addMember(RS_PROJECT, user!.id);
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  function tokens(app: TestApp, project = PROJECT): Promise<Tokens> {
    return passwordTokens(app, { id: project }, 'lin@example.com', PASSWORD);
  }

  function userinfo(app: App, token: string) {
    return app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(token) });
  }

  it('POST /admin/keys/rotate publishes a next key of each algorithm at once; they sign after the pre-publication, on both instances', async () => {
    const oldEs = a.services.keys.kid;
    const oldRs = a.services.keys.signingKid('RS256');
    const before = await tokens(a);

    const res = await call(a, await adminToken(a), 'POST', '/admin/keys/rotate');
    assert.equal(res.statusCode, 200);
    const rotated = res.json<Rotation>();
    assert.equal(Date.parse(rotated.signs_from), clock.now() + 600_000);
    assert.deepEqual(rotated.withdrawn, []);
    await b.services.keys.reload(); // what b's periodic reload does
    for (const app of [a, b]) {
      const kids = await publishedKids(app);
      for (const kid of [oldEs, oldRs, rotated.kids.ES256, rotated.kids.RS256]) assert.ok(kids.includes(kid), `${kid} published at once`);
    }

    // Until the pre-publication ends, the old keys sign, everywhere.
    clock.advance(599_000);
    for (const app of [a, b]) {
      assert.equal(kidOf((await tokens(app)).access_token), oldEs);
      assert.equal(kidOf((await tokens(app, RS_PROJECT)).id_token!), oldRs);
    }
    // Then the new ones, on both instances, by the clock alone (no reload in between).
    clock.advance(1000);
    for (const app of [a, b]) {
      const es = await tokens(app);
      assert.equal(kidOf(es.access_token), rotated.kids.ES256);
      assert.equal(kidOf(es.id_token!), rotated.kids.ES256);
      const rs = await tokens(app, RS_PROJECT);
      assert.equal(kidOf(rs.access_token), rotated.kids.RS256);
      assert.equal(decodeProtectedHeader(rs.access_token).alg, 'RS256');
      assert.equal((await userinfo(app, rs.access_token)).statusCode, 200);
    }
    // The retired keys stay published, and the new keys' tokens and the old ones' verify.
    assert.ok((await publishedKids(a)).includes(oldEs));
    assert.ok((await publishedKids(b)).includes(oldRs));
    assert.equal((await userinfo(b, (await tokens(a)).access_token)).statusCode, 200);
    assert.equal(before.expires_in, 900);
  });

  it('a retired key leaves the JWKS once its tokens have expired, counted from when it stopped signing', async () => {
    const oldEs = a.services.keys.kid;
    const rotated = (await call(a, await adminToken(a), 'POST', '/admin/keys/rotate', {})).json<Rotation>();
    const stopsSigning = Date.parse(rotated.signs_from);
    clock.advance(stopsSigning - 1000 - clock.now());
    const lastOld = await tokens(a);
    assert.equal(kidOf(lastOld.access_token), oldEs);
    // Overlap: 900 s tokens + 60 s reload + 5 min skew, from the end of the pre-publication.
    clock.advance(stopsSigning + (900 + 60 + 300) * 1000 - 1000 - clock.now());
    await a.services.keys.reload();
    assert.ok((await publishedKids(a)).includes(oldEs));
    clock.advance(2000);
    assert.ok(!(await publishedKids(a)).includes(oldEs));
  });

  it('{"immediately": true} makes the new keys sign at once and withdraws the old ones: their tokens stop verifying; both are audited', async () => {
    await a.services.keys.reload();
    await b.services.keys.reload();
    const oldEs = a.services.keys.kid;
    const oldRs = a.services.keys.signingKid('RS256');
    const old = await tokens(a);
    const oldRsa = await tokens(a, RS_PROJECT);
    assert.equal((await userinfo(a, old.access_token)).statusCode, 200);
    // Both instances have verified (and remember) the old token before the rotation.
    assert.equal((await userinfo(b, old.access_token)).statusCode, 200);

    const admin = await adminToken(a);
    const res = await call(a, admin, 'POST', '/admin/keys/rotate', { immediately: true });
    assert.equal(res.statusCode, 200);
    const rotated = res.json<Rotation>();
    assert.equal(Date.parse(rotated.signs_from), clock.now());
    assert.deepEqual([...rotated.withdrawn].sort(), [oldEs, oldRs].sort());

    const kids = await publishedKids(a);
    assert.ok(!kids.includes(oldEs) && !kids.includes(oldRs), 'withdrawn from the JWKS at once');
    assert.equal((await userinfo(a, old.access_token)).statusCode, 401);
    assert.equal((await userinfo(a, oldRsa.access_token)).statusCode, 401);
    assert.equal(kidOf((await tokens(a)).access_token), rotated.kids.ES256);
    await b.services.keys.reload();
    assert.equal((await userinfo(b, old.access_token)).statusCode, 401, 'and on the other instance after its reload');
    assert.equal(kidOf((await tokens(b, RS_PROJECT)).access_token), rotated.kids.RS256);

    const rotatedEvent = (await a.services.audit.list({ limit: 1, type: 'keys.rotated' }))[0];
    assert.deepEqual(rotatedEvent?.detail?.kids, rotated.kids);
    assert.equal(rotatedEvent?.detail?.immediately, true);
    const withdrawn = (await a.services.audit.list({ limit: 1, type: 'keys.withdrawn' }))[0];
    assert.deepEqual([...(withdrawn?.detail?.kids as string[])].sort(), [oldEs, oldRs].sort());
  });

  it('a body other than {"immediately": boolean} is refused; the route needs an admin', async () => {
    const admin = await adminToken(a);
    assert.equal((await call(a, admin, 'POST', '/admin/keys/rotate', { immediately: 'yes' })).statusCode, 400);
    assert.equal((await call(a, admin, 'POST', '/admin/keys/rotate', { now: true })).statusCode, 400);
    assert.equal((await call(a, undefined, 'POST', '/admin/keys/rotate')).statusCode, 401);
  });
});

describe('GET /admin/keys', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const env = testEnv({ GATEHOUSE_KEY_PREPUBLISH_SECONDS: '900' });
  let app: TestApp;
  before(async () => {
    app = { ...(await buildApp({ config: loadConfig(env), clock })), clock, config: loadConfig(env) };
  });
  after(() => app.close());

  interface Listed {
    kid: string;
    alg: string;
    state: string;
    created_at: string;
    signs_from: string;
    published_until: string | null;
  }

  async function listed(): Promise<Listed[]> {
    const res = await call(app, await adminToken(app), 'GET', '/admin/keys');
    assert.equal(res.statusCode, 200);
    const body = res.json<{ keys: Listed[] }>();
    assert.deepEqual(Object.keys(body), ['keys']);
    return body.keys;
  }

  it('lists each key with kid, alg, state and times, never private material; next, current and retired follow the clock', async () => {
    const start = clock.now();
    let keys = await listed();
    assert.deepEqual(keys.map((k) => [k.alg, k.state]).sort(), [
      ['ES256', 'current'],
      ['RS256', 'current'],
    ]);
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), ['alg', 'created_at', 'kid', 'published_until', 'signs_from', 'state']);
      assert.equal(key.published_until, null);
    }
    const oldEs = keys.find((k) => k.alg === 'ES256')!.kid;

    clock.advance(1000);
    const at = clock.now();
    const rotated = (await call(app, await adminToken(app), 'POST', '/admin/keys/rotate')).json<Rotation>();
    keys = await listed();
    const next = keys.find((k) => k.kid === rotated.kids.ES256)!;
    assert.equal(next.state, 'next');
    assert.equal(Date.parse(next.signs_from), at + 900_000);
    assert.equal(Date.parse(next.created_at), at);
    assert.ok(Date.parse(keys.find((k) => k.kid === oldEs)!.created_at) === start);
    const old = keys.find((k) => k.kid === oldEs)!;
    assert.equal(old.state, 'current');
    // Retired at the switch, published for 900 s tokens + 60 s reload + 5 min skew after.
    assert.equal(Date.parse(old.published_until!), at + 900_000 + (900 + 60 + 300) * 1000);
    assert.deepEqual(keys.slice(0, 2).map((k) => k.state), ['next', 'next'], 'newest first');

    clock.advance(900_000);
    keys = await listed();
    assert.equal(keys.find((k) => k.kid === rotated.kids.ES256)!.state, 'current');
    assert.equal(keys.find((k) => k.kid === rotated.kids.RS256)!.state, 'current');
    assert.equal(keys.find((k) => k.kid === oldEs)!.state, 'retired');

    const text = (await call(app, await adminToken(app), 'GET', '/admin/keys')).body;
    for (const part of ['"d"', '"p"', '"q"', 'private', 'BEGIN']) assert.ok(!text.includes(part), part);
  });

  it('needs an admin', async () => {
    assert.equal((await call(app, undefined, 'GET', '/admin/keys')).statusCode, 401);
  });
});
