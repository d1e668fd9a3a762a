// The one script file of the hosted pages, /assets/passkeys.js (docs/decisions/0096): browser/passkeys.ts
// and @simplewebauthn/browser bundled by esbuild the first time it is asked for, then kept in
// memory for the life of the process. Served from our origin, so the pages' CSP needs only
// `script-src 'self'`, never an inline script.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyImport } from '../../lazy.ts';

/** The bundler, loaded when the script is first asked for. */
const esbuild = lazyImport(() => import('esbuild'));

/** The path of the page script, and the one a page links. */
export const PASSKEY_SCRIPT_PATH = '/assets/passkeys.js';

/** browser/passkeys.ts, looked for upwards from this module: src/login/passkey/ in development, dist/src/login/passkey/ in production. */
function entryPoint(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    const candidate = join(dir, 'browser', 'passkeys.ts');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('browser/passkeys.ts was not found next to the sources');
}

/** Bundles once per process holder; a failed build is tried again at the next request. */
export class PasskeyScript {
  private bundle: Promise<string> | undefined;

  source(): Promise<string> {
    this.bundle ??= esbuild()
      .then(({ build }) =>
        build({
          entryPoints: [entryPoint()],
          bundle: true,
          write: false,
          minify: true,
          format: 'iife',
          target: ['es2020'],
          platform: 'browser',
          legalComments: 'inline',
          logLevel: 'silent',
        }),
      )
      .then(
        (result) => result.outputFiles[0]?.text ?? '',
        (error: unknown) => {
          this.bundle = undefined;
          throw error;
        },
      );
    return this.bundle;
  }
}
