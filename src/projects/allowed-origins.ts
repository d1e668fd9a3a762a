// What a project's `allowed_origins` entry may be (sso.md "CORS, for single-page apps"), and the
// origins a project lets call /token, /revoke and /userinfo from a browser: those of its
// redirect URIs plus its allowed origins. Every front door that sets them checks them here.
import { InvalidRequest } from '../errors.ts';

export const MAX_ALLOWED_ORIGINS = 50;
/** scheme, host and port: far below a URL's length */
export const MAX_ORIGIN_LENGTH = 300;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** `scheme://host[:port]` as a browser writes it in an Origin header: lower case, no path, no trailing slash. */
const ORIGIN_SHAPE = /^https?:\/\/[a-z0-9.\-[\]:]+$/;

/**
 * Whether `value` could be an Origin header a browser sends for a page Gatehouse may answer:
 * checked before anything looks it up.
 */
export function isOriginShaped(value: string): boolean {
  return value.length <= MAX_ORIGIN_LENGTH && ORIGIN_SHAPE.test(value);
}

function originProblem(origin: string): string | undefined {
  if (!isOriginShaped(origin)) return 'must be scheme://host[:port] in lower case, without a path or a trailing slash';
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'is not a valid origin';
  }
  // A written default port (`https://app.example:443`) is not what a browser sends.
  if (url.origin !== origin) return `must be written as a browser sends it (${url.origin})`;
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http only for localhost, 127.0.0.1 or [::1])';
  return undefined;
}

/** Throws 400 `Invalid request` with a `detail` naming the entry and the problem. */
export function checkAllowedOrigins(origins: readonly string[]): void {
  if (origins.length > MAX_ALLOWED_ORIGINS) throw InvalidRequest({ detail: `allowed_origins: at most ${MAX_ALLOWED_ORIGINS} origins` });
  if (new Set(origins).size !== origins.length) throw InvalidRequest({ detail: 'allowed_origins: each origin once' });
  for (const origin of origins) {
    const problem = originProblem(origin);
    if (problem) throw InvalidRequest({ detail: `allowed_origins: ${origin.slice(0, 200)} ${problem}` });
  }
}

/** The origins a browser page of the project may call from: its redirect URIs' and its allowed origins. */
export function projectOrigins(redirectUris: readonly string[], allowedOrigins: readonly string[]): ReadonlySet<string> {
  const origins = new Set(allowedOrigins);
  for (const uri of redirectUris) {
    try {
      const { origin } = new URL(uri);
      // Only web origins: a custom scheme (an app's) has the opaque origin "null".
      if (origin !== 'null') origins.add(origin);
    } catch {
      // A stored redirect URI that does not parse has no origin.
    }
  }
  return origins;
}
