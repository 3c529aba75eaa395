import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type CommitBatch, packCommitBody } from '../lib/log/commit.js';
import { encodeRecordBatch, type RecordInput } from '../lib/log/record-batch.js';
import type { BenchContext } from './context.js';

/**
 * The floor a produce request cannot go below: the AWS calls the commit protocol needs,
 * issued directly with the SDK on the same clients, with the same bytes and item shapes, and
 * nothing else (no validation, no encoding, no topic lookup):
 *
 *   one S3 PutObject of the encoded batches, then one UpdateItem on the sequence head (ADD the
 *   commit counter and every touched partition's offset, ALL_OLD) and one conditional PutItem
 *   of the commit (object key, times, the packed batches and offset vector): storage engine
 *   v2's three calls.
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
  const now = Date.now();
  const batches = encodeBatches(recordsPerRequest, touched, valueBytes, now);
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
      const partitionOf = (i: number) => (fixedPartition === undefined ? i : fixedPartition(n));
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':one': 1, ':now': now };
      const adds = ['c :one'];
      batches.forEach((batch, i) => {
        const p = partitionOf(i);
        names[`#p${p}`] = `p${p}`;
        values[`:n${p}`] = batch.count;
        adds.push(`#p${p} :n${p}`);
      });
      const reserved = await doc.send(
        new UpdateCommand({
          TableName: logTable,
          Key: { pk: `raw-${id}/0/head`, sk: 0 },
          UpdateExpression: `SET t = :now ADD ${adds.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = reserved.Attributes ?? {};
      const vector = new Map<number, number>();
      const commitBatches: CommitBatch[] = [];
      let position = 0;
      batches.forEach((batch, i) => {
        const p = partitionOf(i);
        const next = ((old[`p${p}`] as number | undefined) ?? 0) + batch.count;
        vector.set(p, next);
        commitBatches.push({
          partition: p,
          baseOffset: next - batch.count,
          count: batch.count,
          position,
          length: batch.bytes.byteLength,
          minTimestamp: now,
          maxTimestamp: now,
          bytes: batch.count * valueBytes,
        });
        position += batch.bytes.byteLength;
      });
      await doc.send(
        new PutCommand({
          TableName: logTable,
          Item: {
            pk: `raw-${id}/0`,
            sk: ((old['c'] as number | undefined) ?? 0) + 1,
            o: object,
            t: now,
            pt: (old['t'] as number | undefined) ?? 0,
            b: packCommitBody({ vector, batches: commitBatches }, now),
          },
          ConditionExpression: 'attribute_not_exists(sk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    },
  };
}

/** The request's records split evenly over the partitions it touches: one batch each. */
function encodeBatches(
  recordsPerRequest: number,
  touched: number,
  valueBytes: number,
  now: number,
): { count: number; bytes: Buffer }[] {
  const value = Buffer.alloc(valueBytes, 7);
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
  return batches;
}
