// sso.md "Sign-in methods per project": login_methods, the page and the endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pkcePair, type TestApp } from './support/app.ts';
import { authParams, bearer, createUser, post, REDIRECT_URI } from './support/flow.ts';
import { adminProject, ssoSetup } from './support/sso.ts';

const PASSWORD = 'several doors to one house';

describe('login_methods', () => {
  let app: TestApp;
  let admin: string;
  before(async () => {
    ({ app, admin } = await ssoSetup());
  });
  after(() => app.close());

  async function project(body: object = {}): Promise<string> {
    return (await adminProject(app, admin, { name: 'Methods', ...body })).id;
  }

  async function page(clientId: string): Promise<string> {
    const res = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(clientId, pkcePair().challenge) }).toString()}` });
    assert.equal(res.statusCode, 200);
    return res.body;
  }

  it('defaults to all three; the admin API sets and checks the list', async () => {
    const id = await project();
    const read = await app.server.inject({ method: 'GET', url: `/admin/projects/${id}`, headers: bearer(admin) });
    assert.deepEqual(read.json<{ login_methods: string[] }>().login_methods, ['password', 'magic_link', 'pin']);
    for (const login_methods of [[], ['sms'], ['pin', 'pin']]) {
      const res = await post(app, '/admin/projects', { name: 'Bad', redirect_uris: [REDIRECT_URI], login_methods }, bearer(admin));
      assert.deepEqual([res.statusCode, res.json<{ error: string }>().error], [400, 'Invalid request'], JSON.stringify(login_methods));
    }
    const patched = await app.server.inject({ method: 'PATCH', url: `/admin/projects/${id}`, headers: bearer(admin), payload: { login_methods: ['magic_link'] } });
    assert.deepEqual(patched.json<{ login_methods: string[] }>().login_methods, ['magic_link']);
  });

  it('a method not listed is not on the page, and its endpoint answers 403 Login method not allowed after the authorization checks', async () => {
    const id = await project({ login_methods: ['pin'] });
    await createUser(app, 'ada@example.com', PASSWORD, id);
    const html = await page(id);
    assert.doesNotMatch(html, /action="\/login"/);
    assert.doesNotMatch(html, /action="\/magic-link"/);
    assert.doesNotMatch(html, /action="\/register"/);
    const params = authParams(id, pkcePair().challenge);
    for (const [url, body] of [
      ['/login', { email: 'ada@example.com', password: PASSWORD }],
      ['/register', { email: 'new@example.com', password: PASSWORD }],
      ['/magic-link', { email: 'ada@example.com' }],
    ] as const) {
      const res = await post(app, url, { ...params, ...body });
      assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Login method not allowed' }], url);
      // The authorization checks come first.
      const bad = await post(app, url, { ...params, redirect_uri: 'https://elsewhere.example/cb', ...body });
      assert.deepEqual([bad.statusCode, bad.json()], [400, { error: 'Invalid redirect_uri' }], url);
    }
    assert.equal(await app.services.users.findByEmail('new@example.com'), undefined);
    // A form post from the page gets the page again, with the message.
    const form = await app.server.inject({
      method: 'POST',
      url: '/login',
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ ...params, email: 'ada@example.com', password: PASSWORD } as Record<string, string>).toString(),
    });
    assert.equal(form.statusCode, 403);
    assert.match(form.body, /Login method not allowed/);
    const passwordOnly = await project({ login_methods: ['password'] });
    const pin = await post(app, '/login/pin', { ...authParams(passwordOnly, pkcePair().challenge), pin: '12345678' });
    assert.deepEqual([pin.statusCode, pin.json()], [403, { error: 'Login method not allowed' }]);
    const html2 = await page(passwordOnly);
    assert.match(html2, /action="\/login"/);
    assert.doesNotMatch(html2, /action="\/magic-link"/);
  });

  it('the page shows the PIN form only when pin is allowed and the project has an active PIN', async () => {
    const id = await project();
    assert.doesNotMatch(await page(id), /action="\/login\/pin"/);
    await app.services.pins.create(id);
    assert.match(await page(id), /action="\/login\/pin"/);
    const withoutPin = await project({ login_methods: ['password', 'magic_link'] });
    await app.services.pins.create(withoutPin);
    assert.doesNotMatch(await page(withoutPin), /action="\/login\/pin"/);
    assert.match(await page(withoutPin), /action="\/magic-link"/);
  });
});
