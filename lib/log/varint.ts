/**
 * Zigzag varints, as Kafka writes them (org.apache.kafka.common.utils.ByteUtils, the protobuf
 * encoding):
 *
 *   zigzag(n) = (n << 1) ^ (n >> 63)        0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ...
 *   then 7 bits per byte, least significant group first; the high bit of every byte but the
 *   last is set.
 *
 *   varint  (int32): 1-5 bytes    varlong (int64): 1-10 bytes
 *
 * Writers take the buffer and a position and return the position after the value; readers take
 * a `Cursor` whose `pos` they advance and whose `end` they never read past. Anything that runs
 * past `end` or is longer than 5 (varint) or 10 (varlong) bytes is a CORRUPT_RECORD, as in
 * Java's ByteUtils.readVarint/readVarlong, which also ignore the excess high bits of the last
 * byte.
 *
 * Varlongs come in two flavours: `number` (exact for |n| <= Number.MAX_SAFE_INTEGER, the fast
 * path for timestamps and their deltas) and `bigint` (the whole int64 range).
 *
 * The readers repeat the same byte loop on purpose (readVarInt, readVarLong's int32 prefix):
 * they run once per field of every record, and a shared helper returning two values (the value
 * and the position) would allocate or go through the cursor on each byte.
 */
import { EventLogError } from './errors.js';

/** A read position in a buffer; `end` is exclusive. */
export interface Cursor {
  pos: number;
  end: number;
}

const TWO_POW_28 = 0x10000000;
const TWO_POW_32 = 0x100000000;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
// Beyond 2^52 in magnitude, zigzag(n) = -2n - 1 is an odd number above 2^53 that a double
// cannot hold: such values take the bigint path.
const FLOAT_ZIGZAG_LIMIT = 2 ** 52;

function truncated(cursor: Cursor): EventLogError {
  return new EventLogError('CORRUPT_RECORD', 'Truncated varint', {
    details: { position: cursor.pos, end: cursor.end },
  });
}

function tooLong(kind: string, cursor: Cursor): EventLogError {
  return new EventLogError('CORRUPT_RECORD', `Malformed ${kind}: too many bytes`, {
    details: { position: cursor.pos },
  });
}

// ---------------------------------------------------------------------------------------------
// varint (int32)

/** Bytes taken by `value` (an int32) as a zigzag varint. */
export function sizeOfVarInt(value: number): number {
  const z = ((value << 1) ^ (value >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes `value` (an int32) as a zigzag varint at `pos`; returns the position after it. */
export function writeVarInt(buf: Uint8Array, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z > 0x7f) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Reads a zigzag varint (int32) at `cursor.pos` and advances the cursor. */
export function readVarInt(buf: Uint8Array, cursor: Cursor): number {
  let pos = cursor.pos;
  const end = cursor.end;
  if (pos >= end) throw truncated(cursor);
  let b = buf[pos++]!;
  if (b < 0x80) {
    cursor.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let z = b & 0x7f;
  let shift = 7;
  for (;;) {
    if (pos >= end) throw truncated(cursor);
    b = buf[pos++]!;
    // The fifth byte lands at bit 28: its excess bits fall off the int32, as in Java.
    z |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
    if (shift > 28) throw tooLong('varint', cursor);
  }
  cursor.pos = pos;
  return (z >>> 1) ^ -(z & 1);
}

// ---------------------------------------------------------------------------------------------
// varlong (int64) as a number

/** Bytes taken by `value` (a safe integer) as a zigzag varlong. */
export function sizeOfVarLong(value: number): number {
  if (value >= INT32_MIN && value <= INT32_MAX) return sizeOfVarInt(value);
  if (value > FLOAT_ZIGZAG_LIMIT || value < -FLOAT_ZIGZAG_LIMIT) {
    return sizeOfVarLongBig(BigInt(value));
  }
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    size++;
  }
  return size;
}

/** Writes `value` (a safe integer) as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarLong(buf: Uint8Array, pos: number, value: number): number {
  if (value >= INT32_MIN && value <= INT32_MAX) return writeVarInt(buf, pos, value);
  if (value > FLOAT_ZIGZAG_LIMIT || value < -FLOAT_ZIGZAG_LIMIT) {
    return writeVarLongBig(buf, pos, BigInt(value));
  }
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  while (z >= 0x80) {
    buf[pos++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  buf[pos++] = z;
  return pos;
}

/**
 * Reads a zigzag varlong at `cursor.pos` as a number and advances the cursor. Exact whenever
 * |value| <= Number.MAX_SAFE_INTEGER; beyond that the result is the nearest double, so callers
 * that must be exact over the whole int64 range check `Number.isSafeInteger` and re-read with
 * `readVarLongBig`.
 */
export function readVarLong(buf: Uint8Array, cursor: Cursor): number {
  let pos = cursor.pos;
  const end = cursor.end;
  if (pos >= end) throw truncated(cursor);
  let b = buf[pos++]!;
  if (b < 0x80) {
    cursor.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  // Up to 4 bytes (28 bits) in int32 arithmetic, the common case for timestamp deltas.
  let lo = b & 0x7f;
  let shift = 7;
  for (;;) {
    if (pos >= end) throw truncated(cursor);
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.pos = pos;
      return (lo >>> 1) ^ -(lo & 1);
    }
    shift += 7;
    if (shift === 28) break;
  }
  // Bytes 5 to 7 (up to 49 bits) still fit a double exactly.
  let hi = 0;
  let scale = 1;
  for (;;) {
    if (pos >= end) throw truncated(cursor);
    b = buf[pos++]!;
    hi += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor.pos = pos;
      const z = hi * TWO_POW_28 + lo;
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    scale *= 0x80;
    if (scale === 0x200000) break;
  }
  // 8 bytes or more: rare (|value| >= 2^48), so take the exact bigint path from the start.
  return Number(readVarLongBig(buf, cursor));
}

// ---------------------------------------------------------------------------------------------
// varlong (int64) as a bigint

const MASK_64 = (1n << 64n) - 1n;

/** Bytes taken by `value` (an int64) as a zigzag varlong. */
export function sizeOfVarLongBig(value: bigint): number {
  let z = ((value << 1n) ^ (value >> 63n)) & MASK_64;
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

/** Writes `value` (an int64) as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarLongBig(buf: Uint8Array, pos: number, value: bigint): number {
  let z = ((value << 1n) ^ (value >> 63n)) & MASK_64;
  while (z >= 0x80n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  return pos;
}

/** Reads a zigzag varlong at `cursor.pos` as an exact int64 bigint and advances the cursor. */
export function readVarLongBig(buf: Uint8Array, cursor: Cursor): bigint {
  let pos = cursor.pos;
  const end = cursor.end;
  let z = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= end) throw truncated(cursor);
    const b = buf[pos++]!;
    z |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7n;
    if (shift > 63n) throw tooLong('varlong', cursor);
  }
  cursor.pos = pos;
  // The tenth byte lands at bit 63: its excess bits fall off the int64, as in Java.
  z &= MASK_64;
  return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n));
}

// ---------------------------------------------------------------------------------------------
// int64 in two int32 halves (the fixed-width big-endian fields of the batch header)

/** Splits a safe integer into the high (signed) and low (unsigned) 32 bits of its int64. */
export function int64High(value: number): number {
  return Math.floor(value / TWO_POW_32) | 0;
}

export function int64Low(value: number): number {
  return (value - Math.floor(value / TWO_POW_32) * TWO_POW_32) >>> 0;
}

/** Joins int64 halves; exact when the result is a safe integer (|high| < 2^21). */
export function int64FromHalves(high: number, low: number): number {
  return high * TWO_POW_32 + low;
}
