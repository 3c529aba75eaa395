import { encodeRecordBatch, type RecordInput } from '../lib/log/record-batch.js';
import type { CallsBenchResult } from './calls-bench.js';
import {
  applyDesignChange,
  type Comparison,
  compare,
  DEFAULT_DEPLOYMENT,
  DESIGN_CHANGES,
  type Deployment,
  type DesignChange,
  eventLogCost,
  type ProtocolCounts,
  standardWorkloads,
  V2_COUNTS,
  V01_COUNTS,
  type Workload,
} from './cost-model.js';
import type { FetchBenchResult } from './fetch-bench.js';
import type { ProduceBenchResult, ProduceCell } from './produce-bench.js';
import { round } from './stats.js';

/** The 0.1 figures as published in docs/cost-model.md (run of 2026-11-25), US$ a month. */
export const PUBLISHED_0_1 = {
  date: '2026-11-25',
  totals: [552, 22_104, 20_838],
} as const;

/** Before and after for one workload. */
export interface BeforeAfter {
  workload: string;
  /** 0.1 as published (its own consumer model: one fetch per partition). */
  published01Usd: number;
  /** 0.1 priced today under the fixed consumer model (one reading process per group). */
  v01Usd: number;
  /** v2 priced today under the same consumer model. */
  v2Usd: number;
  v01Lines: { item: string; usd: number }[];
}

/** The cost model fed with what the benchmark counted and measured. */
export interface CostBenchResult {
  counts: ProtocolCounts;
  /** Where each count came from. */
  countSources: Partial<Record<keyof ProtocolCounts, string>>;
  compressionRatio: number;
  deployments: { workload: string; deployment: Deployment; latencyFrom: string }[];
  comparisons: Comparison[];
  beforeAfter: BeforeAfter[];
  designChanges: {
    workload: string;
    change: DesignChange;
    totalUsd: number;
    savedPercent: number;
  }[];
}

/**
 * gzip-compressed / uncompressed size of a batch of 100 JSON events of ~1 KiB: order events with
 * random ids, SKUs, amounts and addresses, the kind of record an event log carries. (Text made
 * of a few repeated words would compress 50x and flatter compression.)
 */
export function measureCompressionRatio(): number {
  let seed = 7;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const hex = (digits: number) => {
    let out = '';
    while (out.length < digits) out += next().toString(16).padStart(8, '0');
    return out.slice(0, digits);
  };
  const pick = <T>(items: readonly T[]): T => items[next() % items.length] as T;
  const countries = ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'IT', 'SE', 'PL', 'JP'];
  const statuses = ['created', 'paid', 'shipped', 'delivered', 'refunded'];
  const records: RecordInput[] = Array.from({ length: 100 }, (_, i) => {
    const items: string[] = [];
    let text = '';
    for (;;) {
      items.push(
        `{"sku":"${hex(10)}","qty":${1 + (next() % 5)},"price":${(next() % 100_000) / 100}}`,
      );
      text = JSON.stringify({
        eventId: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
        type: 'order.updated',
        time: 1_700_000_000_000 + i * 37 + (next() % 1000),
        orderId: `ord_${hex(16)}`,
        customer: {
          id: `cus_${hex(12)}`,
          country: pick(countries),
          ip: `${next() % 256}.${next() % 256}.${next() % 256}.${next() % 256}`,
        },
        status: pick(statuses),
        items: items.map((item) => JSON.parse(item) as unknown),
      });
      if (text.length >= 1024) break;
    }
    return { key: null, value: Buffer.from(text.slice(0, 1024)), headers: [], timestamp: 0 };
  });
  const plain = encodeRecordBatch(records, { compression: 'none' }).byteLength;
  const gzip = encodeRecordBatch(records, { compression: 'gzip' }).byteLength;
  return gzip / plain;
}

function nearestCell(
  cells: ProduceCell[],
  recordBytes: number,
  recordsPerRequest: number,
  partitions: number,
): ProduceCell | undefined {
  const distance = (c: ProduceCell) =>
    Math.abs(Math.log(c.recordBytes / recordBytes)) +
    Math.abs(Math.log(c.recordsPerRequest / recordsPerRequest)) +
    // One invocation runs alone in its function: the uncontended latency is the closer estimate.
    (c.concurrency === 1 ? 0 : 0.1) +
    (c.partitions === partitions ? 0 : 0.05);
  return cells.filter((c) => c.p50Ms !== undefined).sort((a, b) => distance(a) - distance(b))[0];
}

/** Fits the measured item sizes to the model's base + per partition (+ per batch) form. */
export function fitItemBytes(calls: CallsBenchResult):
  | {
      head: ProtocolCounts['headItemBytes'];
      commit: ProtocolCounts['commitItemBytes'];
    }
  | undefined {
  const row = (partitions: number, touched: number, recordBytes = 1024) =>
    calls.produce.find(
      (r) =>
        !r.idempotent &&
        r.partitions === partitions &&
        r.partitionsTouched === touched &&
        r.recordBytes === recordBytes,
    );
  const a1 = row(16, 1);
  const b1 = row(64, 1);
  const b64 = row(64, 64);
  if (a1 === undefined || b1 === undefined || b64 === undefined) return undefined;
  // Every row's topic had all its partitions written first, so the vector (and the head)
  // holds all of them: the 16- and 64-partition topics at one batch give the per-partition
  // bytes, 1 against 64 batches on the 64-partition topic the per-batch bytes. The widest
  // measured batches (16 KiB records: larger positions and lengths) when that row ran.
  const big = row(64, 64, 16 * 1024) ?? b64;
  const perBatch = (big.itemBytes.commit - b1.itemBytes.commit) / 63;
  const perPartition = (b1.itemBytes.commit - a1.itemBytes.commit) / 48;
  const headPerPartition = (b1.itemBytes.head - a1.itemBytes.head) / 48;
  return {
    head: {
      base: round(a1.itemBytes.head - 16 * headPerPartition, 1),
      perPartition: round(headPerPartition, 2),
    },
    commit: {
      base: round(a1.itemBytes.commit - 16 * perPartition - perBatch, 1),
      perPartition: round(perPartition, 2),
      perBatch: round(perBatch, 2),
    },
  };
}

/**
 * The protocol counts the model prices: v2's design figures, replaced by this run's
 * measurements where there are some, each with where it came from.
 */
function measuredCounts(
  calls: CallsBenchResult | undefined,
  produce: ProduceBenchResult | undefined,
): { counts: ProtocolCounts; sources: Partial<Record<keyof ProtocolCounts, string>> } {
  const counts: ProtocolCounts = { ...V2_COUNTS };
  const sources: Partial<Record<keyof ProtocolCounts, string>> = Object.fromEntries(
    Object.keys(V2_COUNTS).map((k) => [k, 'design figure (not measured in this run)']),
  );
  sources.engine = 'storage engine v2';
  if (calls !== undefined) {
    const plain = calls.produce.filter((r) => !r.idempotent);
    const puts = plain.map((r) => r.perRequest.s3Puts);
    counts.s3PutsPerRequest = round(puts.reduce((a, b) => a + b, 0) / puts.length, 4);
    sources.s3PutsPerRequest = `mean PutObject calls per plain produce request over ${puts.length} counted rows (one sequence each)`;
    const fit = fitItemBytes(calls);
    if (fit !== undefined) {
      counts.headItemBytes = fit.head;
      counts.commitItemBytes = fit.commit;
      sources.headItemBytes =
        'fitted to the head items read back after the 16- and 64-partition rows (bytes as DynamoDB counts them)';
      sources.commitItemBytes =
        'fitted to the commit items read back: 1 batch on 16 and 64 partitions, 64 batches of 16 KiB records';
    }
    sources.largeOffsetBytesPerPartition =
      'allowance: offsets past 2^21 (a week of (c) is ~29M per partition) take 3 more bytes per partition, as varints in the vector and as numbers in the head';
    const tail = calls.tailFetches.find((t) => t.partitions > 1) ?? calls.tailFetches[0];
    if (tail !== undefined) {
      counts.readUnitsPerPoll = calls.capacityReported
        ? tail.perFetch.readUnits
        : tail.perFetch.dynamoReads;
      sources.readUnitsPerPoll = `tail fetch of ${tail.partitions} partitions (one new commit): ${calls.capacityReported ? 'consumed capacity reported by DynamoDB Local' : 'calls, 1 unit each'}`;
    }
    const lookups = plain.map((r) => r.commands['GetItem']).filter((c) => c !== undefined);
    const callsN = lookups.reduce((s, c) => s + c.calls, 0);
    const units = lookups.reduce((s, c) => s + c.readUnits, 0);
    if (callsN > 0 && units > 0) {
      counts.readUnitsPerTopicLookup = round(units / callsN, 4);
      sources.readUnitsPerTopicLookup =
        'read units per topic GetItem during produce (their number is modelled: one per warm function per second)';
    }
  }
  if (produce !== undefined) {
    const hundred = produce.cells.find(
      (c) => c.recordBytes === 1024 && c.recordsPerRequest === 100 && c.partitions === 1,
    );
    if (hundred?.putBytesPerRequest !== undefined) {
      counts.recordOverheadBytes = round(
        (hundred.putBytesPerRequest - V2_COUNTS.batchOverheadBytes) / 100 - hundred.recordBytes,
      );
      sources.recordOverheadBytes =
        'PutObject bytes of 100 records of 1 KiB on 1 partition, less the values and the batch header';
    }
  }
  sources.batchOverheadBytes = 'RecordBatch v2 header (fixed by the format)';
  sources.writeUnitsPerPartition = 'v2: none per partition';
  sources.indexItemBytes = 'v2: no index items (commit items instead)';
  sources.compressionRatio =
    'none: priced on incompressible bytes, as the bench measures them (its topics are compression.type=none); zstd, the default, takes JSON to about 20% (section 0)';
  return { counts, sources };
}

/** Per workload, the Lambda durations priced: the closest produce cell and fetches measured. */
function deploymentsOf(
  workloads: Workload[],
  calls: CallsBenchResult | undefined,
  produce: ProduceBenchResult | undefined,
  fetch: FetchBenchResult | undefined,
): CostBenchResult['deployments'] {
  const cells = produce?.cells ?? [];
  const tailMs = calls?.tailFetches.find((t) => t.partitions > 1)?.p50Ms;
  const deployments = workloads.map((w) => {
    const cell = nearestCell(
      cells,
      w.recordBytes,
      w.recordsPerRequest,
      w.partitionsTouched > 1 ? 16 : 1,
    );
    const deployment: Deployment = {
      ...DEFAULT_DEPLOYMENT,
      ...(cell?.p50Ms === undefined ? {} : { produceDurationMs: cell.p50Ms }),
      ...(tailMs === undefined ? {} : { fetchDurationMs: tailMs }),
      ...(fetch === undefined ? {} : { fullFetchDurationMs: fetch.fetchP50Ms }),
    };
    const latencyFrom =
      cell === undefined
        ? `default ${DEFAULT_DEPLOYMENT.produceDurationMs} ms (no matching cell measured)`
        : `produce: measured p50 of ${cell.recordBytes} B x ${cell.recordsPerRequest}, ${cell.concurrency} producers, ${cell.partitions} partitions on the emulators: ${cell.p50Ms} ms; fetch: ${deployment.fetchDurationMs} ms (tail poll), ${deployment.fullFetchDurationMs} ms (4 MiB answer)`;
    return { workload: w.name, deployment, latencyFrom };
  });
  return deployments;
}

export function runCostModel(
  calls: CallsBenchResult | undefined,
  produce: ProduceBenchResult | undefined,
  fetch?: FetchBenchResult,
): CostBenchResult {
  const { counts, sources } = measuredCounts(calls, produce);

  const compressionRatio = round(measureCompressionRatio());
  const workloads = standardWorkloads();
  const deployments = deploymentsOf(workloads, calls, produce, fetch);

  const deploymentOf = (i: number) => (deployments[i] as { deployment: Deployment }).deployment;
  const comparisons = workloads.map((w, i) => compare(w, counts, deploymentOf(i)));
  const beforeAfter: BeforeAfter[] = workloads.map((w, i) => {
    const v01 = eventLogCost(w, V01_COUNTS, deploymentOf(i));
    return {
      workload: w.name,
      published01Usd: PUBLISHED_0_1.totals[i] ?? Number.NaN,
      v01Usd: round(v01.totalUsd),
      v2Usd: round(comparisons[i]?.estimates[0]?.totalUsd ?? Number.NaN),
      v01Lines: v01.lines.map((l) => ({ item: l.item, usd: round(l.usd) })),
    };
  });
  const designChanges: CostBenchResult['designChanges'] = [];
  workloads.forEach((w: Workload, i) => {
    const deployment = deploymentOf(i);
    const baseline = eventLogCost(w, counts, deployment).totalUsd;
    for (const change of DESIGN_CHANGES) {
      const changed = applyDesignChange(change, w, counts, deployment, compressionRatio);
      const totalUsd = eventLogCost(changed.workload, changed.counts, changed.deployment).totalUsd;
      designChanges.push({
        workload: w.name,
        change,
        totalUsd: round(totalUsd),
        savedPercent: round(100 * (1 - totalUsd / baseline)),
      });
    }
  });
  return {
    counts,
    countSources: sources,
    compressionRatio,
    deployments,
    comparisons,
    beforeAfter,
    designChanges,
  };
}
