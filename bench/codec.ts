/**
 * RecordBatch v2 codec benchmark: our encoder and decoder beside kafkajs's
 * (src/protocol/recordBatch/v0) on the same records, and beside the "floor", the least work
 * any codec must do with the same bytes:
 *
 *   encode floor   copy every key and value into one buffer, CRC-32C it
 *   decode floor   copy the whole batch into one buffer, CRC-32C it
 *
 * The floors reuse one preallocated buffer: allocating (and faulting in) a fresh megabyte per
 * call costs anything from nothing to most of the floor depending on the load on the machine,
 * which made an allocating floor useless as a yardstick. Our encoder does pay that allocation,
 * since it returns a new batch; the floor is therefore strict.
 *
 * Throughput counts record payload (key + value bytes) so that codecs compare on equal terms.
 * Goals: >= 3x kafkajs, and <= 2x the floor's time, uncompressed.
 *
 *   npx tsx bench/codec.ts [--quick]
 */

import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { compress, decompress } from '../lib/log/compression.js';
import { crc32c, crc32cImplementation } from '../lib/log/crc32c.js';
import {
  type CompressionType,
  decodeRecordBatch,
  encodeRecordBatch,
  type RecordInput,
} from '../lib/log/record-batch.js';

export interface Throughput {
  /** Record payload (keys + values), MB (10^6 bytes) per second. */
  mbPerSecond: number;
  recordsPerSecond: number;
  /** Time for one batch, microseconds. */
  microsPerBatch: number;
}

export interface CodecBenchRow {
  operation: 'encode' | 'decode';
  /** Value bytes per record (keys add 10 more). */
  recordSize: number;
  recordsPerBatch: number;
  compression: CompressionType;
  /** Size of the encoded batch in bytes. */
  batchBytes: number;
  ours: Throughput;
  kafkajs: Throughput;
  /** Uncompressed rows only. */
  floor?: Throughput;
  /** Our throughput / kafkajs's (goal >= 3). */
  speedupVsKafkajs: number;
  /**
   * Decode rows: against kafkajs plus a CRC-32C check of the batch, which kafkajs skips and we
   * always do (at 1 KiB records the check alone is over half our decode time).
   */
  speedupVsKafkajsWithCrc?: number;
  /** Our time / the floor's time (goal <= 2). */
  timeVsFloor?: number;
  /**
   * Decode rows, uncompressed: the floor plus the one object per key and per value that any
   * zero-copy decoder must create; what is left above it is our parsing.
   */
  floorWithViews?: Throughput;
  timeVsFloorWithViews?: number;
}

export interface CodecBenchResult {
  node: string;
  cpu: string;
  crc32c: 'native' | 'js';
  quick: boolean;
  durationMs: number;
  rows: CodecBenchRow[];
}

// ---------------------------------------------------------------------------------------------
// kafkajs's codec, called the way its Produce request and Fetch response call it.

interface KafkaLong {
  toString(): string;
}
interface KafkaEncoder {
  buffer: Buffer;
}
interface KafkajsRecord {
  value: Buffer | null;
}

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long') as { fromValue(v: number): KafkaLong };
const KafkaDecoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const KafkaRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
}) => KafkaEncoder;
const { RecordBatch: KafkaRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: Record<string, unknown>) => Promise<KafkaEncoder>;
};
const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{ records: KafkajsRecord[] }>;
const kafkajsCompression = require('kafkajs/src/protocol/message/compression') as {
  Codecs: Record<number, () => unknown>;
};

// kafkajs has no snappy codec of its own (kafkajs-snappy is a plugin): it borrows ours, so its
// snappy rows measure its batch handling around the same codec.
kafkajsCompression.Codecs[2] = () => ({
  compress: async (encoder: KafkaEncoder) => compress('snappy', encoder.buffer),
  decompress: async (buffer: Buffer) => decompress('snappy', buffer),
});

const KAFKAJS_CODEC: Record<CompressionType, number> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

async function kafkajsEncode(records: RecordInput[], compression: CompressionType) {
  const base = records[0]!.timestamp!;
  let max = base;
  for (const record of records) if (record.timestamp! > max) max = record.timestamp!;
  const encoded = await KafkaRecordBatch({
    compression: KAFKAJS_CODEC[compression],
    firstOffset: Long.fromValue(0),
    firstTimestamp: base,
    maxTimestamp: max,
    partitionLeaderEpoch: -1,
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromValue(-1),
    producerEpoch: -1,
    firstSequence: -1,
    records: records.map((record, i) =>
      KafkaRecord({
        offsetDelta: i,
        timestampDelta: record.timestamp! - base,
        key: (record.key ?? null) as Buffer | null,
        value: record.value as Buffer | null,
      }),
    ),
  });
  return encoded.buffer;
}

// ---------------------------------------------------------------------------------------------
// Data: JSON-like values (so that compression has something realistic to chew on), short keys.

function makeRecords(count: number, valueSize: number): RecordInput[] {
  let seed = 42;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  const start = 1_700_000_000_000;
  return Array.from({ length: count }, (_, i) => {
    let text = `{"id":${i},"user":"user-${next() % 10_000}","amount":${next() % 100_000},"tags":[`;
    while (text.length < valueSize) text += `"${words[next() % words.length]}",`;
    const value = Buffer.from(text.slice(0, valueSize));
    return {
      key: Buffer.from(`key-${String(i).padStart(6, '0')}`),
      value,
      timestamp: start + i + (next() % 5),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Timing {
  passes: number;
  roundMs: number;
}

type Job = () => unknown;

/**
 * Best time of one call in ns for every job. Each job is warmed up and sized to fill one round;
 * then `passes` passes run one round of every job in turn, and each job keeps its fastest round.
 * On a shared machine other load only ever adds time, so the minimum is the steadiest estimate,
 * and spreading every job's rounds over the whole run exposes all jobs to the same load.
 */
async function bestTimes(jobs: Job[], timing: Timing): Promise<number[]> {
  const run = async (job: Job, iterations: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      const result = job();
      if (result instanceof Promise) await result;
    }
    return Number(process.hrtime.bigint() - start);
  };
  const iterations: number[] = [];
  for (const job of jobs) {
    let n = 1;
    while ((await run(job, n)) < timing.roundMs * 1e6) n *= 2;
    iterations.push(n);
  }
  const best = jobs.map(() => Number.POSITIVE_INFINITY);
  for (let pass = 0; pass < timing.passes; pass++) {
    for (let j = 0; j < jobs.length; j++) {
      const perCall = (await run(jobs[j]!, iterations[j]!)) / iterations[j]!;
      if (perCall < best[j]!) best[j] = perCall;
    }
  }
  return best;
}

function throughput(nsPerBatch: number, payloadBytes: number, records: number): Throughput {
  return {
    mbPerSecond: (payloadBytes / nsPerBatch) * 1e3,
    recordsPerSecond: (records / nsPerBatch) * 1e9,
    microsPerBatch: nsPerBatch / 1e3,
  };
}

let sink = 0;

// A zero-copy decoder must create one object per key and per value; this is the cheapest way
// to do it (the same construction as the decoder's views), for the floor-with-views reference.
const View = (() => class extends Uint8Array {})();

// ---------------------------------------------------------------------------------------------

const JOB_NAMES = [
  'ourEncode',
  'theirEncode',
  'ourDecode',
  'theirDecode',
  'theirDecodeWithCrc',
  'encodeFloor',
  'decodeFloor',
  'decodeFloorWithViews',
] as const;
type JobName = (typeof JOB_NAMES)[number];

interface BenchCase {
  recordSize: number;
  compression: CompressionType;
  payloadBytes: number;
  batchBytes: number;
  jobs: Partial<Record<JobName, Job>>;
}

function makeCase(
  recordSize: number,
  compression: CompressionType,
  records: RecordInput[],
  theirs: Buffer,
): BenchCase {
  const ours = encodeRecordBatch(records, { compression });
  // Same records, same codec: both must read back the same before we time them.
  const check = decodeRecordBatch(theirs).records;
  if (check.length !== records.length || !check[5]!.value!.equals(records[5]!.value!)) {
    throw new Error(`kafkajs and our codec disagree (${compression})`);
  }
  let payloadBytes = 0;
  for (const record of records) payloadBytes += record.key!.length + record.value!.length;

  const jobs: Partial<Record<JobName, Job>> = {
    ourEncode: () => {
      sink += encodeRecordBatch(records, { compression }).length;
    },
    theirEncode: async () => {
      sink += (await kafkajsEncode(records, compression)).length;
    },
    ourDecode: () => {
      for (const record of decodeRecordBatch(ours).records) sink += record.value!.length;
    },
    theirDecode: async () => {
      const batch = await kafkajsDecodeBatch(new KafkaDecoder(theirs));
      for (const record of batch.records) sink += record.value!.length;
    },
    // kafkajs never checks the CRC; we always do. Like for like: kafkajs plus the check.
    theirDecodeWithCrc: async () => {
      sink += crc32c(theirs.subarray(21));
      const batch = await kafkajsDecodeBatch(new KafkaDecoder(theirs));
      for (const record of batch.records) sink += record.value!.length;
    },
  };

  if (compression === 'none') {
    // Where each key and value sits in the batch, for the floor with views.
    const spans = decodeRecordBatch(ours).records.flatMap((r) => [
      r.key!.byteOffset - ours.byteOffset,
      r.key!.length,
      r.value!.byteOffset - ours.byteOffset,
      r.value!.length,
    ]);
    const out = Buffer.allocUnsafe(ours.length);
    jobs.encodeFloor = () => {
      let pos = 61;
      for (const record of records) {
        out.set(record.key!, pos);
        pos += record.key!.length;
        out.set(record.value!, pos);
        pos += record.value!.length;
      }
      sink += crc32c(out.subarray(0, pos));
    };
    jobs.decodeFloor = () => {
      ours.copy(out);
      sink += crc32c(out.subarray(21));
    };
    jobs.decodeFloorWithViews = () => {
      ours.copy(out);
      sink += crc32c(out.subarray(21));
      const arrayBuffer = out.buffer;
      const base = out.byteOffset;
      for (let i = 0; i < spans.length; i += 2) {
        sink += new View(arrayBuffer, base + spans[i]!, spans[i + 1]!).length;
      }
    };
  }
  return { recordSize, compression, payloadBytes, batchBytes: ours.length, jobs };
}

export async function runCodecBench(opts: { quick?: boolean } = {}): Promise<CodecBenchResult> {
  const quick = opts.quick === true;
  const timing: Timing = quick ? { passes: 3, roundMs: 20 } : { passes: 10, roundMs: 40 };
  const started = Date.now();
  const recordsPerBatch = 1000;

  const cases: BenchCase[] = [];
  for (const recordSize of [100, 1024]) {
    const records = makeRecords(recordsPerBatch, recordSize);
    for (const compression of ['none', 'gzip', 'snappy'] as const) {
      cases.push(
        makeCase(recordSize, compression, records, await kafkajsEncode(records, compression)),
      );
    }
  }
  const jobs: Job[] = [];
  const index: { case: BenchCase; name: JobName }[] = [];
  for (const c of cases) {
    for (const name of JOB_NAMES) {
      const job = c.jobs[name];
      if (job === undefined) continue;
      jobs.push(job);
      index.push({ case: c, name });
    }
  }
  const best = await bestTimes(jobs, timing);
  const timeOf = (c: BenchCase, name: JobName): number | undefined => {
    const i = index.findIndex((entry) => entry.case === c && entry.name === name);
    return i < 0 ? undefined : best[i];
  };

  const rows: CodecBenchRow[] = [];
  for (const c of cases) {
    const rate = (ns: number) => throughput(ns, c.payloadBytes, recordsPerBatch);
    for (const operation of ['encode', 'decode'] as const) {
      const our = timeOf(c, operation === 'encode' ? 'ourEncode' : 'ourDecode')!;
      const their = timeOf(c, operation === 'encode' ? 'theirEncode' : 'theirDecode')!;
      const theirWithCrc = operation === 'decode' ? timeOf(c, 'theirDecodeWithCrc') : undefined;
      const floor = timeOf(c, operation === 'encode' ? 'encodeFloor' : 'decodeFloor');
      const floorWithViews = operation === 'decode' ? timeOf(c, 'decodeFloorWithViews') : undefined;
      rows.push({
        operation,
        recordSize: c.recordSize,
        recordsPerBatch,
        compression: c.compression,
        batchBytes: c.batchBytes,
        ours: rate(our),
        kafkajs: rate(their),
        speedupVsKafkajs: their / our,
        ...(theirWithCrc === undefined ? {} : { speedupVsKafkajsWithCrc: theirWithCrc / our }),
        ...(floor === undefined ? {} : { floor: rate(floor), timeVsFloor: our / floor }),
        ...(floorWithViews === undefined
          ? {}
          : { floorWithViews: rate(floorWithViews), timeVsFloorWithViews: our / floorWithViews }),
      });
    }
  }

  if (sink === 0) throw new Error('unreachable: keeps the measured work alive');
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    crc32c: crc32cImplementation,
    quick,
    durationMs: Date.now() - started,
    rows,
  };
}

export function formatCodecBench(result: CodecBenchResult): string {
  const fixed = (n: number, digits = 0) => n.toFixed(digits);
  const header = [
    'op',
    'record',
    'codec',
    'ours MB/s',
    'ours rec/s',
    'µs/batch',
    'kafkajs MB/s',
    '× kafkajs',
    '× kafkajs+crc',
    'floor MB/s',
    'time ÷ floor',
    '÷ floor+views',
  ];
  const lines = result.rows.map((row) => [
    row.operation,
    `${row.recordSize} B`,
    row.compression,
    fixed(row.ours.mbPerSecond),
    fixed(row.ours.recordsPerSecond),
    fixed(row.ours.microsPerBatch),
    fixed(row.kafkajs.mbPerSecond),
    fixed(row.speedupVsKafkajs, 1),
    row.speedupVsKafkajsWithCrc === undefined ? '' : fixed(row.speedupVsKafkajsWithCrc, 1),
    row.floor === undefined ? '' : fixed(row.floor.mbPerSecond),
    row.timeVsFloor === undefined ? '' : fixed(row.timeVsFloor, 2),
    row.timeVsFloorWithViews === undefined ? '' : fixed(row.timeVsFloorWithViews, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  return [
    `RecordBatch v2 codec, ${result.rows[0]?.recordsPerBatch ?? 0} records a batch, key 10 B ` +
      `(node ${result.node}, ${result.cpu}, crc32c ${result.crc32c}, ${result.durationMs} ms)`,
    render(header),
    render(widths.map((w) => '-'.repeat(w))),
    ...lines.map(render),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runCodecBench({ quick: process.argv.includes('--quick') });
  console.log(formatCodecBench(result));
}
