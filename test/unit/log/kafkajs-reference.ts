/**
 * kafkajs's own RecordBatch v2 codec (src/protocol/recordBatch), used as an independent
 * reference: our batches must decode with it and its batches with ours. kafkajs ships no types
 * for its internals, so this file gives the few calls we make a typed face.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkaLong {
  toString(): string;
}
interface LongStatic {
  fromValue(value: number | string | bigint): KafkaLong;
}
interface KafkaEncoder {
  buffer: Buffer;
}
type KafkaHeaders = Record<string, Buffer | Buffer[]>;

const Long = require('kafkajs/src/utils/long') as LongStatic;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: KafkaHeaders;
}) => KafkaEncoder;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: {
    compression: number;
    firstOffset: KafkaLong;
    firstTimestamp: number;
    maxTimestamp: number;
    partitionLeaderEpoch: number;
    lastOffsetDelta: number;
    producerId: KafkaLong;
    producerEpoch: number;
    firstSequence: number;
    records: KafkaEncoder[];
  }) => Promise<KafkaEncoder>;
};
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<KafkajsDecodedBatch>;
const compression = require('kafkajs/src/protocol/message/compression') as {
  Codecs: Record<number, () => unknown>;
};

export interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaHeaders;
}

export interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  timestampType: number;
  records: KafkajsDecodedRecord[];
}

export interface KafkajsRecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers?: KafkaHeaders;
  timestamp: number;
}

export interface KafkajsBatchOptions {
  compression?: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/**
 * kafkajs's encoder, called the way its Produce request calls it. The first record must carry
 * the smallest timestamp: kafkajs takes the least timestamp as the base, Kafka's Java client
 * the first record's, and the two only agree then.
 */
export async function kafkajsEncode(
  records: KafkajsRecordInput[],
  options: KafkajsBatchOptions = {},
): Promise<Buffer> {
  const base = records[0]?.timestamp ?? 0;
  const max = Math.max(...records.map((record) => record.timestamp));
  const encoded = await RecordBatch({
    compression: options.compression ?? 0,
    firstOffset: Long.fromValue(options.baseOffset ?? 0),
    firstTimestamp: base,
    maxTimestamp: max,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromValue(options.producerId ?? -1),
    producerEpoch: options.producerEpoch ?? -1,
    firstSequence: options.baseSequence ?? -1,
    records: records.map((record, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: record.timestamp - base,
        key: record.key,
        value: record.value,
        ...(record.headers === undefined ? {} : { headers: record.headers }),
      }),
    ),
  });
  return encoded.buffer;
}

/** kafkajs's decoder (it does not check the CRC). */
export function kafkajsDecode(buf: Buffer): Promise<KafkajsDecodedBatch> {
  return decodeBatch(new Decoder(buf));
}

/** Headers as kafkajs represents them: an object, repeated keys gathered into arrays. */
export function toKafkajsHeaders(
  headers: readonly { key: string; value: Uint8Array | null }[],
): KafkaHeaders {
  const out: KafkaHeaders = {};
  for (const { key, value } of headers) {
    const bytes = value === null ? (null as unknown as Buffer) : Buffer.from(value);
    const existing = Object.hasOwn(out, key) ? out[key] : undefined;
    if (existing === undefined) out[key] = bytes;
    else if (Array.isArray(existing)) existing.push(bytes);
    else out[key] = [existing, bytes];
  }
  return out;
}

/**
 * Registers a codec in kafkajs under its attribute id (kafkajs ships gzip only; plugins such as
 * kafkajs-snappy, kafkajs-lz4 and @kafkajs/zstd do exactly this).
 */
export function registerKafkajsCodec(
  id: 2 | 3 | 4,
  codec: {
    compress(data: Buffer): Buffer;
    decompress(data: Buffer): Buffer;
  },
): void {
  compression.Codecs[id] = () => ({
    compress: async (encoder: KafkaEncoder) => codec.compress(encoder.buffer),
    decompress: async (buffer: Buffer) => codec.decompress(buffer),
  });
}

/** Registers a snappy codec in kafkajs (it ships none), for cross-decoding snappy batches. */
export function registerKafkajsSnappy(codec: {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}): void {
  registerKafkajsCodec(2, codec);
}
