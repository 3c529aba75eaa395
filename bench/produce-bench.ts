import { DEFAULT_PRODUCE_LIMITS, recordSize } from '../lib/broker/produce.js';
import { startApiServer } from '../lib/local/server.js';
import { DYNAMODB_WRITE_COMMANDS, total } from '../lib/store/call-counter.js';
import { BENCH_TOPIC_CONFIGS, type BenchContext, makeRecords } from './context.js';
import { alternate, type LoadResult, runLoad } from './load.js';
import { rawProduce } from './raw-calls.js';
import { median, round } from './stats.js';

export interface ProduceCell {
  recordBytes: number;
  recordsPerRequest: number;
  concurrency: number;
  partitions: number;
  /** Set when the cell was not run. */
  skipped?: string;
  requests?: number;
  errors?: number;
  firstError?: string;
  requestsPerSecond?: number;
  recordsPerSecond?: number;
  /** Record payload (values) per second, MB = 10^6 bytes. */
  mbPerSecond?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Counted per request in this cell. */
  s3PutsPerRequest?: number;
  /** PutObject body bytes per request. */
  putBytesPerRequest?: number;
  dynamoWritesPerRequest?: number;
  /** Write units DynamoDB reported, per request. */
  writeUnitsPerRequest?: number;
  failedConditions?: number;
}

export interface OverheadCell {
  recordBytes: number;
  recordsPerRequest: number;
  concurrency: number;
  partitions: number;
  ours: { requestsPerSecond: number; p50Ms: number; p99Ms: number; requests: number };
  raw: { requestsPerSecond: number; p50Ms: number; p99Ms: number; requests: number };
  rounds: number;
  /**
   * Our time per request / the raw calls' time per request: the median over the rounds of
   * (raw requests/s / our requests/s), each round measuring both sides back to back (goal <= 1.25).
   */
  throughputRatio: number;
  /** The same from all rounds pooled. */
  pooledRatio: number;
  /** Our p50 latency / the raw calls' p50 latency (pooled). */
  latencyRatio: number;
  /** CPU time of this process per request, ours / raw: our own work, whatever the emulators do. */
  cpuRatio: number;
  oursCpuMsPerRequest: number;
  rawCpuMsPerRequest: number;
}

export interface HttpRow {
  recordBytes: number;
  recordsPerRequest: number;
  concurrency: number;
  partitions: number;
  inProcess: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
  http: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
  ratio: number;
}

export interface ScalingPoint {
  partitions: number;
  producers: number;
  ours: { requestsPerSecond: number; mbPerSecond: number; p50Ms: number };
  raw: { requestsPerSecond: number; mbPerSecond: number; p50Ms: number };
}

/**
 * A 16-partition cell and its 1-partition twin measured in alternating rounds (each round
 * runs both back to back), so that load from elsewhere on the machine hits both alike.
 */
export interface PairedCell {
  recordBytes: number;
  recordsPerRequest: number;
  concurrency: number;
  rounds: number;
  p50One: number;
  p50Sixteen: number;
  /** Median over the rounds of (p50 on 16 partitions / p50 on 1 partition). */
  ratio: number;
}

export interface ProduceBenchResult {
  cellMs: number;
  maxRequestsPerCell: number;
  cells: ProduceCell[];
  /** The matrix's 16-partition cells at 8 and 32 producers against 1 partition, interleaved. */
  paired?: PairedCell[];
  overhead: OverheadCell[];
  http?: HttpRow;
  scaling: { recordBytes: number; recordsPerRequest: number; points: ScalingPoint[] };
}

interface Matrix {
  recordBytes: number[];
  recordsPerRequest: number[];
  concurrency: number[];
  partitions: number[];
}

const FULL: Matrix = {
  recordBytes: [100, 1024, 16 * 1024],
  recordsPerRequest: [1, 100, 1000],
  concurrency: [1, 8, 32],
  partitions: [1, 16],
};
const QUICK: Matrix = {
  recordBytes: [100, 16 * 1024],
  recordsPerRequest: [1, 100],
  concurrency: [1, 8],
  partitions: [1, 16],
};

/** Representative cells for the overhead ratio: [recordBytes, records, concurrency, partitions]. */
const OVERHEAD_CELLS: [number, number, number, number][] = [
  [100, 1, 1, 1],
  [100, 1, 32, 1],
  [1024, 100, 8, 1],
  [1024, 100, 8, 16],
  [1024, 1000, 8, 16],
  [16 * 1024, 100, 8, 16],
];
const OVERHEAD_CELLS_QUICK: [number, number, number, number][] = [
  [100, 1, 8, 1],
  [1024, 100, 8, 16],
];

export async function runProduceBench(context: BenchContext): Promise<ProduceBenchResult> {
  const { broker, counter, quick, log } = context;
  const matrix = quick ? QUICK : FULL;
  const cellMs = quick ? 800 : 1600;
  const maxRequestsPerCell = quick ? 2000 : 20_000;
  const topics = new Map<number, string>();
  const topicFor = async (partitions: number) => {
    let name = topics.get(partitions);
    if (name === undefined) {
      name = context.topicName(`produce-p${partitions}`);
      await broker.topics.create({ name, partitions, configs: BENCH_TOPIC_CONFIGS });
      topics.set(partitions, name);
    }
    return name;
  };

  const cells: ProduceCell[] = [];
  const total_ =
    matrix.recordBytes.length *
    matrix.recordsPerRequest.length *
    matrix.concurrency.length *
    matrix.partitions.length;
  for (const recordBytes of matrix.recordBytes) {
    for (const recordsPerRequest of matrix.recordsPerRequest) {
      const records = makeRecords(recordsPerRequest, recordBytes);
      const requestBytes = records.reduce((sum, r) => sum + recordSize(r), 0);
      for (const partitions of matrix.partitions) {
        for (const concurrency of matrix.concurrency) {
          const cell: ProduceCell = { recordBytes, recordsPerRequest, concurrency, partitions };
          cells.push(cell);
          const label = `${recordBytes} B x ${recordsPerRequest}, ${concurrency} producers, ${partitions} partitions`;
          if (requestBytes > DEFAULT_PRODUCE_LIMITS.maxRequestBytes) {
            cell.skipped = `request of ${(requestBytes / 1e6).toFixed(1)} MB exceeds the 6 MB request limit (Lambda payload)`;
            log(`produce [${cells.length}/${total_}] ${label}: skipped (${cell.skipped})`);
            continue;
          }
          const topic = await topicFor(partitions);
          const before = counter.snapshot();
          const result = await runLoad(
            { concurrency, durationMs: cellMs, maxRequests: maxRequestsPerCell },
            () => broker.produce.produce({ topic, records }).then(assertWritten),
          );
          const counts = counter.since(before);
          const sent = result.requests + result.errors + Math.min(concurrency, 8); // + warmup
          Object.assign(cell, {
            requests: result.requests,
            errors: result.errors,
            ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
            requestsPerSecond: round(result.requestsPerSecond),
            recordsPerSecond: round(result.requestsPerSecond * recordsPerRequest),
            mbPerSecond: round((result.requestsPerSecond * recordsPerRequest * recordBytes) / 1e6),
            p50Ms: round(result.latencyMs.p50),
            p99Ms: round(result.latencyMs.p99),
            s3PutsPerRequest: round(total(counts, 'calls', ['PutObject']) / sent),
            putBytesPerRequest: round(total(counts, 'requestBytes', ['PutObject']) / sent),
            dynamoWritesPerRequest: round(total(counts, 'calls', DYNAMODB_WRITE_COMMANDS) / sent),
            writeUnitsPerRequest: round(total(counts, 'writeUnits') / sent),
            failedConditions: total(counts, 'failedConditions'),
          });
          log(
            `produce [${cells.length}/${total_}] ${label}: ${cell.recordsPerSecond} rec/s, ${cell.mbPerSecond} MB/s, p50 ${cell.p50Ms} ms, p99 ${cell.p99Ms} ms${result.errors > 0 ? `, ${result.errors} errors (${result.firstError})` : ''}`,
          );
        }
      }
    }
  }

  const paired = await runPaired(context, matrix, topicFor);
  const overhead = await runOverhead(context);
  const http = quick ? undefined : await runHttpRow(context, topicFor);
  const scaling = await runScaling(context);
  return {
    cellMs,
    maxRequestsPerCell,
    cells,
    paired,
    overhead,
    ...(http === undefined ? {} : { http }),
    scaling,
  };
}

async function runPaired(
  context: BenchContext,
  matrix: Matrix,
  topicFor: (partitions: number) => Promise<string>,
): Promise<PairedCell[]> {
  const { broker, quick, log } = context;
  const rounds = quick ? 2 : 3;
  const roundMs = quick ? 400 : 700;
  const out: PairedCell[] = [];
  const one = await topicFor(1);
  const sixteen = await topicFor(16);
  for (const recordBytes of matrix.recordBytes) {
    for (const recordsPerRequest of matrix.recordsPerRequest) {
      const records = makeRecords(recordsPerRequest, recordBytes);
      if (
        records.reduce((sum, r) => sum + recordSize(r), 0) > DEFAULT_PRODUCE_LIMITS.maxRequestBytes
      )
        continue;
      for (const concurrency of matrix.concurrency.filter((c) => c >= 8)) {
        const measured = await alternate(
          { concurrency, durationMs: rounds * roundMs, maxRequests: 20_000 },
          rounds,
          () => broker.produce.produce({ topic: one, records }).then(assertWritten),
          () => broker.produce.produce({ topic: sixteen, records }).then(assertWritten),
        );
        const perRound = measured.rounds
          .filter(([a, b]) => a.requests > 0 && b.requests > 0)
          .map(([a, b]) => b.latencyMs.p50 / a.latencyMs.p50);
        const cell: PairedCell = {
          recordBytes,
          recordsPerRequest,
          concurrency,
          rounds,
          p50One: round(measured.a.latencyMs.p50),
          p50Sixteen: round(measured.b.latencyMs.p50),
          ratio: round(median(perRound)),
        };
        out.push(cell);
        log(
          `paired ${recordBytes} B x ${recordsPerRequest}, ${concurrency} producers: p50 ${cell.p50One} ms on 1 partition, ${cell.p50Sixteen} ms on 16: ${cell.ratio}x (median of ${perRound.length} rounds)`,
        );
      }
    }
  }
  return out;
}

function assertWritten(result: { records: { error?: unknown }[] }): void {
  const failed = result.records.find((r) => r.error !== undefined);
  if (failed !== undefined) throw failed.error;
}

/**
 * Our produce against the raw calls, interleaved in short rounds so that both see the same
 * machine (a noisy neighbour hits both sides alike).
 */
async function runOverhead(context: BenchContext): Promise<OverheadCell[]> {
  const { broker, quick, log } = context;
  const rounds = quick ? 2 : 5;
  const roundMs = quick ? 500 : 600;
  const out: OverheadCell[] = [];
  for (const [recordBytes, recordsPerRequest, concurrency, partitions] of quick
    ? OVERHEAD_CELLS_QUICK
    : OVERHEAD_CELLS) {
    // A fresh topic, as fresh as the raw calls' keys: neither side inherits a large index.
    const topic = context.topicName(
      `overhead-${recordBytes}-${recordsPerRequest}-${concurrency}-${partitions}`,
    );
    await broker.topics.create({ name: topic, partitions, configs: BENCH_TOPIC_CONFIGS });
    const records = makeRecords(recordsPerRequest, recordBytes);
    const raw = rawProduce(context, recordsPerRequest, recordBytes, partitions);
    const measured = await alternate(
      { concurrency, durationMs: rounds * roundMs, maxRequests: 20_000 },
      rounds,
      () => broker.produce.produce({ topic, records }).then(assertWritten),
      () => raw.send(),
    );
    const merged = (r: LoadResult) => ({
      requestsPerSecond: round(r.requestsPerSecond),
      p50Ms: round(r.latencyMs.p50),
      p99Ms: round(r.latencyMs.p99),
      requests: r.requests,
    });
    const o = merged(measured.a);
    const r = merged(measured.b);
    const perRound = measured.rounds
      .filter(([a, b]) => a.requests > 0 && b.requests > 0)
      .map(([a, b]) => b.requestsPerSecond / a.requestsPerSecond);
    const cpu = (x: LoadResult) => x.cpuMicros / 1000 / Math.max(1, x.requests);
    const cell: OverheadCell = {
      recordBytes,
      recordsPerRequest,
      concurrency,
      partitions,
      ours: o,
      raw: r,
      rounds,
      throughputRatio: round(median(perRound)),
      pooledRatio: round(r.requestsPerSecond / o.requestsPerSecond),
      latencyRatio: round(o.p50Ms / r.p50Ms),
      cpuRatio: round(cpu(measured.a) / cpu(measured.b)),
      oursCpuMsPerRequest: round(cpu(measured.a)),
      rawCpuMsPerRequest: round(cpu(measured.b)),
    };
    out.push(cell);
    log(
      `overhead ${recordBytes} B x ${recordsPerRequest}, ${concurrency} producers, ${partitions} partitions: ours ${o.requestsPerSecond} req/s vs raw ${r.requestsPerSecond} req/s, ratio ${cell.throughputRatio} (median of ${perRound.length} rounds; pooled ${cell.pooledRatio}, p50 ${cell.latencyRatio}, CPU ${cell.cpuRatio})`,
    );
  }
  return out;
}

/** One cell through the HTTP API (real HTTP on loopback, JSON with base64 values) beside in-process. */
async function runHttpRow(
  context: BenchContext,
  topicFor: (partitions: number) => Promise<string>,
): Promise<HttpRow> {
  const { broker, log } = context;
  const recordBytes = 1024;
  const recordsPerRequest = 100;
  const concurrency = 8;
  const partitions = 1;
  const topic = await topicFor(partitions);
  const records = makeRecords(recordsPerRequest, recordBytes);
  const body = JSON.stringify({
    valueFormat: 'base64',
    records: records.map((r) => ({ value: Buffer.from(r.value as Uint8Array).toString('base64') })),
  });
  const server = await startApiServer({ broker, clusterId: 'bench' });
  try {
    const url = `${server.url}/v1/topics/${encodeURIComponent(topic)}/records`;
    const options = { concurrency, durationMs: 2000, maxRequests: 20_000 };
    const http = await runLoad(options, async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
    });
    const inProcess = await runLoad(options, () =>
      broker.produce.produce({ topic, records }).then(assertWritten),
    );
    const row: HttpRow = {
      recordBytes,
      recordsPerRequest,
      concurrency,
      partitions,
      inProcess: {
        requestsPerSecond: round(inProcess.requestsPerSecond),
        p50Ms: round(inProcess.latencyMs.p50),
        p99Ms: round(inProcess.latencyMs.p99),
      },
      http: {
        requestsPerSecond: round(http.requestsPerSecond),
        p50Ms: round(http.latencyMs.p50),
        p99Ms: round(http.latencyMs.p99),
      },
      ratio: round(inProcess.requestsPerSecond / http.requestsPerSecond),
    };
    log(
      `http ${recordBytes} B x ${recordsPerRequest}, ${concurrency} producers: HTTP ${row.http.requestsPerSecond} req/s (p50 ${row.http.p50Ms} ms) vs in-process ${row.inProcess.requestsPerSecond} req/s (p50 ${row.inProcess.p50Ms} ms)${http.errors > 0 ? `, ${http.errors} HTTP errors (${http.firstError})` : ''}`,
    );
    return row;
  } finally {
    await server.close();
  }
}

/**
 * Throughput at 1, 4, 16, 64 partitions with two producers per partition (capped), each
 * producer writing 100 records of 1 KiB to its own partition, beside the raw calls at the
 * same concurrency: where both flatten, the emulators are saturated.
 */
async function runScaling(context: BenchContext): Promise<ProduceBenchResult['scaling']> {
  const { broker, quick, log } = context;
  const recordBytes = 1024;
  const recordsPerRequest = 100;
  const partitionCounts = quick ? [1, 4, 16] : [1, 4, 16, 64];
  const durationMs = quick ? 700 : 3000;
  const points: ScalingPoint[] = [];
  for (const partitions of partitionCounts) {
    const producers = Math.min(2 * partitions, quick ? 16 : 64);
    const topic = context.topicName(`scaling-p${partitions}`);
    await broker.topics.create({ name: topic, partitions, configs: BENCH_TOPIC_CONFIGS });
    const perPartition = Array.from({ length: partitions }, (_, p) =>
      makeRecords(recordsPerRequest, recordBytes, p),
    );
    // The raw calls' partition follows the request sequence; with every worker busy the
    // spread over partitions is the same as ours.
    const raw = rawProduce(
      context,
      recordsPerRequest,
      recordBytes,
      partitions,
      (n) => n % partitions,
    );
    const { a: ours, b: floor } = await alternate(
      { concurrency: producers, durationMs, maxRequests: 50_000 },
      quick ? 1 : 2,
      (worker) =>
        broker.produce
          .produce({
            topic,
            records: perPartition[worker % partitions] as ReturnType<typeof makeRecords>,
          })
          .then(assertWritten),
      () => raw.send(),
    );
    const mb = (r: LoadResult) =>
      round((r.requestsPerSecond * recordsPerRequest * recordBytes) / 1e6);
    const point: ScalingPoint = {
      partitions,
      producers,
      ours: {
        requestsPerSecond: round(ours.requestsPerSecond),
        mbPerSecond: mb(ours),
        p50Ms: round(ours.latencyMs.p50),
      },
      raw: {
        requestsPerSecond: round(floor.requestsPerSecond),
        mbPerSecond: mb(floor),
        p50Ms: round(floor.latencyMs.p50),
      },
    };
    points.push(point);
    log(
      `scaling ${partitions} partitions, ${producers} producers: ours ${point.ours.mbPerSecond} MB/s, raw calls ${point.raw.mbPerSecond} MB/s`,
    );
  }
  return { recordBytes, recordsPerRequest, points };
}
