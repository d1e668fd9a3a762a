import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { catalogue } from '../src/errors.ts';
import { createTestApp, type TestApp } from './support/app.ts';

const referencePath = new URL('../../shared/seed/error-reference.txt', import.meta.url);

function referenceRows(): Array<{ message: string; status: number }> {
  const rows: Array<{ message: string; status: number }> = [];
  for (const line of readFileSync(referencePath, 'utf8').split('\n')) {
    const match = /^\|?\s*([^|]+?)\s*\|\s*(\d{3})\s*\|/.exec(line);
    if (match?.[1] && match[2] && match[1] !== 'Error') rows.push({ message: match[1], status: Number(match[2]) });
  }
  return rows;
}

describe('error catalogue', () => {
  it('holds every row of the reference with its status, letter for letter', () => {
    const rows = referenceRows();
    assert.equal(rows.length, 38);
    assert.equal(new Set(rows.map((r) => r.message)).size, 31);
    for (const row of rows) {
      const entry = catalogue.find((e) => e.message === row.message);
      assert.ok(entry, `missing from the catalogue: ${row.message}`);
      assert.equal(entry.status, row.status, `status of ${row.message}`);
    }
  });
});

describe('malformed requests', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  it('malformed JSON answers 400 with a JSON error', async () => {
    const res = await app.server.inject({ method: 'POST', url: '/token', payload: '{"client_id":', headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Invalid request' });
  });

  it('a wrong content type answers 415 with a JSON error', async () => {
    const res = await app.server.inject({ method: 'POST', url: '/token', payload: '<x/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(res.statusCode, 415);
    assert.equal(res.json().error, 'Unsupported content type');
  });

  it('an oversized body answers 413 with a JSON error', async () => {
    const res = await app.server.inject({
      method: 'POST',
      url: '/token',
      payload: JSON.stringify({ client_id: 'x'.repeat(200 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'Request body too large');
  });

  it('an oversized form body answers 413 with a JSON error', async () => {
    const res = await app.server.inject({
      method: 'POST',
      url: '/login',
      payload: `email=${'x'.repeat(200 * 1024)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'Request body too large');
  });

  it('an unknown route answers 404 Not found as JSON', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/nope' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'Not found' });
  });

  it('an unknown method on a known path answers a 4xx JSON error', async () => {
    const res = await app.server.inject({ method: 'PUT', url: '/token' });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500);
    assert.equal(typeof res.json().error, 'string');
  });

  it('a JSON array or string body is a 4xx, never a 5xx', async () => {
    for (const payload of ['[]', '"x"', 'null', '12']) {
      const res = await app.server.inject({ method: 'POST', url: '/token', payload, headers: { 'content-type': 'application/json' } });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${payload} -> ${res.statusCode}`);
      assert.equal(typeof res.json().error, 'string');
    }
  });
});

describe('text no field may hold', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  it('a NUL byte in a body, query or path answers 400 Invalid request, never a 5xx', async () => {
    const login = await app.server.inject({ method: 'POST', url: '/login', payload: { email: 'a\u0000@example.com', password: 'x' } });
    assert.deepEqual([login.statusCode, login.json().error], [400, 'Invalid request']);
    const authorize = await app.server.inject({ method: 'GET', url: '/authorize?client_id=a%00b' });
    assert.deepEqual([authorize.statusCode, authorize.json().error], [400, 'Invalid request']);
    const token = await app.server.inject({ method: 'POST', url: '/token', payload: 'client_id=a%00b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.deepEqual([token.statusCode, token.json().error], [400, 'Invalid request']);
  });
});

describe('headers on every answer', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  it('JSON answers and 404s carry the security headers and a request id of their own', async () => {
    const first = await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const missing = await app.server.inject({ method: 'GET', url: '/no-such-page' });
    for (const res of [first, missing]) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(res.headers['referrer-policy'], 'same-origin');
    }
    assert.ok(first.headers['x-request-id']);
    assert.notEqual(first.headers['x-request-id'], missing.headers['x-request-id']);
  });

  it('a JSON answer gets the short set; an HTML page gets the document headers on top', async () => {
    const json = await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    assert.equal(json.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
    assert.match(String(json.headers['strict-transport-security']), /max-age=\d+/);
    for (const pageOnly of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-xss-protection', 'x-download-options']) {
      assert.equal(json.headers[pageOnly], undefined, pageOnly);
    }
    const page = await app.server.inject({ method: 'GET', url: '/authorize', headers: { accept: 'text/html' } });
    const docs = await app.server.inject({ method: 'GET', url: '/docs' });
    for (const res of [page, docs]) {
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none';style-src 'self'/);
      assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
      assert.equal(res.headers['x-xss-protection'], '0');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });
});
