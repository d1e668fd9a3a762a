// `npm run build`'s last step: bundles the console's browser code into dist/src/console/app-assets/
// (run as `node dist/src/console/build-assets.js`), where the compiled server reads it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConsoleBundle, manifestOf, PREBUILT_DIR } from './bundle.ts';

const bundle = await buildConsoleBundle();
rmSync(PREBUILT_DIR, { recursive: true, force: true });
mkdirSync(PREBUILT_DIR, { recursive: true });
for (const file of bundle.files.values()) writeFileSync(join(PREBUILT_DIR, file.name), file.body);
writeFileSync(join(PREBUILT_DIR, 'manifest.json'), manifestOf(bundle));
process.stdout.write(`console bundle: ${[...bundle.files.keys()].join(', ')}\n`);
