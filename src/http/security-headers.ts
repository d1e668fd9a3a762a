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
import type { FastifyReply } from 'fastify';
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

/** What the app's hooks put on a reply: the headers of every answer, and those of an HTML page. */
export interface SecurityHeaders {
  /** on every answer, from the app's one onRequest hook */
  everyAnswer(reply: FastifyReply): void;
  /** from the app's one onSend hook: helmet's page set when the answer is an HTML page */
  onPage(reply: FastifyReply): void;
}

/**
 * The two steps of the security headers, for the app's own onRequest and onSend hooks (src/app.ts):
 * each hook is a step of Fastify's hook runner on every request, the JWKS and discovery answers
 * included, so the app runs one of each rather than one per concern.
 */
export function securityHeaderSteps(options: HelmetOptions): SecurityHeaders {
  const page = securityHeaders(options);
  const every = everyAnswerHeaders(options);
  const pageOnly = Object.entries(page).filter(([name]) => !ON_EVERY_ANSWER.has(name));
  const pageCsp = page['content-security-policy'];
  return {
    everyAnswer: (reply) => void reply.headers(every),
    onPage(reply) {
      const type = reply.getHeader('content-type');
      if (typeof type !== 'string' || !type.startsWith('text/html')) return;
      for (const [name, value] of pageOnly) reply.header(name, value);
      // A page that set its own CSP (the login page's form-action) keeps it.
      if (pageCsp !== undefined && reply.getHeader('content-security-policy') === API_CSP) reply.header('content-security-policy', pageCsp);
    },
  };
}
