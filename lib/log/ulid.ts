/**
 * ULIDs (https://github.com/ulid/spec) for S3 object keys, so that a listing returns a topic's
 * segments oldest first:
 *
 *   01AN4Z07BY      79KA1307SR9X4MV3
 *   |----------|    |----------------|
 *    time             randomness
 *    48 bits          80 bits
 *    10 chars         16 chars          Crockford base32 (0-9 A-Z without I L O U), 26 chars
 *
 * The time is milliseconds since the epoch, most significant character first, so string order
 * is time order. Within one millisecond (or if the clock steps back) a generator increments the
 * previous randomness by one instead of drawing new bits, so the ids it hands out always sort
 * in the order they were made.
 */
import { randomFillSync } from 'node:crypto';
import { EventLogError } from './errors.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_LENGTH = 10;
const RANDOM_LENGTH = 16;
const ULID_LENGTH = TIME_LENGTH + RANDOM_LENGTH;
const MAX_TIME = 2 ** 48 - 1;

// Decoding table: character code -> digit, -1 for characters outside the alphabet. Lowercase is
// accepted, as the spec asks.
const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  DIGITS[ALPHABET.charCodeAt(i)] = i;
  DIGITS[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}

export type UlidGenerator = (now?: number) => string;

export interface UlidGeneratorOptions {
  /** Fills the array with random bytes; crypto.randomFillSync by default. */
  random?: (bytes: Uint8Array) => void;
  /** The clock, in milliseconds; Date.now by default. */
  clock?: () => number;
}

function checkTime(time: number): void {
  if (!Number.isInteger(time) || time < 0 || time > MAX_TIME) {
    throw new EventLogError('INVALID_REQUEST', `A ULID time must be in [0, 2^48), got ${time}`);
  }
}

function encodeTime(time: number): string {
  let out = '';
  for (let i = TIME_LENGTH - 1; i >= 0; i--) {
    const digit = time % 32;
    out = ALPHABET[digit]! + out;
    time = (time - digit) / 32;
  }
  return out;
}

/**
 * A monotonic ULID generator: ids from one generator strictly increase, even within one
 * millisecond. Each call may pass `now` to stamp an id with a given time.
 */
export function createUlidGenerator(options: UlidGeneratorOptions = {}): UlidGenerator {
  const random = options.random ?? ((bytes: Uint8Array) => randomFillSync(bytes));
  const clock = options.clock ?? Date.now;
  const bytes = new Uint8Array(10);
  // The 80 random bits as 16 base32 digits, most significant first.
  const digits = new Uint8Array(RANDOM_LENGTH);
  let lastTime = -1;
  let lastTimeText = '';

  return (now = clock()) => {
    checkTime(now);
    if (now <= lastTime) {
      // Same millisecond, or the clock stepped back: keep the last time and add one.
      let i = RANDOM_LENGTH - 1;
      while (i >= 0 && digits[i] === 31) digits[i--] = 0;
      if (i < 0) {
        throw new EventLogError('INTERNAL', 'ULID randomness overflow within one millisecond');
      }
      digits[i] = digits[i]! + 1;
    } else {
      lastTimeText = encodeTime(now);
      lastTime = now;
      random(bytes);
      // 10 bytes = 80 bits = 16 digits of 5 bits: two 5-byte groups of 8 digits each.
      for (let group = 0; group < 2; group++) {
        const b = group * 5;
        const d = group * 8;
        const b0 = bytes[b]!;
        const b1 = bytes[b + 1]!;
        const b2 = bytes[b + 2]!;
        const b3 = bytes[b + 3]!;
        const b4 = bytes[b + 4]!;
        digits[d] = b0 >>> 3;
        digits[d + 1] = ((b0 & 0x07) << 2) | (b1 >>> 6);
        digits[d + 2] = (b1 >>> 1) & 0x1f;
        digits[d + 3] = ((b1 & 0x01) << 4) | (b2 >>> 4);
        digits[d + 4] = ((b2 & 0x0f) << 1) | (b3 >>> 7);
        digits[d + 5] = (b3 >>> 2) & 0x1f;
        digits[d + 6] = ((b3 & 0x03) << 3) | (b4 >>> 5);
        digits[d + 7] = b4 & 0x1f;
      }
    }
    let randomText = '';
    for (let i = 0; i < RANDOM_LENGTH; i++) randomText += ALPHABET[digits[i]!]!;
    return lastTimeText + randomText;
  };
}

/** A new ULID from the process-wide monotonic generator. */
export const ulid: UlidGenerator = createUlidGenerator();

/** Whether `text` is a well-formed ULID (26 Crockford base32 characters, time below 2^48). */
export function isUlid(text: string): boolean {
  if (text.length !== ULID_LENGTH) return false;
  for (let i = 0; i < ULID_LENGTH; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || DIGITS[code]! < 0) return false;
  }
  // 26 characters hold 130 bits: the first may only carry 3 of them.
  return DIGITS[text.charCodeAt(0)]! <= 7;
}

/**
 * The first 10 characters of every ULID stamped at `time`: as a listing's StartAfter, it skips
 * exactly the ids stamped earlier.
 */
export function ulidTimePrefix(time: number): string {
  checkTime(time);
  return encodeTime(time);
}

/** The time (milliseconds since the epoch) a ULID was stamped with. */
export function ulidTime(text: string): number {
  if (!isUlid(text)) throw new EventLogError('INVALID_REQUEST', `Not a ULID: ${text}`);
  let time = 0;
  for (let i = 0; i < TIME_LENGTH; i++) time = time * 32 + DIGITS[text.charCodeAt(i)]!;
  return time;
}
