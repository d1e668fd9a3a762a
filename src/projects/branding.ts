// What a project's branding may be (accounts.md "The hosted pages, redesigned"): the logo its
// hosted pages show, and the colour of their primary button and links. Every front door that
// sets them (the admin API, the command line) checks them here; the pages trust what is stored.
import { InvalidRequest } from '../errors.ts';

export const MAX_LOGO_URL_LENGTH = 2048;
/** `#rrggbb`, either case on the way in; stored in lower case. */
export const BRAND_COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** http only where the browser and the logo are on one machine (docs/decisions/0085). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);
/** printable ASCII without spaces: an IDN host is given as its punycode (xn--…) */
const ASCII_URL = /^[\x21-\x7e]+$/;

function logoProblem(value: string): string | undefined {
  if (value.length > MAX_LOGO_URL_LENGTH) return `at most ${MAX_LOGO_URL_LENGTH} characters`;
  if (!ASCII_URL.test(value)) return 'must be ASCII without spaces (an international host as its xn-- form)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return 'must use https (http only for localhost or 127.0.0.1)';
  if (url.username !== '' || url.password !== '') return 'must not hold credentials';
  if (value.includes('#')) return 'must not have a fragment';
  // A CSP source expression cannot name an IPv6 address, so the page could not allow it.
  if (url.hostname.startsWith('[')) return 'must name its host by name or IPv4 address';
  if (url.href.length > MAX_LOGO_URL_LENGTH) return `at most ${MAX_LOGO_URL_LENGTH} characters`;
  return undefined;
}

/** A logo URL as it is stored (the URL's normal form), or null to clear it. Throws 400 Invalid request. */
export function checkLogoUrl(value: string | null): string | null {
  if (value === null) return null;
  const problem = logoProblem(value);
  if (problem) throw InvalidRequest({ detail: `logo_url ${problem}` });
  return new URL(value).href;
}

/** A brand colour as it is stored (lower case), or null to clear it. Throws 400 Invalid request. */
export function checkBrandColor(value: string | null): string | null {
  if (value === null) return null;
  if (!BRAND_COLOR_PATTERN.test(value)) throw InvalidRequest({ detail: 'brand_color must be #rrggbb (six hexadecimal digits)' });
  return value.toLowerCase();
}

/** The branding fields given, checked and in their stored form; the others left out. */
export function checkBranding<T extends { logo_url?: string | null | undefined; brand_color?: string | null | undefined }>(input: T): T {
  return {
    ...input,
    ...(input.logo_url !== undefined ? { logo_url: checkLogoUrl(input.logo_url) } : {}),
    ...(input.brand_color !== undefined ? { brand_color: checkBrandColor(input.brand_color) } : {}),
  };
}
