/**
 * The RecordBatch v2 decoder (format in record-batch.ts): size, magic and CRC are checked before
 * any record is read, every read is bounds-checked, and keys and values are zero-copy views.
 */
import { compressionFromAttributes, decompress } from './compression.js';
import { crc32c } from './crc32c.js';
import { EventLogError } from './errors.js';
// Much the same list as the encoder's: both walk the one layout record-batch-layout.ts defines.
import {
  CONTROL_BIT,
  checkInt,
  corrupt,
  getInt16,
  getInt32,
  getInt64Big,
  getSafeInt64,
  getUInt32,
  LOG_OVERHEAD,
  MAGIC,
  MAX_SAFE,
  MIN_RECORD_SIZE,
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
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from './record-batch-layout.js';
import type {
  DecodedBatch,
  DecodedHeader,
  DecodedRecord,
  DecodeOptions,
  ReadHeaderOptions,
  RecordBatchHeader,
} from './record-batch-types.js';
import { type Cursor, readVarInt, readVarLong, readVarLongBig } from './varint.js';

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
// Batch headers

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

/**
 * The records of one batch, from `start` to `end` of `data`. One long function on purpose: the
 * one- and two-byte varints are read inline with the position in a local (see slowVarInt), which
 * is what makes decoding fast; a helper per field would need a cursor object again. A split into
 * small field readers that leave the position in a module slot was tried (issue 20): alone it
 * measured within a few per cent, but in the bench's codec section, which decodes every codec's
 * batches in turn, 100 B records decoded at 380 MB/s against this function's 1,090.
 */
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
