/**
 * Where a Lambda function's code comes from, decided by what sits next to this module:
 *
 * - In the installed package (this file compiled to `dist/lib/infra/`), the package's build
 *   (lib/infra/build-package.ts) left each function bundled in `dist/lambda/<name>/`: the
 *   asset is that folder as it is. A user's app then synthesizes without this repository's
 *   sources, without esbuild, and its template names no path outside its own cdk.out.
 * - In this repository (no `lambda/` folder beside `lib/`), the entry in `functions/` is
 *   bundled from source at synth, so the repo's own tests deploy the code they test.
 *
 * The choice is automatic rather than a construct prop: each layout has exactly one source of
 * code, and a prop would only let a user's app ask for sources that are not installed.
 * This module loads no esbuild: source bundling runs lib/infra/bundling.ts in a child process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, type ILocalBundling } from 'aws-cdk-lib';
import { Code, Runtime } from 'aws-cdk-lib/aws-lambda';

/** The module and export every function's handler is: `index.mjs`, export `handler`. */
export const FUNCTION_HANDLER = 'index.handler';

/** The repository root, or `dist/` of the installed package. */
const MODULE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the package's build puts function `name`'s bundle, relative to the module root. */
export function prebuiltFunctionDir(name: string, moduleRoot = MODULE_ROOT): string {
  return join(moduleRoot, 'lambda', name);
}

/**
 * Function `name`'s code: its prebuilt bundle when the package ships one, else `entry`
 * (relative to the module root) bundled by lib/infra/bundling.ts.
 */
export function functionCode(name: string, entry: string, moduleRoot = MODULE_ROOT): Code {
  const prebuilt = prebuiltFunctionDir(name, moduleRoot);
  if (existsSync(join(prebuilt, 'index.mjs'))) return Code.fromAsset(prebuilt);
  const source = join(moduleRoot, entry);
  if (!existsSync(source)) {
    throw new Error(
      `EventLog: the ${name} function has neither a prebuilt bundle (lambda/${name}/index.mjs) nor its entry ${entry}`,
    );
  }
  return Code.fromAsset(moduleRoot, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: local bundling either succeeds or throws.
      image: Runtime.NODEJS_22_X.bundlingImage,
      local: new LocalFunctionBundling(source, moduleRoot),
    },
  });
}

/**
 * Asset staging calls this synchronously, and esbuild runs plugins only in its asynchronous
 * API: the build runs in a child process (lib/infra/bundling.ts, run by tsx) and the synth
 * waits for it. The fields are part of CDK's asset cache key, so each entry gets its own bundle.
 */
class LocalFunctionBundling implements ILocalBundling {
  constructor(
    readonly entry: string,
    readonly projectRoot: string,
  ) {}

  tryBundle(outputDir: string): boolean {
    const bundler = join(this.projectRoot, 'lib/infra/bundling.ts');
    execFileSync(process.execPath, ['--import', 'tsx', bundler, this.entry, outputDir], {
      cwd: this.projectRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return true;
  }
}
