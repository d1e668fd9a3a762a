// The hosted login pages: plain HTML forms that work without JavaScript. Every value is
// escaped; the page loads nothing but its own stylesheet (see the CSP in app.ts).
import { AUTHORIZATION_FIELDS, type AuthorizationRequest } from '../oauth/authorization-request.ts';
import { field, type Fields } from '../http/fields.ts';
import { escapeHtml } from '../http/html.ts';
import { translator, type Locale, type MessageKey, type Translator } from './i18n.ts';
import { MAX_NAME_LENGTH } from '../users/profile.ts';
import { MAX_PASSKEY_NAME_LENGTH } from '../users/passkeys.ts';
import { brandStylesheetPath, projectBrand } from './brand.ts';

export { STYLESHEET } from './stylesheet.ts';

/** What the card shows above a page: the project's name, and its logo when set; its colour, when set, restyles the button and links. */
export interface PageBrand {
  name: string;
  logoUrl?: string | undefined;
  /** `#rrggbb`: its stylesheet (src/pages/brand.ts) is linked after the main one */
  color?: string | undefined;
}

/**
 * The frame every hosted page shares (the account page's too): one centred card, with the
 * project's name and logo on top when the page belongs to a project.
 */
export function layout(title: string, body: string, locale: Locale = 'en', brand?: PageBrand, head = ''): string {
  const header =
    brand === undefined
      ? ''
      : `<header class="brand">${brand.logoUrl ? `<img class="logo" src="${escapeHtml(brand.logoUrl)}" alt="" width="40" height="40">` : ''}<span class="brand-name">${escapeHtml(brand.name)}</span></header>\n`;
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
${head}<link rel="stylesheet" href="/assets/gatehouse.css">
${brand?.color ? `<link rel="stylesheet" href="${escapeHtml(brandStylesheetPath(brand.color))}">\n` : ''}</head>
<body>
<main class="card">
${header}${body}
</main>
</body>
</html>`;
}

function hiddenFields(fields: Fields): string {
  return AUTHORIZATION_FIELDS.map((name) => {
    const value = field(fields, name);
    return value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  }).join('\n');
}

function brandOf(authorization: AuthorizationRequest): PageBrand {
  return projectBrand(authorization.project);
}

/** Which form an error belongs to, so it is shown next to that form. */
export type LoginForm = 'password' | 'magic-link' | 'pin' | 'register' | 'passkey';

interface LoginPageOptions {
  authorization: AuthorizationRequest;
  /** the authorization parameters as received, carried along in hidden fields */
  fields: Fields;
  error?: { form: LoginForm; message: string };
  email?: string;
  /** the PIN form: `pin` allowed and an active PIN (showPinForm) */
  showPin?: boolean;
  /** accounts.md: the password sign-in was refused for an unverified email; offer to mail the link again */
  offerVerificationMail?: boolean;
  /** the page's language (localeOf); English when not given */
  locale?: Locale;
  /** "Back to <app>": the app's redirect_uri with error=access_denied (backToAppUrl) */
  backTo?: string;
  /** federation.md: the upstream providers the project offers, a "Continue with <name>" each */
  connections?: ReadonlyArray<{ id: string; name: string }>;
}

/**
 * "Continue with <provider>": links, not forms, because the start answers a redirect to the
 * provider, which a form's `form-action` would have to allow (the page allows only the app).
 */
function providerLinks(connections: LoginPageOptions['connections'], query: string, tr: Translator): string {
  if (!connections || connections.length === 0) return '';
  const links = connections
    .map((c) => `<li><a class="provider" href="/connections/${encodeURIComponent(c.id)}/start?${query}">${escapeHtml(tr.t('login.continue_with', { provider: c.name }))}</a></li>`)
    .join('\n');
  return `<section id="providers" aria-labelledby="providers-title">
<h2 id="providers-title">${escapeHtml(tr.t('login.providers_heading'))}</h2>
<ul class="providers">
${links}
</ul>
</section>
`;
}

function errorHtml(message: string | undefined, id: string, tr: Translator): { html: string; describedBy: string } {
  if (message === undefined) return { html: '', describedBy: '' };
  return {
    html: `<p class="error" role="alert" id="${id}">${escapeHtml(tr.error(message))}</p>\n`,
    describedBy: ` aria-describedby="${id}"`,
  };
}

function errorFor(options: LoginPageOptions, form: LoginForm, id: string, tr: Translator): { html: string; describedBy: string } {
  return errorHtml(options.error?.form === form ? options.error.message : undefined, id, tr);
}

/** The app's redirect_uri with error=access_denied, state and iss (RFC 6749 §4.1.2.1, RFC 9207): "Back to <app>". */
export function backToAppUrl(authorization: AuthorizationRequest, issuer: string): string {
  const target = new URL(authorization.redirectUri);
  target.searchParams.set('error', 'access_denied');
  if (authorization.state !== undefined) target.searchParams.set('state', authorization.state);
  target.searchParams.set('iss', issuer);
  return target.toString();
}

function backLink(backTo: string | undefined, app: string, tr: Translator): string {
  return backTo === undefined ? '' : `<p class="back"><a href="${escapeHtml(backTo)}">${escapeHtml(tr.t('page.back_to_app', { app }))}</a></p>\n`;
}

export function renderLoginPage(options: LoginPageOptions): string {
  const { project } = options.authorization;
  const tr = translator(options.locale ?? 'en');
  const hidden = hiddenFields(options.fields);
  const email = escapeHtml(options.email ?? '');
  const password = errorFor(options, 'password', 'password-error', tr);
  const magic = errorFor(options, 'magic-link', 'magic-error', tr);
  const pin = errorFor(options, 'pin', 'pin-error', tr);
  const passkey = errorFor(options, 'passkey', 'passkey-error', tr);
  const query = escapeHtml(authorizationQuery(options.fields));

  const methods = project.login_methods;
  const showPin = options.showPin === true || (options.error?.form === 'pin' && methods.includes('pin'));
  const shown: Record<LoginForm, boolean> = {
    password: methods.includes('password'),
    'magic-link': methods.includes('magic_link'),
    pin: showPin,
    register: project.registration_open && methods.includes('password'),
    passkey: methods.includes('passkey'),
  };
  // An error of a form that is not on the page (a method switched off, or the register page's) is shown at the top.
  const orphan = options.error && (options.error.form === 'register' || !shown[options.error.form]) ? errorHtml(options.error.message, 'page-error', tr).html : '';
  const sections: Array<{ form: LoginForm; html: string }> = [];
  if (shown.password) {
    sections.push({
      form: 'password',
      html: `<section id="password" aria-labelledby="password-title">
<h2 id="password-title">${escapeHtml(tr.t('login.password_heading'))}</h2>
${password.html}<form method="post" action="/login">
${hidden}
<label for="login-email">${escapeHtml(tr.t('field.email'))}</label>
<input id="login-email" name="email" type="email" autocomplete="username" required value="${email}"${password.describedBy}>
<label for="login-password">${escapeHtml(tr.t('field.password'))}</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required${password.describedBy}>
<p class="aside"><a href="/password-reset?${query}">${escapeHtml(tr.t('login.forgot_password'))}</a></p>
<button type="submit" class="primary">${escapeHtml(tr.t('login.password_submit'))}</button>
</form>
${options.offerVerificationMail ? resendVerificationForm(hidden, options.email ?? '', tr) : ''}</section>
`,
    });
  }
  if (shown.passkey) {
    // mfa.md: a passkey alone signs in; the section needs the page script, which shows it.
    sections.push({
      form: 'passkey',
      html: `<section id="passkey" aria-labelledby="passkey-title" data-passkey-shown hidden>
<h2 id="passkey-title">${escapeHtml(tr.t('login.passkey_heading'))}</h2>
${passkey.html}${passkeyAuthenticationForm(tr, { action: '/login/passkey', options: '/login/passkey/options', hidden, submit: tr.t('login.passkey_submit') })}
</section>
`,
    });
  }
  if (shown['magic-link']) {
    sections.push({
      form: 'magic-link',
      html: `<section id="magic-link" aria-labelledby="magic-title">
<h2 id="magic-title">${escapeHtml(tr.t('login.magic_heading'))}</h2>
${magic.html}<form method="post" action="/magic-link">
${hidden}
<label for="magic-email">${escapeHtml(tr.t('field.email'))}</label>
<input id="magic-email" name="email" type="email" autocomplete="email" required value="${email}"${magic.describedBy}>
<button type="submit" class="secondary">${escapeHtml(tr.t('login.magic_submit'))}</button>
</form>
</section>
`,
    });
  }
  if (shown.pin) {
    sections.push({
      form: 'pin',
      html: `<section id="pin" aria-labelledby="pin-title">
<h2 id="pin-title">${escapeHtml(tr.t('login.pin_heading'))}</h2>
${pin.html}<form method="post" action="/login/pin">
${hidden}
<label for="pin-value">${escapeHtml(tr.t('field.pin'))}</label>
<input id="pin-value" name="pin" type="password" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" required${pin.describedBy}>
<button type="submit" class="secondary">${escapeHtml(tr.t('login.pin_submit'))}</button>
</form>
</section>
`,
    });
  }
  // After a reload with an error, its form comes first in the card, so that it is in view on a phone.
  const failed = options.error?.form;
  sections.sort((a, b) => Number(b.form === failed) - Number(a.form === failed));
  const registration = shown.register ? `<p class="register-link">${escapeHtml(tr.t('login.no_account'))} <a href="/register?${query}">${escapeHtml(tr.t('register.heading'))}</a></p>\n` : '';
  const title = tr.t('page.sign_in_to', { app: project.name });
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${orphan}${sections.map((section) => section.html).join('')}${providerLinks(options.connections, query, tr)}${registration}${backLink(options.backTo, project.name, tr)}${shown.passkey ? passkeyScriptTag() : ''}`,
    tr.locale,
    brandOf(options.authorization),
  );
}

interface RegisterPageOptions {
  authorization: AuthorizationRequest;
  fields: Fields;
  error?: string;
  email?: string;
  locale?: Locale;
  backTo?: string;
}

/** GET /register: "Create an account" of the login page, a page of its own with the authorization parameters kept. */
export function renderRegisterPage(options: RegisterPageOptions): string {
  const { project } = options.authorization;
  const tr = translator(options.locale ?? 'en');
  const error = errorHtml(options.error, 'register-error', tr);
  const title = tr.t('register.title', { app: project.name });
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<section id="register" aria-labelledby="register-title">
<h2 id="register-title" class="visually-hidden">${escapeHtml(tr.t('register.heading'))}</h2>
${error.html}<form method="post" action="/register">
${hiddenFields(options.fields)}
<label for="register-email">${escapeHtml(tr.t('field.email'))}</label>
<input id="register-email" name="email" type="email" autocomplete="email" required value="${escapeHtml(options.email ?? '')}"${error.describedBy}>
<label for="register-name">${escapeHtml(tr.t('field.name'))}</label>
<input id="register-name" name="name" type="text" autocomplete="name" maxlength="${MAX_NAME_LENGTH}">
<label for="register-password">${escapeHtml(tr.t('field.password'))}</label>
<input id="register-password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required aria-describedby="register-password-hint${options.error !== undefined ? ' register-error' : ''}">
<p class="hint" id="register-password-hint">${escapeHtml(tr.t('register.password_hint'))}</p>
<button type="submit" class="primary">${escapeHtml(tr.t('register.submit'))}</button>
</form>
</section>
<p class="register-link">${escapeHtml(tr.t('register.have_account'))} <a href="/authorize?${escapeHtml(authorizationQuery(options.fields))}">${escapeHtml(tr.t('register.sign_in_link'))}</a></p>
${backLink(options.backTo, project.name, tr)}`,
    tr.locale,
    brandOf(options.authorization),
  );
}

/** prompt=select_account with a browser session (docs/sso.md): go on as its person, or sign in as another. */
export function renderSelectAccountPage(options: { authorization: AuthorizationRequest; fields: Fields; email: string; locale?: Locale; backTo?: string }): string {
  const { project } = options.authorization;
  const tr = translator(options.locale ?? 'en');
  const hidden = hiddenFields(options.fields);
  const title = tr.t('page.sign_in_to', { app: project.name });
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<form method="post" action="/authorize">
${hidden}
<button type="submit" class="primary">${escapeHtml(tr.t('select_account.continue_as', { email: options.email }))}</button>
</form>
<form method="get" action="/authorize">
${hidden}
<input type="hidden" name="prompt" value="login">
<button type="submit" class="secondary">${escapeHtml(tr.t('select_account.other'))}</button>
</form>
${backLink(options.backTo, project.name, tr)}`,
    tr.locale,
    brandOf(options.authorization),
  );
}

export function renderErrorPage(status: number, message: string, hint?: string, locale: Locale = 'en', brand?: PageBrand): string {
  const tr = translator(locale);
  // With a hint for the developer, the message is the heading (sso.md "PKCE"); the hint stays as written.
  if (hint !== undefined) {
    return layout(
      tr.t('page.problem_title'),
      `<h1 class="error" role="alert">${escapeHtml(tr.error(message))}</h1>
<p class="hint">${escapeHtml(hint)}</p>
<p class="status">${escapeHtml(tr.t('page.status', { status }))}</p>`,
      locale,
      brand,
    );
  }
  return layout(
    tr.t('page.problem_title'),
    `<h1>${escapeHtml(tr.t('page.problem_heading'))}</h1>
<p class="error" role="alert">${escapeHtml(tr.error(message))}</p>
<p class="status">${escapeHtml(tr.t('page.problem_status', { status }))}</p>`,
    locale,
    brand,
  );
}

export function renderMessagePage(title: string, paragraphs: string[], locale: Locale = 'en', brand?: PageBrand): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}`, locale, brand);
}

/** A page with one button that posts a mailed link's token (a scanner opening the link proves nothing). */
function tokenButtonPage(tr: Translator, keys: { title: MessageKey; text: MessageKey; submit: MessageKey }, action: string, token: string, brand?: PageBrand): string {
  return layout(
    tr.t(keys.title),
    `<h1>${escapeHtml(tr.t(keys.title))}</h1>
<p>${escapeHtml(tr.t(keys.text))}</p>
<form method="post" action="${action}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit" class="primary">${escapeHtml(tr.t(keys.submit))}</button>
</form>`,
    tr.locale,
    brand,
  );
}

export function renderMagicLinkConfirmPage(token: string, locale: Locale = 'en', brand?: PageBrand): string {
  return tokenButtonPage(translator(locale), { title: 'magic.confirm_title', text: 'magic.confirm_text', submit: 'magic.confirm_submit' }, '/magic-link/verify', token, brand);
}

function authorizationQuery(fields: Fields): string {
  const query = new URLSearchParams();
  for (const name of AUTHORIZATION_FIELDS) {
    const value = field(fields, name);
    if (value !== undefined) query.set(name, value);
  }
  return query.toString();
}

/** "Send the link again" beside the 403 Email not verified of a sign-in (accounts.md). */
function resendVerificationForm(hidden: string, email: string, tr: Translator): string {
  return `<form method="post" action="/verify-email/resend">
${hidden}
<input type="hidden" name="email" value="${escapeHtml(email)}">
<button type="submit" class="secondary">${escapeHtml(tr.t('verify.resend_submit'))}</button>
</form>
`;
}

/** GET /password-reset: "Forgot password?" leads here, with the authorization parameters kept. */
export function renderPasswordResetPage(options: { authorization: AuthorizationRequest; fields: Fields; error?: string; email?: string; locale?: Locale }): string {
  const { project } = options.authorization;
  const tr = translator(options.locale ?? 'en');
  const error = errorHtml(options.error, 'reset-error', tr);
  const title = tr.t('reset.title', { app: project.name });
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(tr.t('reset.intro'))}</p>
${error.html}<form method="post" action="/password-reset">
${hiddenFields(options.fields)}
<label for="reset-email">${escapeHtml(tr.t('field.email'))}</label>
<input id="reset-email" name="email" type="email" autocomplete="email" required value="${escapeHtml(options.email ?? '')}"${error.describedBy}>
<button type="submit" class="primary">${escapeHtml(tr.t('reset.submit'))}</button>
</form>
<p class="back"><a href="/authorize?${escapeHtml(authorizationQuery(options.fields))}">${escapeHtml(tr.t('reset.back_to_sign_in'))}</a></p>`,
    tr.locale,
    brandOf(options.authorization),
  );
}

/** GET /password-reset/verify with a live token: the new-password form (the token is used by its post only). */
export function renderNewPasswordPage(token: string, error?: string, locale: Locale = 'en', brand?: PageBrand): string {
  const tr = translator(locale);
  const shown = errorHtml(error, 'new-password-error', tr);
  return layout(
    tr.t('reset.new_title'),
    `<h1>${escapeHtml(tr.t('reset.new_title'))}</h1>
${shown.html}<form method="post" action="/password-reset/verify">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label for="new-password">${escapeHtml(tr.t('account.field.new_password'))}</label>
<input id="new-password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required aria-describedby="new-password-hint${error !== undefined ? ' new-password-error' : ''}">
<p class="hint" id="new-password-hint">${escapeHtml(tr.t('reset.new_hint'))}</p>
<button type="submit" class="primary">${escapeHtml(tr.t('reset.new_submit'))}</button>
</form>`,
    locale,
    brand,
  );
}

/** GET /verify-email with a live token: a button, so that a mail scanner opening the link proves nothing. */
export function renderVerifyEmailConfirmPage(token: string, locale: Locale = 'en', brand?: PageBrand): string {
  return tokenButtonPage(translator(locale), { title: 'verify.confirm_title', text: 'verify.confirm_text', submit: 'verify.confirm_submit' }, '/verify-email', token, brand);
}

/** GET /logout when the request does not show it is this browser's person asking (docs/sso.md). */
export function renderLogoutConfirmPage(fields: Record<string, string>, locale: Locale = 'en', brand?: PageBrand): string {
  const tr = translator(locale);
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return layout(
    tr.t('logout.confirm_title'),
    `<h1>${escapeHtml(tr.t('logout.confirm_heading'))}</h1>
<p>${escapeHtml(tr.t('logout.confirm_text'))}</p>
<form method="post" action="/logout">
${hidden}
<button type="submit" class="primary">${escapeHtml(tr.t('logout.confirm_submit'))}</button>
</form>`,
    locale,
    brand,
  );
}

/**
 * mfa.md: the second step after the first factor. A code field for the authenticator app, "Use a
 * passkey" (run by the page script) and, behind "Use a recovery code" (a <details>, so no script
 * is needed), one for a recovery code; each only when the person has it. All post the mfa_token to
 * /login/mfa, which answers a redirect to the app.
 */
export function renderSecondStepPage(options: {
  mfaToken: string;
  methods: readonly string[];
  /** the project's name, logo and colour (accounts.md "Branding") */
  brand: PageBrand;
  locale: Locale;
  /** ui_locales as received, carried so that the answer keeps the language */
  uiLocales?: string | undefined;
  error?: { message: string; form: 'totp' | 'recovery_code' | 'passkey' };
}): string {
  const tr = translator(options.locale);
  const hidden = `<input type="hidden" name="mfa_token" value="${escapeHtml(options.mfaToken)}">${options.uiLocales !== undefined ? `\n<input type="hidden" name="ui_locales" value="${escapeHtml(options.uiLocales)}">` : ''}`;
  const totpError = errorHtml(options.error?.form === 'totp' ? options.error.message : undefined, 'totp-error', tr);
  const recoveryError = errorHtml(options.error?.form === 'recovery_code' ? options.error.message : undefined, 'recovery-error', tr);
  const passkeyError = errorHtml(options.error?.form === 'passkey' ? options.error.message : undefined, 'passkey-error', tr);
  const hasTotp = options.methods.includes('totp');
  const recovery = options.methods.includes('recovery_code')
    ? `<details${options.error?.form === 'recovery_code' ? ' open' : ''}>
<summary>${escapeHtml(tr.t('mfa.use_recovery'))}</summary>
${recoveryError.html}<form method="post" action="/login/mfa">
${hidden}
<label for="recovery-code">${escapeHtml(tr.t('mfa.field.recovery_code'))}</label>
<input id="recovery-code" name="recovery_code" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="32" required${recoveryError.describedBy}>
<button type="submit">${escapeHtml(tr.t('mfa.recovery_submit'))}</button>
</form>
</details>`
    : '';
  const totp = hasTotp
    ? `${totpError.html}<form method="post" action="/login/mfa">
${hidden}
<label for="totp-code">${escapeHtml(tr.t('mfa.field.code'))}</label>
<input id="totp-code" name="totp_code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus aria-describedby="totp-hint${totpError.describedBy ? ' totp-error' : ''}">
<p class="hint" id="totp-hint">${escapeHtml(tr.t('mfa.text'))}</p>
<button type="submit" class="primary">${escapeHtml(tr.t('mfa.submit'))}</button>
</form>
`
    : '';
  const passkey = options.methods.includes('passkey')
    ? `${passkeyError.html}${hasTotp ? '' : `<p>${escapeHtml(tr.t('mfa.or_passkey'))}</p>\n`}${passkeyAuthenticationForm(tr, { action: '/login/mfa', options: '/login/mfa/passkey/options', hidden, submit: tr.t('mfa.use_passkey'), primary: !hasTotp })}
${hasTotp ? '' : passkeyNeedsScript(tr)}
`
    : '';
  return layout(
    tr.t('mfa.title'),
    `<h1>${escapeHtml(tr.t('mfa.title'))}</h1>
${totp}${passkey}${recovery}${passkey !== '' ? passkeyScriptTag() : ''}`,
    tr.locale,
    options.brand,
  );
}

/** The page script of the passkey forms (/assets/passkeys.js, docs/decisions/0096): from our origin, never inline. */
export function passkeyScriptTag(): string {
  return '<script src="/assets/passkeys.js" defer></script>';
}

/** Where passkeys cannot work (no script, no WebAuthn), this says so; the script hides it. */
function passkeyNeedsScript(tr: Translator): string {
  return `<p class="hint" data-passkey-needs-script>${escapeHtml(tr.t('passkey.needs_script'))}</p>`;
}

function passkeyErrorSlot(): string {
  return '<p class="error" role="alert" data-passkey-error hidden></p>';
}

/**
 * A form that adds a passkey: hidden until the page script shows it, which then fetches the
 * registration options from `options` (posting the form's hidden fields), asks the browser for a
 * new credential and posts the form with its answer in `registration_response`.
 */
export function passkeyRegistrationForm(tr: Translator, form: { action: string; options: string; hidden: string; submit: string }): string {
  return `${passkeyNeedsScript(tr)}
<form method="post" action="${escapeHtml(form.action)}" data-passkey="register" data-options="${escapeHtml(form.options)}" data-response="registration_response" data-error-text="${escapeHtml(tr.t('passkey.failed'))}" data-passkey-shown hidden>
${form.hidden}
<input type="hidden" name="registration_response" value="">
${passkeyErrorSlot()}
<label for="passkey-new-name">${escapeHtml(tr.t('account.passkey_name'))}</label>
<input id="passkey-new-name" name="name" type="text" maxlength="${MAX_PASSKEY_NAME_LENGTH}" required aria-describedby="passkey-new-name-hint">
<p class="hint" id="passkey-new-name-hint">${escapeHtml(tr.t('account.passkey_name_hint'))}</p>
<button type="submit">${escapeHtml(form.submit)}</button>
</form>`;
}

/** A form that signs in (or takes the second step) with a passkey, run by the page script like the one above. */
function passkeyAuthenticationForm(tr: Translator, form: { action: string; options: string; hidden: string; submit: string; primary?: boolean }): string {
  return `<form method="post" action="${escapeHtml(form.action)}" data-passkey="authenticate" data-options="${escapeHtml(form.options)}" data-response="passkey_response" data-error-text="${escapeHtml(tr.t('passkey.failed'))}" data-passkey-shown hidden>
${form.hidden}
<input type="hidden" name="passkey_response" value="">
${passkeyErrorSlot()}
<button type="submit"${form.primary ? ' class="primary"' : ' class="secondary"'}>${escapeHtml(form.submit)}</button>
</form>`;
}

/**
 * mfa.md "Per project": a person with no second factor signing in to a project that requires one
 * adds one here, then goes on (docs/decisions/0099). The authenticator app works without script
 * (the QR code and the key, then its first code); a passkey needs the page script.
 */
export function renderEnrolmentPage(options: {
  enrolToken: string;
  brand: PageBrand;
  locale: Locale;
  totp: { secret: string; qrDataUri: string };
  error?: { message: string; form: 'totp' | 'passkey' };
}): string {
  const tr = translator(options.locale);
  const hidden = `<input type="hidden" name="enrol_token" value="${escapeHtml(options.enrolToken)}">`;
  const totpError = errorHtml(options.error?.form === 'totp' ? options.error.message : undefined, 'enrol-totp-error', tr);
  const passkeyError = errorHtml(options.error?.form === 'passkey' ? options.error.message : undefined, 'enrol-passkey-error', tr);
  const title = tr.t('mfa.enroll_title');
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(tr.t('mfa.enroll_choose', { app: options.brand.name }))}</p>
<section aria-labelledby="enrol-totp-title">
<h2 id="enrol-totp-title">${escapeHtml(tr.t('mfa.enroll_totp_heading'))}</h2>
<p id="enrol-scan">${escapeHtml(tr.t('account.mfa_scan'))}</p>
<p><img class="qr" src="${escapeHtml(options.totp.qrDataUri)}" alt="${escapeHtml(tr.t('account.mfa_qr_alt'))}" width="200" height="200"></p>
<p><code class="totp-key">${escapeHtml(tr.t('account.mfa_key', { key: options.totp.secret.replace(/(.{4})/g, '$1 ').trim() }))}</code></p>
${totpError.html}<form method="post" action="/login/mfa/enroll/totp">
${hidden}
<label for="enrol-code">${escapeHtml(tr.t('mfa.field.code'))}</label>
<input id="enrol-code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required aria-describedby="enrol-scan${totpError.describedBy ? ' enrol-totp-error' : ''}">
<button type="submit" class="primary">${escapeHtml(tr.t('account.mfa_confirm'))}</button>
</form>
</section>
<section aria-labelledby="enrol-passkey-title">
<h2 id="enrol-passkey-title">${escapeHtml(tr.t('mfa.enroll_passkey_heading'))}</h2>
${passkeyError.html}${passkeyRegistrationForm(tr, { action: '/login/mfa/enroll/passkey', options: '/login/mfa/enroll/passkey/options', hidden, submit: tr.t('account.passkey_add') })}
</section>
${passkeyScriptTag()}`,
    tr.locale,
    options.brand,
  );
}

/** After the enrolment: the recovery codes, shown this once, and the button that goes on to the app. */
export function renderEnrolledPage(options: { enrolToken: string; brand: PageBrand; locale: Locale; recoveryCodes: readonly string[] | undefined }): string {
  const tr = translator(options.locale);
  const codes =
    options.recoveryCodes === undefined
      ? ''
      : `<h2 id="recovery-title">${escapeHtml(tr.t('account.recovery_heading'))}</h2>
<p role="status">${escapeHtml(tr.t('account.recovery_shown_once'))}</p>
<ul class="recovery-codes" aria-labelledby="recovery-title">
${options.recoveryCodes.map((code) => `<li><code>${escapeHtml(code)}</code></li>`).join('\n')}
</ul>
`;
  const title = tr.t('mfa.enroll_title');
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${codes}<form method="post" action="/login/mfa/enroll/continue">
<input type="hidden" name="enrol_token" value="${escapeHtml(options.enrolToken)}">
<button type="submit" class="primary">${escapeHtml(tr.t('mfa.enroll_continue', { app: options.brand.name }))}</button>
</form>`,
    tr.locale,
    options.brand,
  );
}

/**
 * federation.md: the end of a journey through an upstream provider, on the way to the app. A page
 * that moves on by itself (meta refresh, no script), not a redirect: the provider's sign-in page
 * may have posted a form, and a browser holds the whole redirect chain of a form post to that
 * page's form-action, which cannot name the app (docs/decisions/0126-the-callback-continues-by-a-page.md).
 */
export function renderContinuePage(location: string, appName: string, locale: Locale = 'en', brand?: PageBrand): string {
  const tr = translator(locale);
  const url = escapeHtml(location);
  return layout(
    tr.t('federation.continue_title', { app: appName }),
    `<h1>${escapeHtml(tr.t('federation.continue_title', { app: appName }))}</h1>
<p role="status">${escapeHtml(tr.t('federation.continue_text', { app: appName }))}</p>
<p><a class="provider" href="${url}">${escapeHtml(tr.t('federation.continue_link', { app: appName }))}</a></p>`,
    locale,
    brand,
    `<meta http-equiv="refresh" content="0; url=${url}">\n`,
  );
}
