import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { buildApp, type App } from '../src/app.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { CLOCK_SKEW_MS } from '../src/crypto/keys.ts';
import { ISSUER, testEnv, type TestApp } from './support/app.ts';
import { bearer, createProject, passwordTokens, type TestProject, type Tokens } from './support/flow.ts';
import { ssoSetup } from './support/sso.ts';

const PASSWORD = 'difference engine no. 2';
const RELOAD_MS = 60_000; // GATEHOUSE_KEY_RELOAD_SECONDS default

async function jwks(app: App): Promise<JSONWebKeySet> {
  return (await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<JSONWebKeySet>();
}

/** The published ES256 keys (each rotation makes an RS256 key beside: see signing-algs.test.ts). */
async function publishedKids(app: App): Promise<string[]> {
  return (await jwks(app)).keys.filter((k) => k.alg === 'ES256').map((k) => String(k.kid));
}

function kidOf(token: string): string {
  return String(decodeProtectedHeader(token).kid);
}

function userinfo(app: App, token: string) {
  return app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(token) });
}

async function tokensFor(app: TestApp, project: TestProject, email: string): Promise<Tokens> {
  return passwordTokens(app, project, email, PASSWORD);
}

describe('signing-key rotation', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    ({ app, projects: [project] } = await ssoSetup({ projects: [{}], member: { email: 'grace@example.com', password: PASSWORD } }));
  });
  after(() => app.close());

  it('a new key signs; the old one stays in the JWKS and its tokens verify until they have all expired, then it leaves', async () => {
    const old = await tokensFor(app, project, 'grace@example.com');
    const oldKid = kidOf(old.access_token);

    const newKid = (await app.services.keys.rotate()).ES256;
    assert.notEqual(newKid, oldKid);
    const fresh = await tokensFor(app, project, 'grace@example.com');
    assert.equal(kidOf(fresh.access_token), newKid, 'the new key signs access tokens');
    assert.equal(kidOf(fresh.id_token!), newKid, 'and ID tokens');
    assert.deepEqual((await publishedKids(app)).sort(), [oldKid, newKid].sort());

    // Almost the whole access-token lifetime later, the old token still works everywhere.
    app.clock.advance(899_000);
    assert.equal((await userinfo(app, old.access_token)).statusCode, 200);
    const set = createLocalJWKSet(await jwks(app));
    for (const token of [old.access_token, old.id_token!]) {
      await jwtVerify(token, set, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    }

    // The overlap: the token lifetime, plus another instance's reload interval, plus clock skew.
    const overlapMs = 900_000 + RELOAD_MS + CLOCK_SKEW_MS;
    app.clock.advance(overlapMs - 899_000 - 1000);
    assert.ok((await publishedKids(app)).includes(oldKid), 'published until the overlap ends');
    app.clock.advance(2000);
    assert.deepEqual(await publishedKids(app), [newKid], 'the old key has left the JWKS');
    assert.equal((await userinfo(app, fresh.access_token)).statusCode, 401, 'the fresh token has expired by now too');
    const current = await tokensFor(app, project, 'grace@example.com');
    assert.equal((await userinfo(app, current.access_token)).statusCode, 200);
  });

  it("a project's longer access-token lifetime keeps the old key published for that long", async () => {
    const long = await createProject(app);
    await app.services.users.addMember(long.id, (await app.services.users.findByEmail('grace@example.com'))!.user.id);
    const twoDays = 2 * 24 * 3600;
    await app.services.projects.update(long.id, { access_token_ttl_seconds: twoDays });
    const old = await tokensFor(app, long, 'grace@example.com');
    assert.equal(old.expires_in, twoDays);
    const oldKid = kidOf(old.access_token);

    await app.services.keys.rotate();
    app.clock.advance(36 * 3600 * 1000); // far past the instance default of 15 minutes
    assert.ok((await publishedKids(app)).includes(oldKid));
    assert.equal((await userinfo(app, old.access_token)).statusCode, 200);

    app.clock.advance((twoDays - 36 * 3600) * 1000 + RELOAD_MS + CLOCK_SKEW_MS + 1000);
    assert.ok(!(await publishedKids(app)).includes(oldKid));
  });

  it('keys list says which key signs, which are published and when a retired one leaves; rotation forgets keys long gone', async () => {
    const first = app.services.keys.kid;
    const second = (await app.services.keys.rotate()).ES256;
    let list = await app.services.keys.list();
    const signing = list.filter((k) => k.signing && k.alg === 'ES256');
    assert.deepEqual(signing.map((k) => k.kid), [second]);
    const retired = list.find((k) => k.kid === first)!;
    assert.equal(retired.published, true);
    assert.ok(retired.unpublish_at !== null && retired.unpublish_at > app.clock.now());

    app.clock.advance(retired.unpublish_at - app.clock.now() + 1);
    list = await app.services.keys.list();
    assert.equal(list.find((k) => k.kid === first)?.published, false);
    await app.services.keys.rotate();
    list = await app.services.keys.list();
    assert.equal(list.find((k) => k.kid === first), undefined, 'a key past its overlap is deleted at the next rotation');
    assert.ok(list.find((k) => k.kid === second)?.published, 'the key retired just now stays');
  });

  it('a token with a kid no key has answers 401 at /userinfo', async () => {
    const real = await tokensFor(app, project, 'grace@example.com');
    const [, payload, signature] = real.access_token.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'no-such-key' })).toString('base64url');
    const res = await userinfo(app, `${header}.${payload}.${signature}`);
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), { error: 'Unauthorized' });
  });
});

describe('rotation seen by other instances on the same database', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const env = testEnv();
  let a: App;
  let b: App;
  let c: App;
  before(async () => {
    a = await buildApp({ config: loadConfig(env), clock });
    b = await buildApp({ config: loadConfig(env), clock });
    c = await buildApp({ config: loadConfig({ ...env, GATEHOUSE_KEY_RELOAD_SECONDS: '1' }), clock });
  });
  after(async () => {
    await c.close();
    await b.close();
    await a.close();
  });

  it('every instance signs with the same key; after a rotation elsewhere they verify the new key at once and sign with it after their reload', async () => {
    assert.equal(b.services.keys.kid, a.services.keys.kid);
    assert.equal(c.services.keys.kid, a.services.keys.kid);
    const project = await a.services.projects.create({ id: 'multi-instance', name: 'Multi', redirect_uris: ['https://app.example.com/callback'] });
    assert.ok(project);
    const user = await a.services.users.create({ email: 'kay@example.com', password: PASSWORD });
    await a.services.users.addMember('multi-instance', user!.id);

    const newKid = (await a.services.keys.rotate()).ES256;
    const testA = { ...a, clock, config: loadConfig(env) } as TestApp;
    const fromA = await tokensFor(testA, { id: 'multi-instance' }, 'kay@example.com');
    assert.equal(kidOf(fromA.access_token), newKid);

    // b has not reloaded yet: the unknown kid makes it look again.
    assert.equal((await userinfo(b, fromA.access_token)).statusCode, 200);
    assert.ok((await publishedKids(b)).includes(newKid));

    // c reloads every second by itself and then signs with the new key.
    const deadline = Date.now() + 5000;
    while (c.services.keys.kid !== newKid && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(c.services.keys.kid, newKid);
  });
});
