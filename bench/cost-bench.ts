import { encodeRecordBatch, type RecordInput } from '../lib/log/record-batch.js';
import type { CallsBenchResult } from './calls-bench.js';
import {
  applyDesignChange,
  type Comparison,
  compare,
  DEFAULT_DEPLOYMENT,
  DESIGN_CHANGES,
  DESIGN_COUNTS,
  type Deployment,
  type DesignChange,
  eventLogCost,
  type ProtocolCounts,
  standardWorkloads,
  type Workload,
} from './cost-model.js';
import type { ProduceBenchResult, ProduceCell } from './produce-bench.js';
import { round } from './stats.js';

/** The cost model fed with what the benchmark counted and measured. */
export interface CostBenchResult {
  counts: ProtocolCounts;
  /** Where each count came from. */
  countSources: Record<keyof ProtocolCounts, string>;
  compressionRatio: number;
  deployments: { workload: string; deployment: Deployment; latencyFrom: string }[];
  comparisons: Comparison[];
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

export function runCostModel(
  calls: CallsBenchResult | undefined,
  produce: ProduceBenchResult | undefined,
): CostBenchResult {
  const counts: ProtocolCounts = { ...DESIGN_COUNTS };
  const sources = Object.fromEntries(
    Object.keys(DESIGN_COUNTS).map((k) => [k, 'design figure (not measured in this run)']),
  ) as Record<keyof ProtocolCounts, string>;

  if (calls !== undefined) {
    const units = calls.capacityReported
      ? 'consumed capacity reported by DynamoDB Local'
      : 'calls, 1 unit each';
    const big = calls.produce.find((r) => r.partitions === 16 && r.recordsPerRequest === 100);
    const single = calls.produce.find((r) => r.partitions === 1 && r.recordsPerRequest === 1);
    const hundred = calls.produce.find((r) => r.partitions === 1 && r.recordsPerRequest === 100);
    const puts = calls.produce.map((r) => r.perRequest.s3Puts);
    counts.s3PutsPerRequest = round(puts.reduce((a, b) => a + b, 0) / puts.length, 4);
    sources.s3PutsPerRequest = `mean PutObject calls per produce request over ${puts.length} counted rows`;
    if (big !== undefined) {
      counts.writeUnitsPerPartition = calls.capacityReported
        ? big.perPartitionTouched.writeUnits
        : big.perPartitionTouched.dynamoWrites;
      sources.writeUnitsPerPartition = `100 records over 16 partitions: per partition touched (${units})`;
    }
    if (single !== undefined) {
      const perRequest = calls.capacityReported
        ? single.perRequest.writeUnits
        : single.perRequest.dynamoWrites;
      counts.writeUnitsPerRequest = round(
        Math.max(0, perRequest - single.partitionsTouched * counts.writeUnitsPerPartition),
        4,
      );
      sources.writeUnitsPerRequest = `1 record on 1 partition: writes beyond those per partition (${units})`;
    }
    const tail = calls.tailFetch.perFetch;
    counts.readUnitsPerFetch = calls.capacityReported ? tail.readUnits : tail.dynamoReads;
    sources.readUnitsPerFetch = `tail fetch of one batch (${calls.capacityReported ? 'consumed capacity reported by DynamoDB Local' : 'calls, 1 unit each'})`;
    counts.getsPerBatchPerGroup = round(
      tail.s3Gets / Math.max(calls.tailFetch.batchesPerFetch, 1e-9),
      4,
    );
    sources.getsPerBatchPerGroup = 'tail fetch: GetObject calls per batch returned';
    if (hundred !== undefined) {
      counts.recordOverheadBytes = round(
        (hundred.perRequest.s3PutBytes - DESIGN_COUNTS.batchOverheadBytes) / 100 -
          hundred.recordBytes,
      );
      sources.recordOverheadBytes =
        'PutObject bytes of 100 records of 1 KiB on 1 partition, less the values and the batch header';
    }
  }
  if (calls !== undefined) {
    const lookups = calls.produce.map((r) => r.commands['GetItem']).filter((c) => c !== undefined);
    const callsN = lookups.reduce((s, c) => s + c.calls, 0);
    const units = lookups.reduce((s, c) => s + c.readUnits, 0);
    if (callsN > 0 && units > 0) {
      counts.readUnitsPerTopicLookup = round(units / callsN, 4);
      sources.readUnitsPerTopicLookup =
        'read units per topic GetItem during produce (their number is modelled: one per warm function per second)';
    }
  }
  sources.sharedTailReads = 'today: no (one GET per batch per group)';
  sources.batchOverheadBytes = 'RecordBatch v2 header (fixed by the format)';
  sources.indexItemBytes =
    'estimate from the index item attributes (pk, sk, count, object key, range, timestamps)';
  sources.compressionRatio = 'none (topics default to compression none)';

  const compressionRatio = round(measureCompressionRatio());
  const workloads = standardWorkloads();
  const cells = produce?.cells ?? [];
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
      ...(calls === undefined ? {} : { fetchDurationMs: calls.tailFetch.p50Ms }),
    };
    const latencyFrom =
      cell === undefined
        ? `default ${DEFAULT_DEPLOYMENT.produceDurationMs} ms (no matching cell measured)`
        : `measured p50 of ${cell.recordBytes} B x ${cell.recordsPerRequest}, ${cell.concurrency} producers, ${cell.partitions} partitions on the emulators: ${cell.p50Ms} ms`;
    return { workload: w.name, deployment, latencyFrom };
  });

  const comparisons = workloads.map((w, i) =>
    compare(w, counts, (deployments[i] as { deployment: Deployment }).deployment),
  );
  const designChanges: CostBenchResult['designChanges'] = [];
  workloads.forEach((w: Workload, i) => {
    const deployment = (deployments[i] as { deployment: Deployment }).deployment;
    const baseline = eventLogCost(w, counts, deployment).totalUsd;
    for (const change of DESIGN_CHANGES) {
      const changed = applyDesignChange(change, w, counts, compressionRatio);
      const totalUsd = eventLogCost(changed.workload, changed.counts, deployment).totalUsd;
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
    designChanges,
  };
}
