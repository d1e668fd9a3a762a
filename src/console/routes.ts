// The admin console (docs/console.md): GET /console and /console/callback serve the HTML shell of
// the browser app, /console/assets/<name>-<hash>.(js|css) its fingerprinted files. The app signs in
// through the built-in `console` project (code + PKCE, its tokens in memory only) and calls only the
// public admin API; nothing here knows about admins.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { NotFound } from '../errors.ts';
import { escapeHtml } from '../http/html.ts';
import type { Services } from '../services.ts';
import { buildConsoleBundle, readPrebuiltBundle, type ConsoleBundle } from './bundle.ts';

/** A fingerprinted file never changes under its name: a year, immutable. */
export const ASSET_CACHE = 'public, max-age=31536000, immutable';

/**
 * The console's CSP: its own script and styles only (no inline script, no style attributes),
 * requests to this server only, no framing (docs/decisions/0118-the-console-csp-and-its-assets.md).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const AssetParams = Type.Object({ file: Type.String({ maxLength: 128 }) });

/** The console's pages: the shell is the same for both, the app reads where it is. */
export const CONSOLE_PAGE_ROUTES = ['/console', '/console/callback'] as const;

function shell(bundle: ConsoleBundle, issuer: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>Gatehouse console</title>',
    '<link rel="stylesheet" href="/assets/gatehouse.css">',
    `<link rel="stylesheet" href="/console/assets/${bundle.stylesheet.name}">`,
    `<script type="module" src="/console/assets/${bundle.script.name}"></script>`,
    '</head>',
    `<body class="console" data-issuer="${escapeHtml(issuer)}">`,
    '<div id="console"><main class="card"><h1>Gatehouse console</h1><p class="status">Loading the console…</p>',
    '<noscript><p class="error">The console needs JavaScript. The admin API (/docs) and the gatehouse command line do the same without it.</p></noscript>',
    '</main></div>',
    '</body>',
    '</html>',
  ].join('\n');
}

export function registerConsoleRoutes(server: FastifyInstance, services: Services): void {
  // Bundled once, on the first request that needs it (a server started from the sources), or read
  // from what `npm run build` wrote; a failed build is tried again on the next request.
  let bundle: Promise<ConsoleBundle> | undefined;
  const loadBundle = (): Promise<ConsoleBundle> => {
    bundle ??= Promise.resolve(readPrebuiltBundle() ?? buildConsoleBundle()).catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return bundle;
  };

  const sendShell = async (reply: FastifyReply) => {
    const html = shell(await loadBundle(), services.config.issuer);
    return reply
      .type('text/html; charset=utf-8')
      // The shell names the current files: never kept, so a new build is picked up at once.
      .header('cache-control', 'no-store')
      .header('content-security-policy', CONSOLE_CSP)
      .send(html);
  };

  for (const path of CONSOLE_PAGE_ROUTES) server.get(path, (_request, reply) => sendShell(reply));

  server.get<{ Params: { file: string } }>('/console/assets/:file', { schema: { params: AssetParams } }, async (request, reply) => {
    const file = (await loadBundle()).files.get(request.params.file);
    if (!file) throw NotFound();
    return reply.type(file.contentType).header('cache-control', ASSET_CACHE).send(file.body);
  });
}
