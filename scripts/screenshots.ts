// npm run screenshots: every hosted page (test/support/pages.ts) at 390 and 1280 px wide, light
// and dark, as PNG files in screenshots/ with an index.html that shows them all with their names.
// It starts its own Gatehouse on a temporary SQLite file and its own SMTP server (for the mailed
// links), so it needs no running services; only Chromium (/usr/bin/chromium).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { escapeHtml } from '../src/http/html.ts';
import { TEST_ARGON2 } from '../test/support/app.ts';
import { CHROMIUM_PATH, launchChromium } from '../test/support/browser.ts';
import { COLOR_SCHEMES, HOSTED_PAGES, openHostedPage, PAGE_WIDTHS, preparePagesSite, showAs, type HostedPage } from '../test/support/pages.ts';
import { freePort } from '../test/support/server.ts';
import { startSmtpServer } from '../test/support/smtp.ts';

const OUT = resolve(import.meta.dirname, '..', 'screenshots');

interface Shot {
  hosted: HostedPage;
  files: Array<{ file: string; width: number; scheme: string }>;
}

function fileName(hosted: HostedPage, width: number, scheme: string): string {
  return `${hosted.name}-${width}-${scheme}.png`;
}

function indexHtml(shots: Shot[], failures: string[]): string {
  const areas = [...new Set(shots.map((s) => s.hosted.area))];
  const sections = areas
    .map((area) => {
      const pages = shots
        .filter((s) => s.hosted.area === area)
        .map(
          (s) => `<section id="${s.hosted.name}">
<h3><a href="#${s.hosted.name}">${escapeHtml(s.hosted.name)}</a></h3>
<p>${escapeHtml(s.hosted.description)} (HTTP ${s.hosted.status})</p>
<div class="shots">
${s.files.map((f) => `<figure><a href="${f.file}"><img src="${f.file}" alt="${escapeHtml(`${s.hosted.name}, ${f.width} px, ${f.scheme}`)}" loading="lazy"></a><figcaption>${f.width} px, ${f.scheme}</figcaption></figure>`).join('\n')}
</div>
</section>`,
        )
        .join('\n');
      return `<h2>${escapeHtml(area)}</h2>\n${pages}`;
    })
    .join('\n');
  const failed = failures.length ? `<p class="failed">Could not open: ${failures.map(escapeHtml).join(', ')}</p>\n` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse hosted pages</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; }
.shots { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
figure { margin: 0; }
img { border: 1px solid #888; max-height: 32rem; max-width: 100%; }
.failed { color: #b00020; font-weight: 600; }
</style>
</head>
<body>
<h1>Gatehouse hosted pages</h1>
<p>${shots.length} pages, each at ${PAGE_WIDTHS.join(' and ')} px wide, ${COLOR_SCHEMES.join(' and ')}. Made ${escapeHtml(new Date().toISOString())} by <code>npm run screenshots</code>.</p>
${failed}${sections}
</body>
</html>
`;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is needed at ${CHROMIUM_PATH} (apt-get install chromium)`);
  await mkdir(OUT, { recursive: true });
  for (const old of await readdir(OUT)) if (old.endsWith('.png') || old === 'index.html') await rm(join(OUT, old));

  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-screenshots-'));
  const smtp = await startSmtpServer();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  let app: App | undefined;
  const browser = await launchChromium();
  const shots: Shot[] = [];
  const failures: string[] = [];
  try {
    app = await buildApp({
      config: loadConfig({
        GATEHOUSE_DATABASE_URL: `sqlite:${join(dataDir, 'gatehouse.db')}`,
        GATEHOUSE_ISSUER: issuer,
        PORT: String(port),
        GATEHOUSE_SMTP_URL: smtp.url,
        GATEHOUSE_LOG_LEVEL: 'warn',
        ...TEST_ARGON2,
      }),
    });
    await app.server.listen({ port, host: '127.0.0.1' });
    const site = await preparePagesSite(app, issuer, smtp);
    try {
      for (const hosted of HOSTED_PAGES) {
        try {
          const { context, page, status } = await openHostedPage(browser, site, hosted);
          if (status !== hosted.status) process.stderr.write(`${hosted.name}: served with ${String(status)}, the list says ${hosted.status}\n`);
          const shot: Shot = { hosted, files: [] };
          for (const width of PAGE_WIDTHS) {
            for (const scheme of COLOR_SCHEMES) {
              await showAs(page, width, scheme);
              const file = fileName(hosted, width, scheme);
              await page.screenshot({ path: join(OUT, file), fullPage: true });
              shot.files.push({ file, width, scheme });
            }
          }
          await context.close();
          shots.push(shot);
          process.stdout.write(`${hosted.name}\n`);
        } catch (error) {
          failures.push(hosted.name);
          process.stderr.write(`${hosted.name}: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
    } finally {
      await site.appServer.close();
      await site.upstream.close();
    }
    await writeFile(join(OUT, 'index.html'), indexHtml(shots, failures));
    process.stdout.write(`${shots.length * PAGE_WIDTHS.length * COLOR_SCHEMES.length} screenshots: ${join(OUT, 'index.html')}\n`);
  } finally {
    await browser.close();
    await app?.close();
    await smtp.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  if (failures.length) process.exitCode = 1;
}

await main();
