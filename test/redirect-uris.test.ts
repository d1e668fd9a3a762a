// Hardening, "Redirect URIs": refused at project create and update (400 Invalid request with a
// detail) when they hold `*`, an upper-case scheme or host, a non-ASCII host or `..`/`%2e` in the
// path; exact matching stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkRedirectUris } from '../src/projects/redirect-uris.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, REDIRECT_URI } from './support/flow.ts';

const REFUSED: Array<[string, string]> = [
  ['a * in the host', 'https://*.example.com/callback'],
  ['a * in the path', 'https://app.example.com/*'],
  ['a * in the query', 'https://app.example.com/cb?x=*'],
  ['an upper-case scheme', 'HTTPS://app.example.com/callback'],
  ['a mixed-case scheme', 'Https://app.example.com/callback'],
  ['an upper-case host', 'https://App.Example.com/callback'],
  ['an upper-case loopback host', 'http://LOCALHOST:5173/callback'],
  ['a non-ASCII host', 'https://bücher.example/callback'],
  ['a Cyrillic look-alike host', 'https://аpple.com/callback'],
  ['.. in the path', 'https://app.example.com/a/../callback'],
  ['.. at the end of the path', 'https://app.example.com/callback/..'],
  ['%2e%2e in the path', 'https://app.example.com/a/%2e%2e/callback'],
  ['%2E in the path', 'https://app.example.com/a/%2E%2E/callback'],
  ['a single %2e in the path', 'https://app.example.com/%2e/callback'],
];

describe('redirect URI rules at project create and update', () => {
  let app: TestApp;
  let admin: string;
  before(async () => {
    app = await createTestApp();
    admin = await adminToken(app);
  });
  after(() => app.close());

  for (const [what, uri] of REFUSED) {
    it(`a redirect URI with ${what} is refused with 400 Invalid request and a detail, at create and at update`, async () => {
      const created = await call(app, admin, 'POST', '/admin/projects', { name: 'Bad', redirect_uris: [REDIRECT_URI, uri] });
      assert.equal(created.statusCode, 400, created.body);
      const body = created.json<{ error: string; detail: string }>();
      assert.equal(body.error, 'Invalid request');
      assert.match(body.detail, /^redirect_uris: /);

      const project = await call(app, admin, 'POST', '/admin/projects', { name: 'Good', redirect_uris: [REDIRECT_URI] });
      assert.equal(project.statusCode, 201);
      const id = project.json<{ id: string }>().id;
      const updated = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { redirect_uris: [uri] });
      assert.equal(updated.statusCode, 400, updated.body);
      assert.equal(updated.json<{ error: string }>().error, 'Invalid request');
      assert.deepEqual((await call(app, admin, 'GET', `/admin/projects/${id}`)).json<{ redirect_uris: string[] }>().redirect_uris, [REDIRECT_URI]);
    });
  }

  it('accepts an international domain in its xn-- form, dots inside names and a lower-case %2f, and matches them exactly', async () => {
    const uris = ['https://xn--bcher-kva.example/callback', 'https://app.example.com/v1.2/cb.html', 'https://app.example.com/a%2fb', 'http://[::1]:8080/cb'];
    const res = await call(app, admin, 'POST', '/admin/projects', { name: 'Fine', redirect_uris: uris });
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json<{ id: string }>().id;
    const { challenge } = pkcePair();
    const exact = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(id, challenge), redirect_uri: uris[0]! }).toString()}`, headers: { accept: 'application/json' } });
    assert.equal(exact.statusCode, 200);
    // Exact matching stays: the Unicode spelling of the same host is another string.
    const unicode = await app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(id, challenge), redirect_uri: 'https://bücher.example/callback' }).toString()}`, headers: { accept: 'application/json' } });
    assert.deepEqual([unicode.statusCode, unicode.json()], [400, { error: 'Invalid redirect_uri' }]);
  });

  it('the same check serves other lists of redirect URIs (post_logout_redirect_uris), naming the field, and may allow an empty list', () => {
    assert.throws(() => checkRedirectUris(['https://*.example.com/'], { field: 'post_logout_redirect_uris', allowEmpty: true }), (error: Error & { extra?: { detail?: string } }) =>
      String(error.extra?.detail).startsWith('post_logout_redirect_uris: '),
    );
    assert.doesNotThrow(() => checkRedirectUris([], { field: 'post_logout_redirect_uris', allowEmpty: true }));
    assert.throws(() => checkRedirectUris([]));
  });
});
