/** The shapes the RecordBatch v2 encoder takes and the decoder returns (see record-batch.ts). */
import type { CompressionType } from './compression.js';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; defaults to the time of the encode call. */
  timestamp?: number;
}

export interface EncodeOptions {
  /** Default 0: segments are written at 0 and readers add the real base offset. */
  baseOffset?: number;
  /** Default 'none'. zstd is written as gzip where this process cannot write zstd. */
  compression?: CompressionType;
  /** Codec level (gzip 0-9, zstd 1-22); the codec's default when absent. */
  compressionLevel?: number;
  /** Default 'CreateTime'. */
  timestampType?: TimestampType;
  /** The append time written as maxTimestamp with LogAppendTime; defaults to now. */
  logAppendTime?: number;
  /** Default -1 (no idempotent producer). */
  producerId?: bigint | number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Default -1, as the Java producer writes it. */
  partitionLeaderEpoch?: number;
  transactional?: boolean;
  control?: boolean;
}

export interface DecodedHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  /** The record's own timestamp, or the batch's maxTimestamp (the append time) with LogAppendTime. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Records without headers share one frozen empty array: copy before changing it. */
  headers: DecodedHeader[];
}

export interface RecordBatchHeader {
  baseOffset: number;
  lastOffsetDelta: number;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  /** The whole batch, header included: where the next batch starts. */
  sizeInBytes: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface DecodedBatch extends RecordBatchHeader {
  records: DecodedRecord[];
}

export interface DecodeOptions {
  /**
   * The real offset of the batch's first record, replacing the stored baseOffset (segments are
   * written with 0 and the index knows the real one).
   */
  baseOffset?: number;
}

export interface ReadHeaderOptions extends DecodeOptions {
  /** Also check the CRC-32C (reads the whole batch). Default false. */
  verifyCrc?: boolean;
}
