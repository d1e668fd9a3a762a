// The admin console in a browser: signing in through the console project's login page, and
// reaching its screens (test/e2e/console-browser.test.ts, the console's pages in pages.ts).
import type { Page } from 'playwright-core';
import { signInWithPassword } from './browser.ts';

/** Opens /console (or one of its screens); signs in on the login page when it is shown; waits for the screen's heading. */
export async function openConsole(page: Page, issuer: string, credentials?: { email: string; password: string }, screen = ''): Promise<void> {
  await page.goto(`${issuer}/console${screen}`);
  // The login page, or the console settled (its screens, or a card such as "not an administrator").
  const settled = '.console-frame, main.card.settled';
  await page.locator(`#login-email, ${settled}`).first().waitFor();
  if ((await page.locator('#login-email').count()) > 0) {
    if (!credentials) throw new Error('the console asked for a sign-in');
    await signInWithPassword(page, credentials.email, credentials.password);
    await page.locator(settled).first().waitFor();
  }
}

/** Opens a console screen (after openConsole) by its hash route and waits for its heading. */
export async function consoleScreen(page: Page, route: string, heading: string | RegExp): Promise<void> {
  await page.evaluate((hash) => {
    location.hash = hash;
  }, route);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}
