// Real Chromium (Debian's /usr/bin/chromium through playwright-core) for the tests that drive the
// hosted pages, and the one way they fill its login form.
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

// No sandbox (the test machine runs as root in a container), no GPU, and none of the background
// traffic (updates, sync, QUIC probes) that would make a run depend on the network.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One headless Chromium; close it in the file's `after`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** On the hosted login page (already open in `page`): email and password, then "Sign in". */
export async function signInWithPassword(page: Page, email: string, password: string): Promise<void> {
  await page.locator('#login-email').fill(email);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export interface Navigation {
  url: string;
  status: number;
}

/**
 * Every document the page's main frame is served from now on, redirects included, in order: what
 * a test reads to show that a step went by redirects only (no page was shown, so nothing typed).
 */
export function recordNavigations(page: Page): Navigation[] {
  const navigations: Navigation[] = [];
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations.push({ url: response.url(), status: response.status() });
  });
  return navigations;
}

/**
 * Catches the page's navigations to an app's redirect URI (the app is not served: each is
 * answered with a blank page) and answers the first one's URL once the app's page has loaded, so
 * that the page's next navigation cannot cut that one short. Replaces an earlier catch on the
 * same page. In an object: an async function answering a promise would wait for it.
 */
export async function catchCallback(page: Page, callback: string): Promise<{ landed: Promise<URL> }> {
  const pattern = `${callback}**`;
  await page.unroute(pattern);
  let land: (url: URL) => void = () => {};
  const caught = new Promise<URL>((resolve) => (land = resolve));
  await page.route(pattern, async (route) => {
    land(new URL(route.request().url()));
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<title>app</title>' });
  });
  return { landed: caught.then(async (url) => (await page.waitForURL((u) => u.href.startsWith(callback), { waitUntil: 'load' }), url)) };
}
