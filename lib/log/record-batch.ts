/**
 * Kafka RecordBatch v2 (magic 2), byte for byte as org.apache.kafka.common.record.DefaultRecordBatch
 * and DefaultRecord write it. All fixed-width integers are big-endian.
 *
 * RecordBatch =>
 *   baseOffset            int64    offset of the first record (our segments store 0: the reader
 *                                  adds the real base from the index)
 *   batchLength           int32    bytes after this field (total size - 12)
 *   partitionLeaderEpoch  int32    -1 when none
 *   magic                 int8     2
 *   crc                   uint32   CRC-32C of every byte from attributes to the end of the batch
 *   attributes            int16    bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)
 *                                  bit 3 timestamp type (0 CreateTime, 1 LogAppendTime)
 *                                  bit 4 transactional, bit 5 control
 *   lastOffsetDelta       int32    offset of the last record - baseOffset
 *   baseTimestamp         int64    timestamp of the first record
 *   maxTimestamp          int64    greatest record timestamp; the append time with LogAppendTime
 *   producerId            int64    -1 when none
 *   producerEpoch         int16    -1 when none
 *   baseSequence          int32    -1 when none
 *   recordCount           int32
 *   records               [Record] recordCount of them; with a codec, one compressed blob
 *
 * Record =>
 *   length                varint   bytes after this field
 *   attributes            int8     unused, 0
 *   timestampDelta        varlong  timestamp - baseTimestamp
 *   offsetDelta           varint   offset - baseOffset
 *   keyLength             varint   -1 for a null key
 *   key                   bytes
 *   valueLength           varint   -1 for a null value
 *   value                 bytes
 *   headerCount           varint
 *   headers               [Header]
 *
 * Header =>
 *   keyLength             varint
 *   key                   utf-8 bytes
 *   valueLength           varint   -1 for a null value
 *   value                 bytes
 *
 * Offsets and timestamps are JS numbers: offsets are exact up to 2^53 (Kafka's int64 offsets
 * never get near it), timestamps are milliseconds within ±2^53 (±285,000 years). A batch whose
 * timestamps or base offset fall outside that range cannot be represented and is refused as
 * CORRUPT_RECORD; producer ids are bigints, exact over the whole int64 range.
 *
 * Decoding checks the size, magic and CRC before it reads any record, then bounds-checks every
 * read: a damaged batch is always a CORRUPT_RECORD EventLogError, never a RangeError nor garbage
 * records. Keys and values of decoded records are zero-copy views of the input (or of the
 * decompressed records for a compressed batch).
 *
 * This module is the codec's one entry point. The code lives beside it: the shared field layout
 * in record-batch-layout.ts, the types in record-batch-types.ts, the encoder in
 * record-batch-encoder.ts and the decoder in record-batch-decoder.ts.
 */
export type { CompressionType } from './compression.js';
export {
  decodeRecordBatch,
  decodeRecordBatches,
  readBatchHeader,
} from './record-batch-decoder.js';
export { encodeRecordBatch } from './record-batch-encoder.js';
export { LOG_OVERHEAD, MAGIC, RECORD_BATCH_OVERHEAD } from './record-batch-layout.js';
export type {
  DecodedBatch,
  DecodedHeader,
  DecodedRecord,
  DecodeOptions,
  EncodeOptions,
  ReadHeaderOptions,
  RecordBatchHeader,
  RecordHeader,
  RecordInput,
  TimestampType,
} from './record-batch-types.js';
