// A project's branding in real Chromium, with the pages' CSP enforced (no bypass): the logo loads
// from its loopback origin with no CSP violation, an image of any other origin is blocked, and
// the primary button and links take the brand colour in the scheme where it contrasts enough and
// the default accent in the other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { launchChromium } from '../support/browser.ts';
import { startAppServer, type AppServer } from '../support/relying-party.ts';
import { startListeningApp } from '../support/server.ts';
import { pkcePair } from '../support/app.ts';

const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#0f5132"/></svg>';
const DARK_BRAND = '#0f5132';
const LIGHT_BRAND = '#ffd166';

function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

describe('branding in Chromium, with the CSP enforced', () => {
  let app: App;
  let issuer: string;
  let logoServer: AppServer;
  let otherServer: AppServer;
  let browser: Browser;

  before(async () => {
    ({ app, issuer } = await startListeningApp());
    logoServer = await startAppServer({ '/logo.svg': { contentType: 'image/svg+xml', body: LOGO_SVG } });
    otherServer = await startAppServer({ '/other.svg': { contentType: 'image/svg+xml', body: LOGO_SVG } });
    // The app's callback lives on a third origin, so form-action's origin is neither image origin.
    const callback = 'https://app.example.com/callback';
    await app.services.projects.create({ id: 'dark-brand', name: 'Dark Brand', redirect_uris: [callback], logo_url: `${logoServer.origin}/logo.svg`, brand_color: DARK_BRAND });
    await app.services.projects.create({ id: 'light-brand', name: 'Light Brand', redirect_uris: [callback], logo_url: `${logoServer.origin}/logo.svg`, brand_color: LIGHT_BRAND });
    await app.services.projects.create({ id: 'no-brand', name: 'No Brand', redirect_uris: [callback] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await logoServer?.close();
    await otherServer?.close();
  });

  function loginUrl(clientId: string): string {
    const url = new URL(`${issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'https://app.example.com/callback',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      scope: 'openid',
      state: 'brand',
    }).toString();
    return url.toString();
  }

  /** A page in a context of its own (the CSP enforced), recording the CSP violations it reports. */
  async function open(clientId: string, scheme: 'light' | 'dark'): Promise<{ context: BrowserContext; page: Page; violations: () => Promise<string[]> }> {
    const context = await browser.newContext({ colorScheme: scheme });
    const page = await context.newPage();
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
    });
    const response = await page.goto(loginUrl(clientId));
    assert.equal(response?.status(), 200);
    await page.waitForLoadState('load');
    return { context, page, violations: () => page.evaluate(() => [...(window as unknown as { cspViolations: string[] }).cspViolations]) };
  }

  const colours = (page: Page) =>
    page.evaluate(() => {
      const button = document.querySelector('button.primary');
      const link = document.querySelector('a[href^="/password-reset"]');
      if (!button || !link) throw new Error('no primary button or link on the page');
      return { button: getComputedStyle(button).backgroundColor, link: getComputedStyle(link).color };
    });

  it('the logo loads from its own origin with no CSP violation, and an image of another origin is blocked', async () => {
    const { context, page, violations } = await open('dark-brand', 'light');
    try {
      const logo = page.locator('img.logo');
      assert.equal(await logo.getAttribute('src'), `${logoServer.origin}/logo.svg`);
      await page.waitForFunction(() => (document.querySelector('img.logo') as HTMLImageElement | null)?.complete === true);
      assert.ok((await logo.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0, 'the logo loaded');
      assert.ok(logoServer.requests.some((url) => url.pathname === '/logo.svg'), 'the browser asked the logo server');
      assert.deepEqual(await violations(), []);

      // The CSP allows exactly the logo's origin: another loopback origin's image is refused.
      const blocked = await page.evaluate(
        (src) =>
          new Promise<boolean>((resolve) => {
            const img = document.createElement('img');
            img.onload = () => resolve(false);
            img.onerror = () => resolve(true);
            img.src = src;
            document.body.append(img);
          }),
        `${otherServer.origin}/other.svg`,
      );
      assert.equal(blocked, true, 'the other origin is blocked');
      await page.waitForFunction(() => (window as unknown as { cspViolations: string[] }).cspViolations.length > 0);
      const reported = await violations();
      assert.equal(reported.length, 1, reported.join('\n'));
      assert.match(reported[0] ?? '', new RegExp(`^img-src ${otherServer.origin.replace(/[.]/g, '\\.')}`));
      assert.ok(!otherServer.requests.some((url) => url.pathname === '/other.svg'), 'the blocked image was never requested');
    } finally {
      await context.close();
    }
  });

  it('a dark brand colour: the button and links in light mode, the default accent in dark mode', async () => {
    for (const [scheme, expected] of [
      ['light', rgb(DARK_BRAND)],
      ['dark', rgb('#93b4fd')],
    ] as const) {
      const { context, page, violations } = await open('dark-brand', scheme);
      try {
        assert.deepEqual(await colours(page), { button: expected, link: expected }, scheme);
        assert.deepEqual(await violations(), []);
      } finally {
        await context.close();
      }
    }
  });

  it('a light brand colour: the default accent in light mode, the brand in dark mode', async () => {
    for (const [scheme, expected] of [
      ['light', rgb('#1d4ed8')],
      ['dark', rgb(LIGHT_BRAND)],
    ] as const) {
      const { context, page, violations } = await open('light-brand', scheme);
      try {
        assert.deepEqual(await colours(page), { button: expected, link: expected }, scheme);
        assert.deepEqual(await violations(), []);
      } finally {
        await context.close();
      }
    }
  });

  it('a project without branding: no logo, the default colours, and no CSP violation', async () => {
    const { context, page, violations } = await open('no-brand', 'light');
    try {
      assert.equal(await page.locator('img.logo').count(), 0);
      assert.deepEqual(await colours(page), { button: rgb('#1d4ed8'), link: rgb('#1d4ed8') });
      assert.deepEqual(await violations(), []);
    } finally {
      await context.close();
    }
  });
});
