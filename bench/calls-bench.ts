import {
  addCounts,
  type CallCounts,
  DYNAMODB_READ_COMMANDS,
  DYNAMODB_WRITE_COMMANDS,
  total,
} from '../lib/store/call-counter.js';
import { type BenchContext, makeRecords } from './context.js';
import { runLoad } from './load.js';
import { round, summarize } from './stats.js';

/**
 * AWS calls per operation, counted exactly by the call counter on the real clients:
 * per produce request and per partition it touches, per tail fetch, and the wasted
 * (failed conditional) writes under contention.
 */

export interface PerOperation {
  s3Puts: number;
  s3Gets: number;
  dynamoWrites: number;
  dynamoReads: number;
  /** DynamoDB Local's ConsumedCapacity (ReturnConsumedCapacity TOTAL, added by the counter). */
  writeUnits: number;
  readUnits: number;
  failedConditions: number;
  /** S3 object bytes written (PutObject bodies). */
  s3PutBytes: number;
}

export interface ProduceCallsRow {
  partitions: number;
  recordsPerRequest: number;
  recordBytes: number;
  requests: number;
  partitionsTouched: number;
  perRequest: PerOperation;
  perPartitionTouched: { dynamoWrites: number; writeUnits: number };
  /** Calls by command name over the whole row. */
  commands: CallCounts;
}

export interface ContentionResult {
  producers: number;
  partitions: number;
  commits: number;
  errors: number;
  dynamoWrites: number;
  failedConditions: number;
  wastedWritesPerCommit: number;
  p50Ms: number;
  p99Ms: number;
}

export interface TailFetchResult {
  fetches: number;
  batchesPerFetch: number;
  perFetch: PerOperation & { hintRaises: number };
  p50Ms: number;
  commands: CallCounts;
}

export interface CallsBenchResult {
  /** True when DynamoDB Local reported ConsumedCapacity (units are then measured, not computed). */
  capacityReported: boolean;
  produce: ProduceCallsRow[];
  contention: ContentionResult;
  tailFetch: TailFetchResult;
}

export function perOperation(counts: CallCounts, operations: number): PerOperation {
  const per = (n: number) => round(n / operations, 4);
  return {
    s3Puts: per(total(counts, 'calls', ['PutObject'])),
    s3Gets: per(total(counts, 'calls', ['GetObject'])),
    dynamoWrites: per(total(counts, 'calls', DYNAMODB_WRITE_COMMANDS)),
    dynamoReads: per(total(counts, 'calls', DYNAMODB_READ_COMMANDS)),
    writeUnits: per(total(counts, 'writeUnits')),
    readUnits: per(total(counts, 'readUnits')),
    failedConditions: per(total(counts, 'failedConditions')),
    s3PutBytes: per(total(counts, 'requestBytes', ['PutObject'])),
  };
}

export async function runCallsBench(context: BenchContext): Promise<CallsBenchResult> {
  const { broker, counter, quick, log } = context;
  const requestsPerRow = quick ? 12 : 40;
  const rows: ProduceCallsRow[] = [];
  const recordBytes = 1024;
  let tailTopic = '';
  for (const partitions of [1, 16]) {
    const topic = context.topicName(`calls-p${partitions}`);
    await broker.topics.create({ name: topic, partitions });
    if (partitions === 16) tailTopic = topic;
    for (const recordsPerRequest of [1, 4, 16, 100]) {
      if (partitions === 1 && recordsPerRequest !== 1 && recordsPerRequest !== 100) continue;
      const records = makeRecords(recordsPerRequest, recordBytes);
      let touched = 0;
      const before = counter.snapshot();
      const result = await runLoad(
        { concurrency: 4, durationMs: 60_000, maxRequests: requestsPerRow, warmupRequests: 0 },
        async () => {
          const answer = await broker.produce.produce({ topic, records });
          touched += new Set(answer.records.map((r) => r.partition)).size;
        },
      );
      const counts = counter.since(before);
      const requests = result.requests + result.errors;
      const row: ProduceCallsRow = {
        partitions,
        recordsPerRequest,
        recordBytes,
        requests,
        partitionsTouched: round(touched / requests),
        perRequest: perOperation(counts, requests),
        perPartitionTouched: {
          dynamoWrites: round(total(counts, 'calls', DYNAMODB_WRITE_COMMANDS) / touched, 4),
          writeUnits: round(total(counts, 'writeUnits') / touched, 4),
        },
        commands: counts,
      };
      rows.push(row);
      log(
        `calls: produce ${recordsPerRequest} x ${recordBytes} B on ${partitions} partitions: ${row.perRequest.s3Puts} PUT, ${row.perRequest.dynamoWrites} DynamoDB writes (${row.perPartitionTouched.dynamoWrites} per partition touched), ${row.perRequest.dynamoReads} reads per request`,
      );
    }
  }

  // Contention: many producers on one partition. The reservation is an ADD, which never fails
  // its condition; the publish's condition can only fail on a retried or aborted range.
  const contentionTopic = context.topicName('contention');
  await broker.topics.create({ name: contentionTopic, partitions: 1 });
  const producers = 32;
  const single = makeRecords(1, 100);
  const before = counter.snapshot();
  const result = await runLoad(
    { concurrency: producers, durationMs: quick ? 1000 : 3000, maxRequests: 20_000 },
    () => broker.produce.produce({ topic: contentionTopic, records: single }),
  );
  const counts = counter.since(before);
  const commits = result.requests + Math.min(producers, 8);
  const failed = total(counts, 'failedConditions');
  const contention: ContentionResult = {
    producers,
    partitions: 1,
    commits,
    errors: result.errors,
    dynamoWrites: total(counts, 'calls', DYNAMODB_WRITE_COMMANDS),
    failedConditions: failed,
    wastedWritesPerCommit: round(failed / commits, 4),
    p50Ms: round(result.latencyMs.p50),
    p99Ms: round(result.latencyMs.p99),
  };
  log(
    `calls: ${producers} producers on 1 partition: ${commits} commits, ${contention.dynamoWrites} DynamoDB writes, ${failed} failed conditions (${contention.wastedWritesPerCommit} wasted per commit)`,
  );

  // Tail fetch: a consumer at the tail of a busy partition (the 16-partition topic above,
  // ~100 batches in partition 0) gets one new batch per fetch: produce one, fetch it. Only the
  // fetches are counted.
  const fetches = quick ? 10 : 40;
  const tailRecords = makeRecords(1, recordBytes);
  const latencies: number[] = [];
  let offset = (await broker.offsets.listOffsets(tailTopic, 0, 'latest')).offset ?? 0;
  let batches = 0;
  let tailCounts: CallCounts = {};
  for (let i = 0; i < fetches; i++) {
    await broker.produce.produce({
      topic: tailTopic,
      records: tailRecords.map((r) => ({ ...r, partition: 0 })),
    });
    const before = counter.snapshot();
    const t0 = performance.now();
    const page = await broker.fetch.fetch({ topic: tailTopic, partition: 0, offset });
    latencies.push(performance.now() - t0);
    tailCounts = addCounts(tailCounts, counter.since(before));
    if (page.records.length !== 1) {
      throw new Error(`tail fetch at ${offset} returned ${page.records.length} records, not 1`);
    }
    offset = page.nextOffset;
    batches++;
  }
  const tailFetch: TailFetchResult = {
    fetches: latencies.length,
    batchesPerFetch: round(batches / latencies.length),
    perFetch: {
      ...perOperation(tailCounts, latencies.length),
      hintRaises: round(total(tailCounts, 'calls', ['UpdateItem']) / latencies.length, 4),
    },
    p50Ms: round(summarize(latencies).p50),
    commands: tailCounts,
  };
  log(
    `calls: tail fetch: ${tailFetch.perFetch.s3Gets} GET, ${tailFetch.perFetch.dynamoReads} DynamoDB reads (${tailFetch.perFetch.readUnits} read units) per fetch`,
  );

  const all = [...rows.map((r) => r.commands), counts, tailCounts];
  const capacityReported = all.some((c) => total(c, 'writeUnits') > 0 || total(c, 'readUnits') > 0);
  return { capacityReported, produce: rows, contention, tailFetch };
}
