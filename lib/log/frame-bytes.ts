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
