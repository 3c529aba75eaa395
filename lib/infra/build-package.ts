/**
 * The package's build: `npm run build`, which npm runs as `prepare`: before `npm pack` and
 * `npm publish`, and after `npm ci` / `npm install` in a clone (so `npx eventlog` runs there).
 * It writes `dist/` (see docs/deploy.md, "Installing the package"):
 *
 *   dist/lib/**, dist/bin/eventlog.js   tsc's JavaScript and declarations, the repository's
 *                                       layout kept, so the relative paths in the code
 *                                       (`new URL('../../', import.meta.url)`) hold in both
 *   dist/lambda/<name>/index.mjs        each function bundled by lib/infra/bundling.ts, the
 *                                       bundle `cdk synth` makes in this repository
 *
 * tsc emits the JavaScript too, file for file, rather than esbuild bundling the SDK and the CLI:
 * declarations need tsc's pass anyway (it is most of the build's time), and one file per module
 * keeps the CLI's lazy imports lazy and the SDK's imports as the user's bundler sees them.
 *
 * Usage: tsx lib/infra/build-package.ts
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFunction, MAX_BUNDLE_BYTES } from './bundling.js';
import { FUNCTIONS } from './event-log.js';
import { TOPIC_RESOURCE_FUNCTION } from './event-log-topic.js';
import { prebuiltFunctionDir } from './function-code.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');

function compile(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // tsc copies no .mjs: the s3rver child process of the local emulators is plain JavaScript.
  copyFileSync(
    join(ROOT, 'lib/local/s3rver-runner.mjs'),
    join(DIST, 'lib/local/s3rver-runner.mjs'),
  );
  // The source's shebang runs tsx; the compiled CLI runs on node alone.
  const cli = join(DIST, 'bin/eventlog.js');
  const source = readFileSync(cli, 'utf8');
  writeFileSync(cli, `#!/usr/bin/env node\n${source.replace(/^#!.*\n/, '')}`);
  chmodSync(cli, 0o755);
}

/** Bundles every function into dist/lambda/<name>/, refusing one over the size goal. */
async function bundleFunctions(): Promise<void> {
  await Promise.all(
    [
      ...Object.entries(FUNCTIONS),
      [TOPIC_RESOURCE_FUNCTION.name, TOPIC_RESOURCE_FUNCTION] as const,
    ].map(async ([name, definition]) => {
      const outdir = prebuiltFunctionDir(name, DIST);
      await bundleFunction(join(ROOT, definition.entry), outdir);
      const bytes = statSync(join(outdir, 'index.mjs')).size;
      if (bytes >= MAX_BUNDLE_BYTES) {
        throw new Error(`the ${name} bundle is ${bytes} bytes, over the ${MAX_BUNDLE_BYTES} goal`);
      }
      process.stderr.write(`dist/lambda/${name}/index.mjs ${(bytes / 1024).toFixed(0)} KiB\n`);
    }),
  );
}

rmSync(DIST, { recursive: true, force: true });
compile();
await bundleFunctions();
