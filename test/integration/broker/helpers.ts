import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import {
  type Broker,
  type BrokerOptions,
  createBroker,
  createStores,
} from '../../../lib/broker/broker.js';
import type { Clock } from '../../../lib/broker/clock.js';
import type { FetchedRecord } from '../../../lib/broker/fetch.js';
import type { ProduceResult } from '../../../lib/broker/produce.js';
import type { SubscriptionInput } from '../../../lib/log/subscription-config.js';
import { type AwsClients, destroyAwsClients } from '../../../lib/store/aws-clients.js';
import { SEGMENT_PREFIX } from '../../../lib/store/resources.js';
import { newTestClients, testClients, testNames, uniqueName } from '../../helpers/aws.js';
import { FaultInjector } from '../../helpers/faults.js';

export function brokerForTest(options: BrokerOptions = {}): Broker {
  return createBroker(createStores(testClients(), testNames()), options);
}

export const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** A put into the log table: a batch's (or a marker's) index entry. */
export const isIndexPut = (input: Record<string, unknown>): boolean =>
  input['TableName'] === testNames().logTable;

/** Produces `values` to one partition (0 unless told), checking that every record was written. */
export async function produceValues(
  broker: Broker,
  topic: string,
  values: string[],
  options: { partition?: number; timestamp?: number } = {},
): Promise<ProduceResult> {
  const { partition = 0, timestamp } = options;
  const result = await broker.produce.produce({
    topic,
    records: values.map((v) => ({
      partition,
      value: text(v),
      ...(timestamp === undefined ? {} : { timestamp }),
    })),
  });
  expect(result.records.every((r) => r.error === undefined)).toBe(true);
  return result;
}

/**
 * A new subscription of `functionName` to `topic`, from the start of the log and with no
 * batching window unless `settings` say otherwise; returns its name.
 */
export async function subscribeFunction(
  broker: Broker,
  topic: string,
  functionName: string,
  settings: Partial<SubscriptionInput> = {},
): Promise<string> {
  const name = uniqueName('sub');
  await broker.subscriptions.create({
    name,
    topic,
    functionName,
    startingPosition: 'TRIM_HORIZON',
    maximumBatchingWindowInSeconds: 0,
    ...settings,
  });
  return name;
}

/**
 * A broker on its own clients (no retries unless `maxAttempts` says so), with a fault
 * injector attached to their S3 and DynamoDB clients; close() when the test is done.
 */
export function faultyBroker(options: { clock?: Clock; maxAttempts?: number } = {}): {
  broker: Broker;
  faults: FaultInjector;
  clients: AwsClients;
  close: () => void;
} {
  const clients = newTestClients({ maxAttempts: options.maxAttempts ?? 1 });
  const faults = new FaultInjector();
  faults.attach(clients.s3);
  faults.attach(clients.dynamo);
  const broker = createBroker(
    createStores(clients, testNames()),
    options.clock === undefined ? {} : { clock: options.clock },
  );
  return { broker, faults, clients, close: () => destroyAwsClients(clients) };
}

/**
 * A writer that "dies" at a chosen step: the fault injector's crash makes that SDK call and
 * every later one of the same clients throw, as if the process were gone. Its clients are its
 * own (no retries); close() when the test is done.
 */
export function crashingBroker(
  command: string,
  options: { clock?: Clock; when?: (input: Record<string, unknown>) => boolean } = {},
): { broker: Broker; faults: FaultInjector; close: () => void } {
  const { broker, faults, close } = faultyBroker(
    options.clock === undefined ? {} : { clock: options.clock },
  );
  faults.add({
    command,
    action: 'crash',
    ...(options.when === undefined ? {} : { when: options.when }),
  });
  return { broker, faults, close };
}

/** Every record of a partition from `from` up to the high watermark, fetched page by page. */
export async function readAll(
  broker: Broker,
  topic: string,
  partition: number,
  from = 0,
): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  let offset = from;
  for (;;) {
    const page = await broker.fetch.fetch({ topic, partition, offset, maxRecords: 5000 });
    records.push(...page.records);
    if (page.nextOffset === offset) return records;
    offset = page.nextOffset;
  }
}

export async function countSegmentObjects(topicId: string): Promise<number> {
  const { s3 } = testClients();
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: testNames().bucket,
        Prefix: `${SEGMENT_PREFIX}${topicId}/`,
        ContinuationToken: token,
      }),
    );
    count += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return count;
}
