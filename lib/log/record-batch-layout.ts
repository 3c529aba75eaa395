/**
 * The fixed-width layout of a RecordBatch v2 (field offsets, attribute bits, size limits) and the
 * big-endian readers and writers of its fields: what the encoder and the decoder share. The
 * format itself is described in record-batch.ts.
 */
import { EventLogError } from './errors.js';
import { int64FromHalves, int64High, int64Low } from './varint.js';

export const MAGIC = 2;
/** Bytes before the first record: the fixed-width batch header. */
export const RECORD_BATCH_OVERHEAD = 61;
/** baseOffset + batchLength: the bytes that `batchLength` does not count. */
export const LOG_OVERHEAD = 12;

export const OFFSET_BATCH_LENGTH = 8;
export const OFFSET_PARTITION_LEADER_EPOCH = 12;
export const OFFSET_MAGIC = 16;
export const OFFSET_CRC = 17;
export const OFFSET_ATTRIBUTES = 21;
export const OFFSET_LAST_OFFSET_DELTA = 23;
export const OFFSET_BASE_TIMESTAMP = 27;
export const OFFSET_MAX_TIMESTAMP = 35;
export const OFFSET_PRODUCER_ID = 43;
export const OFFSET_PRODUCER_EPOCH = 51;
export const OFFSET_BASE_SEQUENCE = 53;
export const OFFSET_RECORD_COUNT = 57;

export const TIMESTAMP_TYPE_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;

// attributes + timestampDelta + offsetDelta + keyLength + valueLength + headerCount, 1 byte each
// at least, plus the length varint.
export const MIN_RECORD_SIZE = 7;
export const INT32_MAX = 0x7fffffff;
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------------
// Errors

export function corrupt(message: string, details?: Record<string, unknown>): EventLogError {
  return new EventLogError('CORRUPT_RECORD', message, details === undefined ? {} : { details });
}

export function invalid(message: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', message);
}

// ---------------------------------------------------------------------------------------------
// Fixed-width big-endian helpers (plain index stores: cheaper than Buffer's checked writers)

export function putInt16(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value >>> 8;
  buf[pos + 1] = value;
}

export function putInt32(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value >>> 24;
  buf[pos + 1] = value >>> 16;
  buf[pos + 2] = value >>> 8;
  buf[pos + 3] = value;
}

export function putInt64(buf: Uint8Array, pos: number, value: number): void {
  putInt32(buf, pos, int64High(value));
  putInt32(buf, pos + 4, int64Low(value));
}

export function getInt16(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16)) >> 16;
}

export function getInt32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
}

export function getUInt32(buf: Uint8Array, pos: number): number {
  return getInt32(buf, pos) >>> 0;
}

/** An int64 field as a number, or undefined when it is not a safe integer. */
export function getSafeInt64(buf: Uint8Array, pos: number): number | undefined {
  const high = getInt32(buf, pos);
  // |high| < 2^21 keeps high * 2^32 + low within ±2^53.
  if (high >= 0x200000 || high < -0x200000) return undefined;
  return int64FromHalves(high, getUInt32(buf, pos + 4));
}

export function getInt64Big(buf: Uint8Array, pos: number): bigint {
  return (BigInt(getInt32(buf, pos)) << 32n) | BigInt(getUInt32(buf, pos + 4));
}

// ---------------------------------------------------------------------------------------------
// Argument checks

export function checkInt(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
