// Security headers (CSP, anti-framing, HSTS, …) as helmet defines them, computed once at start:
// helmet's middleware rebuilds them on every request, which cost a tenth of a cheap request's
// CPU in the benchmark. The values are helmet's; only the work of producing them moves.
//
// Every answer carries the headers that matter for any response (OWASP's REST Security Cheat
// Sheet: a CSP that loads nothing and forbids framing, X-Frame-Options, nosniff, HSTS, a
// referrer policy); an HTML page gets helmet's whole set on top, including the headers that
// only mean something to a document in a browser (COOP, Origin-Agent-Cluster, X-XSS-Protection,
// …). JSON answers stay short: on the JWKS and discovery documents the header bytes were most of
// what a client had to read (docs/decisions/0014-short-security-headers-on-json.md).
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  // helmet's middleware is synchronous for a response like this one; it calls next() at once.
  helmet(options)({} as never, response as never, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  return headers;
}

/** The CSP of an answer that is not a page: nothing may load, nothing may frame it. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Headers of helmet's set that every answer keeps (the CSP is replaced by API_CSP). */
const ON_EVERY_ANSWER = new Set([
  'content-security-policy',
  'cross-origin-resource-policy',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
]);

/** The headers every answer carries, for the answers made before any hook runs (src/http/early-answers.ts). */
export function everyAnswerHeaders(options: HelmetOptions): Record<string, string> {
  const page = securityHeaders(options);
  const every: Record<string, string> = {};
  for (const [name, value] of Object.entries(page)) if (ON_EVERY_ANSWER.has(name)) every[name] = value;
  if ('content-security-policy' in page) every['content-security-policy'] = API_CSP;
  return every;
}

export function registerSecurityHeaders(server: FastifyInstance, options: HelmetOptions): void {
  const page = securityHeaders(options);
  const every = everyAnswerHeaders(options);
  const pageOnly = Object.entries(page).filter(([name]) => !ON_EVERY_ANSWER.has(name));
  const pageCsp = page['content-security-policy'];

  server.addHook('onRequest', (_request, reply, done) => {
    reply.headers(every);
    done();
  });
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      for (const [name, value] of pageOnly) reply.header(name, value);
      // A page that set its own CSP (the login page's form-action) keeps it.
      if (pageCsp !== undefined && reply.getHeader('content-security-policy') === API_CSP) reply.header('content-security-policy', pageCsp);
    }
    done(null, payload);
  });
}
