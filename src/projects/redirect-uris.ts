// What a project's redirect URI may be. Every front door that sets them (the admin API, the
// command line) checks them here; /authorize then matches them as exact strings. The same rules
// hold for every list of URIs Gatehouse redirects a browser to (`post_logout_redirect_uris` too):
// name the field, and its messages name it.
import { InvalidRequest } from '../errors.ts';

export const MAX_REDIRECT_URIS = 50;
export const MAX_REDIRECT_URI_LENGTH = 2048;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Redirect URIs are matched as exact strings, so they are checked as written: an absolute
 * https URL, or http only on the loopback host (a developer's machine, RFC 8252 §7.3); no
 * fragment (RFC 6749 §3.1.2), no credentials, no whitespace; and nothing a reader could take for
 * another URI than the one a browser is sent to (hardening, "Redirect URIs"): no `*` (it is not
 * a wildcard here, and must not look like one), a scheme and host in lower case as browsers
 * write them, an ASCII host (an international domain in its `xn--` form, so that a look-alike
 * cannot hide in it), and no `..` or `%2e` in the path (which a browser or the app's router
 * would resolve to another path than the one approved).
 * Throws 400 `Invalid request` with a `detail` naming the field and the problem.
 */
export function checkRedirectUris(uris: readonly string[], { field = 'redirect_uris', allowEmpty = false } = {}): void {
  const minimum = allowEmpty ? 0 : 1;
  if (uris.length < minimum || uris.length > MAX_REDIRECT_URIS) throw InvalidRequest({ detail: `${field}: between ${minimum} and ${MAX_REDIRECT_URIS} URIs` });
  if (new Set(uris).size !== uris.length) throw InvalidRequest({ detail: `${field}: each URI once` });
  for (const uri of uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw InvalidRequest({ detail: `${field}: ${uri.slice(0, 200)} ${problem}` });
  }
}

/** The scheme, authority and path of an absolute URI, as written (the URL parser would normalise them). */
function rawParts(uri: string): { scheme: string; host: string; path: string } {
  const [, scheme = '', authority = '', path = ''] = /^([^:]*):\/\/([^/?#]*)([^?#]*)/.exec(uri) ?? [];
  // The host: after any credentials, before the port (an IPv6 literal keeps its brackets).
  const host = authority.replace(/^.*@/, '').replace(/:\d*$/, '');
  return { scheme, host, path };
}

function redirectUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `must be at most ${MAX_REDIRECT_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'must not contain whitespace or control characters';
  if (!/^https?:\/\//i.test(uri)) return 'must be an absolute https URL (http only for localhost)';
  if (uri.includes('*')) return 'must not contain * (redirect URIs are matched exactly, there are no wildcards)';
  const raw = rawParts(uri);
  if (raw.scheme !== raw.scheme.toLowerCase() || raw.host !== raw.host.toLowerCase()) return 'must have its scheme and host in lower case';
  // eslint-disable-next-line no-control-regex -- anything beyond ASCII is what is refused
  if (/[^\u0000-\u007f]/.test(raw.host)) return 'must have an ASCII host (an international domain in its xn-- form)';
  if (raw.path.includes('..') || /%2e/i.test(raw.path)) return 'must not have .. or %2e in its path';
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
