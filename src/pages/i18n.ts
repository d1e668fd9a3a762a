// The languages of the hosted pages and mails (accounts.md "Languages"): one catalogue per
// language under locales/, English the reference. The language is chosen by `ui_locales` (the
// authorization request's list, in order), then the browser's `Accept-Language` (by q-value),
// then English.
import { field, type Fields } from '../http/fields.ts';
import { de } from './locales/de.ts';
import { en } from './locales/en.ts';
import { es } from './locales/es.ts';
import { fr } from './locales/fr.ts';

export const LOCALES = ['en', 'de', 'fr', 'es'] as const;
export type Locale = (typeof LOCALES)[number];
export type MessageKey = keyof typeof en;
/** A catalogue has every key of the English one; the type says so, and test/i18n.test.ts checks it again at run time. */
export type Catalogue = Record<MessageKey, string>;

export const CATALOGUES: Record<Locale, Catalogue> = { en, de, fr, es };

function isLocale(tag: string): tag is Locale {
  return (LOCALES as readonly string[]).includes(tag);
}

/** The supported language a BCP 47 tag asks for ("de-AT" → de), if any. */
function supported(tag: string): Locale | undefined {
  const primary = tag.trim().toLowerCase().split('-')[0] ?? '';
  return isLocale(primary) ? primary : undefined;
}

/** The header's languages, best first (RFC 9110 §12.5.4); malformed entries are skipped, q=0 excluded. */
function acceptedLanguages(header: string): string[] {
  const entries: Array<{ tag: string; q: number; order: number }> = [];
  header
    .split(',')
    .slice(0, 50)
    .forEach((part, order) => {
      const [tag = '', ...params] = part.split(';');
      let q = 1;
      for (const param of params) {
        const match = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(param);
        if (match?.[1] !== undefined) q = Number(match[1]);
      }
      if (/^\s*[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*\s*$/.test(tag) && q > 0) entries.push({ tag: tag.trim(), q, order });
    });
  return entries.sort((a, b) => b.q - a.q || a.order - b.order).map((entry) => entry.tag);
}

export function chooseLocale(input: { uiLocales?: string | undefined; acceptLanguage?: string | undefined }): Locale {
  for (const tag of (input.uiLocales ?? '').split(' ').slice(0, 20)) {
    const locale = supported(tag);
    if (locale) return locale;
  }
  for (const tag of acceptedLanguages(input.acceptLanguage ?? '')) {
    const locale = supported(tag);
    if (locale) return locale;
  }
  return 'en';
}

/** The language of a request: its authorization request's `ui_locales`, then its `Accept-Language`. */
export function localeOf(fields: Fields | undefined, headers: Record<string, string | string[] | undefined>): Locale {
  const accept = headers['accept-language'];
  return chooseLocale({ uiLocales: fields ? field(fields, 'ui_locales') : undefined, acceptLanguage: Array.isArray(accept) ? accept.join(',') : accept });
}

export interface Translator {
  readonly locale: Locale;
  /** The text of a key, with each `{name}` replaced by vars.name (plain text: the caller escapes for HTML). */
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** A lifetime in words: "15 minutes", "1 Stunde". */
  lifetime(seconds: number): string;
  /** An error message of the catalogue in src/errors.ts, in this language (unknown ones as given). */
  error(message: string): string;
}

/** The error messages a page can show, by their English text (the JSON contract keeps the English). */
const ERROR_KEYS: Record<string, MessageKey> = {
  'Missing or invalid parameters': 'error.missing_or_invalid_parameters',
  'Only S256 code_challenge_method is supported': 'error.only_s256',
  'Invalid client_id': 'error.invalid_client_id',
  'Invalid redirect_uri': 'error.invalid_redirect_uri',
  'Invalid credentials': 'error.invalid_credentials',
  'Account blocked': 'error.account_blocked',
  'Not a member': 'error.not_a_member',
  'Invalid PIN': 'error.invalid_pin',
  'PIN revoked': 'error.pin_revoked',
  'Email already registered': 'error.email_already_registered',
  'Invalid password': 'error.invalid_password',
  'Registration closed': 'error.registration_closed',
  'Invalid or expired token': 'error.invalid_or_expired_token',
  'Email not verified': 'error.email_not_verified',
  'Rate limited': 'error.rate_limited',
  'Invalid request': 'error.invalid_request',
  'Invalid post_logout_redirect_uri': 'error.invalid_post_logout_redirect_uri',
  'Login method not allowed': 'error.login_method_not_allowed',
  'Forbidden': 'error.forbidden',
  'Service unavailable': 'error.service_unavailable',
  'Internal error': 'error.internal_error',
  'Invalid code': 'error.invalid_code',
  'MFA enrollment required': 'error.mfa_enrollment_required',
  'Sign-in provider unavailable': 'error.upstream_unavailable',
};

export function translator(locale: Locale): Translator {
  const catalogue = CATALOGUES[locale];
  const t = (key: MessageKey, vars?: Record<string, string | number>): string =>
    vars === undefined ? catalogue[key] : catalogue[key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
  const plural = new Intl.PluralRules(locale);
  const unit = (count: number, one: MessageKey, other: MessageKey) => t(plural.select(count) === 'one' ? one : other, { count });
  return {
    locale,
    t,
    lifetime(seconds) {
      if (seconds % 3600 === 0) return unit(seconds / 3600, 'time.hours.one', 'time.hours.other');
      if (seconds % 60 === 0) return unit(seconds / 60, 'time.minutes.one', 'time.minutes.other');
      return unit(seconds, 'time.seconds.one', 'time.seconds.other');
    },
    error(message) {
      const key = ERROR_KEYS[message];
      return key === undefined ? message : catalogue[key];
    },
  };
}

/** The keys that name an error message: test/i18n.test.ts checks each maps to a message of src/errors.ts. */
export const TRANSLATED_ERRORS: readonly string[] = Object.keys(ERROR_KEYS);

/** The language of a page answering this request: its fields' `ui_locales` (query or form), then `Accept-Language`. */
export function requestLocale(request: { method: string; query: unknown; body: unknown; headers: Record<string, string | string[] | undefined> }): Locale {
  const source = request.method === 'GET' || request.method === 'HEAD' ? request.query : request.body;
  const fields = source !== null && typeof source === 'object' && !Array.isArray(source) ? (source as Fields) : undefined;
  return localeOf(fields, request.headers);
}
