/**
 * The RecordBatch v2 encoder (format in record-batch.ts). It sizes every record first and then
 * writes the batch into one buffer, so that no record is copied twice.
 */
import { COMPRESSION_CODES, compress, writableCompression } from './compression.js';
import { crc32c } from './crc32c.js';
import { EventLogError } from './errors.js';
import {
  CONTROL_BIT,
  checkInt,
  INT32_MAX,
  invalid,
  LOG_OVERHEAD,
  MAGIC,
  MAX_SAFE,
  OFFSET_ATTRIBUTES,
  OFFSET_BASE_SEQUENCE,
  OFFSET_BASE_TIMESTAMP,
  OFFSET_BATCH_LENGTH,
  OFFSET_CRC,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAGIC,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_PARTITION_LEADER_EPOCH,
  OFFSET_PRODUCER_EPOCH,
  OFFSET_PRODUCER_ID,
  OFFSET_RECORD_COUNT,
  putInt16,
  putInt32,
  putInt64,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from './record-batch-layout.js';
import type { EncodeOptions, RecordInput } from './record-batch-types.js';
import {
  sizeOfVarInt,
  sizeOfVarLong,
  sizeOfVarLongBig,
  writeVarInt,
  writeVarLong,
  writeVarLongBig,
} from './varint.js';

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

/**
 * Encodes `records` as one RecordBatch v2. Record i gets offsetDelta i; the batch's
 * baseTimestamp is the first record's timestamp and maxTimestamp the greatest (or the append
 * time with LogAppendTime), as Kafka's MemoryRecordsBuilder writes them.
 *
 * One long function on purpose: its two passes (size every record, then write them) share the
 * option checks, the timestamps and the sizes found in pass 1, and it is the producer's hot path;
 * split into helpers, those values would travel in an object or a long argument list for no
 * gain in clarity.
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
