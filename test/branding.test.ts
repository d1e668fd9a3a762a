// A project's branding on the hosted pages (accounts.md "The hosted pages, redesigned"): the
// logo_url and brand_color fields and their rules, the stylesheet of a colour and its contrast
// choice per colour scheme, and every page of a branded project carrying the logo, the
// stylesheet link and the logo's origin in its CSP (and a project without branding neither).
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/run.ts';
import { brandColours, brandStylesheet, contrastRatio, SCHEME_COLOURS } from '../src/pages/brand.ts';
import { ACCOUNT_PROJECT_ID, type Project } from '../src/projects/projects.ts';
import { checkBrandColor, checkLogoUrl } from '../src/projects/branding.ts';
import { createTestApp, pkcePair, testEnv, type TestApp } from './support/app.ts';
import { asForm, browserCookie, linkToken, waitForMail } from './support/account-mail.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, createProject, createUser, postForm, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { totpNow } from './support/totp.ts';

const BROWSER = { accept: 'text/html' };
const LOGO = 'https://cdn.example.com/brand/logo.png';
const LOGO_ORIGIN = 'https://cdn.example.com';
const COLOR = '#0f5132';
const PASSWORD = 'a branding test passphrase';
const SAME_ORIGIN = { origin: 'http://gatehouse.test', 'sec-fetch-site': 'same-origin' };

/** The img-src directive of an answer's CSP. */
function imgSrc(response: LightMyRequestResponse): string {
  const csp = String(response.headers['content-security-policy']);
  return /(?:^|;) *img-src ([^;]*)/.exec(csp)?.[1] ?? `(no img-src in ${csp})`;
}

function assertBranded(response: LightMyRequestResponse, what: string): void {
  assert.match(String(response.headers['content-type']), /^text\/html/, what);
  assert.ok(response.body.includes(`<img class="logo" src="${LOGO}" alt="" width="40" height="40">`), `${what}: the logo\n${response.body}`);
  assert.ok(response.body.includes(`<link rel="stylesheet" href="/assets/brand/${COLOR.slice(1)}.css">`), `${what}: the colour's stylesheet`);
  assert.ok(response.body.indexOf('/assets/gatehouse.css') < response.body.indexOf('/assets/brand/'), `${what}: after the main stylesheet`);
  assert.equal(imgSrc(response), `'self' data: ${LOGO_ORIGIN}`, `${what}: the CSP allows exactly the logo's origin`);
  assert.match(String(response.headers['content-security-policy']), /style-src 'self'(;|$)/, what);
}

function assertUnbranded(response: LightMyRequestResponse, what: string): void {
  assert.match(String(response.headers['content-type']), /^text\/html/, what);
  assert.doesNotMatch(response.body, /<img class="logo"/, what);
  assert.doesNotMatch(response.body, /\/assets\/brand\//, what);
  assert.equal(imgSrc(response), "'self' data:", what);
}

describe('branding: the rules of logo_url and brand_color', () => {
  it('logo_url: https (http only on localhost or 127.0.0.1), no credentials, no fragment, ASCII, at most 2048 characters', () => {
    const good: Array<[string, string]> = [
      [LOGO, LOGO],
      ['https://CDN.Example.com/logo.svg?v=2', 'https://cdn.example.com/logo.svg?v=2'],
      ['https://xn--bcher-kva.example/logo.png', 'https://xn--bcher-kva.example/logo.png'],
      ['https://cdn.example.com:8443/l.png', 'https://cdn.example.com:8443/l.png'],
      ['http://localhost:8080/logo.png', 'http://localhost:8080/logo.png'],
      ['http://127.0.0.1/logo.png', 'http://127.0.0.1/logo.png'],
      [`https://cdn.example.com/${'a'.repeat(2048 - 24)}`, `https://cdn.example.com/${'a'.repeat(2048 - 24)}`],
    ];
    for (const [input, stored] of good) assert.equal(checkLogoUrl(input), stored, input);
    assert.equal(checkLogoUrl(null), null);
    const bad = [
      'http://cdn.example.com/logo.png',
      'http://[::1]/logo.png',
      'https://[2001:db8::1]/logo.png',
      'https://user:pw@cdn.example.com/logo.png',
      'https://user@cdn.example.com/logo.png',
      'https://cdn.example.com/logo.png#top',
      'https://cdn.example.com/logo.png#',
      'https://bücher.example/logo.png',
      'https://cdn.example.com/a b.png',
      'data:image/png;base64,AAAA',
      'javascript:alert(1)',
      '//cdn.example.com/logo.png',
      '/logo.png',
      'not a url',
      `https://cdn.example.com/${'a'.repeat(2048)}`,
    ];
    for (const input of bad) assert.throws(() => checkLogoUrl(input), (error: Error) => error.message === 'Invalid request', input);
  });

  it('brand_color: #rrggbb, stored in lower case', () => {
    assert.equal(checkBrandColor('#0F5132'), '#0f5132');
    assert.equal(checkBrandColor(null), null);
    for (const input of ['0f5132', '#0f513', '#0f51322', '#0g5132', 'red', '#fff', ' #0f5132', '#0f5132 ']) {
      assert.throws(() => checkBrandColor(input), (error: Error) => error.message === 'Invalid request', input);
    }
  });
});

describe('branding: the colour and its contrast', () => {
  it('reads the schemes from the main stylesheet', () => {
    assert.deepEqual(SCHEME_COLOURS.light, { card: '#ffffff', onAccent: '#ffffff', accent: '#1d4ed8', link: '#1d4ed8' });
    assert.deepEqual(SCHEME_COLOURS.dark, { card: '#161b26', onAccent: '#0b0f17', accent: '#93b4fd', link: '#93b4fd' });
  });

  it('a dark colour is kept in the light scheme only, a light colour in the dark scheme only', () => {
    assert.deepEqual(brandColours('#0f5132', 'light'), { accent: '#0f5132', link: '#0f5132' });
    assert.deepEqual(brandColours('#0f5132', 'dark'), { accent: '#93b4fd', link: '#93b4fd' });
    assert.deepEqual(brandColours('#ffd166', 'light'), { accent: '#1d4ed8', link: '#1d4ed8' });
    assert.deepEqual(brandColours('#ffd166', 'dark'), { accent: '#ffd166', link: '#ffd166' });
  });

  it('a mid colour: the dark scheme keeps it on the button (4.5:1 against its dark text) but not for links (under 4.5:1 on the card); the light scheme keeps neither', () => {
    const mid = '#808080';
    assert.ok(contrastRatio(mid, SCHEME_COLOURS.light.card) < 4.5);
    assert.ok(contrastRatio(mid, SCHEME_COLOURS.dark.onAccent) >= 4.5);
    assert.ok(contrastRatio(mid, SCHEME_COLOURS.dark.card) < 4.5);
    assert.deepEqual(brandColours(mid, 'light'), { accent: '#1d4ed8', link: '#1d4ed8' });
    assert.deepEqual(brandColours(mid, 'dark'), { accent: '#808080', link: '#93b4fd' });
  });

  it('the WCAG ratio: black on white is 21, a colour on itself 1', () => {
    assert.equal(Math.round(contrastRatio('#000000', '#ffffff') * 100) / 100, 21);
    assert.equal(contrastRatio('#0f5132', '#0f5132'), 1);
  });
});

describe('branding: the admin API, the command line and the pages', () => {
  const env = testEnv();
  let smtp: TestSmtpServer;
  let app: TestApp;
  let admin: string;
  let branded: Project;
  let plain: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { ...env, GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_SENDS_PER_IP: '1000' } });
    admin = await adminToken(app);
    const created = await call(app, admin, 'POST', '/admin/projects', { name: 'Orchard', redirect_uris: [REDIRECT_URI], logo_url: LOGO, brand_color: COLOR.toUpperCase() });
    assert.equal(created.statusCode, 201, created.body);
    branded = created.json<Project>();
    plain = await createProject(app);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('create stores them (the colour in lower case), GET shows them, PATCH changes them and null clears them', async () => {
    assert.equal(branded.logo_url, LOGO);
    assert.equal(branded.brand_color, COLOR);
    const shown = await call(app, admin, 'GET', `/admin/projects/${branded.id}`);
    assert.equal(shown.json<Project>().logo_url, LOGO);
    assert.equal(shown.json<Project>().brand_color, COLOR);
    const other = await call(app, admin, 'POST', '/admin/projects', { name: 'Other', redirect_uris: [REDIRECT_URI] });
    const id = other.json<Project>().id;
    assert.equal(other.json<Project>().logo_url, null);
    assert.equal(other.json<Project>().brand_color, null);
    const set = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { logo_url: 'https://img.example/l.svg', brand_color: '#AbCdEf' });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json<Project>().logo_url, 'https://img.example/l.svg');
    assert.equal(set.json<Project>().brand_color, '#abcdef');
    const cleared = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { logo_url: null });
    assert.equal(cleared.json<Project>().logo_url, null);
    assert.equal(cleared.json<Project>().brand_color, '#abcdef');
    const both = await call(app, admin, 'PATCH', `/admin/projects/${id}`, { brand_color: null });
    assert.equal(both.json<Project>().brand_color, null);
  });

  it('refuses a bad logo_url or brand_color with 400 Invalid request, on create and on PATCH, and changes nothing', async () => {
    const valid = { name: 'Bad', redirect_uris: [REDIRECT_URI] };
    const rows: object[] = [
      { logo_url: 'http://cdn.example.com/l.png' },
      { logo_url: 'https://u:p@cdn.example.com/l.png' },
      { logo_url: 'https://cdn.example.com/l.png#x' },
      { logo_url: 'https://bücher.example/l.png' },
      { logo_url: `https://cdn.example.com/${'a'.repeat(2030)}` },
      { logo_url: '' },
      { logo_url: 42 },
      { brand_color: 'red' },
      { brand_color: '#12345' },
      { brand_color: '#1234567' },
      { brand_color: '#12345g' },
      { brand_color: '' },
      { brand_color: 0x123456 },
    ];
    for (const row of rows) {
      const create = await call(app, admin, 'POST', '/admin/projects', { ...valid, ...row });
      assert.equal(create.statusCode, 400, `${JSON.stringify(row)} ${create.body}`);
      assert.equal(create.json<{ error: string }>().error, 'Invalid request');
      const patch = await call(app, admin, 'PATCH', `/admin/projects/${branded.id}`, row);
      assert.equal(patch.statusCode, 400, `${JSON.stringify(row)} ${patch.body}`);
      assert.equal(patch.json<{ error: string }>().error, 'Invalid request');
    }
    const unchanged = await call(app, admin, 'GET', `/admin/projects/${branded.id}`);
    assert.equal(unchanged.json<Project>().logo_url, LOGO);
    assert.equal(unchanged.json<Project>().brand_color, COLOR);
  });

  it('the command line: --logo-url and --brand-color on create and update, "none" clears, a bad value is a usage error', async () => {
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, { stdout: (text) => (stdout += `${text}\n`), stderr: (text) => (stderr += `${text}\n`), env });
      return { code, stdout, stderr };
    };
    const created = await cli('project', 'create', '--name', 'CLI brand', '--redirect-uri', REDIRECT_URI, '--logo-url', LOGO, '--brand-color', '#AA3300', '--json');
    assert.equal(created.code, 0, created.stderr);
    const project = JSON.parse(created.stdout) as Project;
    assert.equal(project.logo_url, LOGO);
    assert.equal(project.brand_color, '#aa3300');
    const shown = await cli('project', 'show', project.id);
    assert.match(shown.stdout, /logo: +https:\/\/cdn\.example\.com\/brand\/logo\.png/);
    assert.match(shown.stdout, /colour: +#aa3300/);
    const cleared = await cli('project', 'update', project.id, '--logo-url', 'none', '--brand-color', 'none', '--json');
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal((JSON.parse(cleared.stdout) as Project).logo_url, null);
    assert.equal((JSON.parse(cleared.stdout) as Project).brand_color, null);
    for (const [option, value] of [
      ['--logo-url', 'http://cdn.example.com/l.png'],
      ['--brand-color', 'blue'],
    ] as const) {
      const refused = await cli('project', 'update', project.id, option, value);
      assert.notEqual(refused.code, 0, `${option} ${value}`);
      assert.match(refused.stderr, /logo_url|brand_color|--logo-url|--brand-color/, refused.stderr);
    }
    assert.equal((await app.services.projects.find(project.id))?.project.brand_color, null);
  });

  it('GET /assets/brand/<rrggbb>.css: the stylesheet of the colour, CSS, cached for a year; anything else 404', async () => {
    const sheet = await app.server.inject({ method: 'GET', url: '/assets/brand/0f5132.css' });
    assert.equal(sheet.statusCode, 200);
    assert.equal(sheet.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(sheet.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(sheet.body, brandStylesheet('0f5132'));
    const [light = '', dark = ''] = sheet.body.split('@media (prefers-color-scheme: dark)');
    assert.match(light, /:root \{ --accent: #0f5132; --link: #0f5132; \}/);
    assert.match(dark, /:root \{ --accent: #93b4fd; --link: #93b4fd; \}/);
    for (const file of ['0F5132.css', '0f513.css', 'zzzzzz.css', '0f5132.js', '0f5132', '..%2Fgatehouse.css', `${'a'.repeat(70)}.css`]) {
      const refused = await app.server.inject({ method: 'GET', url: `/assets/brand/${file}` });
      assert.equal(refused.statusCode, 404, `${file} ${refused.body}`);
      assert.doesNotMatch(String(refused.headers['content-type']), /text\/css/);
    }
  });

  const query = (clientId: string, extra: Record<string, string> = {}) =>
    new URLSearchParams({ ...(authParams(clientId, pkcePair().challenge) as unknown as Record<string, string>), ...extra }).toString();
  const page = (url: string, headers: Record<string, string> = {}) => app.server.inject({ method: 'GET', url, headers: { ...BROWSER, ...headers } });
  const form = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) => postForm(app, url, fields, { ...BROWSER, ...headers });

  /** Every page of `projectId` a person meets, each with what it is. */
  async function pagesOf(projectId: string, email: string): Promise<Array<[string, LightMyRequestResponse]>> {
    await createUser(app, email, PASSWORD, projectId);
    const fields = asForm(authParams(projectId, pkcePair().challenge));
    const pages: Array<[string, LightMyRequestResponse]> = [];
    pages.push(['login', await page(`/authorize?${query(projectId)}`)]);
    pages.push(['login, refused password', await form('/login', { ...fields, email, password: 'not the password at all' })]);
    pages.push(['register', await page(`/register?${query(projectId)}`)]);
    pages.push(['password reset request', await page(`/password-reset?${query(projectId)}`)]);

    let count = smtp.to(email).length;
    pages.push(['password reset sent', await form('/password-reset', { ...fields, email })]);
    const reset = linkToken(await waitForMail(smtp, email, count + 1), '/password-reset/verify');
    pages.push(['new password', await page(`/password-reset/verify?token=${encodeURIComponent(reset)}`)]);
    pages.push(['new password, refused', await form('/password-reset/verify', { token: reset, password: 'short' })]);

    count = smtp.to(email).length;
    pages.push(['magic link sent', await form('/magic-link', { ...fields, email })]);
    const magic = magicLinkToken(await waitForMail(smtp, email, count + 1));
    pages.push(['magic link confirm', await page(`/magic-link/verify?token=${encodeURIComponent(magic)}`)]);

    // An unverified registrant's mailed link: the verify-email confirm page.
    const registrant = `new-${email}`;
    count = smtp.to(registrant).length;
    const registered = await form('/register', { ...fields, email: registrant, password: PASSWORD });
    assert.ok(registered.statusCode < 400, registered.body);
    const verify = linkToken(await waitForMail(smtp, registrant, count + 1), '/verify-email');
    pages.push(['verify email confirm', await page(`/verify-email?token=${encodeURIComponent(verify)}`)]);

    // A browser session: the select-account page.
    const signedIn = await form('/login', { ...fields, email, password: PASSWORD });
    assert.equal(signedIn.statusCode, 303, signedIn.body);
    const cookie = browserCookie(signedIn);
    pages.push(['select account', await page(`/authorize?${query(projectId, { prompt: 'select_account' })}`, { cookie })]);
    pages.push(['logout confirm', await page(`/logout?client_id=${projectId}`, { cookie })]);
    pages.push(['signed out', await form('/logout', { client_id: projectId }, { cookie, ...SAME_ORIGIN })]);
    for (const [what, response] of pages) assert.ok(response.statusCode < 500, `${what}: ${response.statusCode}`);
    return pages;
  }

  it('every page of a branded project carries its logo, its colour stylesheet and the logo origin in its CSP', async () => {
    const pages = await pagesOf(branded.id, 'ada@example.com');
    for (const [what, response] of pages) assertBranded(response, what);
  });

  it('the same pages of a project without branding carry neither, and the CSP allows no other image origin', async () => {
    const pages = await pagesOf(plain.id, 'bob@example.com');
    for (const [what, response] of pages) assertUnbranded(response, what);
  });

  it('the second step, the enrolment of a require_mfa project and its recovery codes page are branded too', async () => {
    const strict = await call(app, admin, 'POST', '/admin/projects', { name: 'Strict Orchard', redirect_uris: [REDIRECT_URI], require_mfa: true, logo_url: LOGO, brand_color: COLOR });
    const strictId = strict.json<Project>().id;
    const fields = asForm(authParams(strictId, pkcePair().challenge));
    const hidden = (response: LightMyRequestResponse, name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(response.body)?.[1] ?? '';

    // No second factor yet: the enrolment page, a wrong first code, then the recovery codes.
    const newcomer = await createUser(app, 'dora@example.com', PASSWORD, strictId);
    const enrol = await form('/login', { ...fields, email: 'dora@example.com', password: PASSWORD });
    assert.equal(enrol.statusCode, 200, enrol.body);
    assert.match(enrol.body, /enrol_token/);
    assertBranded(enrol, 'the enrolment page');
    const enrolToken = hidden(enrol, 'enrol_token');
    const wrong = await form('/login/mfa/enroll/totp', { enrol_token: enrolToken, code: '000000' });
    assert.equal(wrong.statusCode, 401, wrong.body);
    assertBranded(wrong, 'the enrolment page, a wrong code');
    const pending = await app.services.secondFactors.pendingTotp(newcomer);
    assert.ok(pending);
    const enrolled = await form('/login/mfa/enroll/totp', { enrol_token: enrolToken, code: totpNow(pending.secret, app.clock.now()) });
    assert.equal(enrolled.statusCode, 200, enrolled.body);
    assert.match(enrolled.body, /recovery-codes/);
    assertBranded(enrolled, 'the recovery codes after the enrolment');

    // A second factor: the second step, and again after a wrong code.
    app.clock.advance(60_000);
    const step = await form('/login', { ...fields, email: 'dora@example.com', password: PASSWORD });
    assert.equal(step.statusCode, 200, step.body);
    assert.match(step.body, /name="totp_code"/);
    assertBranded(step, 'the second step');
    const refused = await form('/login/mfa', { mfa_token: hidden(step, 'mfa_token'), totp_code: '000000' });
    assert.ok(refused.statusCode >= 400 && refused.statusCode < 500, refused.body);
    assert.match(refused.body, /name="totp_code"/);
    assertBranded(refused, 'the second step, a wrong code');
  });

  it("the error page of a project's refusal is branded; an error page that belongs to no project is not", async () => {
    const closed = await call(app, admin, 'POST', '/admin/projects', { name: 'Closed', redirect_uris: [REDIRECT_URI], registration_open: false, logo_url: LOGO, brand_color: COLOR });
    const closedId = closed.json<Project>().id;
    const email = 'cleo@example.com';
    await createUser(app, email, PASSWORD, plain.id);
    const signedIn = await form('/login', { ...asForm(authParams(plain.id, pkcePair().challenge)), email, password: PASSWORD });
    const cookie = browserCookie(signedIn);
    const refused = await page(`/authorize?${query(closedId)}`, { cookie });
    assert.equal(refused.statusCode, 403, refused.body);
    assertBranded(refused, 'refused by a closed project');
    const expired = await page('/magic-link/verify?token=nothing-like-a-token');
    assert.equal(expired.statusCode, 400);
    assertUnbranded(expired, 'an unknown link');
  });

  it("the account pages follow the account project's branding, once it has any", async () => {
    assertUnbranded(await page('/account/signed-out'), 'signed out of the account page, unbranded');
    const set = await call(app, admin, 'PATCH', `/admin/projects/${ACCOUNT_PROJECT_ID}`, { logo_url: LOGO, brand_color: COLOR });
    assert.equal(set.statusCode, 200, set.body);
    assertBranded(await page('/account/signed-out'), 'signed out of the account page');
    assertBranded(await page('/account/callback?code=x&state=y'), 'the account sign-in problem page');
    const login = await page('/account');
    assert.equal(login.statusCode, 303);
    const target = String(login.headers.location);
    assertBranded(await page(target.replace(/^http:\/\/gatehouse\.test/, ''), { cookie: String(login.headers['set-cookie']).split(';')[0] ?? '' }), 'the account sign-in page');
  });
});
