// The account page (accounts.md "The account page"): GET /account and its sign-in, and the forms
// that post back to it. A browser session signs the page in; every form is a same-origin POST
// (http/same-origin.ts) with a CSRF token bound to that browser session (account/csrf.ts), and
// answers a 303 back to /account with a notice, or the page again with the error beside its form.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccountBlocked, EmailAlreadyRegistered, Forbidden, HttpError, InvalidCode, InvalidCredentials, InvalidPassword, InvalidRequest, RateLimited } from '../errors.ts';
import { totpQrDataUri } from '../login/mfa/totp-qr.ts';
import { bodyFields, field, queryFields, type Fields } from '../http/fields.ts';
import { sendHtml } from '../http/html.ts';
import { clientInfo } from '../http/negotiation.ts';
import { clearedBrowserSessionCookie, presentedBrowserSession } from '../login/browser-sign-in.ts';
import { requestEmailChange, sendVerificationAgain } from '../login/verify-email/routes.ts';
import { passwordChangedMessage } from '../mail/templates.ts';
import type { RouteDoc } from '../openapi/route-docs.ts';
import { ACCOUNT_PROJECT_ID } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import type { BrowserSession } from '../sessions/browser-sessions.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../users/password-policy.ts';
import { chooseLocale, translator, type Locale, type MessageKey } from '../pages/i18n.ts';
import { projectBrand } from '../pages/brand.ts';
import type { PageBrand } from '../pages/render.ts';
import { PROFILE_FIELDS } from '../users/profile.ts';
import type { User } from '../users/users.ts';
import { accountOverview, addOwnPasskey, removeOwnPasskey, renameOwnPasskey, beginOwnTotp, changeOwnPassword, confirmOwnTotp, newOwnRecoveryCodes, removeOwnTotp, confirmEmailChange, endOwnBrowserSession, endOwnSession, signedInRecently, signOutEverywhere, updateOwnProfile, type Asker } from './account.ts';
import { csrfToken, csrfTokenMatches } from './csrf.ts';
import { isAccountNotice, renderAccountPage, renderAccountSignedOut, renderAccountSignInProblem, type AccountForm, type AccountNotice, type AccountPageModel } from './page.ts';
import { clearedStateCookie, finishAccountSignIn, startAccountSignIn } from './sign-in.ts';
import { unlinkOwnProvider } from '../federation/accounts.ts';
import { startLinkJourney } from '../federation/routes.ts';

/** federation.md: the providers linked to the account and the others it may link; none when no connection exists. */
async function providersModel(services: Services, user: User): Promise<AccountPageModel['providers']> {
  const all = await services.connections.list();
  if (all.length === 0) return undefined;
  const names = new Map(all.map((c) => [c.id, c.name]));
  const identities = await services.connections.identitiesOf(user.id);
  const linkedIds = new Set(identities.map((i) => i.connection_id));
  return {
    linked: identities.map((i) => ({ connectionId: i.connection_id, name: names.get(i.connection_id) ?? i.connection_id, email: i.email, linkedAt: i.created_at })),
    available: all.filter((c) => !linkedIds.has(c.id)).map(({ id, name }) => ({ id, name })),
  };
}

/** Who is on the page: the browser session (and its cookie, which the CSRF token is bound to) and its user. */
interface SignedIn {
  cookie: string;
  session: BrowserSession;
  user: User;
  passwordHash: string | null;
}

async function signedIn(services: Services, request: FastifyRequest): Promise<SignedIn | undefined> {
  const cookie = presentedBrowserSession(request, services.config.issuer);
  if (cookie === undefined) return undefined;
  const session = await services.browserSessions.use(cookie);
  if (!session) return undefined;
  const record = await services.users.find(session.userId);
  if (!record) return undefined;
  // A member blocked in the account project keeps their other applications, not this page.
  if ((await services.users.membership(ACCOUNT_PROJECT_ID, session.userId))?.blocked) throw AccountBlocked();
  return { cookie, session, user: record.user, passwordHash: record.passwordHash };
}

/** The page's language: the person's own `locale` when it is one of ours, then the browser's Accept-Language. */
function accountLocale(request: FastifyRequest, user?: User): Locale {
  const accept = request.headers['accept-language'];
  return chooseLocale({ uiLocales: user?.locale ?? undefined, acceptLanguage: Array.isArray(accept) ? accept.join(',') : accept });
}

/**
 * mfa.md: the second factors as the page shows them. A waiting TOTP secret comes with its QR code,
 * drawn here as SVG (no outside service) and shown as a data: image, which the CSP's img-src allows.
 */
async function mfaModel(services: Services, user: User): Promise<AccountPageModel['mfa']> {
  const summary = await services.secondFactors.summary(user.id);
  const pending = summary.totp ? undefined : await services.secondFactors.pendingTotp(user.id);
  if (!pending) return { totp: summary.totp, recoveryCodesLeft: summary.recovery_codes_left };
  return { totp: false, recoveryCodesLeft: summary.recovery_codes_left, pending: { secret: pending.secret, qrDataUri: await totpQrDataUri(services.config.issuer, user.email, pending.secret) } };
}

/**
 * The account pages wear the built-in account project's branding, when an operator gave it any
 * (docs/decisions/0087): the page is every project's, so no one app's brand fits it.
 */
async function accountBrand(services: Services): Promise<PageBrand | undefined> {
  const project = (await services.projects.find(ACCOUNT_PROJECT_ID))?.project;
  return project && (project.logo_url !== null || project.brand_color !== null) ? projectBrand(project) : undefined;
}

async function sendAccountPage(services: Services, request: FastifyRequest, reply: FastifyReply, status: number, who: SignedIn, extra: Partial<AccountPageModel> = {}): Promise<FastifyReply> {
  const model: AccountPageModel = {
    overview: await accountOverview(services, who.user),
    mfa: await mfaModel(services, who.user),
    passkeys: (await services.passkeys.listForUser(who.user.id)).map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt })),
    providers: await providersModel(services, who.user),
    locale: accountLocale(request, who.user),
    csrfToken: csrfToken(who.cookie),
    currentBrowserSessionId: who.session.id,
    brand: await accountBrand(services),
    ...extra,
  };
  return sendHtml(reply, status, renderAccountPage(model), undefined, model.brand);
}

function seeOther(reply: FastifyReply, location: string, cookie?: string): FastifyReply {
  if (cookie !== undefined) reply.header('set-cookie', cookie);
  return reply.code(303).header('cache-control', 'no-store').header('location', location).send();
}

/**
 * What a form's work comes to: back to the page with a notice, or to the signed-out page; or the
 * page itself, for what must not travel in a URL (recovery codes, shown once).
 */
type FormOutcome = { notice: AccountNotice } | { signedOut: true } | { show: Partial<AccountPageModel> };

const PASSWORD_REASONS: Record<string, MessageKey> = {
  too_short: 'account.password_reason.too_short',
  too_long: 'account.password_reason.too_long',
  common: 'account.password_reason.common',
};

/** What the page says beside a refusal's message: the password policy's reason in words, or the field's problem (users/profile.ts, in English). */
function describe(locale: Locale, error: HttpError): string | undefined {
  const reason = error.extra.reason;
  const key = typeof reason === 'string' ? PASSWORD_REASONS[reason] : undefined;
  if (key !== undefined) return translator(locale).t(key, { min: MIN_PASSWORD_LENGTH, max: MAX_PASSWORD_LENGTH });
  const detail = error.extra.detail;
  return typeof detail === 'string' ? `${detail}.` : undefined;
}

/**
 * The frame of every form: no live browser session → 303 to /account (nothing changed, the page
 * then signs in); a missing or wrong CSRF token → 403 Forbidden; then the form's own work.
 */
function accountForm(
  services: Services,
  form: AccountForm,
  work: (who: SignedIn, fields: Fields, asker: Asker, request: FastifyRequest) => Promise<FormOutcome>,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async (request, reply) => {
    const who = await signedIn(services, request);
    if (!who) return seeOther(reply, '/account');
    const fields = bodyFields(request);
    if (!csrfTokenMatches(who.cookie, field(fields, 'csrf_token'))) throw Forbidden();
    try {
      const outcome = await work(who, fields, clientInfo(request), request);
      if ('signedOut' in outcome) return seeOther(reply, '/account/signed-out', clearedBrowserSessionCookie(services.config.issuer));
      if ('show' in outcome) return sendAccountPage(services, request, reply, 200, who, outcome.show);
      return seeOther(reply, `/account?notice=${outcome.notice}`);
    } catch (error) {
      if (!(error instanceof HttpError) || error.statusCode >= 500) throw error;
      const profileValues = form === 'profile' ? Object.fromEntries(PROFILE_FIELDS.map((name) => [name, field(fields, name) ?? ''])) : undefined;
      const newEmail = form === 'email' ? field(fields, 'new_email') : undefined;
      const detail = describe(accountLocale(request, who.user), error);
      return sendAccountPage(services, request, reply, error.statusCode, who, {
        error: { form, message: error.message, ...(detail !== undefined ? { detail } : {}), ...(error.extra.signInAgain === true ? { signInAgain: true } : {}) },
        ...(profileValues ? { profileValues } : {}),
        ...(newEmail !== undefined ? { newEmail } : {}),
      });
    }
  };
}

/** An account without a password sets one only soon after signing in (docs/decisions/0078-password-change-on-the-account-page.md). */
const SignInAgainToSetPassword = (): HttpError => new HttpError(401, 'Sign in again to set a password', { signInAgain: true });
/** … and changes its email only soon after signing in (accounts.md, docs/decisions/0088-the-email-change-on-the-account-page.md). */
const SignInAgainToChangeEmail = (): HttpError => new HttpError(401, 'Sign in again to change your email', { signInAgain: true });

export function registerAccountRoutes(server: FastifyInstance, services: Services): void {
  const { issuer } = services.config;

  server.get('/account', async (request, reply) => {
    const who = await signedIn(services, request);
    if (!who) {
      const started = await startAccountSignIn(services);
      return seeOther(reply, started.location, started.cookie);
    }
    const notice = field(queryFields(request), 'notice');
    return sendAccountPage(services, request, reply, 200, who, isAccountNotice(notice) ? { notice } : {});
  });

  // The redirect URI of the account project: the end of the sign-in GET /account started.
  server.get('/account/callback', async (request, reply) => {
    const session = await finishAccountSignIn(services, request, queryFields(request));
    reply.header('set-cookie', clearedStateCookie(issuer));
    if (!session) {
      const brand = await accountBrand(services);
      return sendHtml(reply, 400, renderAccountSignInProblem(accountLocale(request), brand), undefined, brand);
    }
    return seeOther(reply, '/account');
  });

  // "Sign in again" (a first password needs a recent sign-in): the login page even with a browser session.
  server.get('/account/sign-in-again', async (_request, reply) => {
    const started = await startAccountSignIn(services, true);
    return seeOther(reply, started.location, started.cookie);
  });

  server.get('/account/signed-out', async (request, reply) => {
    const brand = await accountBrand(services);
    return sendHtml(reply, 200, renderAccountSignedOut(accountLocale(request), brand), undefined, brand);
  });

  server.post(
    '/account/profile',
    accountForm(services, 'profile', async (who, fields, asker) => {
      const form = Object.fromEntries(PROFILE_FIELDS.flatMap((name) => (field(fields, name) !== undefined ? [[name, field(fields, name)]] : [])));
      const changed = await updateOwnProfile(services, who.user, form, asker);
      return { notice: changed.length > 0 ? 'profile_saved' : 'profile_unchanged' };
    }),
  );

  server.post(
    '/account/password',
    accountForm(services, 'password', async (who, fields, asker, request) => {
      if (who.passwordHash === null && !signedInRecently(services, who.session)) throw SignInAgainToSetPassword();
      await changeOwnPassword(services, {
        user: who.user,
        passwordHash: who.passwordHash,
        browserSession: who.session,
        current: field(fields, 'current_password') ?? '',
        next: field(fields, 'new_password') ?? '',
        asker,
      });
      // The change stands whether or not the notice could be sent (an SMTP outage is logged).
      await services.mailer
        .send(passwordChangedMessage({ to: who.user.email, at: new Date(services.clock.now()), accountLink: `${issuer}/account`, locale: accountLocale(request, who.user) }))
        .catch((err: unknown) => request.log.warn({ err }, 'sending the password change notice failed'));
      return { notice: 'password_changed' };
    }),
  );

  server.post(
    '/account/email/resend',
    accountForm(services, 'email', async (who, _fields, asker, request) => ({
      notice: (await sendVerificationAgain(services, who.user, asker, accountLocale(request, who.user))) ? 'verification_sent' : 'already_verified',
    })),
  );

  server.post(
    '/account/email',
    accountForm(services, 'email', async (who, fields, asker, request) => {
      if (who.passwordHash === null && !signedInRecently(services, who.session)) throw SignInAgainToChangeEmail();
      const email = await confirmEmailChange(services, { user: who.user, passwordHash: who.passwordHash, current: field(fields, 'current_password') ?? '', newEmail: field(fields, 'new_email') ?? '', asker });
      await requestEmailChange(services, who.user, email, asker, accountLocale(request, who.user));
      return { notice: 'email_change_sent' };
    }),
  );

  // mfa.md: the authenticator app and the recovery codes.
  server.post(
    '/account/mfa/totp',
    accountForm(services, 'mfa', async (who) => {
      await beginOwnTotp(services, who.user);
      return { notice: 'mfa_started' };
    }),
  );

  server.post(
    '/account/mfa/totp/confirm',
    accountForm(services, 'mfa', async (who, fields, asker) => {
      const recoveryCodes = await confirmOwnTotp(services, who.user, field(fields, 'code') ?? '', asker);
      return { show: { recoveryCodes, shownNotice: 'mfa_added' } };
    }),
  );

  server.post(
    '/account/mfa/totp/remove',
    accountForm(services, 'mfa', async (who, fields, asker) => {
      await removeOwnTotp(services, who.user, field(fields, 'code') ?? '', asker);
      return { notice: 'mfa_removed' };
    }),
  );

  server.post(
    '/account/mfa/recovery-codes',
    accountForm(services, 'mfa', async (who) => {
      const recoveryCodes = await newOwnRecoveryCodes(services, who.user);
      return recoveryCodes ? { show: { recoveryCodes } } : { notice: 'already_ended' };
    }),
  );

  // mfa.md: passkeys. The registration options are JSON for the page script, behind the same
  // browser session and CSRF token as every form; the other three are plain forms.
  server.post('/account/passkeys/options', async (request, reply) => {
    const who = await signedIn(services, request);
    if (!who || !csrfTokenMatches(who.cookie, field(bodyFields(request), 'csrf_token'))) throw Forbidden();
    const options = await services.passkeyCeremonies.registrationOptions(who.user);
    return reply.code(200).header('cache-control', 'no-store').send(options);
  });

  server.post(
    '/account/passkeys',
    accountForm(services, 'passkeys', async (who, fields, asker) => {
      const recoveryCodes = await addOwnPasskey(services, who.user, { response: fields.registration_response, name: field(fields, 'name') }, asker);
      return recoveryCodes ? { show: { recoveryCodes, shownNotice: 'passkey_added' } } : { notice: 'passkey_added' };
    }),
  );

  server.post(
    '/account/passkeys/rename',
    accountForm(services, 'passkeys', async (who, fields, asker) => ({
      notice: (await renameOwnPasskey(services, who.user, field(fields, 'passkey_id') ?? '', field(fields, 'name'), asker)) ? 'passkey_renamed' : 'already_ended',
    })),
  );

  server.post(
    '/account/passkeys/remove',
    accountForm(services, 'passkeys', async (who, fields, asker) => ({
      notice: (await removeOwnPasskey(services, who.user, field(fields, 'passkey_id') ?? '', asker)) ? 'passkey_removed' : 'already_ended',
    })),
  );

  // federation.md: link another provider (the journey of the hosted page, bound to this browser
  // session; it ends back here) and unlink one while another way in remains.
  server.get('/account/connections/link', async (request, reply) => {
    const who = await signedIn(services, request);
    if (!who) return seeOther(reply, '/account');
    const fields = queryFields(request);
    if (!csrfTokenMatches(who.cookie, field(fields, 'csrf_token'))) throw Forbidden();
    const started = await startLinkJourney(services, request, field(fields, 'connection_id') ?? '', { userId: who.user.id, browserSessionId: who.session.id });
    if (!started) throw InvalidRequest({ detail: 'no such connection' });
    return reply.code(302).header('cache-control', 'no-store').header('set-cookie', started.cookie).header('location', started.url).send();
  });

  server.post(
    '/account/connections/unlink',
    accountForm(services, 'providers', async (who, fields, asker) => {
      const outcome = await unlinkOwnProvider(services, { userId: who.user.id, hasOwnWayIn: who.passwordHash !== null || (await services.passkeys.listForUser(who.user.id)).length > 0, connectionId: field(fields, 'connection_id') ?? '', asker });
      return { notice: outcome === 'unlinked' ? 'provider_unlinked' : outcome === 'last_way_in' ? 'last_way_in' : 'already_ended' };
    }),
  );

  server.post(
    '/account/sessions/end',
    accountForm(services, 'sessions', async (who, fields, asker) => {
      const ended = await endOwnSession(services, who.user.id, field(fields, 'session_id') ?? '', asker);
      return { notice: ended ? 'session_ended' : 'already_ended' };
    }),
  );

  server.post(
    '/account/browser-sessions/end',
    accountForm(services, 'sessions', async (who, fields, asker) => {
      const id = field(fields, 'browser_session_id') ?? '';
      const ended = await endOwnBrowserSession(services, who.user.id, id, asker);
      if (ended && id === who.session.id) return { signedOut: true };
      return { notice: ended ? 'browser_session_ended' : 'already_ended' };
    }),
  );

  server.post(
    '/account/sign-out-everywhere',
    accountForm(services, 'sessions', async (who, _fields, asker) => {
      await signOutEverywhere(services, who.user.id, asker);
      return { signedOut: true };
    }),
  );
}

/** The account page's paths, for the answers in HTML to a browser (app.ts). */
export const ACCOUNT_PAGE_ROUTES: readonly string[] = [
  '/account',
  '/account/callback',
  '/account/sign-in-again',
  '/account/signed-out',
  '/account/profile',
  '/account/password',
  '/account/email',
  '/account/email/resend',
  '/account/sessions/end',
  '/account/browser-sessions/end',
  '/account/sign-out-everywhere',
  '/account/mfa/totp',
  '/account/mfa/totp/confirm',
  '/account/mfa/totp/remove',
  '/account/mfa/recovery-codes',
  '/account/passkeys',
  '/account/passkeys/rename',
  '/account/passkeys/remove',
  '/account/connections/link',
  '/account/connections/unlink',
];

const PAGE = { status: 200, description: 'HTML', contentType: 'text/html' } as const;
const FORM_DONE = { status: 303, description: 'to `/account?notice=…`; a refusal answers the page again with the error beside the form' } as const;
const CSRF_FIELD = { csrf_token: 'the CSRF token of the page (bound to the browser session)' };

/** The OpenAPI entries of the account page (openapi/route-docs.ts). */
export const ACCOUNT_ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /account': { summary: 'The account page of the browser session\'s person; without one a 303 to `/authorize?client_id=account&…`', tag: 'Pages', errors: [AccountBlocked], queryFields: { notice: 'optional: which notice to show after a form' }, success: PAGE },
  'GET /account/callback': { summary: 'Redirect URI of the account project: finishes the sign-in and sends the browser to `/account`', tag: 'Pages', errors: [], queryFields: { code: 'the code', state: 'the state of the sign-in' }, success: { status: 303, description: 'to `/account`; a code that does not fit answers 400, a page' } },
  'GET /account/sign-in-again': { summary: 'Signs in to the account page again (prompt=login)', tag: 'Pages', errors: [], success: { status: 303, description: 'to `/authorize?client_id=account&prompt=login&…`' } },
  'GET /account/signed-out': { summary: 'The page after signing this browser out from the account page', tag: 'Pages', errors: [], success: PAGE },
  'POST /account/profile': { summary: 'Changes the profile (`name`, `given_name`, `family_name`, `picture`, `locale`; empty clears)', tag: 'Pages', errors: [Forbidden], bodyFields: { ...CSRF_FIELD, name: 'full name', given_name: 'given name', family_name: 'family name', picture: 'an https URL', locale: 'a BCP 47 tag' }, success: FORM_DONE },
  'POST /account/password': { summary: 'Changes the password; every other session of the account ends and a notice is mailed', tag: 'Pages', errors: [Forbidden, InvalidCredentials, InvalidPassword, RateLimited], bodyFields: { ...CSRF_FIELD, current_password: 'the current password (an account without one: a sign-in within 5 minutes)', new_password: '8 to 256 characters, not a common password' }, success: FORM_DONE },
  'POST /account/email/resend': { summary: 'Mails the verification link again (it only verifies); at most 3 an hour per address', tag: 'Pages', errors: [Forbidden, RateLimited], bodyFields: CSRF_FIELD, success: FORM_DONE },
  'POST /account/email': {
    summary: 'Mails a link to a new address; posting it at `/verify-email` switches the email, verified, and mails the old address a notice',
    tag: 'Pages',
    errors: [Forbidden, InvalidRequest, InvalidCredentials, EmailAlreadyRegistered, RateLimited],
    bodyFields: { ...CSRF_FIELD, new_email: 'the new address', current_password: 'the current password (an account without one: a sign-in within 5 minutes)' },
    success: FORM_DONE,
  },
  'POST /account/mfa/totp': { summary: 'Starts adding an authenticator app: the page then shows a new TOTP secret as a QR code and as text (docs/mfa.md)', tag: 'Pages', errors: [Forbidden], bodyFields: CSRF_FIELD, success: FORM_DONE },
  'POST /account/mfa/totp/confirm': { summary: 'The app\'s first code confirms the secret; the page answers the 10 recovery codes, shown once', tag: 'Pages', errors: [Forbidden, InvalidCode, RateLimited], bodyFields: { ...CSRF_FIELD, code: 'the 6-digit code the app shows' }, success: { status: 200, description: 'the account page with the recovery codes; a wrong code answers 401 with the page' } },
  'POST /account/mfa/totp/remove': { summary: 'Removes the authenticator app and the recovery codes', tag: 'Pages', errors: [Forbidden, InvalidCode, RateLimited], bodyFields: { ...CSRF_FIELD, code: 'a current code of the app, or a recovery code' }, success: FORM_DONE },
  'POST /account/mfa/recovery-codes': { summary: 'Makes 10 new recovery codes (the old ones end), shown once', tag: 'Pages', errors: [Forbidden], bodyFields: CSRF_FIELD, success: { status: 200, description: 'the account page with the new codes' } },
  'POST /account/passkeys/options': {
    summary: 'The WebAuthn registration options of a new passkey (JSON, for the page script): RP ID the issuer\'s host, a discoverable credential and user verification required; the challenge lives 5 minutes, single use',
    tag: 'Pages',
    errors: [Forbidden],
    bodyFields: CSRF_FIELD,
    success: { status: 200, description: '`PublicKeyCredentialCreationOptionsJSON`, as `startRegistration` of @simplewebauthn/browser takes it' },
  },
  'POST /account/passkeys': {
    summary: 'Adds a passkey: the browser\'s answer to the registration options, verified; the first second factor answers the 10 recovery codes, shown once',
    tag: 'Pages',
    errors: [Forbidden, InvalidRequest],
    bodyFields: { ...CSRF_FIELD, name: 'what the person calls it, 1 to 64 characters', registration_response: 'the JSON of `startRegistration` (a `RegistrationResponseJSON`)' },
    success: { status: 303, description: 'to `/account?notice=passkey_added`, or 200 with the page and the recovery codes; a refusal answers the page again with the error' },
  },
  'POST /account/passkeys/rename': { summary: 'Renames one passkey of the person', tag: 'Pages', errors: [Forbidden, InvalidRequest], bodyFields: { ...CSRF_FIELD, passkey_id: 'the passkey, as the page lists it', name: '1 to 64 characters' }, success: FORM_DONE },
  'POST /account/passkeys/remove': { summary: 'Removes one passkey of the person (the recovery codes go with the last second factor)', tag: 'Pages', errors: [Forbidden], bodyFields: { ...CSRF_FIELD, passkey_id: 'the passkey, as the page lists it' }, success: FORM_DONE },
  'GET /account/connections/link': { summary: 'Links another upstream provider (docs/federation.md): the journey of the hosted page, bound to this browser session, back to `/account`', tag: 'Pages', errors: [Forbidden, InvalidRequest], queryFields: { ...CSRF_FIELD, connection_id: 'the connection to link' }, success: { status: 302, description: 'to the provider; its callback answers a 303 to `/account?notice=…`' } },
  'POST /account/connections/unlink': { summary: 'Unlinks an upstream provider, unless it is the last way in (no password, no other provider)', tag: 'Pages', errors: [Forbidden], bodyFields: { ...CSRF_FIELD, connection_id: 'the linked connection' }, success: FORM_DONE },
  'POST /account/sessions/end': { summary: 'Signs out one project session of the person', tag: 'Pages', errors: [Forbidden], bodyFields: { ...CSRF_FIELD, session_id: 'the session, as the page lists it' }, success: FORM_DONE },
  'POST /account/browser-sessions/end': { summary: 'Signs out one browser of the person (and the project sessions started from it)', tag: 'Pages', errors: [Forbidden], bodyFields: { ...CSRF_FIELD, browser_session_id: 'the browser session, as the page lists it' }, success: { status: 303, description: 'to `/account?notice=…`, or `/account/signed-out` for this browser' } },
  'POST /account/sign-out-everywhere': { summary: 'Signs out every project session and every browser of the person, this one too', tag: 'Pages', errors: [Forbidden], bodyFields: CSRF_FIELD, success: { status: 303, description: 'to `/account/signed-out`' } },
};
