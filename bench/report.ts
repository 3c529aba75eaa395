import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallsBenchResult } from './calls-bench.js';
import type { CostBenchResult } from './cost-bench.js';
import { type CostEstimate, DESIGN_CHANGE_NOTES } from './cost-model.js';
import type { FetchBenchResult } from './fetch-bench.js';
import { priceRows } from './prices.js';
import type { ProduceBenchResult } from './produce-bench.js';
import { barChart, lineChart } from './svg-chart.js';

/** A section run from another engineer's module (bench/codec.ts, bench/bundles.ts). */
export interface ExternalSection<T> {
  status: 'ok' | 'missing' | 'failed' | 'skipped';
  result?: T;
  note?: string;
  durationMs?: number;
}

export interface BenchResults {
  date: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGb: number;
    node: string;
    platform: string;
    emulators: string;
    /** The 1-minute load average sampled every 5 s during the run. */
    loadAverage: { min: number; mean: number; max: number; samples: number };
  };
  /** Wall time of each section. */
  sections: { name: string; seconds: number }[];
  quick: boolean;
  wallSeconds: number;
  codec: ExternalSection<unknown>;
  /** Set when the codec section was run alone (`npm run bench -- --codec`) after the rest. */
  codecRun?: {
    date: string;
    node: string;
    loadAverage: { min: number; mean: number; max: number; samples: number };
  };
  bundles: ExternalSection<unknown>;
  /** bench/dispatch-latency.ts: commit to Lambda handler invoked. Absent in older results. */
  dispatch?: ExternalSection<unknown>;
  produce?: ProduceBenchResult;
  calls?: CallsBenchResult;
  fetch?: FetchBenchResult;
  cost: CostBenchResult;
  failures: string[];
}

// The shapes we read from bench/codec.ts and bench/bundles.ts, checked at run time: those
// modules are someone else's and may change.
interface CodecRow {
  operation: string;
  recordSize: number;
  compression: string;
  ours: { mbPerSecond: number; recordsPerSecond: number };
  kafkajs: { mbPerSecond: number; recordsPerSecond: number };
  speedupVsKafkajs: number;
  timeVsFloor?: number;
  timeVsFloorWithViews?: number;
}
interface CompressionRow {
  payload: string;
  payloadLabel: string;
  rawBytes: number;
  codec: string;
  implementation: string;
  compressedBytes: number;
  ratio: number;
  compressMBps?: number;
  decompressMBps: number;
  compressVsKafkajs?: number;
  decompressVsKafkajs?: number;
}
interface BundleRow {
  function: string;
  bytes: number;
  gzipBytes?: number;
  loadMs: number;
}

function codecRows(section: ExternalSection<unknown>): CodecRow[] | undefined {
  const rows = (section.result as { rows?: unknown } | undefined)?.rows;
  if (!Array.isArray(rows)) return undefined;
  const valid = rows.filter(
    (r): r is CodecRow =>
      typeof r === 'object' &&
      r !== null &&
      typeof (r as CodecRow).ours?.mbPerSecond === 'number' &&
      typeof (r as CodecRow).kafkajs?.mbPerSecond === 'number',
  );
  return valid.length > 0 ? valid : undefined;
}

function compressionRows(section: ExternalSection<unknown>): CompressionRow[] {
  const rows = (section.result as { compression?: unknown } | undefined)?.compression;
  if (!Array.isArray(rows)) return [];
  return rows.filter(
    (r): r is CompressionRow =>
      typeof r === 'object' &&
      r !== null &&
      typeof (r as CompressionRow).ratio === 'number' &&
      typeof (r as CompressionRow).decompressMBps === 'number',
  );
}

function bundleRows(section: ExternalSection<unknown>): BundleRow[] | undefined {
  const rows = (section.result as { bundles?: unknown } | undefined)?.bundles;
  if (!Array.isArray(rows)) return undefined;
  return rows.filter(
    (r): r is BundleRow =>
      typeof r === 'object' && r !== null && typeof (r as BundleRow).bytes === 'number',
  );
}

const n = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value)
    ? '–'
    : value.toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });

const usd = (value: number): string =>
  value >= 100 ? `$${n(value)}` : value >= 1 ? `$${n(value, 2)}` : `$${value.toPrecision(2)}`;

/**
 * A Markdown table with its columns padded to one width, as the project's formatter (Biome)
 * writes them, so that `npm run lint` accepts the generated report as it is.
 */
export function table(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const columns = header.length;
  const cells = [header, ...rows].map((row) =>
    Array.from({ length: columns }, (_, i) => (row[i] ?? '').replace(/\|/g, '\\|')),
  );
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(3, ...cells.map((row) => [...(row[i] as string)].length)),
  );
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat((widths[i] as number) - [...text].length);
    return a[i] === 'r' ? fill + text : text + fill;
  };
  const line = (row: string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = widths.map((w, i) => (a[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)));
  return [line(cells[0] as string[]), `| ${rule.join(' | ')} |`, ...cells.slice(1).map(line)].join(
    '\n',
  );
}

const HEADLINE_ORDER = [
  'calls',
  'overhead',
  'cost',
  'produce',
  'fetch',
  'scaling',
  'dispatch',
  'codec',
];

/** "a" when all values round alike, else "a-b". */
function range(values: number[], digits: number): string {
  const lo = n(Math.min(...values), digits);
  const hi = n(Math.max(...values), digits);
  return lo === hi ? lo : `${lo}-${hi}`;
}

/** The 100 B figures that issue 16 set goals for, as one sentence. */
function smallRecords(codec: CodecRow[]): string {
  const find = (op: string) =>
    codec.find((r) => r.operation === op && r.recordSize === 100 && r.compression === 'none');
  const encode = find('encode');
  const decode = find('decode');
  if (encode?.timeVsFloor === undefined || decode?.timeVsFloorWithViews === undefined) return '';
  return ` At 100 B records: encode ${n(encode.timeVsFloor, 2)}x the floor, decode ${n(decode.timeVsFloorWithViews, 2)}x the floor with views.`;
}

function zstdRatio(rows: CompressionRow[]): string {
  const row = (codec: string) =>
    rows.find(
      (r) =>
        r.payload === 'json-events' &&
        r.codec === codec &&
        r.implementation !== 'js' &&
        r.implementation !== 'kafkajs',
    );
  const zstd = row('zstd');
  const gzip = row('gzip');
  const lz4 = row('lz4');
  if (zstd === undefined || gzip === undefined || lz4 === undefined) return '';
  return ` JSON events compress to ${n(zstd.ratio * 100)}% with zstd (${n(zstd.compressMBps)} MB/s in, ${n(zstd.decompressMBps)} MB/s out), ${n(gzip.ratio * 100)}% with gzip (${n(gzip.compressMBps)} / ${n(gzip.decompressMBps)}), ${n(lz4.ratio * 100)}% with lz4 (${n(lz4.compressMBps)} / ${n(lz4.decompressMBps)}).`;
}

const sizeLabel = (bytes: number) => (bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);

/** Writes REPORT.md and the charts into `dir`; returns the file names written. */
export async function writeReport(results: BenchResults, dir: string): Promise<string[]> {
  const charts = new Map<string, string>();
  const md: string[] = [];
  /** One line per topic, in the order of HEADLINE_ORDER at the end. */
  const headline = new Map<string, string>();
  const { machine } = results;

  md.push(
    '# Benchmarks and the cost model',
    '',
    `Run of ${results.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node} (${machine.platform}); ${machine.emulators}. ${results.quick ? '**Quick run** (`npm run bench -- --quick`): a reduced matrix, for smoke testing only. ' : ''}Wall time ${results.wallSeconds} s (${results.sections.map((x) => `${x.name} ${n(x.seconds)} s`).join(', ')}). The machine's 1-minute load average during the run: ${n(machine.loadAverage.min, 1)} to ${n(machine.loadAverage.max, 1)} (mean ${n(machine.loadAverage.mean, 1)}) on ${machine.cores} cores: other work shared it. Regenerate with \`npm run bench\` (raw figures in [results.json](results.json)).`,
    '',
    '> **Read the ratios and the call counts first.** Absolute times here are indications only: a shared, noisy machine with 2 cores runs the benchmark, DynamoDB Local (Java) and s3rver (Node) at once, so every figure is bounded by the emulators competing for the same CPUs. AWS has different latencies (S3 PUT tens of ms, DynamoDB single-digit ms) and no such ceiling. The call counts are exact: they are what AWS would bill.',
    '',
  );
  if (results.failures.length > 0) {
    md.push(
      '**Sections that failed in this run:**',
      '',
      ...results.failures.map((f) => `- ${f.split('\n')[0]}`),
      '',
    );
  }

  // 0. Codec and bundles ------------------------------------------------------------------
  md.push('## 0. Codec and Lambda bundles', '');
  const codec = codecRows(results.codec);
  if (codec === undefined) {
    md.push(
      `**Gap:** the codec benchmark did not run (${results.codec.note ?? results.codec.status}). It belongs to bench/codec.ts (\`runCodecBench\`).`,
      '',
    );
  } else {
    const run = results.codecRun;
    const impl = (results.codec.result as { implementations?: Record<string, string> })
      .implementations;
    md.push(
      `From \`runCodecBench()\` in bench/codec.ts${run === undefined ? '' : ` (run alone with \`npm run bench -- --codec\` at ${run.date.slice(0, 16).replace('T', ' ')} UTC, Node ${run.node}, load average ${n(run.loadAverage.min, 1)} to ${n(run.loadAverage.max, 1)})`}${impl === undefined ? '' : `; implementations: snappy ${impl['snappy']}, lz4 ${impl['lz4']}, zstd ${impl['zstd']}`}. One RecordBatch of 1000 records, record payload throughput (MB = 10^6 B). "floor" is the least work any codec must do with the same bytes uncompressed (encode: copy keys and values + CRC-32C; decode: copy + CRC-32C), "floor + views" adds the one view object per key and value that a zero-copy decoder must create; compressed rows are set against the floors of the same records uncompressed. kafkajs has gzip built in; for snappy, lz4 and zstd it is given our codec as its plugin, so those rows compare its batch handling around the same compression. All ratios are from the same run.`,
      '',
      table(
        [
          'op',
          'record',
          'codec',
          'ours MB/s',
          'ours records/s',
          'kafkajs MB/s',
          'ours / kafkajs',
          'ours / floor (time)',
          'ours / floor + views (time)',
        ],
        codec.map((r) => [
          r.operation,
          sizeLabel(r.recordSize),
          r.compression,
          n(r.ours.mbPerSecond),
          n(r.ours.recordsPerSecond),
          n(r.kafkajs.mbPerSecond),
          `${n(r.speedupVsKafkajs, 1)}x`,
          r.timeVsFloor === undefined ? '' : `${n(r.timeVsFloor, 2)}x`,
          r.timeVsFloorWithViews === undefined ? '' : `${n(r.timeVsFloorWithViews, 2)}x`,
        ]),
        ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
    const compression = compressionRows(results.codec);
    if (compression.length > 0) {
      const labels = [...new Map(compression.map((r) => [r.payload, r.payloadLabel])).entries()];
      md.push(
        `The compression codecs alone, on ${labels.map(([p, l]) => `${p} (${l})`).join(', ')}: ratio = compressed / raw, speeds in MB/s of raw bytes. "js" rows are the fallbacks that run where a native module cannot load (a Lambda bundle); kafkajs's own gzip is measured in the same run.`,
        '',
        table(
          [
            'payload',
            'codec',
            'implementation',
            'ratio',
            'compress MB/s',
            'decompress MB/s',
            'vs kafkajs (compress / decompress)',
          ],
          compression.map((r) => [
            r.payload,
            r.codec,
            r.implementation,
            n(r.ratio, 3),
            r.compressMBps === undefined ? '–' : n(r.compressMBps),
            n(r.decompressMBps),
            r.compressVsKafkajs === undefined
              ? ''
              : `${n(r.compressVsKafkajs, 1)}x / ${n(r.decompressVsKafkajs, 1)}x`,
          ]),
          ['l', 'l', 'l', 'r', 'r', 'r', 'r'],
        ),
        '',
      );
    }
    const encode = codec.find(
      (r) => r.operation === 'encode' && r.recordSize === 1024 && r.compression === 'none',
    );
    const decode = codec.find(
      (r) => r.operation === 'decode' && r.recordSize === 1024 && r.compression === 'none',
    );
    if (encode !== undefined && decode !== undefined) {
      headline.set(
        'codec',
        `- Codec (1 KiB records, uncompressed): encode ${n(encode.ours.mbPerSecond)} MB/s (${n(encode.speedupVsKafkajs, 1)}x kafkajs), decode ${n(decode.ours.mbPerSecond)} MB/s (${n(decode.speedupVsKafkajs, 1)}x kafkajs).${smallRecords(codec)}${zstdRatio(compressionRows(results.codec))}`,
      );
    }
  }
  const bundles = bundleRows(results.bundles);
  if (bundles === undefined || bundles.length === 0) {
    md.push(
      `Lambda bundles: not measured in this run (${results.bundles.note ?? results.bundles.status}; bench/bundles.ts \`runBundleBench\`).`,
      '',
    );
  } else {
    md.push(
      'Lambda bundles, from `runBundleBench()` in bench/bundles.ts (size as deployed; load = median time for a fresh Node process to import the bundle, the part of a cold start that is ours):',
      '',
      table(
        ['function', 'bundle KiB', 'gzip KiB', 'load ms'],
        bundles.map((b) => [
          b.function,
          n(b.bytes / 1024, 1),
          n((b.gzipBytes ?? Number.NaN) / 1024, 1),
          n(b.loadMs, 1),
        ]),
      ),
      '',
    );
  }

  // 1. Produce ------------------------------------------------------------------------------
  const produce = results.produce;
  if (produce === undefined) {
    md.push('## 1. Produce path', '', '**Not run** (see failures above).', '');
  } else {
    const run = produce.cells.filter((c) => c.skipped === undefined);
    const skipped = produce.cells.filter((c) => c.skipped !== undefined);
    md.push(
      '## 1. Produce path',
      '',
      `Through \`broker.produce\` in-process (what the Lambda runs), closed loop: each producer sends its next request when the last was acknowledged (acks = the index entry is published). Each cell runs ${produce.cellMs / 1000} s or ${n(produce.maxRequestsPerCell)} requests, whichever comes first, after a warm-up. Records carry random (incompressible) values and no key, so a request of n records touches min(n, partitions) partitions. MB = 10^6 bytes of record values. ${run.length} cells run${skipped.length > 0 ? `; ${skipped.length} skipped: ${[...new Set(skipped.map((c) => `${sizeLabel(c.recordBytes)} x ${c.recordsPerRequest}`))].join(', ')} (${skipped[0]?.skipped})` : ''}.`,
      '',
      table(
        [
          'record',
          'records/request',
          'partitions',
          'producers',
          'records/s',
          'MB/s',
          'p50 ms',
          'p99 ms',
          'PUT/request',
          'DynamoDB writes/request',
          'errors',
        ],
        produce.cells.map((c) =>
          c.skipped !== undefined
            ? [
                sizeLabel(c.recordBytes),
                String(c.recordsPerRequest),
                String(c.partitions),
                String(c.concurrency),
                'skipped: over 6 MB',
                '',
                '',
                '',
                '',
                '',
                '',
              ]
            : [
                sizeLabel(c.recordBytes),
                String(c.recordsPerRequest),
                String(c.partitions),
                String(c.concurrency),
                n(c.recordsPerSecond),
                n(c.mbPerSecond, 1),
                n(c.p50Ms, 1),
                n(c.p99Ms, 1),
                n(c.s3PutsPerRequest, 2),
                n(c.dynamoWritesPerRequest, 1),
                String(c.errors ?? 0),
              ],
        ),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
    // Charts: per request shape, the best MB/s over the producer counts (1 vs 16 partitions),
    // and the latency at one producer count (queueing on 2 cores dominates beyond it).
    const shapes = [...new Set(run.map((c) => `${c.recordBytes}x${c.recordsPerRequest}`))];
    const cellsOf = (shape: string, partitions: number) =>
      run.filter(
        (c) => `${c.recordBytes}x${c.recordsPerRequest}` === shape && c.partitions === partitions,
      );
    const concurrencies = [...new Set(run.map((c) => c.concurrency))].sort((a, b) => a - b);
    const latencyAt = concurrencies[Math.floor(concurrencies.length / 2)] as number;
    const labels = shapes.map((s) => {
      const [bytes, records] = s.split('x').map(Number) as [number, number];
      return `${sizeLabel(bytes)} x${records}`;
    });
    const partitionCounts = [...new Set(run.map((c) => c.partitions))].sort((a, b) => a - b);
    const latencyPartitions = partitionCounts[0] as number;
    const latencyOf = (shape: string, field: 'p50Ms' | 'p99Ms') =>
      cellsOf(shape, latencyPartitions).find((c) => c.concurrency === latencyAt)?.[field] ??
      Number.NaN;
    charts.set(
      'produce-throughput.svg',
      barChart({
        title: `Produce throughput (best of ${concurrencies.join('/')} producers)`,
        xLabel: 'record size x records per request',
        yLabel: 'MB/s of record values',
        categories: labels,
        series: partitionCounts.map((p) => ({
          name: `${p} partition${p === 1 ? '' : 's'}`,
          values: shapes.map((s) => {
            const rates = cellsOf(s, p)
              .map((c) => c.mbPerSecond)
              .filter((v): v is number => v !== undefined);
            return rates.length === 0 ? Number.NaN : Math.max(...rates);
          }),
        })),
        width: 760,
      }),
    );
    charts.set(
      'produce-latency.svg',
      barChart({
        title: `Produce ack latency, ${latencyAt} producers, ${latencyPartitions} partition${latencyPartitions === 1 ? '' : 's'}`,
        xLabel: 'record size x records per request',
        yLabel: 'ms',
        categories: labels,
        series: [
          { name: 'p50', values: shapes.map((s) => latencyOf(s, 'p50Ms')) },
          { name: 'p99', values: shapes.map((s) => latencyOf(s, 'p99Ms')) },
        ],
        width: 760,
      }),
    );
    md.push(
      '![Produce throughput](produce-throughput.svg)',
      '',
      '![Produce latency](produce-latency.svg)',
      '',
    );
    const best = [...run].sort((a, b) => (b.mbPerSecond ?? 0) - (a.mbPerSecond ?? 0))[0];
    const bestRecords = [...run].sort(
      (a, b) => (b.recordsPerSecond ?? 0) - (a.recordsPerSecond ?? 0),
    )[0];
    const oneRecord = run
      .filter((c) => c.recordsPerRequest === 1)
      .sort((a, b) => (b.requestsPerSecond ?? 0) - (a.requestsPerSecond ?? 0))[0];
    if (best !== undefined && bestRecords !== undefined) {
      md.push(
        `Best: ${n(best.mbPerSecond, 1)} MB/s (${sizeLabel(best.recordBytes)} x ${best.recordsPerRequest}, ${best.concurrency} producers, ${best.partitions} partition${best.partitions === 1 ? '' : 's'}); ${n(bestRecords.recordsPerSecond)} records/s (${sizeLabel(bestRecords.recordBytes)} x ${bestRecords.recordsPerRequest}).${oneRecord === undefined ? '' : ` Single-record requests peak at ${n(oneRecord.requestsPerSecond)} requests/s: every request is a full S3 PUT and two DynamoDB writes on emulators sharing 2 cores.`}`,
        '',
      );
      headline.set(
        'produce',
        `- Produce on local emulators (2 cores, indicative): up to ${n(best.mbPerSecond, 0)} MB/s and ${n(bestRecords.recordsPerSecond)} records/s in batched requests; ${oneRecord === undefined ? '' : `${n(oneRecord.requestsPerSecond)} single-record requests/s; `}p50 ack ${n(run.find((c) => c.recordBytes === 1024 && c.recordsPerRequest === 100 && c.concurrency === 8)?.p50Ms, 0)} ms for 100 x 1 KiB at 8 producers.`,
      );
    }
    if (produce.http !== undefined) {
      const h = produce.http;
      md.push(
        `**Through HTTP** (the local server, real HTTP on loopback, JSON with base64 values): ${sizeLabel(h.recordBytes)} x ${h.recordsPerRequest}, ${h.concurrency} producers, ${h.partitions} partition: ${n(h.http.requestsPerSecond)} requests/s, p50 ${n(h.http.p50Ms, 1)} ms, against ${n(h.inProcess.requestsPerSecond)} requests/s, p50 ${n(h.inProcess.p50Ms, 1)} ms in-process: through HTTP the same broker carries ${n(100 / h.ratio)}% of the in-process rate on this machine (HTTP parsing, base64, schema validation and the JSON answer run on the same 2 cores as the emulators).`,
        '',
      );
    }

    // 2. Overhead ---------------------------------------------------------------------------
    md.push(
      '## 2. Overhead against the raw AWS calls',
      '',
      "The raw calls are what a produce cannot avoid: one S3 PutObject of the same encoded bytes, then per partition touched, in parallel, an UpdateItem ADD and a conditional PutItem of an index item of the same shape, issued directly with the SDK on the same clients at the same concurrency. Ours and raw alternate in short rounds (each round runs both back to back) so that both see the same machine. Ratio = our time per request / the raw calls' = raw requests/s / our requests/s, the median over the rounds (robust to bursts of load from other work on the machine), with the pooled figure beside it; goal ≤ 1.25. The CPU column is this process's CPU time per request on each side: our own work (validation, encoding, CRC, topic lookup) whatever the emulators do, the least noisy view of the overhead.",
      '',
      table(
        [
          'record',
          'records/request',
          'partitions',
          'producers',
          'ours req/s',
          'raw req/s',
          'ours p50 ms',
          'raw p50 ms',
          'ratio (median of rounds)',
          'ratio (pooled)',
          'ratio (p50)',
          'CPU ms/request ours / raw',
          'goal ≤ 1.25',
        ],
        produce.overhead.map((o) => [
          sizeLabel(o.recordBytes),
          String(o.recordsPerRequest),
          String(o.partitions),
          String(o.concurrency),
          n(o.ours.requestsPerSecond, 1),
          n(o.raw.requestsPerSecond, 1),
          n(o.ours.p50Ms, 1),
          n(o.raw.p50Ms, 1),
          n(o.throughputRatio, 2),
          n(o.pooledRatio, 2),
          n(o.latencyRatio, 2),
          `${n(o.oursCpuMsPerRequest, 2)} / ${n(o.rawCpuMsPerRequest, 2)} = ${n(o.cpuRatio, 2)}`,
          o.throughputRatio <= 1.25 ? 'met' : '**not met**',
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
      '',
    );
    const ratios = produce.overhead.map((o) => o.throughputRatio);
    if (ratios.length > 0) {
      const met = produce.overhead.filter((o) => o.throughputRatio <= 1.25).length;
      md.push(
        `${met} of ${ratios.length} cells meet the goal. On this machine the broker's own work (validation, encoding, CRC-32C, the topic lookup, building SDK commands) runs on the same 2 cores as the emulators, so every CPU cycle we spend is taken from them: the ratio is an upper bound of what the same code costs beside real AWS, where the calls wait on the network instead. From run to run on this shared machine a cell's time ratio moves by ±30% and more (repeated full runs on the day of writing gave medians from 0.75 to 2.0 for the same cells); the CPU ratio is steadier.${(() => {
          const heavy = produce.overhead.filter((o) => o.cpuRatio > 1.15);
          return heavy.length === 0
            ? ''
            : ` Where it is highest (${heavy.map((o) => `${sizeLabel(o.recordBytes)} x ${o.recordsPerRequest}: ${n(o.cpuRatio, 2)}`).join(', ')}), the extra is work proportional to the request's bytes — encoding the batches, CRC-32C, concatenating them into one body — which the raw calls get ready-made.`;
        })()}`,
        '',
      );
      const cpu = produce.overhead.map((o) => o.cpuRatio);
      headline.set(
        'overhead',
        `- Overhead: a produce takes ${range(ratios, 2)}x the time of the bare AWS calls it needs (median of alternating rounds; goal ≤ 1.25, met in ${met}/${ratios.length} cells) and ${range(cpu, 2)}x their CPU.`,
      );
    }

    // 6 (chart built here, text below) ------------------------------------------------------
    const points = produce.scaling.points;
    charts.set(
      'scaling.svg',
      lineChart({
        title: `Produce throughput by partitions (${sizeLabel(produce.scaling.recordBytes)} x ${produce.scaling.recordsPerRequest}, 2 producers per partition)`,
        xLabel: 'partitions (producers)',
        yLabel: 'MB/s of record values',
        categories: points.map((p) => `${p.partitions} (${p.producers})`),
        x: points.map((p) => p.partitions),
        logX: true,
        series: [
          { name: 'eventlog produce', values: points.map((p) => p.ours.mbPerSecond) },
          { name: 'raw AWS calls (emulator limit)', values: points.map((p) => p.raw.mbPerSecond) },
        ],
        width: 700,
      }),
    );
  }

  // 3. Calls -------------------------------------------------------------------------------
  const calls = results.calls;
  md.push('## 3. AWS calls per operation', '');
  if (calls === undefined) {
    md.push('**Not run** (see failures above).', '');
  } else {
    md.push(
      `Counted by SDK middleware on the real clients (\`lib/store/call-counter.ts\`: per command, calls, attempts, failed conditions, bytes, and DynamoDB's ConsumedCapacity, which the counter requests with \`ReturnConsumedCapacity: TOTAL\`). ${calls.capacityReported ? 'DynamoDB Local reported consumed capacity, so the units below are measured, not computed.' : 'DynamoDB Local reported no consumed capacity: units are computed as one per call.'}`,
      '',
      table(
        [
          'records x 1 KiB',
          'partitions',
          'partitions touched',
          'S3 PUT / request',
          'PUT bytes / request',
          'DynamoDB writes / request',
          'writes / partition touched',
          'WRU / partition touched',
          'DynamoDB reads / request',
          'failed conditions',
        ],
        calls.produce.map((r) => [
          String(r.recordsPerRequest),
          String(r.partitions),
          n(r.partitionsTouched, 1),
          n(r.perRequest.s3Puts, 2),
          n(r.perRequest.s3PutBytes),
          n(r.perRequest.dynamoWrites, 2),
          n(r.perPartitionTouched.dynamoWrites, 2),
          n(r.perPartitionTouched.writeUnits, 2),
          n(r.perRequest.dynamoReads, 2),
          n(r.perRequest.failedConditions * r.requests),
        ]),
      ),
      '',
      'DynamoDB reads per produce request are the topic lookup, cached for 1 s per process: their count per request falls as the request rate rises.',
      '',
    );
    const c = calls.contention;
    md.push(
      `**Contention:** ${c.producers} producers on 1 partition, single-record requests: ${n(c.commits)} commits, ${n(c.dynamoWrites)} DynamoDB writes, **${c.failedConditions} failed conditional writes** (${n(c.wastedWritesPerCommit, 4)} wasted per commit), ${c.errors} errors; p50 ${n(c.p50Ms, 1)} ms, p99 ${n(c.p99Ms, 1)} ms. The reservation is an atomic ADD, which has no condition to fail; the index put's condition can only fail for a retried or aborted range.`,
      '',
    );
    const t = calls.tailFetch;
    md.push(
      `**Tail fetch** (a consumer at the tail, one batch per fetch): per fetch ${n(t.perFetch.s3Gets, 2)} S3 GET, ${n(t.perFetch.dynamoReads, 2)} DynamoDB reads consuming ${n(t.perFetch.readUnits, 2)} read units, ${n(t.perFetch.hintRaises, 3)} high-watermark hint raises (conditional UpdateItem), p50 ${n(t.p50Ms, 1)} ms: one strongly consistent read of the partition head and one walk from where this process last saw the partition, sized to the fetch.`,
      '',
    );
    const putRows = calls.produce.map((r) => r.perRequest.s3Puts);
    const perPartition = calls.produce.map((r) => r.perPartitionTouched.dynamoWrites);
    headline.set(
      'calls',
      `- AWS calls, counted by SDK middleware: ${range(putRows, 2)} S3 PUT per produce request whatever its partitions, ${range(perPartition, 2)} DynamoDB writes per partition touched, ${c.failedConditions} wasted (failed conditional) writes with ${c.producers} producers on one partition; a tail fetch is 1 GET and ${n(t.perFetch.readUnits, 1)} read units.`,
    );
  }

  // 4. Fetch -------------------------------------------------------------------------------
  const fetch = results.fetch;
  md.push('## 4. Fetch path', '');
  if (fetch === undefined) {
    md.push('**Not run** (see failures above).', '');
  } else {
    md.push(
      `A log of ${n(fetch.writtenBytes / 1024 / 1024)} MiB of ${sizeLabel(fetch.recordBytes)} records (target ${n(fetch.targetBytes / 1024 / 1024)} MiB, bounded by a write budget; written at ${n(fetch.writeMbPerSecond, 1)} MB/s in requests of ${fetch.recordsPerRequest} records spread over ${fetch.partitions} partitions, so each object holds ${fetch.partitions} batches of ${sizeLabel((fetch.recordsPerRequest / fetch.partitions) * fetch.recordBytes)}), read back from offset 0 by one reader per partition with 4 MiB fetches${fetch.complete ? '' : ' (the read time budget ended first: the figures cover what was read)'}.`,
      '',
      table(
        [
          'read',
          'seconds',
          'MB/s',
          'records/s',
          'fetches',
          'fetch p50 ms',
          'fetch p99 ms',
          'S3 GETs / MB',
          'DynamoDB reads / MB',
          'read units / MB',
        ],
        [
          [
            `${n(fetch.readBytes / 1024 / 1024)} MiB`,
            n(fetch.readSeconds, 1),
            n(fetch.mbPerSecond, 1),
            n(fetch.recordsPerSecond),
            n(fetch.fetches),
            n(fetch.fetchP50Ms, 1),
            n(fetch.fetchP99Ms, 1),
            n(fetch.s3GetsPerMb, 2),
            n(fetch.dynamoReadsPerMb, 3),
            n(fetch.readUnitsPerMb, 2),
          ],
        ],
      ),
      '',
      'One ranged GET per batch: GETs per MB follow the batch size (here 256 KiB batches, ~4 per MB). Batches of different partitions in one object are fetched separately, and each consumer group fetches them again: that is the "one GET per object per partition per group" of the cost model.',
      '',
    );
    headline.set(
      'fetch',
      `- Fetch: ${n(fetch.mbPerSecond, 0)} MB/s (${n(fetch.recordsPerSecond)} records/s) reading back ${n(fetch.readBytes / 1024 / 1024)} MiB of 16 KiB records with 4 readers; ${n(fetch.s3GetsPerMb, 1)} S3 GETs per MB.`,
    );
  }

  // 5. Cost --------------------------------------------------------------------------------
  const cost = results.cost;
  md.push(
    '## 5. The cost model',
    '',
    'Monthly AWS bill (730 h, us-east-1 list prices, free tiers ignored) of three workloads, each kept 7 days and read by two consumer groups, on this design and on the managed alternatives. Pure functions in `bench/cost-model.ts` (unit-tested in `test/unit/bench/cost-model.test.ts`), prices with their sources in `bench/prices.ts` (listed below); the method and the conclusions are in [docs/cost-model.md](../docs/cost-model.md).',
    '',
    '**Inputs measured in this run** (per-operation counts; the rest are stated assumptions):',
    '',
    table(
      ['input', 'value', 'from'],
      (Object.keys(cost.counts) as (keyof typeof cost.counts)[]).map((k) => [
        `\`${k}\``,
        String(cost.counts[k]),
        cost.countSources[k],
      ]),
      ['l', 'r', 'l'],
    ),
    '',
    "Assumptions: a consumer group fetches each batch (an object's range for one partition) with its own GET, as today; consumers read through the HTTP API (one API Gateway request and one Lambda invocation per fetch) and poll a partition at most 5 times a second, so a busy partition gives several batches per fetch; produce and fetch bodies travel as JSON with base64 values (4/3 of the payload, which decides the 512 KB API Gateway increments); Lambda (arm64, 1024 MB, the API function's setting) is billed for the measured p50 latency of the closest benchmark cell **on the emulators**, which overstates AWS, where a produce is one S3 PUT (tens of ms) and two DynamoDB writes (a few ms); topic lookups cost one strongly consistent read per warm function per second. Kinesis: records are PUT one by one (no KPL aggregation); provisioned shards are sized by 1 MiB/s and 1000 records/s in and 2 MiB/s out shared by both groups (without enhanced fan-out). MSK Serverless: data in/out and storage at list price, no client networking charges.",
    '',
  );
  for (const [i, comparison] of cost.comparisons.entries()) {
    const w = comparison.workload;
    const ours = comparison.estimates[0] as CostEstimate;
    const deployment = cost.deployments[i];
    md.push(
      `### ${w.name}`,
      '',
      `${n(w.requestsPerSecond, 1)} requests/s, ${n(w.recordsPerRequest * w.requestsPerSecond)} records/s, ${n((w.recordsPerRequest * w.requestsPerSecond * w.recordBytes) / 1e6, 2)} MB/s; a topic of ${w.partitions} partitions, ${w.partitionsTouched} touched per request. Lambda duration: ${deployment?.latencyFrom ?? ''}.`,
      '',
      table(
        ['system', '$ / month', 'vs eventlog'],
        comparison.estimates.map((e) => [
          e.system,
          usd(e.totalUsd),
          `${n(e.totalUsd / ours.totalUsd, 3)}x`,
        ]),
        ['l', 'r', 'r'],
      ),
      '',
      '<details><summary>eventlog, line by line</summary>',
      '',
      table(
        ['item', '$ / month', 'how'],
        ours.lines.map((l) => [l.item, usd(l.usd), l.detail]),
        ['l', 'r', 'l'],
      ),
      '',
      '</details>',
      '',
    );
  }
  const systems =
    cost.comparisons[0]?.estimates.map((e) =>
      e.system.replace(/ \(.*\)$/, (m) => (m.includes('S3') ? '' : m)),
    ) ?? [];
  charts.set(
    'cost.svg',
    barChart({
      title: 'Monthly cost by workload (log scale)',
      xLabel: 'workload',
      yLabel: 'US$ per month',
      categories: cost.comparisons.map((c) => c.workload.name.slice(0, 3)),
      series: systems.map((name, s) => ({
        name: name
          .replace('Kinesis ', 'KDS ')
          .replace('enhanced fan-out', 'EFO')
          .replace('shared reads', 'shared'),
        values: cost.comparisons.map((c) => c.estimates[s]?.totalUsd ?? Number.NaN),
      })),
      logY: true,
      width: 900,
      height: 420,
    }),
  );
  md.push(
    '![Monthly cost by workload](cost.svg)',
    '',
    '### Where we are cheaper, where not, and why',
    '',
    ...costConclusions(cost),
    '',
    '### What design changes would move it',
    '',
    `Each change priced on the same workloads (gzip ratio measured on JSON-like 1 KiB records: ${n(cost.compressionRatio, 2)}):`,
    '',
    table(
      ['change', ...cost.comparisons.map((c) => c.workload.name.slice(0, 3))],
      [...new Set(cost.designChanges.map((d) => d.change))].map((change) => [
        `${change}: ${DESIGN_CHANGE_NOTES[change]}`,
        ...cost.comparisons.map((c) => {
          const d = cost.designChanges.find(
            (x) => x.change === change && x.workload === c.workload.name,
          );
          return d === undefined ? '' : `${usd(d.totalUsd)} (−${n(d.savedPercent)}%)`;
        }),
      ]),
      ['l', 'r', 'r', 'r'],
    ),
    '',
    '### Prices',
    '',
    'Every figure with its source and the date it was read. "search": the figure appears in public text found by the research tool (the page named in the note when it is not AWS\'s own); "design": the figure given in the project\'s design notes; **"unconfirmed"**: AWS\'s pricing pages render their tables with JavaScript and the stored text did not carry the number, so it is AWS\'s list price as we know it, to be checked on the page before relying on it.',
    '',
    table(
      ['service', 'item', 'US$', 'unit', 'confirmed', 'source (read)'],
      priceRows().map(({ service, item, price }) => [
        service,
        item,
        String(Number(price.usd.toPrecision(6))),
        price.unit,
        price.confirmed,
        `${price.source} (${price.read})${price.note === undefined ? '' : `; ${price.note}`}`,
      ]),
      ['l', 'l', 'r', 'l', 'l', 'l'],
    ),
    '',
  );
  const costOf = (c: (typeof cost.comparisons)[number], prefix: string) =>
    c.estimates.find((e) => e.system.startsWith(prefix))?.totalUsd ?? Number.NaN;
  headline.set(
    'cost',
    `- Monthly AWS cost, 7 days' retention, 2 consumer groups (eventlog vs Kinesis provisioned / Kinesis on-demand / MSK Serverless): ${cost.comparisons
      .map(
        (c) =>
          `${c.workload.name.slice(0, 3)} ${usd((c.estimates[0] as CostEstimate).totalUsd)} vs ${usd(costOf(c, 'Kinesis provisioned (shared'))} / ${usd(costOf(c, 'Kinesis on-demand (shared'))} / ${usd(costOf(c, 'MSK'))}`,
      )
      .join('; ')}. Per-request costs dominate small requests; batching producers cut (b) ${n(
      (cost.comparisons[1]?.estimates[0]?.totalUsd ?? Number.NaN) /
        (cost.designChanges.find(
          (d) =>
            d.change === 'batching producers' && d.workload === cost.comparisons[1]?.workload.name,
        )?.totalUsd ?? Number.NaN),
    )}x.`,
  );

  // 6. Scaling -----------------------------------------------------------------------------
  md.push('## 6. Scaling with partitions', '');
  if (produce === undefined) {
    md.push('**Not run.**', '');
  } else {
    const points = produce.scaling.points;
    md.push(
      `Two producers per partition (capped at 64), each writing ${produce.scaling.recordsPerRequest} records of ${sizeLabel(produce.scaling.recordBytes)} to its own partition per request, beside the raw calls of section 2 at the same concurrency (the emulators' own limit on this machine).`,
      '',
      table(
        [
          'partitions',
          'producers',
          'ours MB/s',
          'ours req/s',
          'ours p50 ms',
          'raw MB/s',
          'raw req/s',
          'ours / raw',
        ],
        points.map((p) => [
          String(p.partitions),
          String(p.producers),
          n(p.ours.mbPerSecond, 1),
          n(p.ours.requestsPerSecond),
          n(p.ours.p50Ms, 1),
          n(p.raw.mbPerSecond, 1),
          n(p.raw.requestsPerSecond),
          n(p.ours.mbPerSecond / p.raw.mbPerSecond, 2),
        ]),
      ),
      '',
      '![Scaling](scaling.svg)',
      '',
      'Nothing in the protocol serializes partitions (each has its own head item, and a reservation is one atomic ADD), so throughput follows the raw calls: where both flatten, the emulators (DynamoDB Local and s3rver on the same 2 cores) are saturated, not the protocol. On AWS, S3 scales per prefix and DynamoDB per partition key, far beyond this machine.',
      '',
    );
    const first = points[0];
    const last = points.at(-1);
    if (first !== undefined && last !== undefined) {
      const peak = Math.max(...points.map((p) => p.raw.mbPerSecond));
      const best = points.reduce((a, b) => (b.ours.mbPerSecond > a.ours.mbPerSecond ? b : a));
      const shape =
        best.ours.mbPerSecond > 1.5 * first.ours.mbPerSecond
          ? best === last
            ? `it rises with the partitions, below the bare calls, both bounded by the emulators on 2 cores (the bare calls peak at ${n(peak, 0)} MB/s)`
            : `it rises up to ${best.partitions} partitions, then the emulators on 2 cores saturate (the bare calls peak at ${n(peak, 0)} MB/s)`
          : `flat, because the emulators on 2 cores saturate at about ${n(peak, 0)} MB/s already`;
      headline.set(
        'scaling',
        `- Scaling: ${points.map((p) => `${n(p.ours.mbPerSecond, 1)}`).join(' → ')} MB/s at ${points.map((p) => p.partitions).join('/')} partitions (2 producers each), against ${points.map((p) => `${n(p.raw.mbPerSecond, 1)}`).join(' → ')} MB/s for the bare AWS calls: ${shape}.`,
      );
    }
  }

  // 7. Lambda consumers -------------------------------------------------------------------
  md.push('## 7. Lambda consumers: commit to handler', '');
  const dispatch = results.dispatch?.result as
    | {
        records: number;
        partitions: number;
        ratePerSecond: number;
        latencyMs: { p50: number; p99: number };
        recordsPerInvocation: number;
        met: boolean;
      }
    | undefined;
  if (dispatch === undefined) {
    md.push(`**Not run** (${results.dispatch?.note ?? results.dispatch?.status ?? 'absent'}).`, '');
  } else {
    const line = `- Lambda consumers: commit to handler invoked p50 ${n(dispatch.latencyMs.p50, 0)} ms, p99 ${n(dispatch.latencyMs.p99, 0)} ms over ${dispatch.records} records (goal p50 < 100 ms, p99 < 500 ms: ${dispatch.met ? 'met' : 'not met'}; Lambda's Kinesis source polls once a second).`;
    md.push(
      `From \`runDispatchLatencyBench()\` in bench/dispatch-latency.ts: ${dispatch.records} records, one per produce, ${dispatch.ratePerSecond} produces/s over ${dispatch.partitions} partitions, the dispatcher invoking a handler through the local Lambda Invoke endpoint with @aws-sdk/client-lambda; ${n(dispatch.recordsPerInvocation, 1)} records per invocation.`,
      '',
      line,
      '',
    );
    headline.set('dispatch', line);
  }

  md.push(
    '## Headline',
    '',
    `For the README (${results.date.slice(0, 10)}, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, local emulators; ratios and counts are the figures to trust, absolute rates are indicative):`,
    '',
    ...HEADLINE_ORDER.map((key) => headline.get(key)).filter((line) => line !== undefined),
    '',
  );

  const files = ['REPORT.md', ...charts.keys()];
  await writeFile(join(dir, 'REPORT.md'), md.join('\n'));
  for (const [name, svg] of charts) await writeFile(join(dir, name), svg);
  return files;
}

function costConclusions(cost: CostBenchResult): string[] {
  const lines: string[] = [];
  for (const comparison of cost.comparisons) {
    const ours = comparison.estimates[0] as CostEstimate;
    const others = comparison.estimates.slice(1);
    const cheaper = others.filter((e) => e.totalUsd > ours.totalUsd).map((e) => e.system);
    const dearer = others.filter((e) => e.totalUsd <= ours.totalUsd).map((e) => e.system);
    const top = [...ours.lines].sort((a, b) => b.usd - a.usd).slice(0, 3);
    lines.push(
      `- **${comparison.workload.name}**: eventlog ${usd(ours.totalUsd)}/month. ${cheaper.length > 0 ? `Cheaper than ${cheaper.join(', ')}. ` : ''}${dearer.length > 0 ? `Dearer than ${dearer.join(', ')}. ` : ''}Biggest lines: ${top.map((l) => `${l.item} ${usd(l.usd)}`).join(', ')}.`,
    );
  }
  lines.push(
    '',
    "Why: every produce request pays a fixed toll (an S3 PUT at $5 per million, two DynamoDB writes per partition touched at $0.625 per million each, an API Gateway request and a Lambda invocation), and every batch pays a GET per consumer group. Kinesis and MSK bill mostly by the byte or the hour. With one record per request, the toll is paid per record and dominates everything: that is where we lose by orders of magnitude. With large requests the toll is spread over a megabyte, storage on S3 ($0.023/GB-month) is cheaper than Kinesis's extended retention or MSK's storage, and there is no per-hour floor, so large, batched workloads are where this design can win.",
  );
  return lines;
}
