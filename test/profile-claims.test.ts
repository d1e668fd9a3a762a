// sso.md "Profile claims": name, given_name, family_name, picture, locale, set by the admin API
// and registration, released with `updated_at` by the `profile` scope at /userinfo and in the ID token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/run.ts';
import { pkcePair, testEnv, type TestApp } from './support/app.ts';
import { authParams, bearer, exchangeCode, passwordTokens, post, refresh, type TestProject } from './support/flow.ts';
import { ssoSetup } from './support/sso.ts';

const PASSWORD = 'analytical engine notes';

function payload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe('profile claims', () => {
  let app: TestApp;
  let admin: string;
  let project: TestProject;
  let userId: string;
  const env = testEnv();
  before(async () => {
    ({ app, admin, projects: [project] } = await ssoSetup({ env, projects: [{}] }));
  });
  after(() => app.close());

  function patch(id: string, body: object) {
    return app.server.inject({ method: 'PATCH', url: `/admin/users/${id}`, headers: bearer(admin), payload: body });
  }

  it('the admin API sets, shows and clears them', async () => {
    const created = await post(app, '/admin/users', { email: 'ada@example.com', password: PASSWORD, name: 'Ada Lovelace', given_name: 'Ada', locale: 'en-GB' }, bearer(admin));
    assert.equal(created.statusCode, 201);
    const user = created.json<Record<string, unknown>>();
    userId = String(user.id);
    assert.deepEqual([user.name, user.given_name, user.family_name, user.picture, user.locale], ['Ada Lovelace', 'Ada', null, null, 'en-GB']);
    await app.services.users.addMember(project.id, userId);
    const changed = await patch(userId, { family_name: 'Lovelace', picture: 'https://pictures.example.com/ada.png', given_name: null });
    assert.equal(changed.statusCode, 200);
    const after = changed.json<Record<string, unknown>>();
    assert.deepEqual([after.name, after.given_name, after.family_name, after.picture, after.locale], ['Ada Lovelace', null, 'Lovelace', 'https://pictures.example.com/ada.png', 'en-GB']);
    const read = await app.server.inject({ method: 'GET', url: `/admin/users/${userId}`, headers: bearer(admin) });
    assert.equal(read.json<{ family_name: string }>().family_name, 'Lovelace');
  });

  it('the admin API refuses values that are not names, https URLs or language tags', async () => {
    for (const body of [
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(201) },
      { given_name: 'a\u0000b' },
      { picture: 'http://pictures.example.com/ada.png' },
      { picture: 'not a url' },
      { picture: `https://pictures.example.com/${'a'.repeat(2048)}` },
      { locale: 'english please' },
      { locale: 'e' },
    ]) {
      const res = await patch(userId, body);
      assert.deepEqual([res.statusCode, res.json<{ error: string }>().error], [400, 'Invalid request'], JSON.stringify(body).slice(0, 80));
    }
    const res = await post(app, '/admin/users', { email: 'bad@example.com', picture: 'ftp://x.example/p' }, bearer(admin));
    assert.equal(res.statusCode, 400);
    assert.equal((await patch(userId, { name: 'x'.repeat(200) })).statusCode, 200);
    assert.equal((await patch(userId, { name: 'Ada Lovelace' })).statusCode, 200);
  });

  it('the profile scope releases those set and updated_at, at /userinfo and in the ID token (after a refresh too)', async () => {
    const t = await passwordTokens(app, project, 'ada@example.com', PASSWORD, { scope: 'openid profile' });
    const expected = {
      name: 'Ada Lovelace',
      family_name: 'Lovelace',
      picture: 'https://pictures.example.com/ada.png',
      locale: 'en-GB',
      updated_at: Math.floor(app.clock.now() / 1000),
    };
    const info = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
    assert.deepEqual(info.json(), { sub: userId, ...expected });
    const idToken = payload(t.id_token ?? '');
    for (const [claim, value] of Object.entries(expected)) assert.equal(idToken[claim], value, claim);
    assert.equal(idToken.given_name, undefined);
    assert.equal(idToken.email, undefined);
    const refreshed = await refresh(app, project, t.refresh_token);
    assert.equal(payload(refreshed.json<{ id_token: string }>().id_token).name, 'Ada Lovelace');
  });

  it('without the profile scope none is released', async () => {
    const t = await passwordTokens(app, project, 'ada@example.com', PASSWORD, { scope: 'openid email' });
    const info = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
    assert.deepEqual(Object.keys(info.json<object>()).sort(), ['email', 'email_verified', 'sub']);
    const idToken = payload(t.id_token ?? '');
    assert.equal(idToken.name, undefined);
    assert.equal(idToken.updated_at, undefined);
  });

  it('registration takes an optional name, checked', async () => {
    const { verifier, challenge } = pkcePair();
    const params = authParams(project.id, challenge, { scope: 'openid profile' });
    const bad = await post(app, '/register', { ...params, email: 'grace@example.com', password: PASSWORD, name: 'x'.repeat(201) });
    assert.deepEqual([bad.statusCode, bad.json<{ error: string }>().error], [400, 'Invalid request']);
    const res = await post(app, '/register', { ...params, email: 'grace@example.com', password: PASSWORD, name: 'Grace Hopper' });
    assert.equal(res.statusCode, 201);
    const t = await exchangeCode(app, project, res.json<{ code: string }>().code, verifier);
    const info = await app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(t.access_token) });
    assert.deepEqual(info.json<Record<string, unknown>>().name, 'Grace Hopper');
    assert.deepEqual(Object.keys(info.json<object>()).sort(), ['name', 'sub', 'updated_at']);
  });

  it('gatehouse user profile sets, clears and shows them, with the same rules', async () => {
    async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env });
      return { code, stdout, stderr };
    }
    const set = await cli('user', 'profile', '--user', 'grace@example.com', '--given-name', 'Grace', '--locale', 'en-US', '--name', '', '--json');
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout), {
      user_id: (await app.services.users.findByEmail('grace@example.com'))?.user.id,
      email: 'grace@example.com',
      name: null,
      given_name: 'Grace',
      family_name: null,
      picture: null,
      locale: 'en-US',
    });
    const bad = await cli('user', 'profile', '--user', 'grace@example.com', '--picture', 'http://x.example/p.png');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /picture must be an https URL/);
    const shown = await cli('user', 'profile', '--user', 'grace@example.com');
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, /given_name: Grace/);
    assert.match(shown.stdout, /picture: \(not set\)/);
    assert.equal((await cli('user', 'profile', '--user', 'nobody@example.com')).code, 1);
  });

  it('discovery lists the profile claims', async () => {
    const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<{ claims_supported: string[] }>();
    for (const claim of ['name', 'given_name', 'family_name', 'picture', 'locale', 'updated_at']) assert.ok(doc.claims_supported.includes(claim), claim);
  });
});
