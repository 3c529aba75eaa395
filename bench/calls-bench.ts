import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ProduceRecord } from '../lib/broker/produce.js';
import {
  addCounts,
  type CallCounts,
  DYNAMODB_READ_COMMANDS,
  DYNAMODB_WRITE_COMMANDS,
  total,
} from '../lib/store/call-counter.js';
import { commitItem } from '../lib/store/commit-log-store.js';
import { stateKey } from '../lib/store/producer-store.js';
import { BENCH_TOPIC_CONFIGS, type BenchContext, makeRecords } from './context.js';
import { dynamoItemBytes } from './item-size.js';
import { runLoad } from './load.js';
import { round, summarize } from './stats.js';

/**
 * AWS calls per operation, counted exactly by the call counter on the real clients, with the
 * consumed capacity DynamoDB reports (storage engine v2, docs/architecture.md):
 *
 * - per produce request touching 1, 4, 16 and 64 partitions of topics of 16 and 64
 *   partitions, plain and idempotent, with the sizes of the items written;
 * - wasted (failed, billed) conditional writes per commit with 32 producers on one topic;
 * - per tail fetch (one new commit) for a consumer owning 1 partition (`fetch`) and 16
 *   partitions (`fetchMany`).
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
  /** The topic's partitions (one commit sequence: the default up to 64). */
  partitions: number;
  partitionsTouched: number;
  idempotent: boolean;
  recordsPerRequest: number;
  recordBytes: number;
  requests: number;
  perRequest: PerOperation;
  /**
   * Item sizes as DynamoDB bills them (attribute names + values), read back after the row:
   * the sequence head (one attribute per partition ever written), one commit of this row,
   * and the producer's state item (idempotent rows).
   */
  itemBytes: { head: number; commit: number; state?: number };
  /** Calls by command name over the whole row. */
  commands: CallCounts;
}

export interface ContentionResult {
  producers: number;
  partitions: number;
  idempotent: boolean;
  commits: number;
  errors: number;
  dynamoWrites: number;
  writeUnits: number;
  failedConditions: number;
  wastedWritesPerCommit: number;
  p50Ms: number;
  p99Ms: number;
}

export interface TailFetchResult {
  /** Partitions the consumer owns (1: `fetch`; more: one `fetchMany` for all). */
  partitions: number;
  topicPartitions: number;
  fetches: number;
  /** Records returned per fetch (one new commit each time, touching every owned partition). */
  recordsPerFetch: number;
  perFetch: PerOperation & { hintRaises: number };
  p50Ms: number;
  commands: CallCounts;
}

export interface CallsBenchResult {
  /** True when DynamoDB Local reported ConsumedCapacity (units are then measured, not computed). */
  capacityReported: boolean;
  produce: ProduceCallsRow[];
  contention: ContentionResult[];
  tailFetches: TailFetchResult[];
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

/** One record per partition in [0, touched), each naming its partition. */
function spread(touched: number, recordBytes: number): ProduceRecord[] {
  return makeRecords(touched, recordBytes).map((r, p) => ({ ...r, partition: p }));
}

/** An idempotent producer writing `records`: its next base sequence per partition. */
async function idempotentProducer(context: BenchContext, records: ProduceRecord[]) {
  const { producerId, producerEpoch } = await context.broker.producers.init();
  const next = new Map<number, number>();
  return {
    producerId,
    request(topic: string) {
      const baseSequences: Record<number, number> = {};
      for (const r of records) {
        const p = r.partition as number;
        if (baseSequences[p] === undefined) baseSequences[p] = next.get(p) ?? 0;
        next.set(p, (next.get(p) ?? 0) + 1);
      }
      return { topic, records, producer: { producerId, producerEpoch, baseSequences } };
    },
  };
}

function assertWritten(result: { records: { error?: unknown }[] }): void {
  const failed = result.records.find((r) => r.error !== undefined);
  if (failed !== undefined) throw failed.error;
}

export async function runCallsBench(context: BenchContext): Promise<CallsBenchResult> {
  const rows = await measureProduceCalls(context);
  const contention = await measureContention(context);
  const tailFetches = await measureTailFetches(context);
  const all = [...rows.map((r) => r.commands), ...tailFetches.map((t) => t.commands)];
  const capacityReported = all.some((c) => total(c, 'writeUnits') > 0 || total(c, 'readUnits') > 0);
  return { capacityReported, produce: rows, contention, tailFetches };
}

/**
 * The calls of one produce request, per shape: 16 and 64 partitions, plain and idempotent,
 * touching 1 to 64 of them.
 */
async function measureProduceCalls(context: BenchContext): Promise<ProduceCallsRow[]> {
  const { broker, counter, quick, log, env } = context;
  const requestsPerRow = quick ? 8 : 24;
  const recordBytes = 1024;
  const rows: ProduceCallsRow[] = [];
  const readItem = async (pk: string, sk: number) =>
    (
      await env.clients.doc.send(
        new GetCommand({ TableName: env.names.logTable, Key: { pk, sk }, ConsistentRead: true }),
      )
    ).Item;

  for (const partitions of [16, 64]) {
    for (const idempotent of [false, true]) {
      // A fresh topic per kind, so that the head holds the partitions of this test only.
      const topic = context.topicName(`calls-p${partitions}${idempotent ? '-idem' : ''}`);
      await broker.topics.create({ name: topic, partitions, configs: BENCH_TOPIC_CONFIGS });
      const { topicId } = await broker.topics.resolve(topic);
      // Steady state: every partition written once, so that the head and every commit's
      // offset vector hold all of the topic's partitions, as they do on a topic in use.
      assertWritten(await broker.produce.produce({ topic, records: spread(partitions, 100) }));
      const shapes: [number, number][] = [1, 4, 16, 64]
        .filter((t) => t <= partitions)
        .map((t) => [t, recordBytes]);
      // Workload (c)'s request: 64 records of 16 KiB, one per partition (wider positions).
      if (partitions === 64 && !idempotent) shapes.push([64, 16 * 1024]);
      for (const [touched, recordBytes] of shapes) {
        const records = spread(touched, recordBytes);
        // Four producers in parallel, each with its own id (a producer's requests are sequential).
        const producers = idempotent
          ? await Promise.all(Array.from({ length: 4 }, () => idempotentProducer(context, records)))
          : [];
        const before = counter.snapshot();
        const result = await runLoad(
          { concurrency: 4, durationMs: 60_000, maxRequests: requestsPerRow, warmupRequests: 0 },
          async (worker) => {
            const request = idempotent
              ? (producers[worker] as Awaited<ReturnType<typeof idempotentProducer>>).request(topic)
              : { topic, records };
            assertWritten(await broker.produce.produce(request));
          },
        );
        const counts = counter.since(before);
        const requests = result.requests + result.errors;
        if (result.errors > 0) throw new Error(`calls: produce failed: ${result.firstError}`);
        // The last commit of the sequence and the head, as stored.
        const head = (await readItem(`${topicId}/0/head`, 0)) ?? {};
        const last = await broker.stores.commits.commit(topicId, 0, head['c'] as number);
        if (last?.kind !== 'published') throw new Error('calls: the last commit is not there');
        const state =
          producers[0] === undefined
            ? undefined
            : await readItem(
                stateKey(topicId, 0, { kind: 'producer', producerId: producers[0].producerId }),
                0,
              );
        const row: ProduceCallsRow = {
          partitions,
          partitionsTouched: touched,
          idempotent,
          recordsPerRequest: records.length,
          recordBytes,
          requests,
          perRequest: perOperation(counts, requests),
          itemBytes: {
            head: dynamoItemBytes(head),
            commit: dynamoItemBytes(commitItem(topicId, 0, last)),
            ...(state === undefined ? {} : { state: dynamoItemBytes(state) }),
          },
          commands: counts,
        };
        rows.push(row);
        log(
          `calls: ${idempotent ? 'idempotent' : 'plain'} produce touching ${touched} of ${partitions} partitions: ${row.perRequest.s3Puts} PUT, ${row.perRequest.dynamoWrites} DynamoDB writes = ${row.perRequest.writeUnits} WCU, ${row.perRequest.dynamoReads} reads (${row.perRequest.readUnits} RCU) per request; commit item ${row.itemBytes.commit} B, head ${row.itemBytes.head} B`,
        );
      }
    }
  }
  return rows;
}

/**
 * Contention: 32 producers on one topic, single-record requests spread over its 16
 * partitions. The reservation is an ADD without a condition; the commit put's condition can
 * only fail against an aborted marker, which nothing writes here.
 */
async function measureContention(context: BenchContext): Promise<ContentionResult[]> {
  const { broker, counter, quick, log } = context;
  const contention: ContentionResult[] = [];
  const producers = 32;
  for (const idempotent of [false, true]) {
    const topic = context.topicName(`contention${idempotent ? '-idem' : ''}`);
    await broker.topics.create({ name: topic, partitions: 16, configs: BENCH_TOPIC_CONFIGS });
    const writers = await Promise.all(
      Array.from({ length: producers }, async (_, i) => {
        const records = makeRecords(1, 100, i % 16);
        return idempotent ? await idempotentProducer(context, records) : records;
      }),
    );
    const before = counter.snapshot();
    const result = await runLoad(
      {
        concurrency: producers,
        durationMs: quick ? 1500 : 4000,
        maxRequests: 20_000,
        warmupRequests: 0,
      },
      async (worker) => {
        const writer = writers[worker];
        const request = Array.isArray(writer)
          ? { topic, records: writer }
          : (writer as Awaited<ReturnType<typeof idempotentProducer>>).request(topic);
        assertWritten(await broker.produce.produce(request));
      },
    );
    const counts = counter.since(before);
    const commits = result.requests;
    const failed = total(counts, 'failedConditions');
    const row: ContentionResult = {
      producers,
      partitions: 16,
      idempotent,
      commits,
      errors: result.errors,
      dynamoWrites: total(counts, 'calls', DYNAMODB_WRITE_COMMANDS),
      writeUnits: round(total(counts, 'writeUnits'), 2),
      failedConditions: failed,
      wastedWritesPerCommit: round(failed / Math.max(1, commits), 4),
      p50Ms: round(result.latencyMs.p50),
      p99Ms: round(result.latencyMs.p99),
    };
    contention.push(row);
    log(
      `calls: ${producers} ${idempotent ? 'idempotent ' : ''}producers on one topic of 16 partitions: ${commits} commits, ${row.dynamoWrites} DynamoDB writes, ${failed} failed conditions (${row.wastedWritesPerCommit} wasted per commit), ${result.errors} errors`,
    );
  }
  return contention;
}

/**
 * Tail fetch: a consumer at the tail of a topic of 16 partitions, each round one new commit
 * touching every partition it owns; only the fetches are counted.
 */
async function measureTailFetches(context: BenchContext): Promise<TailFetchResult[]> {
  const { broker, counter, quick, log } = context;
  const recordBytes = 1024;
  const tailFetches: TailFetchResult[] = [];
  const tailTopic = context.topicName('tail');
  await broker.topics.create({ name: tailTopic, partitions: 16, configs: BENCH_TOPIC_CONFIGS });
  // Some history first, so that the walk is not from an empty sequence.
  for (let i = 0; i < 20; i++) {
    assertWritten(
      await broker.produce.produce({ topic: tailTopic, records: spread(16, recordBytes) }),
    );
  }
  for (const owned of [1, 16]) {
    const fetches = quick ? 10 : 40;
    const records = spread(owned, recordBytes);
    const offsets = new Map<number, number>();
    for (let p = 0; p < owned; p++) {
      offsets.set(p, (await broker.offsets.listOffsets(tailTopic, p, 'latest')).offset ?? 0);
    }
    // One untimed round, so that this process has seen the sequence up to the tail.
    const round_ = async (counted: boolean) => {
      assertWritten(await broker.produce.produce({ topic: tailTopic, records }));
      const before = counter.snapshot();
      const t0 = performance.now();
      const wants = [...offsets].map(([partition, offset]) => ({ partition, offset }));
      const pages =
        owned === 1
          ? [await broker.fetch.fetch({ topic: tailTopic, ...(wants[0] as (typeof wants)[0]) })]
          : await broker.fetch.fetchMany({ topic: tailTopic, partitions: wants });
      const ms = performance.now() - t0;
      const counts = counter.since(before);
      let got = 0;
      for (const page of pages) {
        if ('error' in page) throw page.error;
        got += page.records.length;
        offsets.set(page.partition, page.nextOffset);
      }
      if (got !== owned) {
        throw new Error(`tail fetch of ${owned} partitions returned ${got} records, not ${owned}`);
      }
      return counted ? { ms, counts } : undefined;
    };
    await round_(false);
    const latencies: number[] = [];
    let counts: CallCounts = {};
    for (let i = 0; i < fetches; i++) {
      const r = (await round_(true)) as { ms: number; counts: CallCounts };
      latencies.push(r.ms);
      counts = addCounts(counts, r.counts);
    }
    const tail: TailFetchResult = {
      partitions: owned,
      topicPartitions: 16,
      fetches,
      recordsPerFetch: owned,
      perFetch: {
        ...perOperation(counts, fetches),
        hintRaises: round(total(counts, 'calls', ['UpdateItem']) / fetches, 4),
      },
      p50Ms: round(summarize(latencies).p50),
      commands: counts,
    };
    tailFetches.push(tail);
    log(
      `calls: tail fetch of ${owned} partition${owned === 1 ? '' : 's'} (${owned === 1 ? 'fetch' : 'fetchMany'}): ${tail.perFetch.s3Gets} GET, ${tail.perFetch.dynamoReads} DynamoDB reads = ${tail.perFetch.readUnits} read units per fetch`,
    );
  }
  return tailFetches;
}
