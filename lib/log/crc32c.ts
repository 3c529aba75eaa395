/**
 * CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF),
 * the checksum of Kafka's RecordBatch v2. Check value: crc32c("123456789") = 0xE3069283.
 *
 * The native `@node-rs/crc32` (hardware CRC32 instructions, ~6 GB/s here) is used when it loads;
 * a bundle that left the native module out (or has only another platform's binary: it is an
 * optional dependency per OS and CPU) still works with the pure-JS slice-by-16 table version,
 * about five times slower.
 *
 * Both take an optional `initial`, the CRC of the bytes before `data`, so that
 * crc32c(b, crc32c(a)) === crc32c(a ++ b).
 */
import { createRequire } from 'node:module';

type Crc32cFunction = (data: Uint8Array, initial?: number) => number;

// Slice-by-16: TABLE[k * 256 + b] is the CRC contribution of byte b followed by k zero bytes,
// so that one step folds 16 input bytes with 16 table lookups.
const TABLE = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n]!;
  for (let k = 1; k < 16; k++) {
    c = TABLE[c & 0xff]! ^ (c >>> 8);
    TABLE[k * 256 + n] = c;
  }
}

// Reading 4 bytes at a time through an Int32Array is 1.4x faster than byte by byte, and
// matches the CRC's byte order only on little-endian hosts (x64, arm64; not s390x).
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Pure-JS CRC-32C (slice-by-16). Same results as the native one. */
export function crc32cJs(data: Uint8Array, initial = 0): number {
  const t = TABLE;
  let crc = ~initial;
  let i = 0;
  const length = data.length;
  if (LITTLE_ENDIAN && length >= 64) {
    // Bytes up to a 4-byte boundary, then 16 bytes a step from aligned words.
    const head = (4 - (data.byteOffset & 3)) & 3;
    while (i < head) crc = t[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
    const words = new Int32Array(data.buffer, data.byteOffset + i, (length - i) >>> 2);
    const end = words.length & ~3;
    for (let w = 0; w < end; w += 4) {
      const a = words[w]! ^ crc;
      const b = words[w + 1]!;
      const c = words[w + 2]!;
      const d = words[w + 3]!;
      crc =
        t[3840 + (a & 0xff)]! ^
        t[3584 + ((a >>> 8) & 0xff)]! ^
        t[3328 + ((a >>> 16) & 0xff)]! ^
        t[3072 + (a >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^
        t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^
        t[2048 + (b >>> 24)]! ^
        t[1792 + (c & 0xff)]! ^
        t[1536 + ((c >>> 8) & 0xff)]! ^
        t[1280 + ((c >>> 16) & 0xff)]! ^
        t[1024 + (c >>> 24)]! ^
        t[768 + (d & 0xff)]! ^
        t[512 + ((d >>> 8) & 0xff)]! ^
        t[256 + ((d >>> 16) & 0xff)]! ^
        t[d >>> 24]!;
    }
    i += end * 4;
  }
  while (i < length) crc = t[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

function loadNative(): Crc32cFunction | undefined {
  try {
    // import.meta.url is empty in some bundles: createRequire then throws and we fall back.
    const require = createRequire(import.meta.url);
    const native = require('@node-rs/crc32') as { crc32c?: Crc32cFunction };
    const fn = native.crc32c;
    // Refuse a native module that answers wrongly rather than corrupt every batch.
    if (typeof fn !== 'function' || fn(Buffer.from('123456789')) !== 0xe3069283) return undefined;
    return fn;
  } catch {
    return undefined;
  }
}

/** The native CRC-32C when `@node-rs/crc32` loaded, else undefined. */
export const crc32cNative: Crc32cFunction | undefined = loadNative();

/** Which implementation `crc32c` uses in this process. */
export const crc32cImplementation: 'native' | 'js' = crc32cNative === undefined ? 'js' : 'native';

/** CRC-32C of `data` (unsigned 32-bit), continuing from `initial` (the CRC of earlier bytes). */
export const crc32c: Crc32cFunction = crc32cNative ?? crc32cJs;
