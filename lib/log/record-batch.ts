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
 */
import {
  COMPRESSION_CODES,
  type CompressionType,
  compress,
  compressionFromAttributes,
  decompress,
  writableCompression,
} from './compression.js';
import { crc32c } from './crc32c.js';
import { EventLogError } from './errors.js';
import {
  type Cursor,
  int64FromHalves,
  int64High,
  int64Low,
  readVarInt,
  readVarLong,
  readVarLongBig,
  sizeOfVarInt,
  sizeOfVarLong,
  sizeOfVarLongBig,
  writeVarInt,
  writeVarLong,
  writeVarLongBig,
} from './varint.js';

export type { CompressionType } from './compression.js';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export const MAGIC = 2;
/** Bytes before the first record: the fixed-width batch header. */
export const RECORD_BATCH_OVERHEAD = 61;
/** baseOffset + batchLength: the bytes that `batchLength` does not count. */
export const LOG_OVERHEAD = 12;

const OFFSET_BATCH_LENGTH = 8;
const OFFSET_PARTITION_LEADER_EPOCH = 12;
const OFFSET_MAGIC = 16;
const OFFSET_CRC = 17;
const OFFSET_ATTRIBUTES = 21;
const OFFSET_LAST_OFFSET_DELTA = 23;
const OFFSET_BASE_TIMESTAMP = 27;
const OFFSET_MAX_TIMESTAMP = 35;
const OFFSET_PRODUCER_ID = 43;
const OFFSET_PRODUCER_EPOCH = 51;
const OFFSET_BASE_SEQUENCE = 53;
const OFFSET_RECORD_COUNT = 57;

const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

// attributes + timestampDelta + offsetDelta + keyLength + valueLength + headerCount, 1 byte each
// at least, plus the length varint.
const MIN_RECORD_SIZE = 7;
const INT32_MAX = 0x7fffffff;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

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

// ---------------------------------------------------------------------------------------------
// Errors

function corrupt(message: string, details?: Record<string, unknown>): EventLogError {
  return new EventLogError('CORRUPT_RECORD', message, details === undefined ? {} : { details });
}

function invalid(message: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', message);
}

// ---------------------------------------------------------------------------------------------
// Fixed-width big-endian helpers (plain index stores: cheaper than Buffer's checked writers)

function putInt16(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value >>> 8;
  buf[pos + 1] = value;
}

function putInt32(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value >>> 24;
  buf[pos + 1] = value >>> 16;
  buf[pos + 2] = value >>> 8;
  buf[pos + 3] = value;
}

function putInt64(buf: Uint8Array, pos: number, value: number): void {
  putInt32(buf, pos, int64High(value));
  putInt32(buf, pos + 4, int64Low(value));
}

function getInt16(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16)) >> 16;
}

function getInt32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
}

function getUInt32(buf: Uint8Array, pos: number): number {
  return getInt32(buf, pos) >>> 0;
}

/** An int64 field as a number, or undefined when it is not a safe integer. */
function getSafeInt64(buf: Uint8Array, pos: number): number | undefined {
  const high = getInt32(buf, pos);
  // |high| < 2^21 keeps high * 2^32 + low within ±2^53.
  if (high >= 0x200000 || high < -0x200000) return undefined;
  return int64FromHalves(high, getUInt32(buf, pos + 4));
}

function getInt64Big(buf: Uint8Array, pos: number): bigint {
  return (BigInt(getInt32(buf, pos)) << 32n) | BigInt(getUInt32(buf, pos + 4));
}

// ---------------------------------------------------------------------------------------------
// Zero-copy Buffer views

/**
 * Decoded keys and values are views of the input. `buf.subarray()` and `Buffer.from(arrayBuffer,
 * offset, length)` cost 40-70 ns each (species lookup, argument checks), which dominates decoding
 * small records; constructing a Uint8Array subclass directly costs a third of that. Giving the
 * subclass Buffer.prototype as its parent is exactly what Node's own FastBuffer does, so these
 * views are real Buffers for every purpose (Buffer.isBuffer, toString('base64'), equals, ...).
 *
 * The class is anonymous on purpose: bundlers that keep names (esbuild --keep-names, which tsx
 * uses) redefine a named class's `name` after creation, and that alone makes V8 construct its
 * instances five times slower.
 */
const BufferView = (() => class extends Uint8Array {})();
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);
Object.defineProperty(BufferView.prototype, 'constructor', {
  value: Buffer,
  writable: true,
  configurable: true,
});

function view(arrayBuffer: ArrayBufferLike, byteOffset: number, length: number): Buffer {
  return new BufferView(arrayBuffer as ArrayBuffer, byteOffset, length) as unknown as Buffer;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** UTF-8 byte length; a JS loop beats the native call for the short ASCII keys headers have. */
function utf8Length(text: string): number {
  const n = text.length;
  if (n > 64) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < n; i++) {
    if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  }
  return n;
}

function writeUtf8(buf: Buffer, pos: number, text: string, byteLength: number): number {
  // byteLength === length only for ASCII text.
  if (byteLength === text.length && byteLength <= 64) {
    for (let i = 0; i < byteLength; i++) buf[pos + i] = text.charCodeAt(i);
  } else {
    buf.write(text, pos, byteLength, 'utf8');
  }
  return pos + byteLength;
}

function writeBytes(buf: Buffer, pos: number, bytes: Uint8Array): number {
  const n = bytes.length;
  // TypedArray#set costs ~15 ns whatever the size; a loop is cheaper up to ~16 bytes (keys, small headers).
  if (n <= 16) {
    for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
  } else {
    buf.set(bytes, pos);
  }
  return pos + n;
}

function checkTimestamp(timestamp: number, what: string): void {
  if (!Number.isSafeInteger(timestamp)) {
    throw invalid(`${what} must be an integer number of milliseconds, got ${timestamp}`);
  }
}

function checkInt(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/**
 * Encodes `records` as one RecordBatch v2. Record i gets offsetDelta i; the batch's
 * baseTimestamp is the first record's timestamp and maxTimestamp the greatest (or the append
 * time with LogAppendTime), as Kafka's MemoryRecordsBuilder writes them.
 */
export function encodeRecordBatch(
  records: readonly RecordInput[],
  options: EncodeOptions = {},
): Buffer {
  const count = records.length;
  if (count === 0) throw invalid('A record batch needs at least one record');
  const baseOffset = options.baseOffset ?? 0;
  checkInt(baseOffset, 0, MAX_SAFE - count + 1, 'baseOffset');
  const requested = options.compression ?? 'none';
  if (COMPRESSION_CODES[requested] === undefined) {
    throw invalid(`Unknown compression ${String(requested)}`);
  }
  // zstd is written as gzip where this process cannot write zstd (see writableCompression).
  const compression = writableCompression(requested);
  const codec: number = COMPRESSION_CODES[compression];
  const timestampType = options.timestampType ?? 'CreateTime';
  const producerId = options.producerId ?? -1;
  const producerEpoch = options.producerEpoch ?? -1;
  const baseSequence = options.baseSequence ?? -1;
  const partitionLeaderEpoch = options.partitionLeaderEpoch ?? -1;
  checkInt(producerEpoch, -0x8000, 0x7fff, 'producerEpoch');
  checkInt(baseSequence, -0x80000000, INT32_MAX, 'baseSequence');
  checkInt(partitionLeaderEpoch, -0x80000000, INT32_MAX, 'partitionLeaderEpoch');
  if (typeof producerId === 'number') checkInt(producerId, -MAX_SAFE, MAX_SAFE, 'producerId');
  const producerIdBig = BigInt(producerId);
  if (BigInt.asIntN(64, producerIdBig) !== producerIdBig) {
    throw invalid(`producerId must be an int64, got ${producerId}`);
  }

  const now = Date.now();
  const baseTimestamp = records[0]!.timestamp ?? now;
  checkTimestamp(baseTimestamp, 'timestamp');
  let maxTimestamp = baseTimestamp;

  // Pass 1: the exact size of every record body, so that pass 2 writes into one buffer.
  const bodySizes = new Int32Array(count);
  let headerKeySizes: number[] | undefined;
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp ?? now;
    if (timestamp !== baseTimestamp) {
      checkTimestamp(timestamp, 'timestamp');
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    }
    const delta = timestamp - baseTimestamp;
    let size =
      1 +
      (Number.isSafeInteger(delta)
        ? sizeOfVarLong(delta)
        : sizeOfVarLongBig(BigInt(timestamp) - BigInt(baseTimestamp))) +
      sizeOfVarInt(i);
    const key = record.key;
    size += key == null ? 1 : sizeOfVarInt(key.length) + key.length;
    const value = record.value;
    size += value == null ? 1 : sizeOfVarInt(value.length) + value.length;
    const headers = record.headers;
    if (headers === undefined || headers.length === 0) {
      size += 1;
    } else {
      headerKeySizes ??= [];
      size += sizeOfVarInt(headers.length);
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h]!;
        const keySize = utf8Length(header.key);
        headerKeySizes.push(keySize);
        const headerValue = header.value;
        size +=
          sizeOfVarInt(keySize) +
          keySize +
          (headerValue == null ? 1 : sizeOfVarInt(headerValue.length) + headerValue.length);
      }
    }
    if (size > INT32_MAX) throw new EventLogError('RECORD_TOO_LARGE', 'A record exceeds 2 GiB');
    bodySizes[i] = size;
    recordsSize += sizeOfVarInt(size) + size;
  }
  if (RECORD_BATCH_OVERHEAD + recordsSize - LOG_OVERHEAD > INT32_MAX) {
    throw new EventLogError('REQUEST_TOO_LARGE', 'A record batch cannot exceed 2 GiB');
  }

  // Pass 2: the records, straight into the batch buffer when uncompressed.
  let out: Buffer;
  if (compression === 'none') {
    out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + recordsSize);
    writeRecords(
      out,
      RECORD_BATCH_OVERHEAD,
      records,
      bodySizes,
      headerKeySizes,
      baseTimestamp,
      now,
    );
  } else {
    const raw = Buffer.allocUnsafe(recordsSize);
    writeRecords(raw, 0, records, bodySizes, headerKeySizes, baseTimestamp, now);
    const level = options.compressionLevel;
    const compressed = compress(compression, raw, level === undefined ? {} : { level });
    if (RECORD_BATCH_OVERHEAD + compressed.length - LOG_OVERHEAD > INT32_MAX) {
      throw new EventLogError('REQUEST_TOO_LARGE', 'A record batch cannot exceed 2 GiB');
    }
    out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + compressed.length);
    out.set(compressed, RECORD_BATCH_OVERHEAD);
  }

  let attributes = codec;
  if (timestampType === 'LogAppendTime') {
    attributes |= TIMESTAMP_TYPE_BIT;
    maxTimestamp = options.logAppendTime ?? now;
    checkTimestamp(maxTimestamp, 'logAppendTime');
  }
  if (options.transactional === true) attributes |= TRANSACTIONAL_BIT;
  if (options.control === true) attributes |= CONTROL_BIT;

  putInt64(out, 0, baseOffset);
  putInt32(out, OFFSET_BATCH_LENGTH, out.length - LOG_OVERHEAD);
  putInt32(out, OFFSET_PARTITION_LEADER_EPOCH, partitionLeaderEpoch);
  out[OFFSET_MAGIC] = MAGIC;
  putInt16(out, OFFSET_ATTRIBUTES, attributes);
  putInt32(out, OFFSET_LAST_OFFSET_DELTA, count - 1);
  putInt64(out, OFFSET_BASE_TIMESTAMP, baseTimestamp);
  putInt64(out, OFFSET_MAX_TIMESTAMP, maxTimestamp);
  putInt32(out, OFFSET_PRODUCER_ID, Number(BigInt.asIntN(32, producerIdBig >> 32n)));
  putInt32(out, OFFSET_PRODUCER_ID + 4, Number(BigInt.asIntN(32, producerIdBig)));
  putInt16(out, OFFSET_PRODUCER_EPOCH, producerEpoch);
  putInt32(out, OFFSET_BASE_SEQUENCE, baseSequence);
  putInt32(out, OFFSET_RECORD_COUNT, count);
  putInt32(out, OFFSET_CRC, crc32c(out.subarray(OFFSET_ATTRIBUTES)));
  return out;
}

function writeRecords(
  buf: Buffer,
  start: number,
  records: readonly RecordInput[],
  bodySizes: Int32Array,
  headerKeySizes: number[] | undefined,
  baseTimestamp: number,
  now: number,
): void {
  let pos = start;
  let headerIndex = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeVarInt(buf, pos, bodySizes[i]!);
    buf[pos++] = 0;
    const timestamp = record.timestamp ?? now;
    const delta = timestamp - baseTimestamp;
    pos = Number.isSafeInteger(delta)
      ? writeVarLong(buf, pos, delta)
      : writeVarLongBig(buf, pos, BigInt(timestamp) - BigInt(baseTimestamp));
    pos = writeVarInt(buf, pos, i);
    const key = record.key;
    if (key == null) {
      buf[pos++] = 1; // zigzag(-1)
    } else {
      pos = writeBytes(buf, writeVarInt(buf, pos, key.length), key);
    }
    const value = record.value;
    if (value == null) {
      buf[pos++] = 1;
    } else {
      pos = writeBytes(buf, writeVarInt(buf, pos, value.length), value);
    }
    const headers = record.headers;
    if (headers === undefined || headers.length === 0) {
      buf[pos++] = 0;
    } else {
      pos = writeVarInt(buf, pos, headers.length);
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h]!;
        const keySize = headerKeySizes![headerIndex++]!;
        pos = writeUtf8(buf, writeVarInt(buf, pos, keySize), header.key, keySize);
        const headerValue = header.value;
        if (headerValue == null) {
          buf[pos++] = 1;
        } else {
          pos = writeBytes(buf, writeVarInt(buf, pos, headerValue.length), headerValue);
        }
      }
    }
  }
  // Only records changed between the two passes (a getter, another thread's SharedArrayBuffer)
  // can get here; never ship such a batch.
  if (pos !== buf.length) {
    throw new EventLogError('INTERNAL', 'Records changed while they were being encoded');
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

function parseHeader(
  buf: Uint8Array,
  at: number,
  options: ReadHeaderOptions,
  verifyCrc: boolean,
): RecordBatchHeader {
  const available = buf.length - at;
  if (available < RECORD_BATCH_OVERHEAD) {
    throw corrupt(
      `Truncated record batch: ${available} bytes, the batch header alone takes ${RECORD_BATCH_OVERHEAD}`,
      { position: at },
    );
  }
  const batchLength = getInt32(buf, at + OFFSET_BATCH_LENGTH);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
    throw corrupt(`Invalid record batch length ${batchLength}`, { position: at });
  }
  const sizeInBytes = LOG_OVERHEAD + batchLength;
  if (sizeInBytes > available) {
    throw corrupt(
      `Truncated record batch: it declares ${sizeInBytes} bytes, ${available} are present`,
      { position: at },
    );
  }
  const magic = buf[at + OFFSET_MAGIC]!;
  if (magic !== MAGIC) {
    throw corrupt(`Unsupported record batch magic ${magic} (only v2 is supported)`, {
      position: at,
    });
  }
  const crc = getUInt32(buf, at + OFFSET_CRC);
  if (verifyCrc) {
    const actual = crc32c(buf.subarray(at + OFFSET_ATTRIBUTES, at + sizeInBytes));
    if (actual !== crc) {
      throw corrupt(
        `Record batch CRC mismatch: stored ${crc.toString(16)}, computed ${actual.toString(16)}`,
        { position: at },
      );
    }
  }

  let baseOffset = options.baseOffset;
  if (baseOffset === undefined) {
    baseOffset = getSafeInt64(buf, at);
    if (baseOffset === undefined) {
      throw corrupt('Record batch base offset beyond 2^53', { position: at });
    }
  } else {
    checkInt(baseOffset, 0, MAX_SAFE, 'baseOffset');
  }
  const attributes = getInt16(buf, at + OFFSET_ATTRIBUTES);
  const lastOffsetDelta = getInt32(buf, at + OFFSET_LAST_OFFSET_DELTA);
  const baseTimestamp = getSafeInt64(buf, at + OFFSET_BASE_TIMESTAMP);
  const maxTimestamp = getSafeInt64(buf, at + OFFSET_MAX_TIMESTAMP);
  if (baseTimestamp === undefined || maxTimestamp === undefined) {
    throw corrupt('Record batch timestamp beyond ±2^53 ms', { position: at });
  }
  const recordCount = getInt32(buf, at + OFFSET_RECORD_COUNT);
  if (recordCount < 0) throw corrupt(`Negative record count ${recordCount}`, { position: at });
  return {
    baseOffset,
    lastOffsetDelta,
    lastOffset: baseOffset + lastOffsetDelta,
    sizeInBytes,
    batchLength,
    partitionLeaderEpoch: getInt32(buf, at + OFFSET_PARTITION_LEADER_EPOCH),
    magic,
    crc,
    attributes,
    compression: compressionFromAttributes(attributes),
    timestampType: attributes & TIMESTAMP_TYPE_BIT ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_BIT) !== 0,
    isControl: (attributes & CONTROL_BIT) !== 0,
    baseTimestamp,
    maxTimestamp,
    producerId: getInt64Big(buf, at + OFFSET_PRODUCER_ID),
    producerEpoch: getInt16(buf, at + OFFSET_PRODUCER_EPOCH),
    baseSequence: getInt32(buf, at + OFFSET_BASE_SEQUENCE),
    recordCount,
  };
}

/**
 * Reads the fixed-width header of the batch at the start of `buf`, checking its size and magic
 * (and its CRC with `verifyCrc`), without touching the records.
 */
export function readBatchHeader(
  buf: Uint8Array,
  options: ReadHeaderOptions = {},
): RecordBatchHeader {
  return parseHeader(buf, 0, options, options.verifyCrc === true);
}

/** Decodes the one RecordBatch that `buf` holds; extra bytes after it are CORRUPT_RECORD. */
export function decodeRecordBatch(buf: Uint8Array, options: DecodeOptions = {}): DecodedBatch {
  const header = parseHeader(buf, 0, options, true);
  if (header.sizeInBytes !== buf.length) {
    throw corrupt(`${buf.length - header.sizeInBytes} stray bytes after the record batch`);
  }
  return decodeBody(buf, 0, header);
}

/**
 * Decodes batches that sit back to back in `buf` (an S3 object or a byte range of one), each
 * with its stored baseOffset. A partial batch at the end is CORRUPT_RECORD.
 */
export function decodeRecordBatches(buf: Uint8Array): DecodedBatch[] {
  const batches: DecodedBatch[] = [];
  let at = 0;
  while (at < buf.length) {
    const header = parseHeader(buf, at, {}, true);
    batches.push(decodeBody(buf, at, header));
    at += header.sizeInBytes;
  }
  return batches;
}

function decodeBody(buf: Uint8Array, at: number, header: RecordBatchHeader): DecodedBatch {
  const start = at + RECORD_BATCH_OVERHEAD;
  const end = at + header.sizeInBytes;
  let records: DecodedRecord[];
  try {
    if (header.compression === 'none') {
      records = decodeRecords(buf, start, end, header);
    } else {
      const data = decompress(header.compression, buf.subarray(start, end));
      records = decodeRecords(data, 0, data.length, header);
    }
  } catch (error) {
    throw inBatch(error, at, header);
  }
  return withRecords(header, records);
}

/**
 * A fault found in a batch's records names the batch: its byte position in the input and its
 * base offset (details.position stays where the fault is: in the input for uncompressed
 * records, in the decompressed records or the compressed blob otherwise).
 */
function inBatch(error: unknown, at: number, header: RecordBatchHeader): unknown {
  if (!(error instanceof EventLogError) || error.code !== 'CORRUPT_RECORD') return error;
  return new EventLogError(
    'CORRUPT_RECORD',
    `${error.message} (batch at byte ${at}, base offset ${header.baseOffset}, ${header.compression})`,
    {
      cause: error,
      details: {
        ...error.details,
        batchPosition: at,
        baseOffset: header.baseOffset,
        compression: header.compression,
      },
    },
  );
}

// One literal with every field, rather than a spread: same shape for every batch, and cheap.
function withRecords(header: RecordBatchHeader, records: DecodedRecord[]): DecodedBatch {
  return {
    baseOffset: header.baseOffset,
    lastOffsetDelta: header.lastOffsetDelta,
    lastOffset: header.lastOffset,
    sizeInBytes: header.sizeInBytes,
    batchLength: header.batchLength,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    magic: header.magic,
    crc: header.crc,
    attributes: header.attributes,
    compression: header.compression,
    timestampType: header.timestampType,
    isTransactional: header.isTransactional,
    isControl: header.isControl,
    baseTimestamp: header.baseTimestamp,
    maxTimestamp: header.maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordCount: header.recordCount,
    records,
  };
}

/**
 * The decoder reads varints of one and two bytes inline (record lengths under 8 KiB, offset
 * deltas under 8192: nearly all of them), keeping its position in a local rather than in a
 * cursor object; that is a fifth of the time of decoding a 100 B record. Longer varints, and
 * every error (truncation, more than 5 bytes), go through readVarInt: this wrapper, whose end
 * position is left in `slowNext`.
 */
let slowNext = 0;
const slowCursor: Cursor = { pos: 0, end: 0 };

function slowVarInt(data: Uint8Array, pos: number, end: number): number {
  slowCursor.pos = pos;
  slowCursor.end = end;
  const value = readVarInt(data, slowCursor);
  slowNext = slowCursor.pos;
  return value;
}

/** Headers of a record that has none: one frozen array shared by all of them. */
const NO_HEADERS: DecodedHeader[] = Object.freeze([]) as unknown as DecodedHeader[];

function decodeRecords(
  data: Uint8Array,
  start: number,
  end: number,
  header: RecordBatchHeader,
): DecodedRecord[] {
  const count = header.recordCount;
  if (count > (end - start) / MIN_RECORD_SIZE) {
    throw corrupt(`Record count ${count} cannot fit in ${end - start} bytes`, { position: start });
  }
  const records = new Array<DecodedRecord>(count);
  const arrayBuffer = data.buffer;
  const byteOffset = data.byteOffset;
  const baseOffset = header.baseOffset;
  const baseTimestamp = header.baseTimestamp;
  const logAppendTime = header.timestampType === 'LogAppendTime';
  const maxTimestamp = header.maxTimestamp;
  let text: Buffer | undefined;
  // The read position; varints of one or two bytes are read inline (see slowVarInt).
  let pos = start;
  let b0: number;
  let z: number;
  let length: number;
  let offsetDelta: number;
  let keyLength: number;
  let valueLength: number;

  for (let i = 0; i < count; i++) {
    b0 = pos < end ? data[pos]! : 0x80;
    if (b0 < 0x80) {
      length = (b0 >>> 1) ^ -(b0 & 1);
      pos += 1;
    } else if (pos + 1 < end && data[pos + 1]! < 0x80) {
      z = (b0 & 0x7f) | (data[pos + 1]! << 7);
      length = (z >>> 1) ^ -(z & 1);
      pos += 2;
    } else {
      length = slowVarInt(data, pos, end);
      pos = slowNext;
    }
    const recordEnd = pos + length;
    if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) {
      throw corrupt(`Record ${i} has an invalid length ${length}`, { position: pos, record: i });
    }
    // Skip the attributes (unused). deltaStart + 1 < recordEnd: a record holds at least
    // MIN_RECORD_SIZE - 1 bytes.
    const deltaStart = pos + 1;
    let timestampDelta: number;
    b0 = data[deltaStart]!;
    if (b0 < 0x80) {
      pos = deltaStart + 1;
      timestampDelta = (b0 >>> 1) ^ -(b0 & 1);
    } else if (data[deltaStart + 1]! < 0x80) {
      pos = deltaStart + 2;
      z = (b0 & 0x7f) | (data[deltaStart + 1]! << 7);
      timestampDelta = (z >>> 1) ^ -(z & 1);
    } else {
      const cursor: Cursor = { pos: deltaStart, end: recordEnd };
      timestampDelta = readVarLong(data, cursor);
      pos = cursor.pos;
    }
    let timestamp: number;
    if (logAppendTime) {
      timestamp = maxTimestamp;
    } else {
      timestamp = baseTimestamp + timestampDelta;
      // Both terms are exact while safe, and so is their sum while it stays safe.
      if (
        !(
          timestampDelta <= MAX_SAFE &&
          timestampDelta >= -MAX_SAFE &&
          timestamp <= MAX_SAFE &&
          timestamp >= -MAX_SAFE
        )
      ) {
        timestamp = exactTimestamp(data, deltaStart, recordEnd, baseTimestamp, i);
      }
    }
    b0 = pos < recordEnd ? data[pos]! : 0x80;
    if (b0 < 0x80) {
      offsetDelta = (b0 >>> 1) ^ -(b0 & 1);
      pos += 1;
    } else if (pos + 1 < recordEnd && data[pos + 1]! < 0x80) {
      z = (b0 & 0x7f) | (data[pos + 1]! << 7);
      offsetDelta = (z >>> 1) ^ -(z & 1);
      pos += 2;
    } else {
      offsetDelta = slowVarInt(data, pos, recordEnd);
      pos = slowNext;
    }

    let key: Buffer | null = null;
    b0 = pos < recordEnd ? data[pos]! : 0x80;
    if (b0 < 0x80) {
      keyLength = (b0 >>> 1) ^ -(b0 & 1);
      pos += 1;
    } else if (pos + 1 < recordEnd && data[pos + 1]! < 0x80) {
      z = (b0 & 0x7f) | (data[pos + 1]! << 7);
      keyLength = (z >>> 1) ^ -(z & 1);
      pos += 2;
    } else {
      keyLength = slowVarInt(data, pos, recordEnd);
      pos = slowNext;
    }
    if (keyLength !== -1) {
      if (keyLength < 0 || keyLength > recordEnd - pos) {
        throw corrupt(`Record ${i} has an invalid key length ${keyLength}`, {
          position: pos,
          record: i,
        });
      }
      key = view(arrayBuffer, byteOffset + pos, keyLength);
      pos += keyLength;
    }

    let value: Buffer | null = null;
    b0 = pos < recordEnd ? data[pos]! : 0x80;
    if (b0 < 0x80) {
      valueLength = (b0 >>> 1) ^ -(b0 & 1);
      pos += 1;
    } else if (pos + 1 < recordEnd && data[pos + 1]! < 0x80) {
      z = (b0 & 0x7f) | (data[pos + 1]! << 7);
      valueLength = (z >>> 1) ^ -(z & 1);
      pos += 2;
    } else {
      valueLength = slowVarInt(data, pos, recordEnd);
      pos = slowNext;
    }
    if (valueLength !== -1) {
      if (valueLength < 0 || valueLength > recordEnd - pos) {
        throw corrupt(`Record ${i} has an invalid value length ${valueLength}`, {
          position: pos,
          record: i,
        });
      }
      value = view(arrayBuffer, byteOffset + pos, valueLength);
      pos += valueLength;
    }

    let headers: DecodedHeader[];
    if (pos < recordEnd && data[pos] === 0) {
      pos += 1;
      headers = NO_HEADERS;
    } else {
      text ??= Buffer.from(arrayBuffer, byteOffset, data.length);
      const cursor: Cursor = { pos, end: recordEnd };
      headers = decodeHeaders(data, cursor, text, i);
      pos = cursor.pos;
    }

    if (pos !== recordEnd) {
      throw corrupt(
        `Record ${i} declares ${length} bytes but holds ${pos - (recordEnd - length)}`,
        { position: pos, record: i },
      );
    }
    records[i] = { offset: baseOffset + offsetDelta, timestamp, key, value, headers };
  }
  if (pos !== end) {
    throw corrupt(`${end - pos} stray bytes after the last record of the batch`, {
      position: pos,
    });
  }
  return records;
}

/** A record's headers, from its header count on; `cursor.end` is the record's end. */
function decodeHeaders(data: Uint8Array, cursor: Cursor, text: Buffer, i: number): DecodedHeader[] {
  const arrayBuffer = data.buffer;
  const byteOffset = data.byteOffset;
  const recordEnd = cursor.end;
  const headerCount = readVarInt(data, cursor);
  // Each header takes 2 bytes at least.
  if (headerCount < 0 || headerCount > (recordEnd - cursor.pos) / 2) {
    throw corrupt(`Record ${i} has an invalid header count ${headerCount}`, {
      position: cursor.pos,
      record: i,
    });
  }
  const headers = new Array<DecodedHeader>(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const headerKeyLength = readVarInt(data, cursor);
    let pos = cursor.pos;
    if (headerKeyLength < 0 || headerKeyLength > recordEnd - pos) {
      throw corrupt(`Record ${i} has an invalid header key length ${headerKeyLength}`, {
        position: pos,
        record: i,
      });
    }
    const headerKey = text.toString('utf8', pos, pos + headerKeyLength);
    cursor.pos = pos + headerKeyLength;
    const headerValueLength = readVarInt(data, cursor);
    let headerValue: Buffer | null = null;
    if (headerValueLength !== -1) {
      pos = cursor.pos;
      if (headerValueLength < 0 || headerValueLength > recordEnd - pos) {
        throw corrupt(`Record ${i} has an invalid header value length ${headerValueLength}`, {
          position: pos,
          record: i,
        });
      }
      headerValue = view(arrayBuffer, byteOffset + pos, headerValueLength);
      cursor.pos = pos + headerValueLength;
    }
    headers[h] = { key: headerKey, value: headerValue };
  }
  return headers;
}

/** The slow, exact path for a timestamp delta beyond ±2^53 (legal in Kafka, never seen in use). */
function exactTimestamp(
  data: Uint8Array,
  deltaStart: number,
  recordEnd: number,
  baseTimestamp: number,
  index: number,
): number {
  const delta = readVarLongBig(data, { pos: deltaStart, end: recordEnd });
  const timestamp = BigInt(baseTimestamp) + delta;
  if (timestamp > BigInt(MAX_SAFE) || timestamp < -BigInt(MAX_SAFE)) {
    throw corrupt(`Record ${index} has a timestamp beyond ±2^53 ms`, { record: index });
  }
  return Number(timestamp);
}
