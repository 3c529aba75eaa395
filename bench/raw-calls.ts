import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { encodeRecordBatch, type RecordInput } from '../lib/log/record-batch.js';
import type { BenchContext } from './context.js';

/**
 * The floor a produce request cannot go below: the AWS calls the commit protocol needs,
 * issued directly with the SDK on the same clients, with the same bytes and item shapes, and
 * nothing else (no validation, no encoding, no topic lookup):
 *
 *   one S3 PutObject of the encoded batches, then per partition touched, in parallel,
 *   UpdateItem ADD nextOffset (UPDATED_NEW) and a conditional PutItem of the index entry.
 *
 * Our produce divided by this is the overhead ratio (goal <= 1.25).
 */
export interface RawProduce {
  /** Sends one request's worth of calls. */
  send(): Promise<void>;
  /** Bytes of the S3 object each request writes. */
  objectBytes: number;
  partitionsTouched: number;
}

export function rawProduce(
  context: BenchContext,
  recordsPerRequest: number,
  valueBytes: number,
  partitions: number,
  /** A fixed partition per worker (the scaling run) instead of spreading every request. */
  fixedPartition?: (sequence: number) => number,
): RawProduce {
  const { s3, doc } = context.env.clients;
  const { bucket, logTable } = context.env.names;
  const touched = fixedPartition === undefined ? Math.min(recordsPerRequest, partitions) : 1;
  const value = Buffer.alloc(valueBytes, 7);
  const now = Date.now();
  const batches: { count: number; bytes: Buffer }[] = [];
  for (let p = 0; p < touched; p++) {
    const count =
      Math.floor(recordsPerRequest / touched) + (p < recordsPerRequest % touched ? 1 : 0);
    const inputs: RecordInput[] = Array.from({ length: count }, () => ({
      key: null,
      value,
      headers: [],
      timestamp: now,
    }));
    batches.push({ count, bytes: encodeRecordBatch(inputs, { compression: 'none' }) });
  }
  const body = Buffer.concat(batches.map((b) => b.bytes));
  const id = randomUUID();
  let sequence = 0;

  return {
    objectBytes: body.byteLength,
    partitionsTouched: touched,
    async send() {
      const n = sequence++;
      const object = `bench-raw/${id}/${n}`;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: object,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: 'application/vnd.apache.kafka.record-batch',
        }),
      );
      let position = 0;
      await Promise.all(
        batches.map(async (batch, i) => {
          const partition = fixedPartition === undefined ? i : fixedPartition(n);
          const pk = `raw-${id}#${partition}`;
          const start = position;
          position += batch.bytes.byteLength;
          const reserved = await doc.send(
            new UpdateCommand({
              TableName: logTable,
              Key: { pk, sk: -1 },
              UpdateExpression: 'ADD nextOffset :n, bytesIn :b',
              ExpressionAttributeValues: { ':n': batch.count, ':b': batch.count * valueBytes },
              ReturnValues: 'UPDATED_NEW',
            }),
          );
          const next = reserved.Attributes?.['nextOffset'] as number;
          await doc.send(
            new PutCommand({
              TableName: logTable,
              Item: {
                pk,
                sk: next - batch.count,
                count: batch.count,
                object,
                position: start,
                length: batch.bytes.byteLength,
                minTimestamp: now,
                maxTimestamp: now,
                appendTime: now,
                bytes: batch.count * valueBytes,
              },
              ConditionExpression: 'attribute_not_exists(sk)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
        }),
      );
    },
  };
}
