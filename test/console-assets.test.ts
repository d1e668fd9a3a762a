// The console's shell and assets (docs/console.md, decision 0118): a strict CSP without inline
// script, fingerprinted files cached a year, the HTML never cached, and the first screen's
// JavaScript under 150 KB compressed (gzip and brotli, as a browser would be sent it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { createTestApp, type TestApp } from './support/app.ts';

const BUDGET_BYTES = 150 * 1024;

function assetPaths(html: string): { scripts: string[]; stylesheets: string[] } {
  return {
    scripts: [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] ?? ''),
    stylesheets: [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1] ?? ''),
  };
}

describe('the console shell and its assets', () => {
  let app: TestApp;
  let html: string;
  let headers: Record<string, unknown>;
  before(async () => {
    app = await createTestApp();
    const res = await app.server.inject({ method: 'GET', url: '/console' });
    assert.equal(res.statusCode, 200, res.body);
    html = res.body;
    headers = res.headers;
  });
  after(() => app.close());

  it('GET /console is HTML with a CSP of script-src self, connect-src self and no unsafe-inline', () => {
    assert.match(String(headers['content-type']), /^text\/html/);
    const csp = String(headers['content-security-policy']);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    assert.deepEqual(directives.get('style-src'), ["'self'"]);
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });

  it('the shell has no inline script, no inline style and no style attribute', () => {
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /<style/);
    assert.doesNotMatch(html, /\sstyle=/);
    assert.doesNotMatch(html, /\son[a-z]+=/);
  });

  it('the HTML is never cached; /console/callback serves the same shell', async () => {
    assert.equal(headers['cache-control'], 'no-store');
    const callback = await app.server.inject({ method: 'GET', url: '/console/callback?code=x&state=y' });
    assert.equal(callback.statusCode, 200);
    assert.equal(callback.headers['cache-control'], 'no-store');
    assert.deepEqual(assetPaths(callback.body), assetPaths(html));
    assert.doesNotMatch(callback.body, /exchange/i);
  });

  it('the script and stylesheet are named after a hash of their content and cached a year, immutable', async () => {
    const { scripts, stylesheets } = assetPaths(html);
    const own = [...scripts, ...stylesheets.filter((s) => s.startsWith('/console/'))];
    assert.equal(scripts.length, 1);
    assert.equal(own.length, 2);
    const names = new Set<string>();
    for (const path of own) {
      assert.match(path, /^\/console\/assets\/app-[A-Za-z0-9]{12}\.(js|css)$/);
      const res = await app.server.inject({ method: 'GET', url: path });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.match(String(res.headers['content-type']), path.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      // The fingerprint is of the bytes served: another content could not keep the name.
      const expected = createHash('sha256').update(res.rawPayload).digest('base64url').slice(0, 12).replace(/[-_]/g, '0');
      assert.equal(path.slice(path.lastIndexOf('-') + 1, path.lastIndexOf('.')), expected);
      names.add(path);
    }
    assert.equal(names.size, 2);
  });

  it('an asset name that is not one of the bundle answers 404', async () => {
    for (const name of ['app.js', 'app-AAAAAAAAAAAA.js', '..%2Fbundle.ts', 'manifest.json']) {
      const res = await app.server.inject({ method: 'GET', url: `/console/assets/${name}` });
      assert.equal(res.statusCode, 404, name);
    }
  });

  it('the first screen loads under 150 KB of compressed JavaScript (gzip and brotli)', async () => {
    const { scripts } = assetPaths(html);
    let gzip = 0;
    let brotli = 0;
    for (const path of scripts) {
      const body = (await app.server.inject({ method: 'GET', url: path })).rawPayload;
      gzip += gzipSync(body, { level: 9 }).length;
      brotli += brotliCompressSync(body).length;
      // Everything the script imports is in it: no chunk is fetched before the first screen.
      assert.doesNotMatch(body.toString('utf8'), /\bimport\s*\(|from\s*"\//);
    }
    assert.ok(gzip < BUDGET_BYTES, `gzip: ${gzip} bytes`);
    assert.ok(brotli < BUDGET_BYTES, `brotli: ${brotli} bytes`);
  });

  it('the console project lets its sign-out come back to /console', async () => {
    const record = await app.services.projects.find('console');
    assert.deepEqual(record?.project.post_logout_redirect_uris, [`${app.services.config.issuer}/console`]);
    assert.deepEqual(record?.project.redirect_uris, [`${app.services.config.issuer}/console/callback`]);
  });
});
