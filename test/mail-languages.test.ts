// The languages of the account mails (accounts.md "Languages", docs/accounts.md "Languages of the
// mails"): a password reset, the verification links (registration, refused sign-in, "send the link
// again" from the sign-in page and the account page), an email change and its notice, each mailed
// through a real SMTP server in the language of the request that caused it: ui_locales, then
// Accept-Language, then English; on the account page the account's own `locale` claim first.
// The messages are decoded from what the server received, so umlauts and accents must survive
// the Subject header's encoding and the parts' charset.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sendVerificationAgain } from '../src/login/verify-email/routes.ts';
import type { User } from '../src/users/users.ts';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { browserCookie, linkToken, waitForMail } from './support/account-mail.ts';
import { authParams, createProject, createUser, post, type AuthParams, type TestProject } from './support/flow.ts';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from './support/smtp.ts';

const PASSWORD = 'a long enough passphrase';
const APP_NAME = 'Bücherstube Café';
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin', origin: ISSUER };

/** The message as it went over the wire: UTF-8 parts, an RFC 2047 Subject, an ASCII header block. */
function assertUtf8Mime(mail: ReceivedMail): void {
  const head = mail.raw.slice(0, mail.raw.search(/\r?\n\r?\n/));
  assert.match(head, /^[\x20-\x7e\r\n\t]*$/, 'the header block is ASCII');
  // nodemailer encodes a Subject with anything but ASCII as RFC 2047 words, and leaves ASCII alone
  if (/[^\x20-\x7e]/.test(mail.subject)) assert.match(head.replace(/\r?\n[ \t]+/g, ' '), /^Subject: =\?UTF-8\?[BQ]\?/im, 'the Subject is an encoded word');
  assert.match(mail.raw, /^Content-Type: text\/plain; charset=utf-8$/im);
  assert.match(mail.raw, /^Content-Type: text\/html; charset=utf-8$/im);
}

/** The lines of the plain-text part (SMTP carries CRLF). */
function lines(mail: ReceivedMail): string[] {
  return mail.text.split(/\r?\n/);
}

/** A browser over app.inject for the account page: keeps cookies by path, speaks `language`. */
class Browser {
  private readonly cookies = new Map<string, { value: string; path: string }>();
  constructor(
    private readonly app: TestApp,
    private readonly language: string,
  ) {}

  private header(path: string): string {
    return [...this.cookies]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || path.startsWith(`${c.path}?`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private keep(response: LightMyRequestResponse): LightMyRequestResponse {
    const raw = response.headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)]) {
      const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
      const at = pair.indexOf('=');
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      if (attributes.some((a) => a.toLowerCase() === 'max-age=0')) this.cookies.delete(pair.slice(0, at));
      else this.cookies.set(pair.slice(0, at), { value: pair.slice(at + 1), path });
    }
    return response;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const path = url.startsWith(ISSUER) ? url.slice(ISSUER.length) : url;
    return this.keep(await this.app.server.inject({ method: 'GET', url: path, headers: { accept: 'text/html', 'accept-language': this.language, cookie: this.header(path) } }));
  }

  async post(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.keep(
      await this.app.server.inject({
        method: 'POST',
        url,
        payload: new URLSearchParams(fields).toString(),
        headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'accept-language': this.language, cookie: this.header(url), ...SAME_ORIGIN },
      }),
    );
  }
}

function location(response: LightMyRequestResponse): string {
  assert.equal(response.statusCode, 303, response.body);
  return String(response.headers.location);
}

function csrfOf(page: LightMyRequestResponse): string {
  const token = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, 'the page carries a CSRF token');
  return token;
}

describe('the languages of the account mails', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let strict: TestProject;
  let ip = 0;
  before(async () => {
    smtp = await startSmtpServer();
    // Each request comes from its own address (3 signups per address an hour).
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_SENDS_PER_IP: '1000', GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    await app.services.projects.update(project.id, { name: APP_NAME });
    strict = await createProject(app);
    await app.services.projects.update(strict.id, { name: 'Zürich Öffentlich', require_verified_email: true });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  const from = (headers: Record<string, string> = {}) => ({ 'x-forwarded-for': `198.51.100.${++ip}`, ...headers });
  const params = (target: TestProject, extra: Partial<AuthParams> = {}) => authParams(target.id, pkcePair().challenge, extra);

  async function user(email: string): Promise<User> {
    const record = await app.services.users.findByEmail(email);
    assert.ok(record, email);
    return record.user;
  }

  async function reset(email: string, extra: Partial<AuthParams>, headers: Record<string, string> = {}): Promise<ReceivedMail> {
    await createUser(app, email, PASSWORD, project.id);
    const answer = await post(app, '/password-reset', { ...params(project, extra), email }, from(headers));
    assert.equal(answer.statusCode, 202, answer.body);
    return waitForMail(smtp, email, 1);
  }

  /** Signed in on the account page, speaking `language`. */
  async function accountPage(email: string, language: string): Promise<{ browser: Browser; page: LightMyRequestResponse }> {
    const browser = new Browser(app, language);
    const authorize = new URL(location(await browser.get('/account')), ISSUER);
    const login = await browser.post('/login', { ...Object.fromEntries(authorize.searchParams), email, password: PASSWORD });
    assert.equal(location(await browser.get(location(login))), '/account');
    const page = await browser.get('/account');
    assert.equal(page.statusCode, 200, page.body);
    return { browser, page };
  }

  describe('the password reset', () => {
    it('ui_locales=de: a German subject and body, umlauts intact, charset utf-8, the lifetime in German', async () => {
      const mail = await reset('reset-de@example.com', { ui_locales: 'de' });
      assert.equal(mail.subject, 'Passwort für Bücherstube Café zurücksetzen');
      assert.equal(lines(mail)[0], 'Hallo,');
      assert.ok(mail.text.includes('Jemand möchte das Passwort des Kontos mit dieser E-Mail-Adresse zurücksetzen, um sich bei Bücherstube Café anzumelden.'), mail.text);
      assert.ok(mail.text.includes('Öffnen Sie diesen Link, um ein neues Passwort zu wählen:'), mail.text);
      assert.ok(mail.text.includes('Der Link funktioniert einmal und läuft in 30 Minuten ab.'), mail.text);
      assert.ok(mail.text.includes('Ihr Passwort bleibt unverändert.'), mail.text);
      assert.ok(mail.text.includes(`${ISSUER}/password-reset/verify?token=${linkToken(mail, '/password-reset/verify')}`));
      assert.match(mail.html, /<html lang="de">/);
      assert.ok(mail.html.includes('>Neues Passwort wählen</a>'), mail.html);
      assert.ok(mail.html.includes('Bücherstube Café'), mail.html);
      assertUtf8Mime(mail);
    });

    it('Accept-Language: fr without ui_locales: French', async () => {
      const mail = await reset('reset-fr@example.com', {}, { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' });
      assert.equal(mail.subject, 'Réinitialiser votre mot de passe pour Bücherstube Café');
      assert.equal(lines(mail)[0], 'Bonjour,');
      assert.ok(mail.text.includes('Ouvrez ce lien pour choisir un nouveau mot de passe :'), mail.text);
      assert.ok(mail.text.includes('Le lien ne fonctionne qu’une fois et expire dans 30 minutes.'), mail.text);
      assert.ok(mail.text.includes('Votre mot de passe reste inchangé.'), mail.text);
      assert.ok(mail.html.includes('>Choisir un nouveau mot de passe</a>'), mail.html);
      assertUtf8Mime(mail);
    });

    it('ui_locales comes before Accept-Language; an unsupported ui_locales falls through to Accept-Language', async () => {
      const spanish = await reset('reset-es@example.com', { ui_locales: 'es' }, { 'accept-language': 'de' });
      assert.equal(spanish.subject, 'Restablezca su contraseña de Bücherstube Café');
      assert.ok(spanish.text.includes('El enlace funciona una sola vez y caduca en 30 minutos.'), spanish.text);
      assert.ok(spanish.text.includes('Su contraseña sigue siendo la misma.'), spanish.text);
      const german = await reset('reset-ja@example.com', { ui_locales: 'ja' }, { 'accept-language': 'ja, de-AT;q=0.8, fr;q=0.5' });
      assert.equal(german.subject, 'Passwort für Bücherstube Café zurücksetzen');
    });

    it('English when nothing asks for one of the four languages', async () => {
      const mail = await reset('reset-en@example.com', {}, { 'accept-language': 'ja, pt;q=0.5' });
      assert.equal(mail.subject, 'Reset your password for Bücherstube Café');
      assert.equal(lines(mail)[0], 'Hello,');
      assert.ok(mail.text.includes('Open this link to choose a new password:'), mail.text);
      assert.ok(mail.text.includes('The link works once and expires in 30 minutes.'), mail.text);
      assert.match(mail.html, /<html lang="en">/);
      const plain = await reset('reset-plain@example.com', {});
      assert.equal(plain.subject, 'Reset your password for Bücherstube Café');
      assertUtf8Mime(plain);
    });
  });

  describe('the verification link', () => {
    it('after a registration with Accept-Language: es: Spanish, naming the project', async () => {
      const answer = await post(app, '/register', { ...params(project), email: 'registro@example.com', password: PASSWORD }, from({ 'accept-language': 'es-MX,es;q=0.9' }));
      assert.equal(answer.statusCode, 201, answer.body);
      const mail = await waitForMail(smtp, 'registro@example.com', 1);
      assert.equal(mail.subject, 'Verifique su dirección de correo');
      assert.equal(lines(mail)[0], 'Hola:');
      assert.ok(mail.text.includes('Confirme que esta dirección es suya para continuar en Bücherstube Café.'), mail.text);
      assert.ok(mail.text.includes('El enlace funciona una sola vez y caduca en 24 horas.'), mail.text);
      assert.ok(mail.text.includes('Si no lo ha pedido usted, puede ignorar este mensaje.'), mail.text);
      assert.ok(mail.html.includes('>Verificar mi dirección de correo</a>'), mail.html);
      assertUtf8Mime(mail);
    });

    it('after a registration with ui_locales=de (and Accept-Language: fr): German', async () => {
      const answer = await post(app, '/register', { ...params(project, { ui_locales: 'de' }), email: 'anmeldung@example.com', password: PASSWORD }, from({ 'accept-language': 'fr' }));
      assert.equal(answer.statusCode, 201, answer.body);
      const mail = await waitForMail(smtp, 'anmeldung@example.com', 1);
      assert.equal(mail.subject, 'Bestätigen Sie Ihre E-Mail-Adresse');
      assert.ok(mail.text.includes('Bitte bestätigen Sie, dass diese Adresse Ihnen gehört, um mit Bücherstube Café fortzufahren.'), mail.text);
      assert.ok(mail.text.includes('Der Link funktioniert einmal und läuft in 24 Stunden ab.'), mail.text);
    });

    it('a sign-in refused for an unverified email, with ui_locales=fr: the new link in French', async () => {
      await createUser(app, 'refus@example.com', PASSWORD, strict.id);
      const refused = await post(app, '/login', { ...params(strict, { ui_locales: 'fr' }), email: 'refus@example.com', password: PASSWORD }, from());
      assert.equal(refused.statusCode, 403, refused.body);
      const mail = await waitForMail(smtp, 'refus@example.com', 1);
      assert.equal(mail.subject, 'Vérifiez votre adresse e-mail');
      assert.ok(mail.text.includes('Veuillez confirmer que cette adresse est bien la vôtre, pour continuer vers Zürich Öffentlich.'), mail.text);
      assert.ok(mail.text.includes('Le lien ne fonctionne qu’une fois et expire dans 24 heures.'), mail.text);
      assert.ok(mail.html.includes('>Vérifier mon adresse e-mail</a>'), mail.html);
      assertUtf8Mime(mail);
    });

    it('GET /authorize with a browser session, refused for an unverified email, with ui_locales=es: the new link in Spanish', async () => {
      await createUser(app, 'sesion@example.com', PASSWORD, project.id);
      const login = await post(app, '/login', { ...params(project), email: 'sesion@example.com', password: PASSWORD }, from());
      assert.equal(login.statusCode, 200, login.body);
      const query = new URLSearchParams({ ...params(strict, { ui_locales: 'es' }) });
      const refused = await app.server.inject({ method: 'GET', url: `/authorize?${query}`, headers: { accept: 'text/html', cookie: browserCookie(login), 'accept-language': 'de', ...from() } });
      assert.equal(refused.statusCode, 403, refused.body);
      const mail = await waitForMail(smtp, 'sesion@example.com', 1);
      assert.equal(mail.subject, 'Verifique su dirección de correo');
      assert.ok(mail.text.includes('Confirme que esta dirección es suya para continuar en Zürich Öffentlich.'), mail.text);
      assertUtf8Mime(mail);
    });

    it('POST /verify-email/resend from the sign-in page: the language of that request', async () => {
      await createUser(app, 'nochmal@example.com', PASSWORD, project.id);
      const german = await post(app, '/verify-email/resend', { ...params(project), email: 'nochmal@example.com' }, from({ 'accept-language': 'de-CH' }));
      assert.equal(german.statusCode, 202, german.body);
      assert.equal((await waitForMail(smtp, 'nochmal@example.com', 1)).subject, 'Bestätigen Sie Ihre E-Mail-Adresse');
      const english = await post(app, '/verify-email/resend', { ...params(project), email: 'nochmal@example.com' }, from());
      assert.equal(english.statusCode, 202, english.body);
      const mail = await waitForMail(smtp, 'nochmal@example.com', 2);
      assert.equal(mail.subject, 'Verify your email address');
      assert.ok(mail.text.includes('Please confirm that this address is yours, to continue to Bücherstube Café.'), mail.text);
      assert.ok(mail.text.includes('The link works once and expires in 24 hours.'), mail.text);
    });

    it('"send the link again" on the account page: the page\'s language, a link that names no project', async () => {
      await createUser(app, 'cuenta@example.com', PASSWORD, project.id);
      const { browser, page } = await accountPage('cuenta@example.com', 'es');
      assert.equal(location(await browser.post('/account/email/resend', { csrf_token: csrfOf(page) })), '/account?notice=verification_sent');
      const mail = await waitForMail(smtp, 'cuenta@example.com', 1);
      assert.equal(mail.subject, 'Verifique su dirección de correo');
      assert.ok(lines(mail).includes('Confirme que esta dirección es suya.'), mail.text);
      assert.ok(!mail.text.includes('Bücherstube'), mail.text);
      assertUtf8Mime(mail);
    });

    it('the account\'s own locale claim comes before the browser\'s Accept-Language on the account page', async () => {
      const id = await createUser(app, 'konto@example.com', PASSWORD, project.id);
      await app.services.users.update(id, { locale: 'de-AT' });
      const { browser, page } = await accountPage('konto@example.com', 'fr');
      assert.equal(location(await browser.post('/account/email/resend', { csrf_token: csrfOf(page) })), '/account?notice=verification_sent');
      const mail = await waitForMail(smtp, 'konto@example.com', 1);
      assert.equal(mail.subject, 'Bestätigen Sie Ihre E-Mail-Adresse');
      assert.ok(lines(mail).includes('Bitte bestätigen Sie, dass diese Adresse Ihnen gehört.'), mail.text);
    });

    it('with no request of the person at hand: the account\'s locale claim, else English (decision 0089)', async () => {
      const client = { ip: '192.0.2.7', userAgent: 'test' };
      const id = await createUser(app, 'sinpeticion@example.com', PASSWORD, project.id);
      await app.services.users.update(id, { locale: 'es-ES' });
      assert.equal(await sendVerificationAgain(app.services, await user('sinpeticion@example.com'), client), true);
      assert.equal((await waitForMail(smtp, 'sinpeticion@example.com', 1)).subject, 'Verifique su dirección de correo');
      await createUser(app, 'norequest@example.com', PASSWORD, project.id);
      assert.equal(await sendVerificationAgain(app.services, await user('norequest@example.com'), client), true);
      const mail = await waitForMail(smtp, 'norequest@example.com', 1);
      assert.equal(mail.subject, 'Verify your email address');
      assert.ok(lines(mail).includes('Please confirm that this address is yours.'), mail.text);
    });
  });

  describe('the email change', () => {
    it('Accept-Language: fr on the account page: the link to the new address and the notice to the old one in French', async () => {
      await createUser(app, 'ancien@example.com', PASSWORD, project.id);
      const { browser, page } = await accountPage('ancien@example.com', 'fr-CA, en;q=0.3');
      const asked = await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'nouveau@example.com', current_password: PASSWORD });
      assert.equal(location(asked), '/account?notice=email_change_sent');
      const link = await waitForMail(smtp, 'nouveau@example.com', 1);
      assert.equal(link.subject, 'Confirmez votre nouvelle adresse e-mail');
      assert.ok(link.text.includes('Quelqu’un a demandé à utiliser cette adresse pour son compte. Ouvrez ce lien pour confirmer le changement :'), link.text);
      assert.ok(link.text.includes('Le lien ne fonctionne qu’une fois et expire dans 24 heures.'), link.text);
      assert.ok(link.text.includes('Rien ne change tant que le lien n’est pas utilisé.'), link.text);
      assert.ok(link.html.includes('>Utiliser cette adresse e-mail</a>'), link.html);
      assertUtf8Mime(link);

      const used = await browser.post('/verify-email', { token: linkToken(link, '/verify-email') });
      assert.equal(used.statusCode, 200, used.body);
      const notice = await waitForMail(smtp, 'ancien@example.com', 1);
      assert.equal(notice.subject, 'Votre adresse e-mail a été changée');
      assert.ok(notice.text.includes('L’adresse e-mail de votre compte a été changée en nouveau@example.com.'), notice.text);
      assert.ok(notice.text.includes('Si vous n’êtes pas à l’origine de ce changement, contactez sans attendre les responsables de ce service.'), notice.text);
      assert.match(notice.html, /<html lang="fr">/);
      assertUtf8Mime(notice);
    });

    it('no language asked for: the link in English; the notice follows the account\'s locale claim over the browser that used the link', async () => {
      const id = await createUser(app, 'alt@example.com', PASSWORD, project.id);
      const { browser, page } = await accountPage('alt@example.com', '');
      assert.equal(location(await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'neu@example.com', current_password: PASSWORD })), '/account?notice=email_change_sent');
      const link = await waitForMail(smtp, 'neu@example.com', 1);
      assert.equal(link.subject, 'Confirm your new email address');
      assert.ok(link.text.includes('Nothing changes until the link is used.'), link.text);
      await app.services.users.update(id, { locale: 'de' });
      const used = await app.server.inject({ method: 'POST', url: '/verify-email', payload: { token: linkToken(link, '/verify-email') }, headers: { 'accept-language': 'es' } });
      assert.equal(used.statusCode, 200, used.body);
      const notice = await waitForMail(smtp, 'alt@example.com', 1);
      assert.equal(notice.subject, 'Ihre E-Mail-Adresse wurde geändert');
      assert.ok(notice.text.includes('Die E-Mail-Adresse Ihres Kontos wurde in neu@example.com geändert.'), notice.text);
      assert.ok(notice.text.includes('Wenn Sie diese Änderung nicht vorgenommen haben, wenden Sie sich sofort an die Betreiber dieses Dienstes.'), notice.text);
    });

    it('the notice without a locale claim: the language of the browser that used the link', async () => {
      await createUser(app, 'viejo@example.com', PASSWORD, project.id);
      const { browser, page } = await accountPage('viejo@example.com', 'es');
      assert.equal(location(await browser.post('/account/email', { csrf_token: csrfOf(page), new_email: 'nuevo@example.com', current_password: PASSWORD })), '/account?notice=email_change_sent');
      const link = await waitForMail(smtp, 'nuevo@example.com', 1);
      assert.equal(link.subject, 'Confirme su nueva dirección de correo');
      const used = await browser.post('/verify-email', { token: linkToken(link, '/verify-email') });
      assert.equal(used.statusCode, 200, used.body);
      const notice = await waitForMail(smtp, 'viejo@example.com', 1);
      assert.equal(notice.subject, 'Se cambió su dirección de correo');
      assert.ok(notice.text.includes('La dirección de correo de su cuenta se cambió a nuevo@example.com.'), notice.text);
      assert.ok(notice.text.includes('póngase en contacto de inmediato con los responsables de este servicio.'), notice.text);
    });
  });
});
