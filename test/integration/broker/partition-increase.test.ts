import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import { createDispatcher } from '../../../lib/broker/dispatcher.js';
import { type LambdaHandler, LocalFunctions } from '../../../lib/local/lambda-endpoint.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import type { SelfManagedKafkaEvent } from '../../../lib/log/lambda-kafka-event.js';
import { partitionForKey } from '../../../lib/log/partitioner.js';
import { LambdaFunctionInvoker } from '../../../lib/store/function-invoker.js';
import { createLambdaClient } from '../../../lib/store/lambda-client.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, produceValues, readAll, subscribeFunction, text } from './helpers.js';

/**
 * Partitions added to a live topic (Kafka's CreatePartitions): old records stay where they
 * are, new partitions commit in the sequences fixed at creation (p % sequences), and every
 * reader (fetch, bounds, retention, groups, the dispatcher) sees them.
 */

let broker: Broker;
let functions: LocalFunctions;
let server: ApiServer;

beforeAll(async () => {
  broker = brokerForTest();
  functions = new LocalFunctions({ log: () => {} });
  server = await startApiServer({ broker, clusterId: 'test', functions, validateResponses: true });
});

afterAll(async () => {
  await server?.close();
});

/** A key that maps to a different partition under `before` than under `after`. */
function remappedKey(before: number, after: number): string {
  for (let i = 0; ; i++) {
    const key = `user-${i}`;
    if (partitionForKey(text(key), before) !== partitionForKey(text(key), after)) return key;
  }
}

describe('increasing partitions', () => {
  it('keeps old records, remaps keys for new records, and serves old and new partitions', async () => {
    const name = uniqueName('grow');
    const created = await broker.topics.create({
      name,
      partitions: 2,
      configs: { 'commit.sequences': 2 },
    });
    const key = remappedKey(2, 5);
    const before = await broker.produce.produce({
      topic: name,
      records: [{ key: text(key), value: text('old') }],
    });
    const oldPartition = before.records[0]?.partition as number;
    expect(oldPartition).toBe(partitionForKey(text(key), 2));

    const grown = await broker.topics.increasePartitions(name, 5);
    expect(grown.partitions).toBe(5);
    expect(grown.sequences).toBe(2);
    expect(grown.topicId).toBe(created.topicId);

    const after = await broker.produce.produce({
      topic: name,
      records: [{ key: text(key), value: text('new') }],
    });
    const newPartition = after.records[0]?.partition as number;
    expect(newPartition).toBe(partitionForKey(text(key), 5));
    expect(newPartition).not.toBe(oldPartition);

    // Every new partition, in both sequences (2 and 4 in sequence 0, 3 in sequence 1).
    for (const partition of [2, 3, 4]) {
      await produceValues(broker, name, [`p${partition}-a`, `p${partition}-b`], { partition });
    }
    expect((await readAll(broker, name, oldPartition)).map((r) => r.value?.toString())).toEqual([
      'old',
    ]);
    for (const partition of [2, 3, 4]) {
      const values = (await readAll(broker, name, partition)).map((r) => r.value?.toString());
      const expected = [`p${partition}-a`, `p${partition}-b`];
      if (partition === newPartition) expected.unshift('new');
      expect(values).toEqual(expected);
    }
    const described = await broker.topics.describe(name);
    expect(described.partitionOffsets.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
    expect(described.partitionOffsets[3]?.highWatermark).toBe(newPartition === 3 ? 3 : 2);
  });

  it('refuses a decrease or the same count with INVALID_PARTITIONS and changes nothing', async () => {
    const name = uniqueName('shrink');
    await broker.topics.create({ name, partitions: 3 });
    for (const count of [2, 3]) {
      const error = await broker.topics.increasePartitions(name, count).catch((e: unknown) => e);
      expect(isEventLogError(error, 'INVALID_PARTITIONS')).toBe(true);
      expect((error as Error).message).toContain('can only be increased');
    }
    const tooMany = await broker.topics.increasePartitions(name, 1001).catch((e: unknown) => e);
    expect(isEventLogError(tooMany, 'INVALID_PARTITIONS')).toBe(true);
    const missing = await broker.topics
      .increasePartitions(uniqueName('none'), 4)
      .catch((e: unknown) => e);
    expect(isEventLogError(missing, 'UNKNOWN_TOPIC')).toBe(true);
    expect((await broker.topics.get(name)).partitions).toBe(3);
  });

  it('lets a process that cached the old count fetch, list offsets and produce to new partitions', async () => {
    const name = uniqueName('stale');
    await broker.topics.create({ name, partitions: 1 });
    // Another process, whose topic cache would hold the old count for a minute.
    const reader = brokerForTest({ topicCacheTtlMs: 60_000 });
    await produceValues(reader, name, ['a']);
    expect((await reader.topics.resolve(name)).partitions).toBe(1);

    await broker.topics.increasePartitions(name, 3);
    await produceValues(broker, name, ['x', 'y'], { partition: 2 });

    expect((await readAll(reader, name, 2)).map((r) => r.value?.toString())).toEqual(['x', 'y']);
    expect((await reader.offsets.listOffsets(name, 2, 'latest')).offset).toBe(2);
    await produceValues(reader, name, ['z'], { partition: 1 });
    expect((await readAll(broker, name, 1)).map((r) => r.value?.toString())).toEqual(['z']);
    // A partition past the new count is still refused, after the re-read.
    const error = await reader.fetch
      .fetch({ topic: name, partition: 3, offset: 0 })
      .catch((e: unknown) => e);
    expect(isEventLogError(error, 'UNKNOWN_PARTITION')).toBe(true);
  });

  it('applies retention to partitions added later', async () => {
    const name = uniqueName('grow-retention');
    await broker.topics.create({ name, partitions: 1, configs: { 'retention.ms': 60_000 } });
    await broker.topics.increasePartitions(name, 2);
    await produceValues(broker, name, ['old-1', 'old-2'], { partition: 1, timestamp: 1_000 });
    await produceValues(broker, name, ['fresh'], { partition: 1 });
    await broker.retention.runOnce({ topics: [name] });
    const bounds = await broker.offsets.listOffsets(name, 1, 'earliest');
    expect(bounds.logStartOffset).toBe(2);
    const kept = await broker.fetch.fetch({ topic: name, partition: 1, offset: 2 });
    expect(kept.records.map((r) => r.value?.toString())).toEqual(['fresh']);
  });

  it('gives new partitions to the members of a consumer group at their next heartbeat', async () => {
    const name = uniqueName('grow-group');
    await broker.topics.create({ name, partitions: 2 });
    const group = uniqueName('g');
    const beat = () => broker.groups.heartbeat(group, 'm1', { topics: [name] });
    expect((await beat()).assignment.map((a) => a.partition).sort()).toEqual([0, 1]);
    await broker.topics.increasePartitions(name, 4);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the 1 s topic cache
    let owned: number[] = [];
    for (let i = 0; i < 5 && owned.length < 4; i++) {
      owned = (await beat()).assignment.map((a) => a.partition).sort();
    }
    expect(owned).toEqual([0, 1, 2, 3]);
  });

  it('dispatches a new partition from its start to a LATEST subscription made before it existed', async () => {
    const name = uniqueName('grow-dispatch');
    await broker.topics.create({ name, partitions: 1 });
    await produceValues(broker, name, ['before-subscription']);
    const fn = uniqueName('fn');
    const got: { partition: number; value: string }[] = [];
    const handler: LambdaHandler = async (event) => {
      for (const records of Object.values((event as SelfManagedKafkaEvent).records)) {
        for (const r of records) {
          got.push({
            partition: r.partition,
            value: Buffer.from(r.value ?? '', 'base64').toString(),
          });
        }
      }
    };
    functions.register({ name: fn, handler });
    const subscription = await subscribeFunction(broker, name, fn, { startingPosition: 'LATEST' });
    await broker.topics.increasePartitions(name, 2);
    await produceValues(broker, name, ['n1', 'n2'], { partition: 1 });
    await produceValues(broker, name, ['o1']);
    const dispatcher = createDispatcher(
      broker,
      new LambdaFunctionInvoker(createLambdaClient({ endpoint: server.url, maxAttempts: 1 })),
      { backoff: { baseMs: 2, maxMs: 10 }, pollIntervalMs: 20, log: () => {} },
    );
    try {
      for (let i = 0; i < 20; i++) {
        const report = await dispatcher.run({ subscription });
        if (report.partitions.every((p) => p.invocations === 0) && got.length >= 3) break;
      }
    } finally {
      dispatcher.close();
    }
    expect(got.sort((a, b) => a.value.localeCompare(b.value))).toEqual([
      { partition: 1, value: 'n1' },
      { partition: 1, value: 'n2' },
      { partition: 0, value: 'o1' },
    ]);
  });
});
