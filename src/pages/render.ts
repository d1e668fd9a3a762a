// The hosted login pages: plain HTML forms that work without JavaScript. Every value is
// escaped; the page loads nothing but its own stylesheet (see the CSP in app.ts).
import { AUTHORIZATION_FIELDS, type AuthorizationRequest } from '../oauth/authorization-request.ts';
import { field, type Fields } from '../http/fields.ts';
import { escapeHtml } from '../http/html.ts';
import type { Locale } from './i18n.ts';
import { MAX_NAME_LENGTH } from '../users/profile.ts';

/** The frame every hosted page shares (the account page's too). */
export function layout(title: string, body: string, locale: Locale = 'en'): string {
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
</head>
<body>
<main>
${body}
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

/** Which form an error belongs to, so it is shown next to that form. */
export type LoginForm = 'password' | 'magic-link' | 'pin' | 'register';

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
}

function errorFor(options: LoginPageOptions, form: LoginForm, id: string): { html: string; describedBy: string } {
  if (options.error?.form !== form) return { html: '', describedBy: '' };
  return {
    html: `<p class="error" role="alert" id="${id}">${escapeHtml(options.error.message)}</p>`,
    describedBy: ` aria-describedby="${id}"`,
  };
}

export function renderLoginPage(options: LoginPageOptions): string {
  const { project } = options.authorization;
  const hidden = hiddenFields(options.fields);
  const email = escapeHtml(options.email ?? '');
  const password = errorFor(options, 'password', 'password-error');
  const magic = errorFor(options, 'magic-link', 'magic-error');
  const pin = errorFor(options, 'pin', 'pin-error');
  const register = errorFor(options, 'register', 'register-error');

  const methods = project.login_methods;
  const showPin = options.showPin === true || (options.error?.form === 'pin' && methods.includes('pin'));
  const shown: Record<LoginForm, boolean> = {
    password: methods.includes('password'),
    'magic-link': methods.includes('magic_link'),
    pin: showPin,
    register: project.registration_open && methods.includes('password'),
  };
  // An error of a form that is not on the page (a method switched off) is shown at the top.
  const orphanError = options.error && !shown[options.error.form] ? `<p class="error" role="alert">${escapeHtml(options.error.message)}</p>\n` : '';
  // Registration sets a password: offered with the password method.
  const registration = shown.register
    ? `<section aria-labelledby="register-title">
<h2 id="register-title">Create an account</h2>
${register.html}
<form method="post" action="/register">
${hidden}
<label for="register-email">Email</label>
<input id="register-email" name="email" type="email" autocomplete="email" required value="${email}"${register.describedBy}>
<label for="register-name">Name (optional)</label>
<input id="register-name" name="name" type="text" autocomplete="name" maxlength="${MAX_NAME_LENGTH}">
<label for="register-password">Password</label>
<input id="register-password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required${register.describedBy}>
<p class="hint">At least 8 characters. Common passwords are refused.</p>
<button type="submit">Create account</button>
</form>
</section>`
    : '';

  return layout(
    `Sign in to ${project.name}`,
    `<h1>Sign in to <span class="project">${escapeHtml(project.name)}</span></h1>
${orphanError}${shown.password ? `<section aria-labelledby="password-title">
<h2 id="password-title">Email and password</h2>
${password.html}
<form method="post" action="/login">
${hidden}
<label for="login-email">Email</label>
<input id="login-email" name="email" type="email" autocomplete="username" required value="${email}"${password.describedBy}>
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required${password.describedBy}>
<button type="submit">Sign in</button>
</form>
<p><a href="/password-reset?${escapeHtml(authorizationQuery(options.fields))}">Forgot password?</a></p>
${options.offerVerificationMail ? resendVerificationForm(hidden, options.email ?? '') : ''}</section>
` : ''}${shown['magic-link'] ? `<section aria-labelledby="magic-title">
<h2 id="magic-title">Email me a link</h2>
${magic.html}
<form method="post" action="/magic-link">
${hidden}
<label for="magic-email">Email</label>
<input id="magic-email" name="email" type="email" autocomplete="email" required value="${email}"${magic.describedBy}>
<button type="submit">Send me a sign-in link</button>
</form>
</section>
` : ''}${shown.pin ? `<section aria-labelledby="pin-title">
<h2 id="pin-title">Device PIN</h2>
${pin.html}
<form method="post" action="/login/pin">
${hidden}
<label for="pin-value">PIN</label>
<input id="pin-value" name="pin" type="password" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" required${pin.describedBy}>
<button type="submit">Sign in with PIN</button>
</form>
</section>
` : ''}${registration}`,
  );
}

/** prompt=select_account with a browser session (docs/sso.md): go on as its person, or sign in as another. */
export function renderSelectAccountPage(options: { authorization: AuthorizationRequest; fields: Fields; email: string }): string {
  const { project } = options.authorization;
  const hidden = hiddenFields(options.fields);
  return layout(
    `Sign in to ${project.name}`,
    `<h1>Sign in to <span class="project">${escapeHtml(project.name)}</span></h1>
<form method="post" action="/authorize">
${hidden}
<button type="submit">Continue as ${escapeHtml(options.email)}</button>
</form>
<form method="get" action="/authorize">
${hidden}
<input type="hidden" name="prompt" value="login">
<button type="submit">Use another account</button>
</form>`,
  );
}

export function renderErrorPage(status: number, message: string, hint?: string): string {
  // With a hint for the developer, the message is the heading (sso.md "PKCE").
  if (hint !== undefined) {
    return layout(
      'Sign-in problem',
      `<h1 class="error" role="alert">${escapeHtml(message)}</h1>
<p class="hint">${escapeHtml(hint)}</p>
<p class="status">Error ${status}.</p>`,
    );
  }
  return layout(
    'Sign-in problem',
    `<h1>We could not continue</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p class="status">Error ${status}. Go back to the application and try again.</p>`,
  );
}

export function renderMessagePage(title: string, paragraphs: string[], locale: Locale = 'en'): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}`, locale);
}

export function renderMagicLinkConfirmPage(token: string): string {
  return layout(
    'Finish signing in',
    `<h1>Finish signing in</h1>
<p>Press the button to sign in. This link works once.</p>
<form method="post" action="/magic-link/verify">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Sign in</button>
</form>`,
  );
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
function resendVerificationForm(hidden: string, email: string): string {
  return `<form method="post" action="/verify-email/resend">
${hidden}
<input type="hidden" name="email" value="${escapeHtml(email)}">
<button type="submit">Send the link again</button>
</form>
`;
}

/** GET /password-reset: "Forgot password?" leads here, with the authorization parameters kept. */
export function renderPasswordResetPage(options: { authorization: AuthorizationRequest; fields: Fields; error?: string; email?: string }): string {
  const { project } = options.authorization;
  const error = options.error !== undefined ? `<p class="error" role="alert" id="reset-error">${escapeHtml(options.error)}</p>\n` : '';
  return layout(
    `Reset your password for ${project.name}`,
    `<h1>Reset your password for <span class="project">${escapeHtml(project.name)}</span></h1>
<p>We will mail you a link to choose a new password.</p>
${error}<form method="post" action="/password-reset">
${hiddenFields(options.fields)}
<label for="reset-email">Email</label>
<input id="reset-email" name="email" type="email" autocomplete="email" required value="${escapeHtml(options.email ?? '')}"${error ? ' aria-describedby="reset-error"' : ''}>
<button type="submit">Send me a reset link</button>
</form>
<p><a href="/authorize?${escapeHtml(authorizationQuery(options.fields))}">Back to sign in</a></p>`,
  );
}

/** GET /password-reset/verify with a live token: the new-password form (the token is used by its post only). */
export function renderNewPasswordPage(token: string, error?: string): string {
  const shown = error !== undefined ? `<p class="error" role="alert" id="new-password-error">${escapeHtml(error)}</p>\n` : '';
  return layout(
    'Choose a new password',
    `<h1>Choose a new password</h1>
${shown}<form method="post" action="/password-reset/verify">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label for="new-password">New password</label>
<input id="new-password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required${shown ? ' aria-describedby="new-password-error"' : ''}>
<p class="hint">At least 8 characters. Common passwords are refused. Every other sign-in of your account ends.</p>
<button type="submit">Set password and sign in</button>
</form>`,
  );
}

/** GET /verify-email with a live token: a button, so that a mail scanner opening the link proves nothing. */
export function renderVerifyEmailConfirmPage(token: string): string {
  return layout(
    'Verify your email address',
    `<h1>Verify your email address</h1>
<p>Press the button to confirm this address. This link works once.</p>
<form method="post" action="/verify-email">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Verify my email address</button>
</form>`,
  );
}

/** GET /logout when the request does not show it is this browser's person asking (docs/sso.md). */
export function renderLogoutConfirmPage(fields: Record<string, string>): string {
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
<p>Press the button to sign out of every application in this browser.</p>
<form method="post" action="/logout">
${hidden}
<button type="submit">Sign out</button>
</form>`,
  );
}

export const STYLESHEET = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; display: flex; justify-content: center; }
main { max-width: 28rem; width: 100%; padding: 1.5rem; }
section { border-top: 1px solid #8884; padding: 0.5rem 0 1rem; }
label { display: block; margin-top: 0.75rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: 0.5rem; font-size: 1rem; }
button { margin-top: 1rem; padding: 0.5rem 1rem; font-size: 1rem; }
.error { color: #b00020; font-weight: 600; }
.hint, .status { color: #666; font-size: 0.9rem; }
.notice { border-left: 4px solid #2e7d32; padding: 0.25rem 0.75rem; font-weight: 600; }
.sessions { list-style: none; padding: 0; }
.sessions li { border-top: 1px solid #8884; padding: 0.5rem 0; }
.inline { display: inline; }
`;
