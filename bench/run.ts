/**
 * The benchmarks, in one command:
 *
 *   npm run bench               the full run (about 7 minutes on a shared 2-core machine)
 *   npm run bench -- --quick    a reduced matrix (under 90 s), for smoke testing; writes into a
 *                               temporary directory, never over the full run's files
 *   npm run bench -- --report   recompute the cost model and rewrite REPORT.md and the charts
 *                               from bench/results.json (no benchmark run)
 *   npm run bench -- --codec    the codec section alone (bench/codec.ts, about a minute): its
 *                               figures replace the codec section of bench/results.json, and
 *                               REPORT.md is rewritten; every other section keeps its run
 *
 * Starts its own emulators (DynamoDB Local in memory, s3rver in a temporary directory, on
 * 127.0.0.1 only), runs every section, and writes bench/results.json, bench/REPORT.md and the
 * charts (bench/*.svg). Progress goes to stderr.
 */
import { statfsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createBroker, createStores } from '../lib/broker/broker.js';
import { startLocalEnvironment } from '../lib/local/environment.js';
import { CallCounter } from '../lib/store/call-counter.js';
import { type CallsBenchResult, runCallsBench } from './calls-bench.js';
import type { BenchContext } from './context.js';
import { runCostModel } from './cost-bench.js';
import { type FetchBenchResult, runFetchBench } from './fetch-bench.js';
import { type ProduceBenchResult, runProduceBench } from './produce-bench.js';
import { type BenchResults, type ExternalSection, writeReport } from './report.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

function log(message: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}

const startedAt = performance.now();

/**
 * Runs a section that lives in a module of its own (bench/codec.ts, bench/bundles.ts,
 * bench/dispatch-latency.ts): a failure is reported in the results, not fatal to the run.
 */
async function external<T>(
  file: string,
  exportName: string,
  args: unknown[],
): Promise<ExternalSection<T>> {
  const path = join(BENCH_DIR, file);
  const started = performance.now();
  try {
    const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    const run = module[exportName];
    if (typeof run !== 'function') {
      return { status: 'missing', note: `bench/${file} has no export ${exportName} yet` };
    }
    const result = (await (run as (...a: unknown[]) => Promise<T>)(...args)) as T;
    return { status: 'ok', result, durationMs: performance.now() - started };
  } catch (error) {
    return {
      status: 'failed',
      note: `bench/${file} ${exportName}() failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** Samples the 1-minute load average while the benchmark runs: how busy the shared machine was. */
function sampleLoad(): { stop(): { min: number; mean: number; max: number; samples: number } } {
  const samples: number[] = [loadavg()[0] ?? 0];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? 0), 5000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(loadavg()[0] ?? 0);
      const round2 = (x: number) => Math.round(x * 100) / 100;
      return {
        min: round2(Math.min(...samples)),
        mean: round2(samples.reduce((a, b) => a + b, 0) / samples.length),
        max: round2(Math.max(...samples)),
        samples: samples.length,
      };
    },
  };
}

/**
 * Where s3rver keeps its objects: on tmpfs (/dev/shm) when it has room for the run's few GB
 * and memory is plentiful, else the system's temporary directory. S3 itself is not a local
 * disk, so nothing measured depends on the medium, but a disk adds noise, and removing
 * tens of thousands of files from one at the end took half a minute.
 */
function s3rverTmpDir(): string | undefined {
  const need = 8 * 1024 ** 3;
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= need && freemem() >= 2 * need) return '/dev/shm';
  } catch {
    // No /dev/shm here.
  }
  return undefined;
}

async function main(): Promise<void> {
  if (process.argv.includes('--report')) return await rewriteReport();
  if (process.argv.includes('--codec')) return await rerunCodec();
  await fullRun(process.argv.includes('--quick'));
}

async function readResults(): Promise<BenchResults> {
  return JSON.parse(await readFile(join(BENCH_DIR, 'results.json'), 'utf8')) as BenchResults;
}

/** `--report`: REPORT.md, the charts and the cost model from bench/results.json, no run. */
async function rewriteReport(): Promise<void> {
  const results = await readResults();
  // The cost model is pure: recompute it, so that a change of prices or model shows at once.
  results.cost = runCostModel(results.calls, results.produce, results.fetch);
  const files = await writeReport(results, BENCH_DIR);
  await writeFile(join(BENCH_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(
    `recomputed the cost model and rewrote bench/results.json, ${files.map((f) => `bench/${f}`).join(', ')}`,
  );
}

/** `--codec`: the codec section alone, into bench/results.json beside the other sections. */
async function rerunCodec(): Promise<void> {
  const results = await readResults();
  const load = sampleLoad();
  log('codec: runCodecBench() from bench/codec.ts (the codec section alone)');
  results.codec = await external<unknown>('codec.ts', 'runCodecBench', [{ quick: false }]);
  const loadAverage = load.stop();
  log(
    `codec: ${results.codec.status}${results.codec.note === undefined ? '' : ` (${results.codec.note})`}; load average ${loadAverage.min}-${loadAverage.max}`,
  );
  results.codecRun = { date: new Date().toISOString(), node: process.version, loadAverage };
  const files = await writeReport(results, BENCH_DIR);
  await writeFile(join(BENCH_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`rewrote bench/results.json, ${files.map((f) => `bench/${f}`).join(', ')}`);
  if (results.codec.status !== 'ok') process.exitCode = 1;
}

/** Runs a section and records how long it took in `sections`. */
type Timed = <T>(name: string, run: () => Promise<T>) => Promise<T>;

function timedInto(sections: { name: string; seconds: number }[]): Timed {
  return async (name, run) => {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      sections.push({ name, seconds: Math.round((performance.now() - t0) / 100) / 10 });
    }
  };
}

/** The full run (or the reduced matrix with --quick): every section, then the report. */
async function fullRun(quick: boolean): Promise<void> {
  const load = sampleLoad();
  const sections: { name: string; seconds: number }[] = [];
  const timed = timedInto(sections);
  const runId = Date.now().toString(36);
  log(`starting (${quick ? 'quick' : 'full'} run)`);
  const { codec, bundles } = await cpuSections(quick, timed);
  const { env, shm } = await startEmulators(timed);
  const counter = new CallCounter({ consumedCapacity: true });
  counter.attach(env.clients.s3, env.clients.dynamo);
  const broker = createBroker(createStores(env.clients, env.names));
  const context: BenchContext = {
    env,
    broker,
    counter,
    quick,
    log,
    topicName: (label) => `bench-${runId}-${label}`,
  };
  const { calls, produce, fetch, dispatch, cli, failures } = await emulatorSections(context, timed);

  log('cost model');
  const cost = runCostModel(calls, produce, fetch);
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: machineOf(shm, load.stop()),
    sections,
    quick,
    wallSeconds: 0,
    codec,
    bundles,
    dispatch,
    cli,
    ...(produce === undefined ? {} : { produce }),
    ...(calls === undefined ? {} : { calls }),
    ...(fetch === undefined ? {} : { fetch }),
    cost,
    failures,
  };
  results.wallSeconds = Math.round((performance.now() - startedAt) / 1000);
  // A quick run is a smoke test: it must not overwrite the full run's results in bench/.
  const outDir = quick ? await mkdtemp(join(tmpdir(), 'eventlog-bench-quick-')) : BENCH_DIR;
  const files = await writeReport(results, outDir);
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const shown = quick ? outDir : 'bench';
  log(`wrote ${['results.json', ...files].map((f) => `${shown}/${f}`).join(', ')}`);
  log(`done in ${results.wallSeconds} s`);
  if (failures.length > 0) process.exitCode = 1;
}

/** CPU-bound sections first, before the emulators start, so nothing competes with them. */
async function cpuSections(
  quick: boolean,
  timed: Timed,
): Promise<{ codec: ExternalSection<unknown>; bundles: ExternalSection<unknown> }> {
  log('codec: runCodecBench() from bench/codec.ts');
  const codec = await timed('codec', () =>
    external<unknown>('codec.ts', 'runCodecBench', [{ quick }]),
  );
  log(`codec: ${codec.status}${codec.note === undefined ? '' : ` (${codec.note})`}`);
  let bundles: ExternalSection<unknown>;
  if (quick) {
    bundles = { status: 'skipped', note: 'skipped in --quick (it synthesizes the CDK app)' };
  } else {
    log('bundles: runBundleBench() from bench/bundles.ts (synthesizes the app, loads each bundle)');
    bundles = await timed('bundles', () => external<unknown>('bundles.ts', 'runBundleBench', [{}]));
    log(`bundles: ${bundles.status}${bundles.note === undefined ? '' : ` (${bundles.note})`}`);
  }
  return { codec, bundles };
}

/** DynamoDB Local and s3rver, with s3rver's objects on tmpfs where there is room. */
async function startEmulators(
  timed: Timed,
): Promise<{ env: BenchContext['env']; shm: string | undefined }> {
  log('starting DynamoDB Local and s3rver on 127.0.0.1');
  const shm = s3rverTmpDir();
  const tmpdirBefore = process.env['TMPDIR'];
  if (shm !== undefined) process.env['TMPDIR'] = shm;
  const env = await timed('emulators', () => startLocalEnvironment({ quiet: true })).finally(() => {
    if (tmpdirBefore === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = tmpdirBefore;
  });
  log(`s3rver keeps its objects in ${shm ?? 'the temporary directory'}`);
  if (env.external) log(`using external endpoints ${env.endpoints.s3}, ${env.endpoints.dynamodb}`);
  return { env, shm };
}

/** The sections that run on the emulators, which are stopped after them whatever happens. */
async function emulatorSections(
  context: BenchContext,
  timed: Timed,
): Promise<{
  calls: CallsBenchResult | undefined;
  produce: ProduceBenchResult | undefined;
  fetch: FetchBenchResult | undefined;
  dispatch: ExternalSection<unknown>;
  cli: ExternalSection<unknown>;
  failures: string[];
}> {
  const { env, broker, quick } = context;
  let produce: ProduceBenchResult | undefined;
  let calls: CallsBenchResult | undefined;
  let fetch: FetchBenchResult | undefined;
  let dispatch: ExternalSection<unknown> = {
    status: 'skipped',
    note: 'the emulators did not start',
  };
  let cli: ExternalSection<unknown> = { status: 'skipped', note: 'the emulators did not start' };
  const failures: string[] = [];
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      const message = `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      log(message);
      failures.push(message);
      return undefined;
    }
  };
  try {
    calls = await timed('calls', () => section('calls', () => runCallsBench(context)));
    produce = await timed('produce', () => section('produce', () => runProduceBench(context)));
    fetch = await timed('fetch', () => section('fetch', () => runFetchBench(context)));
    log('dispatch: runDispatchLatencyBench() from bench/dispatch-latency.ts');
    dispatch = await timed('dispatch', () =>
      external<unknown>('dispatch-latency.ts', 'runDispatchLatencyBench', [
        { env, log: () => {}, records: quick ? 200 : 1000 },
      ]),
    );
    log(`dispatch: ${dispatch.status}${dispatch.note === undefined ? '' : ` (${dispatch.note})`}`);
    log('cli: runCliStartBench() from bench/cli-start.ts (builds the package, times the CLI)');
    cli = await timed('cli', () =>
      external<unknown>('cli-start.ts', 'runCliStartBench', [{ broker, runs: quick ? 5 : 11 }]),
    );
    log(`cli: ${cli.status}${cli.note === undefined ? '' : ` (${cli.note})`}`);
  } finally {
    log('stopping the emulators');
    await env.stop();
  }
  return { calls, produce, fetch, dispatch, cli, failures };
}

/** The machine the run was on, for the report's first line. */
function machineOf(
  shm: string | undefined,
  loadAverage: BenchResults['machine']['loadAverage'],
): BenchResults['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    emulators: `DynamoDB Local (in memory) and s3rver 3.7 (objects in ${shm === undefined ? 'a temporary directory' : 'tmpfs'}), 127.0.0.1`,
    loadAverage,
  };
}

await main();
