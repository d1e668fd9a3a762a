// The account page (accounts.md "The account page"): one server-rendered page in the hosted pages'
// frame, plain forms that work without JavaScript and with the keyboard. Every form is a POST
// carrying the CSRF token; every value is escaped.
import { escapeHtml } from '../http/html.ts';
import { layout } from '../pages/render.ts';
import type { AccountOverview } from './account.ts';
import type { ProfileField } from '../users/profile.ts';

/** The forms of the page, so that an error is shown beside the one it belongs to. */
export type AccountForm = 'profile' | 'password' | 'sessions';

/** What a 303 back to the page may announce (`?notice=`): fixed texts, never one taken from the request. */
export const ACCOUNT_NOTICES = {
  profile_saved: 'Your profile was saved.',
  profile_unchanged: 'Your profile was already up to date.',
  password_changed: 'Your password was changed. Every other session of your account was signed out.',
  session_ended: 'That session was signed out.',
  browser_session_ended: 'That browser was signed out.',
  already_ended: 'That session had already ended.',
} as const;
export type AccountNotice = keyof typeof ACCOUNT_NOTICES;

export function isAccountNotice(value: string | undefined): value is AccountNotice {
  return value !== undefined && Object.hasOwn(ACCOUNT_NOTICES, value);
}

export interface AccountPageModel {
  overview: AccountOverview;
  csrfToken: string;
  /** the browser session of this browser, marked in the list */
  currentBrowserSessionId: string;
  notice?: AccountNotice;
  error?: { form: AccountForm; message: string; detail?: string; signInAgain?: boolean };
  /** the profile form as sent, when it was refused */
  profileValues?: Partial<Record<ProfileField, string>>;
  /**
   * The email change and "send the link again" forms (accounts.md), rendered by the module that
   * handles them; until then the section shows the address and whether it is verified, and no button.
   */
  emailForms?: string;
}

const METHOD_NAMES: Record<string, string> = { pwd: 'Password', magic_link: 'Email link', pin: 'PIN' };

function methodName(method: string): string {
  return METHOD_NAMES[method] ?? method;
}

function when(ms: number | string): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function csrfField(token: string): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;
}

function errorOf(model: AccountPageModel, form: AccountForm, id: string): { html: string; describedBy: string } {
  const error = model.error;
  if (error?.form !== form) return { html: '', describedBy: '' };
  const detail = error.detail !== undefined ? ` ${escapeHtml(error.detail)}` : '';
  const again = error.signInAgain ? ` <a href="/account/sign-in-again">Sign in again</a>` : '';
  return { html: `<p class="error" role="alert" id="${id}">${escapeHtml(error.message)}.${detail}${again}</p>`, describedBy: ` aria-describedby="${id}"` };
}

const PROFILE_INPUTS: Array<{ name: ProfileField; label: string; autocomplete: string; type: string }> = [
  { name: 'name', label: 'Full name', autocomplete: 'name', type: 'text' },
  { name: 'given_name', label: 'Given name', autocomplete: 'given-name', type: 'text' },
  { name: 'family_name', label: 'Family name', autocomplete: 'family-name', type: 'text' },
  { name: 'picture', label: 'Picture (an https URL)', autocomplete: 'photo', type: 'url' },
  { name: 'locale', label: 'Language (en, de-CH, …)', autocomplete: 'language', type: 'text' },
];

function profileSection(model: AccountPageModel): string {
  const { user } = model.overview;
  const error = errorOf(model, 'profile', 'profile-error');
  const inputs = PROFILE_INPUTS.map(({ name, label, autocomplete, type }) => {
    const value = model.profileValues?.[name] ?? user[name] ?? '';
    return `<label for="profile-${name}">${escapeHtml(label)}</label>
<input id="profile-${name}" name="${name}" type="${type}" autocomplete="${autocomplete}" value="${escapeHtml(value)}"${error.describedBy}>`;
  }).join('\n');
  return `<section aria-labelledby="profile-title">
<h2 id="profile-title">Profile</h2>
${error.html}
<form method="post" action="/account/profile">
${csrfField(model.csrfToken)}
${inputs}
<p class="hint">Leave a field empty to remove it.</p>
<button type="submit">Save profile</button>
</form>
</section>`;
}

function passwordSection(model: AccountPageModel): string {
  const { user } = model.overview;
  const error = errorOf(model, 'password', 'password-error');
  const current = user.has_password
    ? `<label for="current-password">Current password</label>
<input id="current-password" name="current_password" type="password" autocomplete="current-password" required${error.describedBy}>`
    : `<p class="hint">Your account has no password yet: you sign in with email links. You can set one within five minutes of signing in.</p>`;
  return `<section aria-labelledby="password-title">
<h2 id="password-title">${user.has_password ? 'Change password' : 'Set a password'}</h2>
${error.html}
<form method="post" action="/account/password">
${csrfField(model.csrfToken)}
<input type="text" name="username" autocomplete="username" value="${escapeHtml(user.email)}" hidden>
${current}
<label for="new-password">New password</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required${error.describedBy}>
<p class="hint">At least 8 characters. Common passwords are refused. Every other session of your account is signed out.</p>
<button type="submit">${user.has_password ? 'Change password' : 'Set password'}</button>
</form>
</section>`;
}

function projectsSection(model: AccountPageModel): string {
  const { projects } = model.overview;
  const items = projects.map((p) => `<li>${escapeHtml(p.name)}${p.blocked ? ' <strong>(blocked)</strong>' : ''}</li>`).join('\n');
  return `<section aria-labelledby="projects-title">
<h2 id="projects-title">Your applications</h2>
${projects.length === 0 ? '<p>You are not a member of any application yet.</p>' : `<ul>\n${items}\n</ul>`}
</section>`;
}

function signOutButton(action: string, name: string, value: string, token: string, label: string): string {
  return `<form method="post" action="${action}" class="inline">
${csrfField(token)}
<input type="hidden" name="${name}" value="${escapeHtml(value)}">
<button type="submit" aria-label="${escapeHtml(label)}">Sign out</button>
</form>`;
}

function where(ip: string | null, userAgent: string | null): string {
  const parts = [ip, userAgent].filter((p): p is string => p !== null && p !== '');
  return parts.length === 0 ? 'unknown' : parts.join(', ');
}

function sessionsSection(model: AccountPageModel): string {
  const { sessions, browserSessions } = model.overview;
  const error = errorOf(model, 'sessions', 'sessions-error');
  const browsers = browserSessions
    .map((b) => {
      const current = b.id === model.currentBrowserSessionId;
      return `<li>${current ? '<strong>This browser</strong>' : 'Browser'}: signed in ${escapeHtml(when(b.auth_time))} by ${escapeHtml(b.amr.map(methodName).join(', '))}; last used ${escapeHtml(when(b.last_used_at))}; from ${escapeHtml(where(b.ip, b.user_agent))}
${signOutButton('/account/browser-sessions/end', 'browser_session_id', b.id, model.csrfToken, current ? 'Sign out this browser' : `Sign out the browser signed in ${when(b.auth_time)}`)}</li>`;
    })
    .join('\n');
  const apps = sessions
    .map((s) => {
      const name = s.project_name ?? s.project_id;
      return `<li>${escapeHtml(name)}: ${escapeHtml(methodName(s.method))}, started ${escapeHtml(when(s.created_at))}; last used ${escapeHtml(when(s.last_used_at))}; from ${escapeHtml(where(s.ip, s.user_agent))}
${signOutButton('/account/sessions/end', 'session_id', s.id, model.csrfToken, `Sign out of ${name}, started ${when(s.created_at)}`)}</li>`;
    })
    .join('\n');
  return `<section aria-labelledby="sessions-title">
<h2 id="sessions-title">Where you are signed in</h2>
${error.html}
<h3>Browsers</h3>
<ul class="sessions">
${browsers}
</ul>
<h3>Applications</h3>
${sessions.length === 0 ? '<p>No application holds a session of yours.</p>' : `<ul class="sessions">\n${apps}\n</ul>`}
<form method="post" action="/account/sign-out-everywhere">
${csrfField(model.csrfToken)}
<button type="submit">Sign out everywhere</button>
</form>
<p class="hint">Signs out every application and every browser, this one too.</p>
</section>`;
}

export function renderAccountPage(model: AccountPageModel): string {
  const { user } = model.overview;
  const notice = model.notice !== undefined ? `<p class="notice" role="status">${escapeHtml(ACCOUNT_NOTICES[model.notice])}</p>\n` : '';
  return layout(
    'Your account',
    `<h1>Your account</h1>
${notice}<section aria-labelledby="email-title">
<h2 id="email-title">Email</h2>
<p>${escapeHtml(user.email)} <strong>${user.email_verified ? '(verified)' : '(not verified)'}</strong></p>
${model.emailForms ?? ''}
</section>
${profileSection(model)}
${passwordSection(model)}
${projectsSection(model)}
${sessionsSection(model)}`,
  );
}

/** The callback could not finish (an old tab, another browser, a refused sign-in): start again. */
export function renderAccountSignInProblem(): string {
  return layout(
    'Sign-in problem',
    `<h1>We could not sign you in</h1>
<p class="error" role="alert">This sign-in link was already used, has expired, or was opened in another browser.</p>
<p><a href="/account">Open your account page again</a></p>`,
  );
}

/** After "Sign out everywhere", or signing out this browser. */
export function renderAccountSignedOut(): string {
  return layout(
    'You are signed out',
    `<h1>You are signed out</h1>
<p role="status">You are signed out in this browser.</p>
<p><a href="/account">Sign in to your account page</a></p>`,
  );
}
