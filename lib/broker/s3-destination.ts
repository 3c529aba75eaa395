import { createHash, randomUUID } from 'node:crypto';
import { EventLogError } from '../log/errors.js';
import {
  buildS3InvocationRecord,
  type FailureRecordInput,
  s3FailureObjectKey,
} from '../log/on-failure-record.js';
import type { S3Destination } from '../log/subscription-config.js';
import type { S3FailureDestinationStore } from '../store/s3-destination-store.js';

/**
 * The dispatcher's S3 on-failure destination: Lambda's invocation record with the payload of
 * the records given up on, as one object under Lambda's key naming
 * (lib/log/on-failure-record.ts). Throws when S3 did not take it: the records stay in place and
 * the partition stops for the run, as for every destination.
 */
export async function sendToS3Destination(
  store: S3FailureDestinationStore | undefined,
  destination: S3Destination,
  failure: { subscriptionId: string; record: FailureRecordInput; payload?: unknown },
): Promise<string> {
  if (store === undefined) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `This dispatcher was built without S3 destinations, so it cannot write to ${destination.arn}; the records stay in place`,
      { retriable: true },
    );
  }
  const { record } = failure;
  const key = s3FailureObjectKey(
    failure.subscriptionId,
    record.partition,
    record.timestamp,
    randomUUID(),
  );
  await store.put(destination, key, buildS3InvocationRecord(record, failure.payload));
  return key;
}

/**
 * The subscription's id where Lambda has the event source mapping's UUID: a UUID derived from
 * its name and creation time (SHA-1, formatted as a version 5 UUID), so it is the same for the
 * subscription's whole life and new when a subscription of that name is created again.
 */
export function subscriptionId(name: string, createdAt: number): string {
  const hash = createHash('sha1').update(`eventlog-subscription\n${name}\n${createdAt}`).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
