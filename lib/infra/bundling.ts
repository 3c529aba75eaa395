/**
 * How each Lambda function is bundled: esbuild's JavaScript API with two plugins. NodejsFunction's
 * own bundling runs the esbuild command line, which loads no plugins, so the functions take
 * their `code` from `functionCode` in lib/infra/function-code.ts (still a NodejsFunction, built
 * locally by the same esbuild, same options otherwise). The package's build (lib/infra/build-package.ts)
 * runs the same `bundleFunction`, so a prebuilt bundle is byte for byte what the repo deploys.
 *
 * The plugins take out code that cannot run, and that esbuild cannot see is dead (see
 * docs/deploy.md for the sizes):
 *
 * - `zod-english-only`: `@hono/zod-openapi` hands zod's whole `z` namespace to
 *   `extendZodWithOpenApi`, so `z.locales` (error messages in about 40 languages) is kept.
 *   Nothing selects a locale (`z.config`), and the English messages the API returns come from
 *   zod's default, which zod imports from `locales/en.js` directly.
 * - `aws-sdk-literal-schema-keys`: the SDK's generated schemas write trait objects with
 *   computed keys (`{ [_hQ]: _MR }`, `_hQ` a string constant of the same file). esbuild treats
 *   a computed key as a possible side effect (evanw/esbuild#4373), so every operation's schema
 *   stays in the bundle (aws/aws-sdk-js-v3#7607). The plugin writes the constant's literal in
 *   place of the reference: the same object, which esbuild can drop when nothing uses it.
 *   smithy-lang/smithy-typescript#1889 makes the generated code do the same; the plugin then
 *   has nothing left to rewrite.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, type BuildResult, build, type Plugin } from 'esbuild';
import { buildConsole } from '../console/build.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * zod's `locales/index.js` re-exports every language; only English stays. The file is read
 * and filtered rather than replaced, so that a zod release that adds anything else to it fails
 * the build instead of losing it.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ },
      async (args) => ({
        contents: englishLocaleOnly(await readFile(args.path, 'utf8'), args.path),
        loader: 'js',
      }),
    );
  },
};

export function englishLocaleOnly(source: string, path = 'locales/index.js'): string {
  const lines = source.split('\n').filter((line) => line.trim() !== '');
  const reexport = /^export \{ default as (\w+) \} from "\.\/[\w-]+\.js";$/;
  const unexpected = lines.find((line) => !reexport.test(line));
  if (unexpected !== undefined) {
    throw new Error(`zod-english-only: unexpected line in ${path}: ${unexpected}`);
  }
  const english = lines.filter((line) => line.match(reexport)?.[1] === 'en');
  if (english.length !== 1) throw new Error(`zod-english-only: no English locale in ${path}`);
  return `${english[0]}\n`;
}

/** The SDK's generated schema modules, in every client (and the nested STS/SSO clients). */
const SDK_SCHEMAS = /[\\/]node_modules[\\/]@aws-sdk[\\/].+[\\/]schemas[\\/]schemas_\d+\.js$/;

export const awsSdkLiteralSchemaKeys: Plugin = {
  name: 'aws-sdk-literal-schema-keys',
  setup(build) {
    build.onLoad({ filter: SDK_SCHEMAS }, async (args) => ({
      contents: literalSchemaKeys(await readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

/**
 * On Lambda the SDK's default credential chain always ends at its first link: the runtime puts
 * the function role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN. The rest of the chain (profiles, SSO, web identity, the instance metadata
 * service, with the STS and SSO clients they bring) cannot run there, and esbuild cannot see
 * that: the clients' `defaultProvider` becomes the environment provider alone (about 80 KB).
 */
export const lambdaEnvCredentials: Plugin = {
  name: 'lambda-env-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: 'lambda-env-credentials',
      namespace: 'eventlog',
    }));
    build.onLoad({ filter: /^lambda-env-credentials$/, namespace: 'eventlog' }, () => ({
      contents: LAMBDA_CREDENTIALS_MODULE,
      loader: 'js',
      resolveDir: PROJECT_ROOT,
    }));
  },
};

/** What `@aws-sdk/credential-provider-node` exports, for the environment alone. */
export const LAMBDA_CREDENTIALS_MODULE = `import { fromEnv } from '@aws-sdk/credential-provider-env';
export const defaultProvider = (init = {}) => fromEnv(init);
export const credentialsWillNeedRefresh = (credentials) => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials) =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300000;
`;

/**
 * `{ [_e]: _c, [_hE]: 400 }` → `{ "error": _c, "httpError": 400 }` where the file declares
 * `const _e = "error";` at its top level (the generated files declare nothing else under those
 * names). A key whose name is not such a constant stays computed.
 */
export function literalSchemaKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) {
    strings.set(name!, literal!);
  }
  // Only in key position: after `{` or `,` (tsc prints `{ [_a]: x, [_b]: y }`).
  return source.replace(/(?<=[{,]\s*)\[(_\w+)\]:/g, (computed, name: string) => {
    const literal = strings.get(name);
    return literal === undefined ? computed : `${literal}:`;
  });
}

/**
 * A bundle's size goal (docs/deploy.md): the api function's cold start grows with it. The
 * package's build refuses a bundle over it; the bundle tests and the bench check it too.
 */
export const MAX_BUNDLE_BYTES = 1_000_000;

/**
 * The bundle as it deploys. The AWS SDK is bundled rather than taken from the runtime: the
 * bundle then runs the SDK version we tested, and one file loads faster than the runtime's
 * node_modules tree.
 */
export const FUNCTION_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The runtime of lib/infra/event-log.ts (nodejs22.x).
  target: 'node22',
  minify: true,
  sourcemap: true,
  // Stack traces need the mappings, not the sources: a smaller map parses faster at cold start.
  sourcesContent: false,
  // The SDK's ES module builds tree-shake; their CommonJS builds do not.
  mainFields: ['module', 'main'],
  // `@node-rs/crc32`, `snappy`, `lz4-napi` and `@toondepauw/node-zstd` are native and loaded
  // lazily through createRequire with a fallback (pure-JS CRC-32C; snappyjs; our JS lz4 block
  // compressor; node:zlib's zstd on nodejs22.x, fzstd for reading elsewhere): they stay out of
  // the bundle, see docs/deploy.md.
  // fzstd (pure-JS zstd reading) is never needed on nodejs22.x, whose node:zlib has zstd.
  external: ['@node-rs/crc32', 'snappy', 'lz4-napi', '@toondepauw/node-zstd', 'fzstd'],
  // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __eventlogCreateRequire } from 'node:module'; const require = __eventlogCreateRequire(import.meta.url);",
  },
  plugins: [zodEnglishOnly, awsSdkLiteralSchemaKeys, lambdaEnvCredentials],
  absWorkingDir: PROJECT_ROOT,
  logLevel: 'warning',
} satisfies BuildOptions;

/**
 * Bundles one function's entry into `outdir/index.mjs` (and its source map). The API's also
 * gets the web console's files in `outdir/console/`: served from the function's own package,
 * they cost the bundle nothing (functions/api.ts reads them on the first /console request).
 */
export async function bundleFunction(
  entry: string,
  outdir: string,
  options: Pick<BuildOptions, 'metafile' | 'write' | 'logLevel'> = {},
): Promise<BuildResult> {
  const result = await build({
    ...FUNCTION_BUILD_OPTIONS,
    ...options,
    entryPoints: [entry],
    outfile: join(outdir, 'index.mjs'),
  });
  if (options.write !== false && servesConsole(entry)) await buildConsole(join(outdir, 'console'));
  return result;
}

/** The API function's entry: the one that serves /console. */
export function servesConsole(entry: string): boolean {
  return resolve(entry) === resolve(PROJECT_ROOT, 'functions/api.ts');
}

if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  const [entry, outdir] = process.argv.slice(2);
  if (entry === undefined || outdir === undefined) {
    throw new Error('usage: tsx lib/infra/bundling.ts <entry> <outdir>');
  }
  await bundleFunction(resolve(entry), resolve(outdir), { logLevel: 'info' });
}
