/**
 * The Lambda bundles as they deploy: their size and the time a fresh Node process takes to
 * load each one (the part of a cold start that is ours). Goal: under 1 MB (10^6 bytes) and
 * 150 ms each.
 *
 *   npx tsx bench/bundles.ts            synthesize into a temporary directory, then measure
 *   npx tsx bench/bundles.ts cdk.out    measure an existing cloud assembly (after `npm run synth`)
 *   npx tsx bench/bundles.ts --analyze  what each bundle is made of: its largest packages
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { App, Validations } from 'aws-cdk-lib';
// cdk-nag is CommonJS without statically detectable exports: named ESM imports fail.
import cdkNag from 'cdk-nag';
import { bundleFunction, MAX_BUNDLE_BYTES } from '../lib/infra/bundling.js';
import { FUNCTIONS, PROJECT_ROOT } from '../lib/infra/event-log.js';
import { EventLogStack } from '../lib/infra/event-log-stack.js';

const execFileAsync = promisify(execFile);

export const BUNDLE_GOALS = { maxBytes: MAX_BUNDLE_BYTES, maxLoadMs: 150 } as const;
const LOAD_RUNS = 5;

/** A function of the synthesized template and the bundle that deploys for it. */
export interface FunctionBundle {
  /** The function's logical id. */
  logicalId: string;
  /** The construct path, e.g. EventLogStack/EventLog/ApiFunction/Resource. */
  path: string;
  /** The asset directory (what Lambda unpacks to /var/task). */
  dir: string;
  /** The handler's module file, resolved the way the Node.js runtime resolves `index.handler`. */
  file: string;
  exportName: string;
  /** Environment.Variables as the template has them (literals or intrinsics). */
  environment: Record<string, unknown>;
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/**
 * Finds each Lambda function's bundle in a cloud assembly: the Code.S3Key names the asset
 * (`<hash>.zip` ← `asset.<hash>/`), and the Handler names module and export.
 */
export function functionBundles(outdir: string, stackName = 'EventLogStack'): FunctionBundle[] {
  const template = JSON.parse(readFileSync(join(outdir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  const paths = constructPaths(outdir, stackName);
  const bundles: FunctionBundle[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const properties = resource.Properties ?? {};
    const code = properties['Code'] as { S3Key?: string } | undefined;
    const hash = code?.S3Key?.replace(/\.zip$/, '');
    if (hash === undefined) throw new Error(`${logicalId} has no asset S3Key`);
    const dir = join(outdir, `asset.${hash}`);
    const handler = String(properties['Handler'] ?? '');
    const dot = handler.lastIndexOf('.');
    if (dot <= 0) throw new Error(`${logicalId}: handler "${handler}" is not module.export`);
    const module = handler.slice(0, dot);
    // The Node.js runtime tries these extensions in this order.
    const file = ['.js', '.mjs', '.cjs']
      .map((extension) => join(dir, `${module}${extension}`))
      .find((candidate) => existsSync(candidate));
    if (file === undefined) throw new Error(`${logicalId}: no ${module}.{js,mjs,cjs} in ${dir}`);
    bundles.push({
      logicalId,
      path: paths.get(logicalId) ?? String(resource.Metadata?.['aws:cdk:path'] ?? logicalId),
      dir,
      file,
      exportName: handler.slice(dot + 1),
      environment:
        ((properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables as Record<string, unknown>) ?? {},
    });
  }
  return bundles;
}

/** Logical id → construct path, from the assembly's metadata file (the template has no paths outside the CLI). */
export function constructPaths(outdir: string, stackName = 'EventLogStack'): Map<string, string> {
  const file = join(outdir, `${stackName}.metadata.json`);
  const paths = new Map<string, string>();
  if (!existsSync(file)) return paths;
  const metadata = JSON.parse(readFileSync(file, 'utf8')) as Record<
    string,
    { type: string; data: unknown }[]
  >;
  for (const [path, entries] of Object.entries(metadata)) {
    for (const entry of entries) {
      if (entry.type === 'aws:cdk:logicalId')
        paths.set(String(entry.data), path.replace(/^\//, ''));
    }
  }
  return paths;
}

/** Synthesizes the app as `cdk synth` would, into `outdir` (a new temporary directory by default). */
export async function synthesize(
  outdir = mkdtempSync(join(tmpdir(), 'eventlog-bundles-')),
): Promise<{
  outdir: string;
  ms: number;
}> {
  const started = performance.now();
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({ outdir, context: cdkJson.context });
  new EventLogStack(app, 'EventLogStack');
  Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app));
  app.synth();
  return { outdir, ms: performance.now() - started };
}

export interface BundleMeasurement {
  function: string;
  bytes: number;
  /** Roughly what the deployment zip holds for it (gzip level 6): what Lambda downloads. */
  gzipBytes: number;
  sourceMapBytes: number;
  /** Median of LOAD_RUNS fresh processes: time to import the bundle. */
  loadMs: number;
  loadRunsMs: number[];
  withinGoal: boolean;
}

export interface BundleBenchResult {
  outdir: string;
  synthMs?: number;
  bundles: BundleMeasurement[];
  goals: typeof BUNDLE_GOALS;
}

/**
 * Loads a bundle in a fresh Node process with its function's environment variable names
 * (values are placeholders: loading builds clients but calls nothing) and reports how long
 * the import took.
 */
async function measureLoad(bundle: FunctionBundle): Promise<number> {
  const environment: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  for (const [name, value] of Object.entries(bundle.environment)) {
    environment[name] = typeof value === 'string' ? value : `bench-${name.toLowerCase()}`;
  }
  const script = `
    const started = performance.now();
    const module = await import(${JSON.stringify(pathToFileURL(bundle.file).href)});
    const elapsed = performance.now() - started;
    if (typeof module[${JSON.stringify(bundle.exportName)}] !== 'function') {
      throw new Error('no export ${bundle.exportName}');
    }
    console.log(JSON.stringify({ elapsed }));
  `;
  // NODE_OPTIONS from the template (--enable-source-maps) applies as on Lambda.
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: bundle.dir,
    env: environment,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(last) as { elapsed: number }).elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Measures the bundles of `options.outdir` when it holds a synthesized assembly; otherwise
 * synthesizes first, into `options.outdir` or into a temporary directory that is removed
 * afterwards (unless `keep`).
 */
export async function runBundleBench(
  options: { outdir?: string; keep?: boolean } = {},
): Promise<BundleBenchResult> {
  let outdir = options.outdir;
  let synthMs: number | undefined;
  let temporary = false;
  if (outdir === undefined || !existsSync(join(outdir, 'EventLogStack.template.json'))) {
    temporary = outdir === undefined && options.keep !== true;
    const synthesized = await synthesize(outdir);
    outdir = synthesized.outdir;
    synthMs = synthesized.ms;
  }
  try {
    const measurements: BundleMeasurement[] = [];
    for (const bundle of functionBundles(outdir)) {
      const runs: number[] = [];
      for (let i = 0; i < LOAD_RUNS; i++) runs.push(await measureLoad(bundle));
      const bytes = statSync(bundle.file).size;
      const mapFile = `${bundle.file}.map`;
      const loadMs = median(runs);
      measurements.push({
        function: bundle.path.split('/').at(-2) ?? bundle.logicalId,
        bytes,
        gzipBytes: gzipSync(readFileSync(bundle.file), { level: 6 }).byteLength,
        sourceMapBytes: existsSync(mapFile) ? statSync(mapFile).size : 0,
        loadMs,
        loadRunsMs: runs,
        withinGoal: bytes < BUNDLE_GOALS.maxBytes && loadMs < BUNDLE_GOALS.maxLoadMs,
      });
    }
    return {
      outdir,
      ...(synthMs === undefined ? {} : { synthMs }),
      bundles: measurements,
      goals: BUNDLE_GOALS,
    };
  } finally {
    if (temporary) rmSync(outdir, { recursive: true, force: true });
  }
}

/** A package (or a directory of ours) and the bytes it adds to a bundle. */
export interface BundleContributor {
  source: string;
  bytes: number;
}

/**
 * Builds each function as it deploys (lib/infra/bundling.ts), in memory, and sums esbuild's
 * metafile by package: where the bytes of each bundle come from, largest first.
 */
export async function analyzeBundles(top = 15): Promise<Record<string, BundleContributor[]>> {
  const result: Record<string, BundleContributor[]> = {};
  for (const [name, definition] of Object.entries(FUNCTIONS)) {
    const { metafile } = await bundleFunction(join(PROJECT_ROOT, definition.entry), tmpdir(), {
      metafile: true,
      write: false,
    });
    const output = Object.entries(metafile?.outputs ?? {}).find(([file]) => file.endsWith('.mjs'));
    const bytes = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output?.[1].inputs ?? {})) {
      const source =
        input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ??
        input.split('/').slice(0, 2).join('/');
      bytes.set(source, (bytes.get(source) ?? 0) + bytesInOutput);
    }
    result[name] = [...bytes]
      .map(([source, n]) => ({ source, bytes: n }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, top);
  }
  return result;
}

if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href &&
  process.argv[2] === '--analyze'
) {
  for (const [name, contributors] of Object.entries(await analyzeBundles())) {
    console.log(name);
    console.table(
      contributors.map((c) => ({ source: c.source, KiB: (c.bytes / 1024).toFixed(1) })),
    );
  }
} else if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  const outdir = process.argv[2];
  const result = await runBundleBench(outdir === undefined ? {} : { outdir: resolve(outdir) });
  if (result.synthMs !== undefined) console.log(`synth: ${Math.round(result.synthMs)} ms`);
  console.table(
    result.bundles.map((b) => ({
      function: b.function,
      'bundle KB': (b.bytes / 1024).toFixed(1),
      'gzip KB': (b.gzipBytes / 1024).toFixed(1),
      'map KB': (b.sourceMapBytes / 1024).toFixed(1),
      'load ms (median of 5)': b.loadMs.toFixed(1),
      goal:
        [
          b.bytes < BUNDLE_GOALS.maxBytes ? '' : `> ${BUNDLE_GOALS.maxBytes / 1e6} MB`,
          b.loadMs < BUNDLE_GOALS.maxLoadMs ? '' : `> ${BUNDLE_GOALS.maxLoadMs} ms`,
        ]
          .filter(Boolean)
          .join(', ') || 'ok',
    })),
  );
  if (result.bundles.some((b) => !b.withinGoal)) process.exitCode = 1;
}
