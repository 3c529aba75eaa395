/**
 * The CLI's start: how long `eventlog --help` and `eventlog topics list` (against a local API
 * server on the bench's emulators) take as processes, wall time from spawn to exit, median of
 * several runs. The goal is 300 ms on a 2-core machine; the baseline `node -e ''` of the same
 * run says how much of that is Node's own start on the machine as loaded as it was, and the
 * same GET from a bare `node -e` script how much of `topics list` is the server's answer.
 *
 * The compiled CLI is the package's (dist/bin/eventlog.js, built here by the package's build,
 * as `npm pack` builds it); the tsx run of the TypeScript source is what `npm run eventlog`
 * does in this repository, shown for comparison.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Broker } from '../lib/broker/broker.js';
import { startApiServer } from '../lib/local/server.js';
import { median, round } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI_START_GOAL_MS = 300;

export interface CliStartRow {
  command: string;
  medianMs: number;
  /** The median less the baseline's median: what the CLI adds to Node's start. */
  overBaselineMs: number;
  runs: number;
}

export interface CliStartResult {
  buildMs: number;
  baselineMs: number;
  rows: CliStartRow[];
  goalMs: number;
}

/**
 * Wall time of one process run; a failed run throws, so a broken CLI cannot look fast. Spawned
 * asynchronously: the API server answering `topics list` runs in this process's event loop.
 */
function timeRun(args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((done, fail) =>
    child.once('close', (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) done(elapsed);
      else fail(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`));
    }),
  );
}

async function medianOf(args: string[], runs: number): Promise<number> {
  await timeRun(args); // warms the file cache, not counted
  const times: number[] = [];
  for (let run = 0; run < runs; run++) times.push(await timeRun(args));
  return median(times);
}

export async function runCliStartBench(options: {
  broker: Broker;
  runs?: number;
}): Promise<CliStartResult> {
  const runs = options.runs ?? 9;
  const buildStarted = performance.now();
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'ignore' });
  if (build.status !== 0) throw new Error(`npm run build exited ${build.status}`);
  const buildMs = performance.now() - buildStarted;

  const server = await startApiServer({ broker: options.broker, clusterId: 'bench', port: 0 });
  try {
    const cli = join(ROOT, 'dist/bin/eventlog.js');
    const source = join(ROOT, 'bin/eventlog.ts');
    const baselineMs = await medianOf(['-e', ''], runs);
    const measured: [string, string[], number][] = [
      ['eventlog --help', [cli, '--help'], runs],
      ['eventlog topics list', [cli, '--url', server.url, 'topics', 'list'], runs],
      // The same request from a bare script: the part of `topics list` that is the server's.
      [
        "node -e 'fetch(GET /v1/topics)'",
        [
          '--input-type=module',
          '-e',
          `await (await fetch(${JSON.stringify(`${server.url}/v1/topics`)})).json()`,
        ],
        runs,
      ],
      ['tsx bin/eventlog.ts --help (npm run eventlog)', ['--import', 'tsx', source, '--help'], 3],
    ];
    const rows: CliStartRow[] = [];
    for (const [command, args, runs] of measured) {
      const medianMs = await medianOf(args, runs);
      rows.push({
        command,
        medianMs: round(medianMs),
        overBaselineMs: round(medianMs - baselineMs),
        runs,
      });
    }
    return {
      buildMs: Math.round(buildMs),
      baselineMs: round(baselineMs),
      rows,
      goalMs: CLI_START_GOAL_MS,
    };
  } finally {
    await server.close();
  }
}
