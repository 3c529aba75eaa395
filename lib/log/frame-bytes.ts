import { EventLogError } from './errors.js';

/** What the lz4 and zstd frame walkers share: their error, and Kafka's little-endian words. */

/** A compressed batch that cannot be decompressed, with where in it the walker stopped. */
export function frameError(
  codec: 'lz4' | 'zstd',
  message: string,
  position: number,
): EventLogError {
  return new EventLogError('CORRUPT_RECORD', `Cannot decompress the ${codec} records: ${message}`, {
    details: { codec, position },
  });
}

export function readU32LE(data: Uint8Array, pos: number): number {
  return (
    (data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16) | (data[pos + 3]! << 24)) >>> 0
  );
}

/** lz4 and zstd share their skippable frames: magic 0x184D2A5?, a u32 size, that many bytes. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** The magic number that starts the frame at `pos`. */
export function frameMagic(codec: 'lz4' | 'zstd', data: Uint8Array, pos: number): number {
  if (data.length - pos < 4) throw frameError(codec, 'truncated frame magic', pos);
  return readU32LE(data, pos);
}

/** Where the frame at `pos` ends if `magic` makes it a skippable frame; undefined if not. */
export function skippableFrameEnd(
  codec: 'lz4' | 'zstd',
  data: Uint8Array,
  pos: number,
  magic: number,
): number | undefined {
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 !== SKIPPABLE_MAGIC) return undefined;
  if (data.length - pos < 8) throw frameError(codec, 'truncated skippable frame', pos);
  const size = readU32LE(data, pos + 4);
  if (size > data.length - pos - 8) throw frameError(codec, 'truncated skippable frame', pos);
  return pos + 8 + size;
}
