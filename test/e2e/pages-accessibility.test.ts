// Every hosted page (the list in test/support/pages.ts) in a real browser (Debian's Chromium
// through playwright-core), checked by axe-core against the WCAG 2.0, 2.1 and 2.2 A and AA rules at
// 390 and 1280 px wide, light and dark; none scrolls sideways at 320 px; and the main flows work
// by keyboard alone (Tab and Enter).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { App } from '../../src/app.ts';
import { waitForMail } from '../support/account-mail.ts';
import { launchChromium } from '../support/browser.ts';
import {
  authorizeUrl,
  BRAND_COLORS,
  COLOR_SCHEMES,
  HOSTED_PAGES,
  member,
  newPageContext,
  openHostedPage,
  PAGE_WIDTHS,
  PASSWORD,
  preparePagesSite,
  showAs,
  type ColorScheme,
  type PagesSite,
} from '../support/pages.ts';
import { startListeningApp } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

async function axeViolations(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(async (tags) => {
    // axe-core's global, put on the page by the script tag above.
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; failureSummary?: string }> }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => `${n.target.map(String).join(' ')}${n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, ' ')})` : ''}`),
    }));
  }, WCAG_TAGS);
}

/** The background colour the page declares (on body, else on html), as computed. */
function pageBackground(page: Page): Promise<string> {
  return page.evaluate(() => {
    const transparent = 'rgba(0, 0, 0, 0)';
    const body = getComputedStyle(document.body).backgroundColor;
    return body !== transparent ? body : getComputedStyle(document.documentElement).backgroundColor;
  });
}

function describeViolations(violations: Violation[]): string {
  return violations.map((v) => `${v.id} [${v.impact ?? '?'}] ${v.help}\n${v.targets.map((t) => `    ${t}`).join('\n')}`).join('\n');
}

describe('every hosted page, checked by axe-core in a real browser', () => {
  let app: App;
  let smtp: TestSmtpServer;
  let browser: Browser;
  let site: PagesSite;

  before(async () => {
    smtp = await startSmtpServer();
    let issuer: string;
    ({ app, issuer } = await startListeningApp({ GATEHOUSE_SMTP_URL: smtp.url }));
    site = await preparePagesSite(app, issuer, smtp);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await smtp?.close();
    await site?.appServer.close();
    await site?.upstream.close();
  });

  it('lists every page once', () => {
    const names = HOSTED_PAGES.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^[a-z0-9-]+$/);
  });

  // The branded pages are checked with their brand stylesheet applied: axe measures the brand colours.
  it('checks two branded pages, with their logo and brand colour in effect', async () => {
    for (const [name, scheme, color] of [
      ['branded-login', 'light', BRAND_COLORS.dark],
      ['branded-password-reset', 'dark', BRAND_COLORS.light],
    ] as const) {
      const hosted = HOSTED_PAGES.find((p) => p.name === name);
      assert.ok(hosted, `${name} is in the list`);
      const { context, page } = await openHostedPage(browser, site, hosted);
      try {
        await showAs(page, 1280, scheme);
        assert.equal(await page.locator('img.logo').count(), 1, `${name} shows the logo`);
        const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(color.slice(at, at + 2), 16));
        const background = await page.locator('button.primary').first().evaluate((button) => getComputedStyle(button).backgroundColor);
        assert.equal(background, `rgb(${r}, ${g}, ${b})`, `${name}: the brand colour on the button in ${scheme}`);
      } finally {
        await context.close();
      }
    }
  });

  for (const hosted of HOSTED_PAGES) {
    describe(hosted.name, () => {
      const results = new Map<string, Violation[]>();
      let overflow: { scrollWidth: number; innerWidth: number } | undefined;
      let darkBackground: string | undefined;

      before(async () => {
        const { context, page, status } = await openHostedPage(browser, site, hosted);
        try {
          assert.equal(status, hosted.status, `${hosted.name} is served with ${String(status)}`);
          for (const width of PAGE_WIDTHS) {
            for (const scheme of COLOR_SCHEMES) {
              await showAs(page, width, scheme);
              results.set(`${width}/${scheme}`, await axeViolations(page));
              if (scheme === 'dark') darkBackground = await pageBackground(page);
            }
          }
          await showAs(page, 320, 'light');
          overflow = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
        } finally {
          await context.close();
        }
      });

      for (const width of PAGE_WIDTHS) {
        for (const scheme of COLOR_SCHEMES) {
          const key = `${width}/${scheme}`;
          it(`no WCAG A/AA violation at ${width} px, ${scheme}`, () => {
            const violations = results.get(key);
            assert.ok(violations, 'the page was checked');
            assert.equal(violations.length, 0, `${hosted.name} at ${width} px, ${scheme as ColorScheme}:\n${describeViolations(violations)}`);
          });
        }
      }

      // axe-core measures text against the backgrounds the page declares, and against white where
      // there is none; in dark the browser paints its own dark canvas, so a page that declares no
      // background in dark would have its contrast measured against a colour it is not shown on.
      it('declares its background in dark, so that color-contrast measures what is shown', () => {
        assert.ok(darkBackground !== undefined, 'the page was measured');
        assert.notEqual(darkBackground, 'rgba(0, 0, 0, 0)', `${hosted.name} declares no background in dark`);
      });

      it('does not scroll sideways at 320 px', () => {
        assert.ok(overflow, 'the page was measured');
        assert.ok(overflow.scrollWidth <= overflow.innerWidth, `${hosted.name}: ${overflow.scrollWidth} px wide in a ${overflow.innerWidth} px window`);
      });
    });
  }

  describe('by keyboard alone (Tab and Enter)', () => {
    /** Tab until `selector` has the focus (from the top of the page). */
    async function tabTo(page: Page, selector: string): Promise<void> {
      for (let i = 0; i < 60; i++) {
        if (await page.locator(selector).evaluate((element) => element === document.activeElement)) return;
        await page.keyboard.press('Tab');
      }
      assert.fail(`Tab never reached ${selector}`);
    }

    /** A new member of pages-app and a fresh page on its login page. */
    async function onLoginPage(label: string): Promise<{ email: string; context: BrowserContext; page: Page }> {
      const email = await member(site, label);
      const { context, page } = await newPageContext(browser);
      await page.goto(authorizeUrl(site));
      return { email, context, page };
    }

    it('signs in with email and password', async () => {
      const { email, context, page } = await onLoginPage('keyboard-password');
      await tabTo(page, '#login-email');
      await page.keyboard.type(email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.toString().startsWith(site.callback));
      assert.ok(new URL(page.url()).searchParams.get('code'), 'back on the app with a code');
      await context.close();
    });

    it('asks for a magic link', async () => {
      const { email, context, page } = await onLoginPage('keyboard-magic');
      await tabTo(page, '#magic-email');
      await page.keyboard.type(email);
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      assert.match(await page.locator('h1').innerText(), /mail/i);
      await waitForMail(smtp, email, 1);
      await context.close();
    });

    it('asks for a password reset from "Forgot password?"', async () => {
      const { email, context, page } = await onLoginPage('keyboard-reset');
      await tabTo(page, 'a:text-is("Forgot password?")');
      await Promise.all([page.waitForURL((url) => url.pathname === '/password-reset'), page.keyboard.press('Enter')]);
      await tabTo(page, '#reset-email');
      await page.keyboard.type(email);
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      assert.match(await page.locator('h1').innerText(), /Check your mail/);
      assert.match((await waitForMail(smtp, email, 1)).text, /\/password-reset\/verify\?token=/);
      await context.close();
    });
  });
});
