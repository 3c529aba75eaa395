import { readFileSync } from 'node:fs';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import type { LambdaHandler } from '../../../lib/local/lambda-endpoint.js';
import type { FilterCriteria } from '../../../lib/log/filter-pattern.js';
import type { SelfManagedKafkaEvent } from '../../../lib/log/lambda-kafka-event.js';
import type { S3InvocationRecord } from '../../../lib/log/on-failure-record.js';
import { testClients, uniqueName } from '../../helpers/aws.js';
import { brokerForTest, produceValues, subscribeFunction } from './helpers.js';
import { FAST_DISPATCH, localDispatch } from './local-dispatch.js';

/**
 * Lambda's FilterCriteria and the S3 on-failure destination, end to end: the real dispatcher,
 * consumer functions behind the local Invoke endpoint (through @aws-sdk/client-lambda), the
 * group's commits in DynamoDB Local, and failure records in s3rver read back with the real SDK.
 */

const BOOTSTRAP = 'eventlog.test:9092';
let broker: Broker;
beforeAll(() => {
  broker = brokerForTest();
});
const { functions, dispatcher } = localDispatch(() => broker, {
  ...FAST_DISPATCH,
  bootstrapServers: BOOTSTRAP,
});

/** A consumer that keeps the values of each invocation; `behave` may throw. */
function consumer(behave: (values: string[]) => unknown = () => undefined) {
  const name = uniqueName('fn');
  const calls: string[][] = [];
  const handler: LambdaHandler = async (event) => {
    const records = Object.values((event as SelfManagedKafkaEvent).records).flat();
    const values = records.map((r) => Buffer.from(r.value ?? '', 'base64').toString('utf8'));
    calls.push(values);
    return behave(values);
  };
  functions.register({ name, handler });
  return { name, calls };
}

async function topic(): Promise<string> {
  const name = uniqueName('filt');
  await broker.topics.create({ name, partitions: 1 });
  return name;
}

async function committed(group: string): Promise<number | undefined> {
  return (await broker.groups.committed(group))[0]?.committed;
}

/** The fenced block after `<!-- example: {name} -->` in docs/lambda-consumers.md. */
function docExample(name: string): string {
  const doc = readFileSync(new URL('../../../docs/lambda-consumers.md', import.meta.url), 'utf8');
  const at = doc.indexOf(`<!-- example: ${name} -->`);
  expect(at).toBeGreaterThan(-1);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(doc.slice(at));
  expect(block).not.toBeNull();
  return String(block?.[1]).trim();
}

describe('filterCriteria', () => {
  it('delivers exactly the records the documented pattern keeps, and commits past the others', async () => {
    const filterCriteria = JSON.parse(docExample('filter-criteria')) as FilterCriteria;
    const values = docExample('filter-records').split('\n');
    const t = await topic();
    const fn = consumer();
    const sub = await subscribeFunction(broker, t, fn.name, { filterCriteria, batchSize: 100 });
    await produceValues(broker, t, values);

    const report = await dispatcher().run({ subscription: sub });

    // What the doc says the function gets: the AB devices, and the plain-string INFO line.
    expect(fn.calls).toEqual([
      [
        '{"device_ID":"AB1234","session":{"duration":162}}',
        '{"device_ID":"AB9","session":{"duration":3}}',
        'INFO started',
      ],
    ]);
    expect(report.partitions[0]).toMatchObject({
      invocations: 1,
      delivered: 3,
      filtered: values.length - 3,
    });
    expect(await committed(sub)).toBe(values.length);
  });

  it('invokes nothing for batches filtered out entirely, and moves the offset past them', async () => {
    const t = await topic();
    const fn = consumer();
    const sub = await subscribeFunction(broker, t, fn.name, {
      batchSize: 3,
      filterCriteria: { filters: [{ pattern: '{"value":{"kind":["order"]}}' }] },
    });
    const other = (i: number) => JSON.stringify({ kind: 'ping', i });
    await produceValues(
      broker,
      t,
      Array.from({ length: 7 }, (_, i) => other(i)),
    );

    const d = dispatcher();
    const first = await d.run({ subscription: sub });
    expect(fn.calls).toEqual([]);
    expect(first.partitions[0]).toMatchObject({ invocations: 0, delivered: 0, filtered: 7 });
    expect(await committed(sub)).toBe(7);

    const order = JSON.stringify({ kind: 'order', id: 1 });
    await produceValues(broker, t, [other(7), order, other(8)]);
    await d.run({ subscription: sub });
    expect(fn.calls).toEqual([[order]]);
    expect(await committed(sub)).toBe(10);
    // Nothing left: another run neither invokes nor moves anything.
    const idle = await d.run({ subscription: sub });
    expect(idle.partitions.every((p) => p.invocations === 0)).toBe(true);
    expect(await committed(sub)).toBe(10);
  });

  it('applies filters changed by an update to the records after the committed offset', async () => {
    const t = await topic();
    const fn = consumer();
    const sub = await subscribeFunction(broker, t, fn.name, {
      filterCriteria: { filters: [{ pattern: '{"value":["a"]}' }] },
    });
    await produceValues(broker, t, ['a', 'b']);
    const d = dispatcher();
    await d.run({ subscription: sub });
    await broker.subscriptions.update(sub, { filterCriteria: {} });
    await produceValues(broker, t, ['c']);
    // The dispatcher reads subscriptions again after its cache (1 s) runs out.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await d.run({ subscription: sub });
    expect(fn.calls).toEqual([['a'], ['c']]);
    expect(await committed(sub)).toBe(3);
  });
});

describe('S3 on-failure destination', () => {
  it("writes a poison record's invocation record with the batch payload to the bucket", async () => {
    const { s3 } = testClients();
    const bucket = uniqueName('dlq')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const t = await topic();
    const fn = consumer((values) => {
      if (values.includes('poison')) throw new Error('cannot parse poison');
    });
    const sub = await subscribeFunction(broker, t, fn.name, {
      maximumRetryAttempts: 1,
      bisectBatchOnFunctionError: true,
      destinationConfig: { onFailure: { destination: `arn:aws:s3:::${bucket}` } },
    });
    await produceValues(broker, t, ['ok-1', 'poison', 'ok-2']);
    const before = Date.now();

    const report = await dispatcher().run({ subscription: sub });
    expect(report.partitions[0]).toMatchObject({ deadLettered: 1, delivered: 2 });
    expect(await committed(sub)).toBe(3);

    const { uuid } = await broker.subscriptions.get(sub);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => o.Key as string);
    expect(keys).toHaveLength(1);
    const key = keys[0] as string;
    const day = new Date(before).toISOString().slice(0, 10);
    expect(key).toMatch(
      new RegExp(
        `^aws/lambda/${uuid}/0/${day.replaceAll('-', '/')}/${day}T\\d{2}\\.\\d{2}\\.\\d{2}-[0-9a-f-]{36}$`,
      ),
    );

    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(object.ContentType).toBe('application/json');
    const record = JSON.parse(
      await (object.Body?.transformToString() as Promise<string>),
    ) as S3InvocationRecord;
    expect(record.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      functionArn: fn.name,
      approximateInvokeCount: 2,
    });
    expect(record.responseContext).toMatchObject({ statusCode: 200, functionError: 'Unhandled' });
    expect(record.KafkaBatchInfo).toMatchObject({
      batchSize: 1,
      bootstrapServers: BOOTSTRAP,
      recordsInfo: { [`${t}-0`]: { firstRecordOffset: '1', lastRecordOffset: '1' } },
    });
    expect(record.eventlog).toMatchObject({ subscription: sub, topic: t, partition: 0 });
    // The payload is the event the function was invoked with: the poison record itself.
    const payload = record.payload as SelfManagedKafkaEvent;
    expect(payload.eventSource).toBe('SelfManagedKafka');
    expect(payload.bootstrapServers).toBe(BOOTSTRAP);
    const records = payload.records[`${t}-0`] ?? [];
    expect(records.map((r) => [r.offset, Buffer.from(r.value ?? '', 'base64').toString()])).toEqual(
      [[1, 'poison']],
    );
    expect(record.KafkaBatchInfo.payloadSize).toBeGreaterThan(0);
  });

  it('keeps the records in place while the bucket cannot take them', async () => {
    const t = await topic();
    const fn = consumer(() => {
      throw new Error('always fails');
    });
    const missing = `${uniqueName('nobucket')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}`;
    const sub = await subscribeFunction(broker, t, fn.name, {
      maximumRetryAttempts: 0,
      destinationConfig: { onFailure: { destination: `arn:aws:s3:::${missing}` } },
    });
    await produceValues(broker, t, ['x']);
    const report = await dispatcher().run({ subscription: sub });
    expect(report.partitions[0]?.outcome).toBe('stopped');
    expect(report.partitions[0]?.error).toMatch(new RegExp(`on-failure S3 bucket ${missing}`));
    expect(await committed(sub)).toBeUndefined();
  });
});
