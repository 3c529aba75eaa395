import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUILT_CONSOLE_DIR } from './assets.js';

/**
 * Builds the web console: esbuild bundles lib/console/app/main.ts (and everything it imports)
 * into one minified `app.js`; `index.html` and `style.css` are copied as they are. About 100 ms,
 * so `npm start`, the test setup and the API's Lambda bundling simply run it every time.
 */

const APP_DIR = fileURLToPath(new URL('./app/', import.meta.url));

export interface ConsoleBuild {
  outdir: string;
  /** app.js as served, and gzipped (what a browser downloads). */
  scriptBytes: number;
  scriptGzipBytes: number;
}

export async function buildConsole(outdir = BUILT_CONSOLE_DIR): Promise<ConsoleBuild> {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(APP_DIR, 'main.ts')],
    outfile: join(outdir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers of the last few years: no transpiling of classes, async or optional chaining.
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await Promise.all(
    ['index.html', 'style.css'].map((file) => copyFile(join(APP_DIR, file), join(outdir, file))),
  );
  const script = await readFile(join(outdir, 'app.js'));
  return { outdir, scriptBytes: script.length, scriptGzipBytes: gzipSync(script).length };
}
