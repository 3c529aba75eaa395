import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import { ManualClock } from '../../../lib/broker/clock.js';
import { createDispatcher } from '../../../lib/broker/dispatcher.js';
import { LagMetrics } from '../../../lib/broker/lag-metrics.js';
import { MetricsEmitter } from '../../../lib/broker/metrics.js';
import { LocalFunctions } from '../../../lib/local/lambda-endpoint.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import { type EmfDocument, METRICS } from '../../../lib/log/metrics.js';
import { LambdaFunctionInvoker } from '../../../lib/store/function-invoker.js';
import { createLambdaClient } from '../../../lib/store/lambda-client.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, subscribeFunction, text } from './helpers.js';

/**
 * The EMF documents the log writes, read back as CloudWatch Logs would: produce through the
 * broker, a failing consumer through the local Lambda endpoint (real HTTP, the real Lambda
 * client), and the maintenance pass's lag of a subscription and of an SDK group.
 */

let clock: ManualClock;
let broker: Broker;
let functions: LocalFunctions;
let server: ApiServer;
const lines: string[] = [];

beforeAll(async () => {
  clock = new ManualClock();
  broker = brokerForTest({
    clock,
    metrics: new MetricsEmitter((line) => lines.push(line), { clock }),
  });
  functions = new LocalFunctions({ log: () => {} });
  server = await startApiServer({ broker, clusterId: 'test', functions, validateResponses: true });
});

afterAll(async () => {
  await server?.close();
});

/** Parses and checks every line against the EMF specification; the documents, in order. */
function documents(): EmfDocument[] {
  return lines.splice(0).map((line) => {
    const doc = JSON.parse(line) as EmfDocument;
    expect(doc._aws.Timestamp).toBe(clock.now());
    expect(doc._aws.CloudWatchMetrics).toHaveLength(1);
    const [directive] = doc._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe('EventLog');
    for (const set of directive?.Dimensions ?? []) {
      for (const name of set) expect(typeof doc[name]).toBe('string');
    }
    for (const metric of directive?.Metrics ?? []) {
      expect(typeof doc[metric.Name]).toBe('number');
      expect(metric.Unit).toBe(METRICS[metric.Name as keyof typeof METRICS].unit);
    }
    return doc;
  });
}

/** The members a document carries beyond `_aws`, and its dimension names. */
function figures(doc: EmfDocument | undefined) {
  if (doc === undefined) return undefined;
  const { _aws, ...rest } = doc;
  return { dimensions: _aws.CloudWatchMetrics[0]?.Dimensions, ...rest };
}

function dispatcher() {
  return createDispatcher(
    broker,
    new LambdaFunctionInvoker(createLambdaClient({ endpoint: server.url, maxAttempts: 1 })),
    { backoff: { baseMs: 1, maxMs: 2 }, pollIntervalMs: 10, log: () => {} },
  );
}

describe('EMF metrics', () => {
  it('counts produce per topic, and only for topics that exist', async () => {
    const topic = uniqueName('emf');
    await broker.topics.create({ name: topic, partitions: 2 });
    documents();

    await broker.produce.produce({
      topic,
      records: [
        { key: text('k1'), value: text('hello'), headers: [{ key: 'h', value: text('vv') }] },
        { key: null, value: text('abc') },
      ],
    });
    expect(documents().map(figures)).toEqual([
      {
        dimensions: [['Topic']],
        Topic: topic,
        ProduceRequests: 1,
        ProduceErrors: 0,
        ProducedRecords: 2,
        // 2 + 5 + 1 + 2 (the first record's key, value, header name and value) + 3.
        ProducedBytes: 13,
      },
    ]);

    await expect(
      broker.produce.produce({ topic, records: [{ partition: 7, value: text('x') }] }),
    ).rejects.toThrow();
    await expect(
      broker.produce.produce({ topic: uniqueName('nowhere'), records: [{ value: text('x') }] }),
    ).rejects.toThrow();
    // The refused request counts as an error; the unknown topic makes no metric at all.
    expect(documents().map(figures)).toEqual([
      {
        dimensions: [['Topic']],
        Topic: topic,
        ProduceRequests: 1,
        ProduceErrors: 1,
      },
    ]);
  });

  it('counts a failing Lambda consumer’s invocations, errors, retries and dead letters, and its lag', async () => {
    const topic = uniqueName('emf-sub');
    const dlq = uniqueName('emf-dlq');
    await broker.topics.create({ name: topic, partitions: 1 });
    await broker.topics.create({ name: dlq, partitions: 1 });
    const fn = uniqueName('fn');
    let calls = 0;
    functions.register({
      name: fn,
      handler: async () => {
        calls++;
        throw new Error('always fails');
      },
    });
    const subscription = await subscribeFunction(broker, topic, fn, {
      maximumRetryAttempts: 1,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    const producedAt = clock.now();
    await broker.produce.produce({
      topic,
      records: ['a', 'b', 'c'].map((v) => ({ partition: 0, value: text(v) })),
    });
    documents();

    // Before any delivery: the subscription lags by the three records, 5 s old.
    clock.set(producedAt + 5_000);
    const lag = new LagMetrics(broker.lag, broker.groups, broker.subscriptions, broker.metrics!);
    const before = await lag.runOnce();
    expect(before.errors.filter((e) => e.name === subscription)).toEqual([]);
    const mine = (docs: EmfDocument[]) =>
      docs.filter((d) => d['Subscription'] === subscription).map(figures);
    expect(mine(documents())).toEqual([
      { dimensions: [['Subscription']], Subscription: subscription, OffsetLag: 3, TimeLag: 5_000 },
    ]);

    // One attempt and one retry fail; the three records go to the dead-letter topic.
    const d = dispatcher();
    await d.run({ subscription });
    d.close();
    expect(calls).toBe(2);
    const docs = documents();
    expect(mine(docs)).toEqual([
      {
        dimensions: [['Subscription']],
        Subscription: subscription,
        Invocations: 2,
        FunctionErrors: 2,
        Retries: 1,
        OnFailureRecords: 3,
        DroppedRecords: 0,
        ExpiredRecords: 0,
      },
    ]);
    // The dead-letter writes are produce requests to that topic like any other.
    expect(docs.filter((doc) => doc['Topic'] === dlq).map(figures)).toMatchObject([
      { Topic: dlq, ProduceRequests: 1, ProduceErrors: 0, ProducedRecords: 3 },
    ]);

    // Given up on and committed: no lag left.
    await lag.runOnce();
    expect(mine(documents())).toEqual([
      { dimensions: [['Subscription']], Subscription: subscription, OffsetLag: 0, TimeLag: 0 },
    ]);
  });

  it('counts records that expire before delivery', async () => {
    const topic = uniqueName('emf-age');
    await broker.topics.create({ name: topic, partitions: 1 });
    const fn = uniqueName('fn');
    let calls = 0;
    functions.register({ name: fn, handler: async () => void calls++ });
    const subscription = await subscribeFunction(broker, topic, fn, {
      maximumRecordAgeInSeconds: 60,
    });
    await broker.produce.produce({
      topic,
      records: [
        { partition: 0, value: text('old'), timestamp: clock.now() - 120_000 },
        { partition: 0, value: text('old too'), timestamp: clock.now() - 90_000 },
      ],
    });
    documents();
    const d = dispatcher();
    await d.run({ subscription });
    d.close();
    expect(calls).toBe(0);
    expect(
      documents()
        .filter((doc) => doc['Subscription'] === subscription)
        .map(figures),
    ).toEqual([
      {
        dimensions: [['Subscription']],
        Subscription: subscription,
        Invocations: 0,
        FunctionErrors: 0,
        Retries: 0,
        OnFailureRecords: 0,
        DroppedRecords: 2,
        ExpiredRecords: 2,
      },
    ]);
  });

  it('measures the lag of an SDK consumer group, per partition when asked', async () => {
    const topic = uniqueName('emf-group');
    const group = uniqueName('emf-sdk');
    await broker.topics.create({ name: topic, partitions: 2 });
    const producedAt = clock.now();
    await broker.produce.produce({
      topic,
      records: [0, 0, 0, 1].map((partition, i) => ({ partition, value: text(`v${i}`) })),
    });
    await broker.groups.reset(group, {
      topic,
      partitions: [0],
      target: { to: 'offset', offset: 1 },
    });
    await broker.groups.reset(group, { topic, partitions: [1], target: { to: 'latest' } });
    documents();
    clock.set(producedAt + 42_000);

    const collected: string[] = [];
    const perPartition = new MetricsEmitter((line) => collected.push(line), {
      clock,
      perPartition: true,
    });
    const report = await new LagMetrics(
      broker.lag,
      broker.groups,
      broker.subscriptions,
      perPartition,
    ).runOnce();
    expect(report.errors.filter((e) => e.name === group)).toEqual([]);
    expect(report.groups).toBeGreaterThanOrEqual(1);
    lines.push(...collected);
    const mine = documents()
      .filter((doc) => doc['Group'] === group)
      .map(figures);
    expect(mine).toEqual([
      { dimensions: [['Group']], Group: group, OffsetLag: 2, TimeLag: 42_000 },
      {
        dimensions: [['Group', 'Topic', 'Partition']],
        Group: group,
        Topic: topic,
        Partition: '0',
        OffsetLag: 2,
        TimeLag: 42_000,
      },
      {
        dimensions: [['Group', 'Topic', 'Partition']],
        Group: group,
        Topic: topic,
        Partition: '1',
        OffsetLag: 0,
        TimeLag: 0,
      },
    ]);
  });
});
