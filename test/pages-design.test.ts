// The hosted pages as one family (accounts.md "The hosted pages, redesigned"): the login page's
// order, "Create an account" as its own page, "Back to <app>", the language of each page, and
// the stylesheet's colours meeting WCAG 2.2 AA in light and dark.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, postForm, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { STYLESHEET } from '../src/pages/render.ts';

const BROWSER = { accept: 'text/html' };

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
/** The custom properties of the stylesheet's light (first) or dark (the media query's) :root. */
function scheme(dark: boolean): Record<string, string> {
  const [light = '', rest = ''] = STYLESHEET.split('@media (prefers-color-scheme: dark)');
  const source = dark ? rest.slice(0, rest.indexOf('}\n}')) : light;
  return Object.fromEntries([...source.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

describe('the stylesheet: light and dark both meet WCAG 2.2 AA', () => {
  for (const dark of [false, true]) {
    it(dark ? 'dark' : 'light', () => {
      const c = scheme(dark);
      for (const name of ['page', 'card', 'text', 'muted', 'border', 'accent', 'on-accent', 'link', 'error', 'focus', 'ok']) assert.ok(c[name], `--${name}`);
      const card = c.card ?? '';
      for (const text of ['text', 'muted', 'link', 'error']) assert.ok(contrast(c[text] ?? '', card) >= 4.5, `--${text} on the card`);
      assert.ok(contrast(c.text ?? '', c.page ?? '') >= 4.5, 'text on the page');
      assert.ok(contrast(c['on-accent'] ?? '', c.accent ?? '') >= 4.5, 'button text on the button');
      for (const part of ['border', 'focus', 'accent', 'ok']) assert.ok(contrast(c[part] ?? '', card) >= 3, `--${part} against the card`);
    });
  }
});

describe('the hosted pages: one family', () => {
  let app: TestApp;
  let project: TestProject;
  let closed: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    closed = await createProject(app, { registrationOpen: false });
  });
  after(() => app.close());

  const query = (clientId: string, extra: Record<string, string> = {}) =>
    new URLSearchParams({ ...(authParams(clientId, pkcePair().challenge) as unknown as Record<string, string>), ...extra }).toString();

  it('the login page: the card with the project name, password first with Forgot password?, then the link, then Create an account as a link, and Back to the app', async () => {
    const q = query(project.id);
    const page = await app.server.inject({ method: 'GET', url: `/authorize?${q}`, headers: BROWSER });
    assert.equal(page.statusCode, 200, page.body);
    const body = page.body;
    assert.match(body, /<main class="card">\n<header class="brand"><span class="brand-name">Test App<\/span><\/header>/);
    const order = ['id="password"', 'Forgot password?', 'id="magic-link"', 'href="/register?', 'class="back"'].map((needle) => body.indexOf(needle));
    assert.ok(order.every((at) => at > 0), String(order));
    assert.deepEqual([...order].sort((a, b) => a - b), order);
    assert.doesNotMatch(body, /<form method="post" action="\/register">/, 'no registration form on the login screen');
    const register = /href="\/register\?([^"]*)"/.exec(body)?.[1]?.replace(/&#38;/g, '&') ?? '';
    assert.equal(new URLSearchParams(register).get('client_id'), project.id);
    assert.equal(new URLSearchParams(register).get('code_challenge'), new URLSearchParams(q).get('code_challenge'));
    const back = new URL(/<p class="back"><a href="([^"]*)">Back to Test App<\/a>/.exec(body)?.[1]?.replace(/&#38;/g, '&') ?? 'x:');
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), 'xyz');
    assert.equal(back.searchParams.get('iss'), app.services.config.issuer);
    for (const input of body.match(/<input (?![^>]*type="hidden")[^>]*>/g) ?? []) assert.match(input, /autocomplete="/, input);
  });

  it('an unregistered redirect_uri gets the error page, with no link to it', async () => {
    const page = await app.server.inject({ method: 'GET', url: `/authorize?${query(project.id, { redirect_uri: 'https://evil.example/cb' })}`, headers: BROWSER });
    assert.equal(page.statusCode, 400);
    assert.doesNotMatch(page.body, /evil\.example/);
    assert.doesNotMatch(page.body, /class="back"/);
  });

  it('GET /register: the form keeps the authorization parameters; its refusal shows the register page again, with the error first', async () => {
    const q = query(project.id);
    const page = await app.server.inject({ method: 'GET', url: `/register?${q}`, headers: BROWSER });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /<h1>Create an account for Test App<\/h1>/);
    assert.match(page.body, new RegExp(`<input type="hidden" name="client_id" value="${project.id}">`));
    assert.match(page.body, /autocomplete="new-password"/);
    assert.match(page.body, /href="\/authorize\?/);
    const refused = await postForm(app, '/register', { ...Object.fromEntries(new URLSearchParams(q)), email: 'short@example.com', password: 'short' }, BROWSER);
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /<h1>Create an account for Test App<\/h1>/);
    assert.match(refused.body, /<p class="error" role="alert" id="register-error">Invalid password<\/p>/);
    assert.ok(refused.body.indexOf('role="alert"') < refused.body.indexOf('<form method="post" action="/register">'));
    assert.match(refused.body, /value="short@example.com"/);
  });

  it('GET /register of a project with registration closed: 403 Registration closed; the login page has no link', async () => {
    const page = await app.server.inject({ method: 'GET', url: `/register?${query(closed.id)}`, headers: BROWSER });
    assert.equal(page.statusCode, 403);
    assert.match(page.body, /Registration closed/);
    const login = await app.server.inject({ method: 'GET', url: `/authorize?${query(closed.id)}`, headers: BROWSER });
    assert.doesNotMatch(login.body, /href="\/register/);
  });

  it('a failed password sign-in puts its form first and its error beside it', async () => {
    const q = Object.fromEntries(new URLSearchParams(query(project.id)));
    const failed = await postForm(app, '/magic-link', { ...q, email: 'not an email' }, BROWSER);
    assert.equal(failed.statusCode, 400);
    assert.ok(failed.body.indexOf('id="magic-link"') < failed.body.indexOf('id="password"'));
    assert.match(failed.body, /id="magic-error"/);
  });

  it('the language: ui_locales first, then Accept-Language, then English, on the login, register, reset and error pages', async () => {
    const cases: Array<{ url: string; headers?: Record<string, string>; lang: string; text: RegExp }> = [
      { url: `/authorize?${query(project.id, { ui_locales: 'de-CH en' })}`, headers: { 'accept-language': 'fr' }, lang: 'de', text: /Passwort vergessen\?/ },
      { url: `/authorize?${query(project.id)}`, headers: { 'accept-language': 'es-MX,es;q=0.9' }, lang: 'es', text: /Volver a Test App/ },
      { url: `/authorize?${query(project.id)}`, lang: 'en', text: /Sign in to Test App/ },
      { url: `/register?${query(project.id, { ui_locales: 'fr' })}`, lang: 'fr', text: /Créer un compte pour Test App/ },
      { url: `/password-reset?${query(project.id, { ui_locales: 'es' })}`, lang: 'es', text: /Restablece tu contraseña de Test App/ },
      { url: `/authorize?${query('no-such-client', { ui_locales: 'de' })}`, lang: 'de', text: /role="alert"/ },
      { url: `/magic-link/verify?token=nope`, headers: { 'accept-language': 'fr' }, lang: 'fr', text: /role="alert"/ },
      { url: `/logout`, headers: { 'accept-language': 'de' }, lang: 'de', text: /Abmelden|abgemeldet/ },
    ];
    for (const c of cases) {
      const page = await app.server.inject({ method: 'GET', url: c.url, headers: { ...BROWSER, ...c.headers } });
      assert.match(page.body, new RegExp(`<html lang="${c.lang}">`), c.url);
      assert.match(page.body, c.text, c.url);
    }
  });
});
