// The console's browser code (src/console/app/) bundled by esbuild into fingerprinted files: one
// JavaScript module and one stylesheet, each named after a hash of its content, so that a browser
// may keep them a year and a new build can never be mixed with an old one
// (docs/decisions/0117-the-console-in-preact-bundled-by-esbuild.md).
//
// Production (`npm run build`) writes the bundle next to the compiled server, into
// dist/src/console/app-assets/ (build-assets.ts); a server run from the TypeScript sources (tsx,
// the tests) bundles in memory on the first request for the console instead, so that a fresh
// clone needs no step of its own.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAsset {
  /** the file name, with its content hash: `app-3F2A9C1B.js` */
  name: string;
  contentType: string;
  body: Buffer;
}

export interface ConsoleBundle {
  script: ConsoleAsset;
  stylesheet: ConsoleAsset;
  /** every file by name */
  files: ReadonlyMap<string, ConsoleAsset>;
}

interface Manifest {
  script: string;
  stylesheet: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** Whether this module runs compiled (dist/src/console/bundle.js) rather than from its source. */
const COMPILED = import.meta.url.endsWith('.js');
/** The sources of the browser code: beside this file, or in the checkout dist/ was built from. */
export const APP_SOURCES = COMPILED ? resolve(HERE, '../../../src/console/app') : join(HERE, 'app');
/** Where `npm run build` puts the bundle, beside the compiled server. */
export const PREBUILT_DIR = join(HERE, 'app-assets');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function asset(name: string, body: Buffer): ConsoleAsset {
  const extension = name.slice(name.lastIndexOf('.'));
  return { name, body, contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream' };
}

function bundleOf(files: ConsoleAsset[]): ConsoleBundle {
  const script = files.find((f) => f.name.endsWith('.js'));
  const stylesheet = files.find((f) => f.name.endsWith('.css'));
  if (!script || !stylesheet) throw new Error('the console bundle needs one script and one stylesheet');
  return { script, stylesheet, files: new Map(files.map((f) => [f.name, f])) };
}

/** A short name-safe hash of the content (esbuild's [hash] is of its inputs; this one is of the bytes sent). */
function fingerprint(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 12).replace(/[-_]/g, '0');
}

/** Bundles the browser code with esbuild, in memory. */
export async function buildConsoleBundle(): Promise<ConsoleBundle> {
  // Imported here: a server that finds the prebuilt bundle never loads esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { app: join(APP_SOURCES, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    write: false,
    outdir: '/console',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return bundleOf(
    result.outputFiles.map((file) => {
      const body = Buffer.from(file.contents);
      const base = file.path.slice(file.path.lastIndexOf('/') + 1);
      const dot = base.lastIndexOf('.');
      return asset(`${base.slice(0, dot)}-${fingerprint(body)}${base.slice(dot)}`, body);
    }),
  );
}

/** The bundle `npm run build` wrote, or undefined when there is none (a run from the sources). */
export function readPrebuiltBundle(dir = PREBUILT_DIR): ConsoleBundle | undefined {
  const manifestPath = join(dir, 'manifest.json');
  if (!COMPILED || !existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  return bundleOf([manifest.script, manifest.stylesheet].map((name) => asset(name, readFileSync(join(dir, name)))));
}

/** The manifest build-assets.ts writes beside the files. */
export function manifestOf(bundle: ConsoleBundle): string {
  const manifest: Manifest = { script: bundle.script.name, stylesheet: bundle.stylesheet.name };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
