import { beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import { type Dispatcher, FAILURE_HEADERS } from '../../../lib/broker/dispatcher.js';
import type { LambdaHandler } from '../../../lib/local/lambda-endpoint.js';
import type {
  KafkaEventRecord,
  SelfManagedKafkaEvent,
} from '../../../lib/log/lambda-kafka-event.js';
import type { SubscriptionInput } from '../../../lib/log/subscription-config.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, produceValues, readAll, subscribeFunction, text } from './helpers.js';
import { localDispatch } from './local-dispatch.js';

/**
 * The dispatcher against the emulators, with consumer functions behind the local server's
 * Invoke endpoint: every invocation goes through @aws-sdk/client-lambda and real HTTP, as on
 * AWS. Backoffs and polls are a few ms so the suite stays fast.
 */

let broker: Broker;
beforeAll(() => {
  broker = brokerForTest();
});
const { functions, dispatcher } = localDispatch(() => broker);

interface Invocation {
  at: number;
  partition: number;
  records: KafkaEventRecord[];
  values: string[];
}

/** A consumer function that records what it got; `behave` decides its answer. */
function consumer(
  behave: (invocation: Invocation, all: Invocation[]) => unknown = () => undefined,
  options: { delayMs?: number } = {},
) {
  const name = uniqueName('fn');
  const calls: Invocation[] = [];
  const inFlight = new Map<number, number>();
  let overlapped = false;
  const handler: LambdaHandler = async (event) => {
    const e = event as SelfManagedKafkaEvent;
    expect(e.eventSource).toBe('SelfManagedKafka');
    const [key, records] = Object.entries(e.records)[0] as [string, KafkaEventRecord[]];
    const partition = records[0]?.partition as number;
    expect(key).toBe(`${records[0]?.topic}-${partition}`);
    const invocation: Invocation = {
      at: Date.now(),
      partition,
      records,
      values: records.map((r) => Buffer.from(r.value ?? '', 'base64').toString('utf8')),
    };
    calls.push(invocation);
    inFlight.set(partition, (inFlight.get(partition) ?? 0) + 1);
    if ((inFlight.get(partition) ?? 0) > 1) overlapped = true;
    try {
      if (options.delayMs !== undefined) await new Promise((r) => setTimeout(r, options.delayMs));
      return await behave(invocation, calls);
    } finally {
      inFlight.set(partition, (inFlight.get(partition) ?? 1) - 1);
    }
  };
  functions.register({ name, handler });
  return { name, calls, overlapped: () => overlapped };
}

async function topicWith(partitions: number): Promise<string> {
  const topic = uniqueName('dispatch');
  await broker.topics.create({ name: topic, partitions });
  return topic;
}

function produce(topic: string, values: string[], partition = 0, timestamp?: number) {
  return produceValues(broker, topic, values, {
    partition,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

function subscribe(
  topic: string,
  functionName: string,
  settings: Partial<SubscriptionInput> = {},
): Promise<string> {
  return subscribeFunction(broker, topic, functionName, settings);
}

/** Runs the dispatcher on one subscription until a run delivers nothing more. */
async function drain(d: Dispatcher, subscription: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const report = await d.run({ subscription });
    if (report.partitions.every((p) => p.invocations === 0)) return;
  }
  throw new Error('the dispatcher did not catch up');
}

describe('Dispatcher', () => {
  it('delivers each partition in offset order, across many batches, each record once', async () => {
    const topic = await topicWith(3);
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        [0, 1, 2].map((p) =>
          produce(
            topic,
            Array.from({ length: 20 }, (_, i) => `p${p}-${round * 20 + i}`),
            p,
          ),
        ),
      );
    }
    const fn = consumer(undefined, { delayMs: 2 });
    const sub = await subscribe(topic, fn.name, { batchSize: 7 });
    await drain(dispatcher(), sub);

    expect(fn.overlapped()).toBe(false);
    for (const p of [0, 1, 2]) {
      const mine = fn.calls.filter((c) => c.partition === p);
      expect(mine.every((c) => c.records.length <= 7)).toBe(true);
      expect(mine.length).toBe(Math.ceil(100 / 7));
      const offsets = mine.flatMap((c) => c.records.map((r) => r.offset));
      expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(mine.flatMap((c) => c.values)).toEqual(
        Array.from({ length: 100 }, (_, i) => `p${p}-${i}`),
      );
    }
    const committed = await broker.groups.committed(sub);
    expect(committed.map((c) => c.committed)).toEqual([100, 100, 100]);
  });

  it('sends the exact self-managed Kafka event: base64 key and value, byte-array headers, timestamps', async () => {
    const topic = await topicWith(1);
    await broker.produce.produce({
      topic,
      records: [
        {
          key: text('customer-42'),
          value: text('{"item":"book"}'),
          headers: [{ key: 'trace', value: text('abc') }],
          timestamp: 1_700_000_000_123,
        },
        { value: text('no key') },
      ],
    });
    const fn = consumer();
    const sub = await subscribe(topic, fn.name);
    await drain(dispatcher({ bootstrapServers: 'b-1.example:9092' }), sub);
    const [first, second] = fn.calls[0]?.records ?? [];
    expect(first).toEqual({
      topic,
      partition: 0,
      offset: 0,
      timestamp: 1_700_000_000_123,
      timestampType: 'CREATE_TIME',
      key: Buffer.from('customer-42').toString('base64'),
      value: Buffer.from('{"item":"book"}').toString('base64'),
      headers: [{ trace: [...Buffer.from('abc')] }],
    });
    expect(second).not.toHaveProperty('key');
  });

  it('respects batchSize and waits up to the batching window for a batch to fill', async () => {
    const topic = await topicWith(1);
    const fn = consumer();
    const sub = await subscribe(topic, fn.name, {
      batchSize: 5,
      maximumBatchingWindowInSeconds: 0.4,
    });
    const d = dispatcher();

    await produce(topic, ['a', 'b']);
    const started = Date.now();
    const running = d.run({ subscription: sub, topic, partitions: [0] });
    await new Promise((r) => setTimeout(r, 100));
    await produce(topic, ['c', 'd']);
    d.notify(topic, [0]);
    await running;
    // One batch of the four, sent when the window closed (nothing filled it to 5).
    expect(fn.calls.map((c) => c.values)).toEqual([['a', 'b', 'c', 'd']]);
    expect((fn.calls[0]?.at ?? 0) - started).toBeGreaterThanOrEqual(350);

    // A full batch does not wait; the remainder waits for the window.
    await produce(
      topic,
      Array.from({ length: 12 }, (_, i) => `x${i}`),
    );
    const again = Date.now();
    await d.run({ subscription: sub, topic, partitions: [0] });
    const sizes = fn.calls.slice(1).map((c) => c.records.length);
    expect(sizes).toEqual([5, 5, 2]);
    expect((fn.calls[1]?.at ?? 0) - again).toBeLessThan(300);
    expect((fn.calls[3]?.at ?? 0) - again).toBeGreaterThanOrEqual(350);
  });

  it('starts at TRIM_HORIZON, LATEST or AT_TIMESTAMP', async () => {
    const topic = await topicWith(1);
    const base = 1_700_000_000_000;
    await produce(topic, ['old-1', 'old-2'], 0, base);
    await produce(topic, ['mid-1', 'mid-2'], 0, base + 60_000);

    const trim = consumer();
    const latest = consumer();
    const at = consumer();
    const d = dispatcher();
    const subs = [
      await subscribe(topic, trim.name, { startingPosition: 'TRIM_HORIZON' }),
      await subscribe(topic, latest.name, { startingPosition: 'LATEST' }),
      await subscribe(topic, at.name, {
        startingPosition: 'AT_TIMESTAMP',
        startingPositionTimestamp: (base + 30_000) / 1000,
      }),
    ];
    await produce(topic, ['new-1']);
    for (const sub of subs) await drain(d, sub);

    const values = (fn: ReturnType<typeof consumer>) => fn.calls.flatMap((c) => c.values);
    expect(values(trim)).toEqual(['old-1', 'old-2', 'mid-1', 'mid-2', 'new-1']);
    expect(values(latest)).toEqual(['new-1']);
    expect(values(at)).toEqual(['mid-1', 'mid-2', 'new-1']);
  });

  it('with bisect, isolates a poison record, delivers the rest and dead-letters it with the reason', async () => {
    const topic = await topicWith(1);
    const dlq = await topicWith(1);
    const values = ['r0', 'r1', 'r2', 'r3', 'r4', 'poison', 'r6', 'r7'];
    await produce(topic, values);
    const fn = consumer((invocation) => {
      if (invocation.values.includes('poison')) throw new Error('cannot parse poison');
    });
    const sub = await subscribe(topic, fn.name, {
      batchSize: 8,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    await drain(dispatcher(), sub);

    const succeeded = fn.calls.filter((c) => !c.values.includes('poison')).flatMap((c) => c.values);
    expect(succeeded).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r6', 'r7']);
    // 8 → 4+4 → 2+2 → 1+1: the poison alone, then one retry.
    const poisonAlone = fn.calls.filter((c) => c.values.length === 1 && c.values[0] === 'poison');
    expect(poisonAlone).toHaveLength(2);

    const dead = await readAll(broker, dlq, 0);
    expect(dead).toHaveLength(1);
    const header = (name: string) =>
      dead[0]?.headers.find((h) => h.key === name)?.value?.toString('utf8');
    expect(dead[0]?.value?.toString('utf8')).toBe('poison');
    expect(header(FAILURE_HEADERS.condition)).toBe('RetryAttemptsExhausted');
    expect(header(FAILURE_HEADERS.error)).toContain('cannot parse poison');
    expect(header(FAILURE_HEADERS.topic)).toBe(topic);
    expect(header(FAILURE_HEADERS.partition)).toBe('0');
    expect(header(FAILURE_HEADERS.offset)).toBe('5');
    expect(header(FAILURE_HEADERS.attempts)).toBe('2');
    expect((await broker.groups.committed(sub))[0]?.committed).toBe(8);
  });

  it('with ReportBatchItemFailures, commits up to the failed record and resumes from it', async () => {
    const topic = await topicWith(1);
    await produce(topic, ['a', 'b', 'bad', 'c', 'd']);
    let failedOnce = false;
    const fn = consumer((invocation) => {
      const bad = invocation.records.find((_, i) => invocation.values[i] === 'bad');
      if (bad !== undefined && !failedOnce) {
        failedOnce = true;
        return {
          batchItemFailures: [
            { itemIdentifier: { 'topic-partition': `${topic}-0`, offset: bad.offset } },
            // Lambda checkpoints at the lowest failure; later ones are retried anyway.
            { itemIdentifier: `${topic}-0-4` },
          ],
        };
      }
      return { batchItemFailures: [] };
    });
    const sub = await subscribe(topic, fn.name, {
      functionResponseTypes: ['ReportBatchItemFailures'],
    });
    await drain(dispatcher(), sub);
    expect(fn.calls.map((c) => c.values)).toEqual([
      ['a', 'b', 'bad', 'c', 'd'],
      ['bad', 'c', 'd'],
    ]);
    expect((await broker.groups.committed(sub))[0]?.committed).toBe(5);
  });

  it('with ReportBatchItemFailures, dead-letters only the reported record once its retries are spent', async () => {
    const topic = await topicWith(1);
    const dlq = await topicWith(1);
    await produce(topic, ['a', 'bad', 'c', 'd']);
    const fn = consumer((invocation) => {
      const at = invocation.values.indexOf('bad');
      if (at < 0) return null;
      // A handler that stops at its first failure, as stream consumers should.
      const offset = invocation.records[at]?.offset;
      return {
        batchItemFailures: [{ itemIdentifier: { 'topic-partition': `${topic}-0`, offset } }],
      };
    });
    const sub = await subscribe(topic, fn.name, {
      functionResponseTypes: ['ReportBatchItemFailures'],
      maximumRetryAttempts: 1,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    await drain(dispatcher(), sub);
    expect(fn.calls.map((c) => c.values)).toEqual([
      ['a', 'bad', 'c', 'd'],
      ['bad', 'c', 'd'],
      ['c', 'd'],
    ]);
    expect((await readAll(broker, dlq, 0)).map((r) => r.value?.toString())).toEqual(['bad']);
    expect((await broker.groups.committed(sub))[0]?.committed).toBe(4);
  });

  it('treats an identifier that names no record of the batch as a failure of the whole batch', async () => {
    const topic = await topicWith(1);
    await produce(topic, ['a', 'b']);
    const fn = consumer((_invocation, all) =>
      all.length === 1 ? { batchItemFailures: [{ itemIdentifier: 'nonsense' }] } : null,
    );
    const sub = await subscribe(topic, fn.name, {
      functionResponseTypes: ['ReportBatchItemFailures'],
    });
    await drain(dispatcher(), sub);
    expect(fn.calls.map((c) => c.values)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });

  it('with maximumRetryAttempts 2, makes exactly 3 attempts, then moves on', async () => {
    const topic = await topicWith(1);
    const dlq = await topicWith(1);
    await produce(topic, ['x', 'y']);
    const fn = consumer((invocation) => {
      if (invocation.values.includes('x')) throw new Error('always fails');
    });
    const sub = await subscribe(topic, fn.name, {
      maximumRetryAttempts: 2,
      batchSize: 1,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    const report = await dispatcher().run({ subscription: sub });
    expect(fn.calls.filter((c) => c.values.includes('x'))).toHaveLength(3);
    // The partition moved on: y was delivered after x was given up on.
    expect(fn.calls.at(-1)?.values).toEqual(['y']);
    expect(report.partitions[0]).toMatchObject({ deadLettered: 1, delivered: 1, committed: 2 });
    const dead = await readAll(broker, dlq, 0);
    expect(dead.map((r) => r.value?.toString())).toEqual(['x']);
  });

  it('never skips records of a failing function without a destination silently: it logs the drop', async () => {
    const topic = await topicWith(1);
    await produce(topic, ['x']);
    const fn = consumer(() => {
      throw new Error('nope');
    });
    const lines: string[] = [];
    const sub = await subscribe(topic, fn.name, { maximumRetryAttempts: 0 });
    const report = await dispatcher({ log: (line) => lines.push(line) }).run({ subscription: sub });
    expect(report.partitions[0]).toMatchObject({ dropped: 1, committed: 1 });
    expect(lines.join('\n')).toMatch(/DROPPED 1 record\(s\) .* RetryAttemptsExhausted/);
  });

  it('keeps records in place while retries remain, across runs', async () => {
    const topic = await topicWith(1);
    await produce(topic, ['x']);
    let fail = true;
    const fn = consumer(() => {
      if (fail) throw new Error('down');
    });
    const sub = await subscribe(topic, fn.name, { maximumRetryAttempts: 5 });
    // A budget that ends the run during the backoff after the first failure.
    const first = await dispatcher({
      workBudgetMs: 300,
      backoff: { baseMs: 10_000, maxMs: 10_000 },
    }).run({
      subscription: sub,
    });
    expect(first.partitions[0]).toMatchObject({ outcome: 'retrying', committed: 0 });
    const described = await broker.subscriptions.get(sub);
    expect(described.failing).toMatchObject([{ partition: 0, offset: 0, attempts: 1 }]);
    fail = false;
    await drain(dispatcher(), sub);
    expect((await broker.groups.committed(sub))[0]?.committed).toBe(1);
    expect((await broker.subscriptions.get(sub)).failing).toEqual([]);
  });

  it('delivers each batch once when two dispatchers race on the same partitions', async () => {
    const topic = await topicWith(2);
    const fn = consumer(undefined, { delayMs: 5 });
    const sub = await subscribe(topic, fn.name, { batchSize: 3 });
    const a = dispatcher();
    const b = dispatcher();
    const produced = (async () => {
      for (let i = 0; i < 20; i++) {
        await produce(topic, [`v${i}`], i % 2);
        await Promise.all([
          a.run({ topic, partitions: [i % 2] }),
          b.run({ topic, partitions: [i % 2] }),
        ]);
      }
    })();
    await produced;
    await Promise.all([drain(a, sub), drain(b, sub)]);

    expect(fn.overlapped()).toBe(false);
    for (const p of [0, 1]) {
      const offsets = fn.calls
        .filter((c) => c.partition === p)
        .flatMap((c) => c.records.map((r) => r.offset));
      expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => i));
    }
  });

  it('does nothing on a partition whose lease another dispatcher holds, and the holder sees records that came meanwhile', async () => {
    const topic = await topicWith(1);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fn = consumer(async (_invocation, all) => {
      if (all.length === 1) await gate;
    });
    const sub = await subscribe(topic, fn.name);
    const holder = dispatcher();
    const other = dispatcher();
    await produce(topic, ['first']);
    const holding = holder.run({ subscription: sub });
    while (fn.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    // A record committed while the holder is busy: its notification finds the lease held.
    await produce(topic, ['second']);
    const notified = await other.run({ topic, partitions: [0] });
    expect(notified.partitions[0]?.outcome).toBe('held');
    release();
    await holding;
    expect(fn.calls.flatMap((c) => c.values)).toEqual(['first', 'second']);
  });
});
