import { afterAll, describe, expect, it } from 'vitest';
import { FAILURE_HEADERS } from '../../../lib/broker/dispatcher.js';
import { recordSize } from '../../../lib/broker/produce.js';
import type { LambdaHandler } from '../../../lib/local/lambda-endpoint.js';
import type { SelfManagedKafkaEvent } from '../../../lib/log/lambda-kafka-event.js';
import { testNames, uniqueName } from '../../helpers/aws.js';
import { faultyBroker, produceValues, readAll, subscribeFunction } from '../broker/helpers.js';
import { localDispatch } from '../broker/local-dispatch.js';

/**
 * Issue 15, items 8, 12 and 13: a consumer never wedged by one record, dead-letter chunks
 * never sent twice, and a dispatcher that knows its lease lapsed stops. The dispatcher's
 * broker has a fault injector on its real SDK clients.
 */

const { broker, faults, close } = faultyBroker({ maxAttempts: 3 });
// Registered first, so it runs last: after the dispatchers and the server are closed.
afterAll(() => {
  close();
});
const { functions, dispatcher } = localDispatch(() => broker);

/** A function that fails for values `fails` accepts and records every call's values. */
function failing(fails: (value: string) => boolean) {
  const name = uniqueName('fn');
  const calls: string[][] = [];
  const handler: LambdaHandler = async (event) => {
    const records = Object.values((event as SelfManagedKafkaEvent).records)[0] ?? [];
    const values = records.map((r) => Buffer.from(r.value ?? '', 'base64').toString('utf8'));
    calls.push(values);
    // 1,000 characters of error text: the most the dispatcher keeps, the worst case for size.
    if (values.some(fails)) throw new Error(`rejected: ${'e'.repeat(1000)}`);
  };
  functions.register({ name, handler });
  return { name, calls };
}

async function topicWith(configs: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('harden');
  await broker.topics.create({ name, partitions: 1, configs });
  return name;
}

describe('8: a failing record of exactly max.message.bytes', () => {
  it('ends on the dead-letter topic as its coordinates, and the partition moves on (retries 0, kept forever)', async () => {
    const limit = 4096;
    const configs = { 'max.message.bytes': String(limit), 'retention.ms': '-1' };
    const topic = await topicWith(configs);
    const dlq = await topicWith(configs);
    // One record whose batch is exactly the limit, as the broker counts it.
    const big = 'p'.repeat(limit - recordSize({ value: Buffer.alloc(0) }));
    expect(recordSize({ value: Buffer.from(big) })).toBe(limit);
    await produceValues(broker, topic, [big, 'after']);
    const fn = failing((v) => v === big);
    const sub = await subscribeFunction(broker, topic, fn.name, {
      batchSize: 1,
      maximumRetryAttempts: 0,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    const report = await dispatcher().run({ subscription: sub });
    expect(report.partitions[0]).toMatchObject({ deadLettered: 1, delivered: 1, committed: 2 });
    expect(fn.calls).toEqual([[big], ['after']]);
    const [dead, ...more] = await readAll(broker, dlq, 0);
    expect(more).toEqual([]);
    const header = (key: string) =>
      dead?.headers.find((h) => h.key === key)?.value?.toString('utf8');
    // Lambda's substitute: the coordinates, no payload, and why.
    expect(dead?.value).toBeNull();
    expect(dead?.key).toBeNull();
    expect(header(FAILURE_HEADERS.topic)).toBe(topic);
    expect(header(FAILURE_HEADERS.partition)).toBe('0');
    expect(header(FAILURE_HEADERS.offset)).toBe('0');
    expect(header(FAILURE_HEADERS.condition)).toBe('RetryAttemptsExhausted');
    expect(header(FAILURE_HEADERS.omitted)).toMatch(/max\.message\.bytes is 4096/);
  });

  it('a record that fits with its headers still goes whole', async () => {
    const topic = await topicWith();
    const dlq = await topicWith();
    await produceValues(broker, topic, ['small']);
    const fn = failing(() => true);
    const sub = await subscribeFunction(broker, topic, fn.name, {
      maximumRetryAttempts: 0,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    await dispatcher().run({ subscription: sub });
    const [dead] = await readAll(broker, dlq, 0);
    expect(dead?.value?.toString()).toBe('small');
    expect(dead?.headers.some((h) => h.key === FAILURE_HEADERS.omitted)).toBe(false);
  });
});

describe('12: dead-letter chunks already written are not sent again', () => {
  it('commits past each written chunk, so a failed later chunk resends only itself', async () => {
    const topic = await topicWith();
    const dlq = await topicWith();
    const values = Array.from({ length: 700 }, (_, i) => `r${i}`);
    await produceValues(broker, topic, values);
    const fn = failing(() => true);
    const sub = await subscribeFunction(broker, topic, fn.name, {
      batchSize: 1000,
      maximumRetryAttempts: 0,
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    const dlqId = (await broker.topics.describe(dlq)).topicId;
    // The second chunk's object cannot be written (500 records a chunk), on every attempt.
    faults.add({
      command: 'PutObject',
      action: 'serverError',
      when: (input) => String(input['Key']).includes(dlqId),
      skip: 1,
      times: Number.POSITIVE_INFINITY,
    });
    const first = await dispatcher().run({ subscription: sub });
    faults.reset();
    expect(first.partitions[0]?.outcome).toBe('stopped');
    // The first chunk landed and the group committed past it.
    expect((await broker.groups.committed(sub))[0]?.committed).toBe(500);
    await dispatcher().run({ subscription: sub });
    const dead = (await readAll(broker, dlq, 0)).map((r) => r.value?.toString());
    expect(dead).toEqual(values);
    expect((await broker.groups.committed(sub))[0]?.committed).toBe(700);
  });
});

describe('13: a dispatcher whose session lapsed stops working its batch', () => {
  it('stops retrying once its renewals fail past the session timeout', async () => {
    const topic = await topicWith();
    await produceValues(broker, topic, ['x']);
    const fn = failing(() => true);
    const sub = await subscribeFunction(broker, topic, fn.name, { maximumRetryAttempts: 10_000 });
    const groups = testNames().groupsTable;
    const d = dispatcher({
      sessionTimeoutMs: 600,
      workBudgetMs: 8000,
      backoff: { baseMs: 50, maxMs: 50 },
    });
    const running = d.run({ subscription: sub });
    // Once the first attempt has failed, every renewal of the member fails.
    while (fn.calls.length === 0) await new Promise((r) => setTimeout(r, 10));
    faults.add({
      command: 'UpdateItem',
      action: 'serverError',
      when: (input) =>
        input['TableName'] === groups && String(input['UpdateExpression']).includes('memberId ='),
      times: Number.POSITIVE_INFINITY,
    });
    const started = Date.now();
    const report = await running;
    faults.reset();
    expect(report.partitions[0]?.outcome).toBe('stopped');
    expect(report.partitions[0]?.error).toMatch(/session .* ran out|lapsed/);
    // Well before the 8 s budget: it stopped on its own, not at the end of the run.
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await broker.groups.committed(sub))[0]?.committed ?? 0).toBe(0);
  });
});
