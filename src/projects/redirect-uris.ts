// What a project's redirect URI may be. Every front door that sets them (the admin API, the
// command line) checks them here; /authorize then matches them as exact strings.
import { InvalidRequest } from '../errors.ts';

export const MAX_REDIRECT_URIS = 50;
export const MAX_REDIRECT_URI_LENGTH = 2048;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Redirect URIs are matched as exact strings, so they are checked as written: an absolute
 * https URL, or http only on the loopback host (a developer's machine, RFC 8252 §7.3); no
 * fragment (RFC 6749 §3.1.2), no credentials, no whitespace.
 */
export function checkRedirectUris(uris: readonly string[]): void {
  if (uris.length === 0 || uris.length > MAX_REDIRECT_URIS) throw InvalidRequest({ detail: `redirect_uris: between 1 and ${MAX_REDIRECT_URIS} URIs` });
  if (new Set(uris).size !== uris.length) throw InvalidRequest({ detail: 'redirect_uris: each URI once' });
  for (const uri of uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw InvalidRequest({ detail: `redirect_uris: ${uri.slice(0, 200)} ${problem}` });
  }
}

function redirectUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `must be at most ${MAX_REDIRECT_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'must not contain whitespace or control characters';
  if (!/^https?:\/\//i.test(uri)) return 'must be an absolute https URL (http only for localhost)';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not a valid URL';
  }
  if (uri.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http only for localhost, 127.0.0.1 or [::1])';
  return undefined;
}
