// The account page (accounts.md "The account page"): one server-rendered page in the hosted pages'
// frame, plain forms that work without JavaScript and with the keyboard. Every form is a POST
// carrying the CSRF token; every value is escaped.
import { escapeHtml } from '../http/html.ts';
import { translator, type Locale, type MessageKey, type Translator } from '../pages/i18n.ts';
import { layout, type PageBrand } from '../pages/render.ts';
import type { AccountOverview } from './account.ts';
import type { ProfileField } from '../users/profile.ts';
import { amrOf } from '../sessions/subject.ts';
import { MAX_PASSKEY_NAME_LENGTH } from '../users/passkeys.ts';
import { passkeyRegistrationForm, passkeyScriptTag } from '../pages/render.ts';

/** The forms of the page, so that an error is shown beside the one it belongs to. */
export type AccountForm = 'email' | 'profile' | 'password' | 'sessions' | 'mfa' | 'passkeys' | 'providers';

/** What a 303 back to the page may announce (`?notice=`): fixed texts, never one taken from the request. */
export const ACCOUNT_NOTICES = {
  profile_saved: 'account.notice.profile_saved',
  profile_unchanged: 'account.notice.profile_unchanged',
  password_changed: 'account.notice.password_changed',
  verification_sent: 'account.notice.verification_sent',
  already_verified: 'account.notice.already_verified',
  email_change_sent: 'account.notice.email_change_sent',
  session_ended: 'account.notice.session_ended',
  browser_session_ended: 'account.notice.browser_session_ended',
  already_ended: 'account.notice.already_ended',
  mfa_started: 'account.mfa_scan',
  mfa_removed: 'account.notice.mfa_removed',
  mfa_added: 'account.notice.mfa_added',
  passkey_added: 'account.notice.passkey_added',
  passkey_renamed: 'account.notice.passkey_renamed',
  passkey_removed: 'account.notice.passkey_removed',
  // federation.md: linked upstream providers
  provider_linked: 'account.notice.provider_linked',
  provider_unlinked: 'account.notice.provider_unlinked',
  provider_taken: 'account.notice.provider_taken',
  link_cancelled: 'account.notice.link_cancelled',
  last_way_in: 'account.notice.last_way_in',
} as const satisfies Record<string, MessageKey>;
export type AccountNotice = keyof typeof ACCOUNT_NOTICES;

export function isAccountNotice(value: string | undefined): value is AccountNotice {
  return value !== undefined && Object.hasOwn(ACCOUNT_NOTICES, value);
}

export interface AccountPageModel {
  overview: AccountOverview;
  /** the page's language (account/routes.ts: the profile's `locale`, then Accept-Language) */
  locale: Locale;
  csrfToken: string;
  /** the browser session of this browser, marked in the list */
  currentBrowserSessionId: string;
  notice?: AccountNotice;
  /** `message`: the catalogue's English message (shown translated); `detail`: already in the page's language */
  error?: { form: AccountForm; message: string; detail?: string; signInAgain?: boolean };
  /** the profile form as sent, when it was refused */
  profileValues?: Partial<Record<ProfileField, string>>;
  /** the email change form as sent, when it was refused */
  newEmail?: string;
  /** mfa.md: the person's second factors, and a TOTP secret waiting for its first code */
  mfa: { totp: boolean; recoveryCodesLeft: number; pending?: { secret: string; qrDataUri: string } };
  /** mfa.md: the person's passkeys, oldest first */
  passkeys: Array<{ id: string; name: string; createdAt: number; lastUsedAt: number | null }>;
  /** recovery codes just made: shown this once */
  recoveryCodes?: string[];
  /** the notice of a page answered directly (the recovery codes cannot travel in a URL) */
  shownNotice?: 'mfa_added' | 'passkey_added';
  /** the account project's branding, when it has any (accountBrand) */
  brand?: PageBrand | undefined;
  /** federation.md: the upstream providers linked to the account, and those it may link; absent when there are none at all */
  providers?: { linked: Array<{ connectionId: string; name: string; email: string | null; linkedAt: number }>; available: Array<{ id: string; name: string }> } | undefined;
}

const METHOD_NAMES: Record<string, MessageKey> = {
  pwd: 'account.method.pwd',
  magic_link: 'account.method.magic_link',
  pin: 'account.method.pin',
  otp: 'account.method.otp',
  hwk: 'account.method.hwk',
  mfa: 'account.method.mfa',
  fed: 'account.method.fed',
};

/** A session's method text names every amr value (sessions/subject.ts: 'pwd otp mfa'). */
function methodName(tr: Translator, method: string): string {
  return amrOf(method)
    .map((value) => {
      const key = METHOD_NAMES[value];
      return key === undefined ? value : tr.t(key);
    })
    .join(', ');
}

function when(ms: number | string): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function csrfField(token: string): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;
}

function errorOf(tr: Translator, model: AccountPageModel, form: AccountForm, id: string): { html: string; describedBy: string } {
  const error = model.error;
  if (error?.form !== form) return { html: '', describedBy: '' };
  const detail = error.detail !== undefined ? ` ${escapeHtml(error.detail)}` : '';
  const message = error.signInAgain ? tr.t(form === 'email' ? 'account.sign_in_again_to_change_email' : 'account.sign_in_again_to_set') : tr.error(error.message);
  const again = error.signInAgain ? ` <a href="/account/sign-in-again">${escapeHtml(tr.t('account.sign_in_again'))}</a>` : '';
  return { html: `<p class="error" role="alert" id="${id}">${escapeHtml(message)}.${detail}${again}</p>`, describedBy: ` aria-describedby="${id}"` };
}

/**
 * The address and whether it is verified; "Send the link again" while it is not; the email change
 * (new address, and the current password of an account that has one).
 */
function emailSection(tr: Translator, model: AccountPageModel): string {
  const { user } = model.overview;
  const error = errorOf(tr, model, 'email', 'email-error');
  const resend = user.email_verified
    ? ''
    : `<form method="post" action="/account/email/resend">
${csrfField(model.csrfToken)}
<p class="hint">${escapeHtml(tr.t('account.resend_hint'))}</p>
<button type="submit">${escapeHtml(tr.t('account.resend_submit'))}</button>
</form>
`;
  const current = user.has_password
    ? `<label for="email-current-password">${escapeHtml(tr.t('account.field.current_password'))}</label>
<input id="email-current-password" name="current_password" type="password" autocomplete="current-password" required${error.describedBy}>`
    : `<p class="hint">${escapeHtml(tr.t('account.email_change_no_password_hint'))}</p>`;
  return `<section aria-labelledby="email-title">
<h2 id="email-title">${escapeHtml(tr.t('account.email_heading'))}</h2>
<p>${escapeHtml(user.email)} <strong>${escapeHtml(tr.t(user.email_verified ? 'account.verified' : 'account.not_verified'))}</strong></p>
${resend}<h3>${escapeHtml(tr.t('account.email_change_heading'))}</h3>
${error.html}
<form method="post" action="/account/email">
${csrfField(model.csrfToken)}
<label for="new-email">${escapeHtml(tr.t('account.field.new_email'))}</label>
<input id="new-email" name="new_email" type="email" autocomplete="email" maxlength="254" required value="${escapeHtml(model.newEmail ?? '')}"${error.describedBy}>
${current}
<p class="hint">${escapeHtml(tr.t('account.email_change_hint'))}</p>
<button type="submit">${escapeHtml(tr.t('account.email_change_submit'))}</button>
</form>
</section>`;
}

const PROFILE_INPUTS: Array<{ name: ProfileField; label: MessageKey; autocomplete: string; type: string }> = [
  { name: 'name', label: 'account.field.name', autocomplete: 'name', type: 'text' },
  { name: 'given_name', label: 'account.field.given_name', autocomplete: 'given-name', type: 'text' },
  { name: 'family_name', label: 'account.field.family_name', autocomplete: 'family-name', type: 'text' },
  { name: 'picture', label: 'account.field.picture', autocomplete: 'photo', type: 'url' },
  { name: 'locale', label: 'account.field.locale', autocomplete: 'language', type: 'text' },
];

function profileSection(tr: Translator, model: AccountPageModel): string {
  const { user } = model.overview;
  const error = errorOf(tr, model, 'profile', 'profile-error');
  const inputs = PROFILE_INPUTS.map(({ name, label, autocomplete, type }) => {
    const value = model.profileValues?.[name] ?? user[name] ?? '';
    return `<label for="profile-${name}">${escapeHtml(tr.t(label))}</label>
<input id="profile-${name}" name="${name}" type="${type}" autocomplete="${autocomplete}" value="${escapeHtml(value)}"${error.describedBy}>`;
  }).join('\n');
  return `<section aria-labelledby="profile-title">
<h2 id="profile-title">${escapeHtml(tr.t('account.profile_heading'))}</h2>
${error.html}
<form method="post" action="/account/profile">
${csrfField(model.csrfToken)}
${inputs}
<p class="hint">${escapeHtml(tr.t('account.profile_hint'))}</p>
<button type="submit">${escapeHtml(tr.t('account.profile_submit'))}</button>
</form>
</section>`;
}

function passwordSection(tr: Translator, model: AccountPageModel): string {
  const { user } = model.overview;
  const error = errorOf(tr, model, 'password', 'password-error');
  const current = user.has_password
    ? `<label for="current-password">${escapeHtml(tr.t('account.field.current_password'))}</label>
<input id="current-password" name="current_password" type="password" autocomplete="current-password" required${error.describedBy}>`
    : `<p class="hint">${escapeHtml(tr.t('account.no_password_hint'))}</p>`;
  return `<section aria-labelledby="password-title">
<h2 id="password-title">${escapeHtml(tr.t(user.has_password ? 'account.password_change_heading' : 'account.password_set_heading'))}</h2>
${error.html}
<form method="post" action="/account/password">
${csrfField(model.csrfToken)}
<input type="text" name="username" autocomplete="username" value="${escapeHtml(user.email)}" hidden>
${current}
<label for="new-password">${escapeHtml(tr.t('account.field.new_password'))}</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required${error.describedBy}>
<p class="hint">${escapeHtml(tr.t('account.password_hint'))}</p>
<button type="submit">${escapeHtml(tr.t(user.has_password ? 'account.password_change_submit' : 'account.password_set_submit'))}</button>
</form>
</section>`;
}

/**
 * mfa.md: the authenticator app (TOTP) and the recovery codes. Adding shows a QR code (an SVG
 * Gatehouse drew, as a data: image, which img-src allows) and the key as text; the app's first
 * code confirms it. Removing asks for a current code or a recovery code.
 */
function mfaSection(tr: Translator, model: AccountPageModel): string {
  const { mfa } = model;
  const error = errorOf(tr, model, 'mfa', 'mfa-error');
  const codes = model.recoveryCodes
    ? `<h3 id="recovery-title">${escapeHtml(tr.t('account.recovery_heading'))}</h3>
<p role="status">${escapeHtml(tr.t('account.recovery_shown_once'))}</p>
<ul class="recovery-codes" aria-labelledby="recovery-title">
${model.recoveryCodes.map((code) => `<li><code>${escapeHtml(code)}</code></li>`).join('\n')}
</ul>
`
    : '';
  // The recovery codes stand in for any factor: an authenticator app or a passkey.
  const recovery =
    mfa.totp || model.passkeys.length > 0
      ? `<p>${escapeHtml(tr.t('account.recovery_left', { count: mfa.recoveryCodesLeft }))}</p>
${codes}<form method="post" action="/account/mfa/recovery-codes">
${csrfField(model.csrfToken)}
<p class="hint">${escapeHtml(tr.t('account.recovery_new_hint'))}</p>
<button type="submit">${escapeHtml(tr.t('account.recovery_new'))}</button>
</form>
`
      : '';
  let body: string;
  if (mfa.totp) {
    body = `<p>${escapeHtml(tr.t('account.mfa_on'))}</p>
${recovery}<h3>${escapeHtml(tr.t('account.mfa_remove'))}</h3>
${error.html}
<form method="post" action="/account/mfa/totp/remove">
${csrfField(model.csrfToken)}
<label for="mfa-remove-code">${escapeHtml(tr.t('account.field.mfa_code'))}</label>
<input id="mfa-remove-code" name="code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="32" required aria-describedby="mfa-remove-hint${error.describedBy ? ' mfa-error' : ''}">
<p class="hint" id="mfa-remove-hint">${escapeHtml(tr.t('account.mfa_remove_hint'))}</p>
<button type="submit">${escapeHtml(tr.t('account.mfa_remove'))}</button>
</form>`;
  } else if (mfa.pending) {
    body = `${recovery}<p id="mfa-scan">${escapeHtml(tr.t('account.mfa_scan'))}</p>
<p><img class="qr" src="${escapeHtml(mfa.pending.qrDataUri)}" alt="${escapeHtml(tr.t('account.mfa_qr_alt'))}" width="200" height="200"></p>
<p><code class="totp-key">${escapeHtml(tr.t('account.mfa_key', { key: mfa.pending.secret.replace(/(.{4})/g, '$1 ').trim() }))}</code></p>
${error.html}
<form method="post" action="/account/mfa/totp/confirm">
${csrfField(model.csrfToken)}
<label for="mfa-confirm-code">${escapeHtml(tr.t('mfa.field.code'))}</label>
<input id="mfa-confirm-code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required aria-describedby="mfa-scan${error.describedBy ? ' mfa-error' : ''}">
<button type="submit" class="primary">${escapeHtml(tr.t('account.mfa_confirm'))}</button>
</form>`;
  } else {
    body = `${recovery === '' ? `<p>${escapeHtml(tr.t('account.mfa_off'))}</p>\n` : recovery}${error.html}
<form method="post" action="/account/mfa/totp">
${csrfField(model.csrfToken)}
<button type="submit">${escapeHtml(tr.t('account.mfa_add'))}</button>
</form>`;
  }
  return `<section aria-labelledby="mfa-title" id="mfa">
<h2 id="mfa-title">${escapeHtml(tr.t('account.mfa_heading'))}</h2>
${body}
</section>`;
}

/**
 * mfa.md: the person's passkeys, each renamed and removed by a plain form; adding one needs the
 * page script (/assets/passkeys.js), so its form is shown only where the script runs.
 */
function passkeysSection(tr: Translator, model: AccountPageModel): string {
  const error = errorOf(tr, model, 'passkeys', 'passkeys-error');
  const items = model.passkeys
    .map((passkey, index) => {
      const details = tr.t('account.passkey_details', { created: when(passkey.createdAt), last_used: passkey.lastUsedAt === null ? tr.t('account.passkey_never_used') : when(passkey.lastUsedAt) });
      return `<li><strong>${escapeHtml(passkey.name)}</strong>: ${escapeHtml(details)}
<form method="post" action="/account/passkeys/rename">
${csrfField(model.csrfToken)}
<input type="hidden" name="passkey_id" value="${escapeHtml(passkey.id)}">
<label for="passkey-name-${index}">${escapeHtml(tr.t('account.passkey_new_name', { name: passkey.name }))}</label>
<input id="passkey-name-${index}" name="name" type="text" maxlength="${MAX_PASSKEY_NAME_LENGTH}" required value="${escapeHtml(passkey.name)}">
<button type="submit">${escapeHtml(tr.t('account.passkey_rename'))}</button>
</form>
<form method="post" action="/account/passkeys/remove">
${csrfField(model.csrfToken)}
<input type="hidden" name="passkey_id" value="${escapeHtml(passkey.id)}">
<button type="submit" aria-label="${escapeHtml(tr.t('account.passkey_remove_label', { name: passkey.name }))}">${escapeHtml(tr.t('account.passkey_remove'))}</button>
</form></li>`;
    })
    .join('\n');
  return `<section aria-labelledby="passkeys-title" id="passkeys">
<h2 id="passkeys-title">${escapeHtml(tr.t('account.passkeys_heading'))}</h2>
${error.html}
${model.passkeys.length === 0 ? `<p>${escapeHtml(tr.t('account.passkeys_none'))}</p>` : `<ul class="passkeys">\n${items}\n</ul>`}
${passkeyRegistrationForm(tr, { action: '/account/passkeys', options: '/account/passkeys/options', hidden: csrfField(model.csrfToken), submit: tr.t('account.passkey_add') })}
</section>`;
}

function projectsSection(tr: Translator, model: AccountPageModel): string {
  const { projects } = model.overview;
  const items = projects.map((p) => `<li>${escapeHtml(p.name)}${p.blocked ? ` <strong>${escapeHtml(tr.t('account.blocked'))}</strong>` : ''}</li>`).join('\n');
  return `<section aria-labelledby="projects-title">
<h2 id="projects-title">${escapeHtml(tr.t('account.projects_heading'))}</h2>
${projects.length === 0 ? `<p>${escapeHtml(tr.t('account.projects_none'))}</p>` : `<ul>\n${items}\n</ul>`}
</section>`;
}

function signOutButton(tr: Translator, action: string, name: string, value: string, token: string, label: string): string {
  return `<form method="post" action="${action}" class="inline">
${csrfField(token)}
<input type="hidden" name="${name}" value="${escapeHtml(value)}">
<button type="submit" aria-label="${escapeHtml(label)}">${escapeHtml(tr.t('account.sign_out'))}</button>
</form>`;
}

function where(tr: Translator, ip: string | null, userAgent: string | null): string {
  const parts = [ip, userAgent].filter((p): p is string => p !== null && p !== '');
  return parts.length === 0 ? tr.t('account.where_unknown') : parts.join(', ');
}

function sessionsSection(tr: Translator, model: AccountPageModel): string {
  const { sessions, browserSessions } = model.overview;
  const error = errorOf(tr, model, 'sessions', 'sessions-error');
  const browsers = browserSessions
    .map((b) => {
      const current = b.id === model.currentBrowserSessionId;
      const details = tr.t('account.browser_details', {
        signed_in: when(b.auth_time),
        methods: b.amr.map((m) => methodName(tr, m)).join(', '),
        last_used: when(b.last_used_at),
        from: where(tr, b.ip, b.user_agent),
      });
      const label = current ? tr.t('account.sign_out_this_browser') : tr.t('account.sign_out_browser', { signed_in: when(b.auth_time) });
      return `<li>${current ? `<strong>${escapeHtml(tr.t('account.this_browser'))}</strong>` : escapeHtml(tr.t('account.browser'))}: ${escapeHtml(details)}
${signOutButton(tr, '/account/browser-sessions/end', 'browser_session_id', b.id, model.csrfToken, label)}</li>`;
    })
    .join('\n');
  const apps = sessions
    .map((s) => {
      const app = s.project_name ?? s.project_id;
      const details = tr.t('account.app_details', { method: methodName(tr, s.method), started: when(s.created_at), last_used: when(s.last_used_at), from: where(tr, s.ip, s.user_agent) });
      return `<li>${escapeHtml(app)}: ${escapeHtml(details)}
${signOutButton(tr, '/account/sessions/end', 'session_id', s.id, model.csrfToken, tr.t('account.sign_out_app', { app, started: when(s.created_at) }))}</li>`;
    })
    .join('\n');
  return `<section aria-labelledby="sessions-title">
<h2 id="sessions-title">${escapeHtml(tr.t('account.sessions_heading'))}</h2>
${error.html}
<h3>${escapeHtml(tr.t('account.browsers_heading'))}</h3>
<ul class="sessions">
${browsers}
</ul>
<h3>${escapeHtml(tr.t('account.apps_heading'))}</h3>
${sessions.length === 0 ? `<p>${escapeHtml(tr.t('account.apps_none'))}</p>` : `<ul class="sessions">\n${apps}\n</ul>`}
<form method="post" action="/account/sign-out-everywhere">
${csrfField(model.csrfToken)}
<button type="submit">${escapeHtml(tr.t('account.sign_out_everywhere'))}</button>
</form>
<p class="hint">${escapeHtml(tr.t('account.sign_out_everywhere_hint'))}</p>
</section>`;
}

/**
 * federation.md: the linked providers, each with "Unlink" (refused while it is the last way in), and
 * "Link <provider>" for the others: a link, not a form, because it leads to the provider, which the
 * page's form-action does not allow; its CSRF token rides in the query (the Referrer-Policy keeps
 * it from the provider).
 */
function providersSection(tr: Translator, model: AccountPageModel): string {
  const providers = model.providers;
  if (!providers) return '';
  const linked = providers.linked
    .map((p) => `<li>${escapeHtml(tr.t('account.providers_linked', { provider: p.name, email: p.email ?? '—', date: when(p.linkedAt) }))}
<form method="post" action="/account/connections/unlink" class="inline">
${csrfField(model.csrfToken)}
<input type="hidden" name="connection_id" value="${escapeHtml(p.connectionId)}">
<button type="submit" class="secondary">${escapeHtml(tr.t('account.providers_unlink', { provider: p.name }))}</button>
</form></li>`)
    .join('\n');
  const available = providers.available
    .map((c) => `<li><a class="provider" href="/account/connections/link?connection_id=${encodeURIComponent(c.id)}&amp;csrf_token=${encodeURIComponent(model.csrfToken)}">${escapeHtml(tr.t('account.providers_link', { provider: c.name }))}</a></li>`)
    .join('\n');
  return `<section aria-labelledby="providers-title">
<h2 id="providers-title">${escapeHtml(tr.t('account.providers_heading'))}</h2>
${providers.linked.length === 0 ? `<p>${escapeHtml(tr.t('account.providers_none'))}</p>` : `<ul class="sessions">\n${linked}\n</ul>`}
${available === '' ? '' : `<p class="hint">${escapeHtml(tr.t('account.providers_link_hint'))}</p>\n<ul class="providers">\n${available}\n</ul>`}
</section>`;
}

export function renderAccountPage(model: AccountPageModel): string {
  const tr = translator(model.locale);
  const noticeKey = model.shownNotice !== undefined ? ACCOUNT_NOTICES[model.shownNotice] : model.notice !== undefined ? ACCOUNT_NOTICES[model.notice] : undefined;
  const notice = noticeKey !== undefined ? `<p class="notice" role="status">${escapeHtml(tr.t(noticeKey))}</p>\n` : '';
  return layout(
    tr.t('account.title'),
    `<h1>${escapeHtml(tr.t('account.title'))}</h1>
${notice}${emailSection(tr, model)}
${profileSection(tr, model)}
${passwordSection(tr, model)}
${mfaSection(tr, model)}
${passkeysSection(tr, model)}
${providersSection(tr, model)}
${projectsSection(tr, model)}
${sessionsSection(tr, model)}
${passkeyScriptTag()}`,
    model.locale,
    model.brand,
  );
}

/** The callback could not finish (an old tab, another browser, a refused sign-in): start again. */
export function renderAccountSignInProblem(locale: Locale, brand?: PageBrand): string {
  const { t } = translator(locale);
  return layout(
    t('page.problem_title'),
    `<h1>${escapeHtml(t('account.problem_heading'))}</h1>
<p class="error" role="alert">${escapeHtml(t('account.problem_text'))}</p>
<p><a href="/account">${escapeHtml(t('account.open_again'))}</a></p>`,
    locale,
    brand,
  );
}

/** After "Sign out everywhere", or signing out this browser. */
export function renderAccountSignedOut(locale: Locale, brand?: PageBrand): string {
  const { t } = translator(locale);
  return layout(
    t('logout.done_title'),
    `<h1>${escapeHtml(t('logout.done_title'))}</h1>
<p role="status">${escapeHtml(t('account.signed_out_text'))}</p>
<p><a href="/account">${escapeHtml(t('account.sign_in_link'))}</a></p>`,
    locale,
    brand,
  );
}
