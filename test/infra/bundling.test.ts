/**
 * The plugins of lib/infra/bundling.ts change what esbuild reads from node_modules. They must
 * only take out what cannot run: the SDK's schemas evaluate to the same values after the
 * rewrite, and zod keeps its English locale (the bundles' own test, bundles.test.ts, checks
 * the api's error messages end to end).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  awsSdkLiteralSchemaKeys,
  englishLocaleOnly,
  literalSchemaKeys,
  zodEnglishOnly,
} from '../../lib/infra/bundling.js';
import { PROJECT_ROOT } from '../../lib/infra/event-log.js';

const outdir = mkdtempSync(join(tmpdir(), 'eventlog-bundling-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Bundles `source` (resolved from the project root) and imports the result. */
async function evaluate(
  name: string,
  source: string,
  plugins: Plugin[],
): Promise<Record<string, unknown>> {
  const outfile = join(outdir, `${name}.mjs`);
  await build({
    stdin: { contents: source, resolveDir: PROJECT_ROOT, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    outfile,
    plugins,
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
}

/**
 * Schemas are nested arrays and trait objects; member schemas are thunks, compared by the name
 * of the schema they return (each schema is compared as an export of its own).
 */
function normalize(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'function') return v;
    const target: unknown = (v as () => unknown)();
    return `[thunk → ${Array.isArray(target) ? String(target[2]) : typeof target}]`;
  });
}

/** Every schema module of the SDK clients installed here (the bundles use a subset). */
function sdkSchemaModules(): string[] {
  const scope = join(PROJECT_ROOT, 'node_modules/@aws-sdk');
  return readdirSync(scope)
    .map((name) => `node_modules/@aws-sdk/${name}/dist-es`)
    .filter((dir) => existsSync(join(PROJECT_ROOT, dir)))
    .flatMap((dir) =>
      readdirSync(join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => /(^|\/)schemas\/schemas_\d+\.js$/.test(file))
        .map((file) => `${dir}/${file}`),
    )
    .sort();
}

describe('aws-sdk-literal-schema-keys', () => {
  it('writes a file constant as a literal key, and leaves any other computed key alone', () => {
    const source = [
      'const _e = "error";',
      'const _hE = "httpError";',
      'export var A$ = [-3, n0, _A, { [_e]: _c, [_hE]: 400, [other]: 1 }, [_m], [0]];',
      'export var B$ = [9, n0, _B, {',
      '        [_e]: "server" }, () => A$];',
      'export var C = cond ? [_e] : [_hE];',
    ].join('\n');
    expect(literalSchemaKeys(source).split('\n').slice(2)).toEqual([
      'export var A$ = [-3, n0, _A, { "error": _c, "httpError": 400, [other]: 1 }, [_m], [0]];',
      'export var B$ = [9, n0, _B, {',
      '        "error": "server" }, () => A$];',
      'export var C = cond ? [_e] : [_hE];',
    ]);
  });

  const modules = sdkSchemaModules();

  it('finds the SDK schema modules', () => {
    expect(modules).toContain('node_modules/@aws-sdk/client-s3/dist-es/schemas/schemas_0.js');
  });

  it.each(modules)('%s exports the same schemas after the rewrite', async (module) => {
    const path = join(PROJECT_ROOT, module);
    const rewritten = literalSchemaKeys(readFileSync(path, 'utf8'));
    // Nothing the rewrite could have made literal is left computed.
    const constants = new Set(
      [...rewritten.matchAll(/^const (_\w+) = "[^"\\\n]*";$/gm)].map((m) => m[1]),
    );
    const computed = [...rewritten.matchAll(/\[(_\w+)\]:/g)].map((m) => m[1]);
    expect(computed.filter((name) => constants.has(name))).toEqual([]);

    const name = relative(PROJECT_ROOT, path).replace(/[^\w]+/g, '-');
    const entry = `export * from ${JSON.stringify(`./${module}`)};`;
    const original = await evaluate(`${name}-original`, entry, []);
    const literal = await evaluate(`${name}-literal`, entry, [awsSdkLiteralSchemaKeys]);
    expect(Object.keys(literal).sort()).toEqual(Object.keys(original).sort());
    for (const key of Object.keys(original)) {
      expect(normalize(literal[key]), key).toBe(normalize(original[key]));
    }
  });
});

describe('zod-english-only', () => {
  const localesIndex = join(PROJECT_ROOT, 'node_modules/zod/v4/locales/index.js');

  it("keeps the English re-export of zod's locales index, and nothing else", () => {
    expect(englishLocaleOnly(readFileSync(localesIndex, 'utf8'))).toBe(
      'export { default as en } from "./en.js";\n',
    );
  });

  it('refuses an index with anything but locale re-exports (a zod release to review)', () => {
    expect(() =>
      englishLocaleOnly(
        'export { default as en } from "./en.js";\nexport const extra = 1;\n',
        'index.js',
      ),
    ).toThrow(/unexpected line in index.js: export const extra = 1;/);
    expect(() => englishLocaleOnly('export { default as de } from "./de.js";\n')).toThrow(
      /no English locale/,
    );
  });

  it("leaves zod's default messages English, and z.locales with English only", async () => {
    const zod = await evaluate(
      'zod-english-only',
      `import { z } from 'zod';
       export const locales = Object.keys(z.locales);
       export const messages = [
         z.object({ a: z.number() }).strict().safeParse({ a: 'x', b: 1 }),
         z.number().min(0).safeParse(-5),
       ].flatMap((result) => result.error.issues.map((issue) => issue.message));`,
      [zodEnglishOnly],
    );
    expect(zod['locales']).toEqual(['en']);
    expect(zod['messages']).toEqual([
      'Invalid input: expected number, received string',
      'Unrecognized key: "b"',
      'Too small: expected number to be >=0',
    ]);
  });
});
