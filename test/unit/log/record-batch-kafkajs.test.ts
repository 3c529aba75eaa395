/**
 * Cross-decoding against kafkajs, an independent implementation of RecordBatch v2: what we
 * write, kafkajs reads; what kafkajs writes, we read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compress, decompress } from '../../../lib/log/compression.js';
import {
  type CompressionType,
  decodeRecordBatch,
  encodeRecordBatch,
  type RecordInput,
} from '../../../lib/log/record-batch.js';
import {
  kafkajsDecode,
  kafkajsEncode,
  registerKafkajsSnappy,
  toKafkajsHeaders,
} from './kafkajs-reference.js';

// kafkajs ships no snappy codec (kafkajs-snappy is a separate package): lend it ours, so that
// the batch framing around snappy blobs is still checked in both directions.
registerKafkajsSnappy({
  compress: (data) => compress('snappy', data),
  decompress: (data) => decompress('snappy', data),
});

const CODECS: [CompressionType, number][] = [
  ['none', 0],
  ['gzip', 1],
  ['snappy', 2],
];

const bytes = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null, freq: 4 });
const timestamp = fc.integer({ min: 0, max: 4102444800000 });
// kafkajs gathers headers into a plain object, where "constructor" or "__proto__" collide with
// Object.prototype: leave those names out.
const headerKey = fc.string({ maxLength: 10 }).filter((key) => !(key in Object.prototype));

describe('our encoder, kafkajs decoder', () => {
  const record: fc.Arbitrary<RecordInput> = fc.record({
    key: nullable(bytes(24)),
    value: nullable(bytes(200)),
    headers: fc.array(fc.record({ key: headerKey, value: nullable(bytes(8)) }), {
      maxLength: 3,
    }),
    timestamp,
  });

  it.each(CODECS)('kafkajs reads every field we write (%s)', async (compression) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 15 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.bigInt({ min: -1n, max: 2n ** 40n }),
        async (records, baseOffset, producerId) => {
          const encoded = encodeRecordBatch(records, {
            compression,
            baseOffset,
            producerId,
            producerEpoch: 3,
            baseSequence: 11,
            partitionLeaderEpoch: 5,
          });
          const batch = await kafkajsDecode(encoded);
          expect(batch).toMatchObject({
            firstOffset: String(baseOffset),
            firstTimestamp: String(records[0]!.timestamp),
            maxTimestamp: String(Math.max(...records.map((r) => r.timestamp!))),
            partitionLeaderEpoch: 5,
            lastOffsetDelta: records.length - 1,
            producerId: String(producerId),
            producerEpoch: 3,
            firstSequence: 11,
            inTransaction: false,
            isControlBatch: false,
          });
          expect(batch.records).toHaveLength(records.length);
          records.forEach((input, i) => {
            const theirs = batch.records[i]!;
            expect(theirs.offset).toBe(String(baseOffset + i));
            expect(theirs.timestamp).toBe(String(input.timestamp));
            expect(theirs.key).toEqual(input.key);
            expect(theirs.value).toEqual(input.value);
            expect(theirs.headers).toEqual(toKafkajsHeaders(input.headers ?? []));
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('kafkajs reports the append time for every record of a LogAppendTime batch', async () => {
    const records: RecordInput[] = [
      { value: Buffer.from('a'), timestamp: 1000 },
      { value: Buffer.from('b'), timestamp: 2000 },
    ];
    const batch = await kafkajsDecode(
      encodeRecordBatch(records, { timestampType: 'LogAppendTime', logAppendTime: 5000 }),
    );
    expect(batch.timestampType).toBe(1);
    expect(batch.records.map((r) => r.timestamp)).toEqual(['5000', '5000']);
  });
});

describe('kafkajs encoder, our decoder', () => {
  // kafkajs cannot encode a null header value, and takes the least timestamp as the base:
  // generate what it can write.
  const record = fc.record({
    key: nullable(bytes(24)),
    value: nullable(bytes(200)),
    headers: fc.dictionary(
      headerKey,
      fc.oneof(bytes(8), fc.array(bytes(8), { minLength: 1, maxLength: 3 })),
      { maxKeys: 3 },
    ),
    timestamp,
  });
  const leastFirst = <T extends { timestamp: number }>(records: T[]): T[] => {
    const least = records.reduce((a, b) => (b.timestamp < a.timestamp ? b : a));
    return [least, ...records.filter((r) => r !== least)];
  };

  it.each(CODECS)('we read every field kafkajs writes (%s)', async (compression, code) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 15 }).map(leastFirst),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (records, baseOffset) => {
          const encoded = await kafkajsEncode(records, {
            compression: code,
            baseOffset,
            producerId: 77,
            producerEpoch: 1,
            baseSequence: 9,
          });
          const batch = decodeRecordBatch(encoded);
          expect(batch).toMatchObject({
            baseOffset,
            compression,
            recordCount: records.length,
            baseTimestamp: records[0]!.timestamp,
            maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
            producerId: 77n,
            producerEpoch: 1,
            baseSequence: 9,
          });
          expect(batch.records).toEqual(
            records.map((input, i) => ({
              offset: baseOffset + i,
              timestamp: input.timestamp,
              key: input.key,
              value: input.value,
              headers: Object.entries(input.headers).flatMap(([key, value]) =>
                (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: v })),
              ),
            })),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
