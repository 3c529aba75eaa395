import { FETCH_LIMITS } from '../lib/broker/fetch.js';
import { total } from '../lib/store/call-counter.js';
import { type PerOperation, perOperation } from './calls-bench.js';
import { BENCH_TOPIC_CONFIGS, type BenchContext, makeRecords } from './context.js';
import { runLoad } from './load.js';
import { round, summarize } from './stats.js';

/**
 * The fetch path: write a log of 16 KiB records in 1 MiB requests (spread over 4 partitions,
 * as keyed records would be: 4 batches of 256 KiB per object), then read every partition back
 * from offset 0 with the largest fetch (4 MiB), one reader per partition, as consumers
 * catching up would.
 */

export interface FetchBenchResult {
  partitions: number;
  recordBytes: number;
  recordsPerRequest: number;
  targetBytes: number;
  /** Record payload written (values), bytes. */
  writtenBytes: number;
  writeSeconds: number;
  writeMbPerSecond: number;
  /** Record payload read back, bytes. */
  readBytes: number;
  readRecords: number;
  readSeconds: number;
  /** True when every partition was read to its end within the time budget. */
  complete: boolean;
  mbPerSecond: number;
  recordsPerSecond: number;
  fetches: number;
  fetchP50Ms: number;
  fetchP99Ms: number;
  perFetch: PerOperation;
  s3GetsPerMb: number;
  readUnitsPerMb: number;
  dynamoReadsPerMb: number;
}

export async function runFetchBench(context: BenchContext): Promise<FetchBenchResult> {
  const { broker, counter, quick, log } = context;
  const partitions = 4;
  const recordBytes = 16 * 1024;
  const recordsPerRequest = 64;
  const targetBytes = quick ? 24 * 1024 * 1024 : 512 * 1024 * 1024;
  const writeBudgetMs = quick ? 6000 : 40_000;
  const readBudgetMs = quick ? 6000 : 45_000;
  const topic = context.topicName('fetch');
  await broker.topics.create({ name: topic, partitions, configs: BENCH_TOPIC_CONFIGS });
  const records = makeRecords(recordsPerRequest, recordBytes);
  const requestBytes = recordsPerRequest * recordBytes;

  log(
    `fetch: writing up to ${targetBytes / 1024 / 1024} MiB of ${recordBytes / 1024} KiB records...`,
  );
  const written = await runLoad(
    {
      concurrency: 8,
      durationMs: writeBudgetMs,
      maxRequests: Math.ceil(targetBytes / requestBytes),
      warmupRequests: 0,
    },
    () => broker.produce.produce({ topic, records }),
  );
  const writtenBytes = written.requests * requestBytes;
  log(
    `fetch: wrote ${(writtenBytes / 1024 / 1024).toFixed(0)} MiB in ${(written.elapsedMs / 1000).toFixed(1)} s (${(((writtenBytes / written.elapsedMs) * 1000) / 1e6).toFixed(1)} MB/s); reading it back...`,
  );

  const before = counter.snapshot();
  const latencies: number[] = [];
  let readBytes = 0;
  let readRecords = 0;
  let complete = true;
  const started = performance.now();
  const deadline = started + readBudgetMs;
  await Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      let offset = 0;
      for (;;) {
        if (performance.now() > deadline) {
          complete = false;
          return;
        }
        const t0 = performance.now();
        const page = await broker.fetch.fetch({
          topic,
          partition,
          offset,
          maxBytes: FETCH_LIMITS.maxBytes,
          maxRecords: FETCH_LIMITS.maxRecords,
        });
        latencies.push(performance.now() - t0);
        for (const record of page.records) readBytes += record.value?.byteLength ?? 0;
        readRecords += page.records.length;
        if (page.nextOffset >= page.highWatermark || page.nextOffset === offset) return;
        offset = page.nextOffset;
      }
    }),
  );
  const readSeconds = (performance.now() - started) / 1000;
  const counts = counter.since(before);
  const mb = readBytes / 1e6;
  const latency = summarize(latencies);
  const result: FetchBenchResult = {
    partitions,
    recordBytes,
    recordsPerRequest,
    targetBytes,
    writtenBytes,
    writeSeconds: round(written.elapsedMs / 1000),
    writeMbPerSecond: round(((writtenBytes / written.elapsedMs) * 1000) / 1e6),
    readBytes,
    readRecords,
    readSeconds: round(readSeconds),
    complete,
    mbPerSecond: round(mb / readSeconds),
    recordsPerSecond: round(readRecords / readSeconds),
    fetches: latencies.length,
    fetchP50Ms: round(latency.p50),
    fetchP99Ms: round(latency.p99),
    perFetch: perOperation(counts, latencies.length),
    s3GetsPerMb: round(total(counts, 'calls', ['GetObject']) / mb, 4),
    readUnitsPerMb: round(total(counts, 'readUnits') / mb, 4),
    dynamoReadsPerMb: round(total(counts, 'calls', ['GetItem', 'Query']) / mb, 4),
  };
  log(
    `fetch: read ${(readBytes / 1024 / 1024).toFixed(0)} MiB in ${result.readSeconds} s: ${result.mbPerSecond} MB/s, ${result.recordsPerSecond} records/s, ${result.s3GetsPerMb} GETs per MB${complete ? '' : ' (time budget hit before the end)'}`,
  );
  return result;
}
