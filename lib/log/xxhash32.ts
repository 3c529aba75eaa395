/**
 * XXH32, the checksum of the LZ4 frame format (lz4_Frame_format.md): the frame descriptor's
 * header checksum is (XXH32(descriptor, seed 0) >> 8) & 0xff, the optional content and block
 * checksums are the whole XXH32 (seed 0), stored little-endian.
 *
 *   stripes of 16 bytes: 4 accumulators, each acc = rotl(acc + lane * P2, 13) * P1
 *   then 4-byte and 1-byte tails, then the avalanche (xor-shifts and multiplies by P2, P3)
 *
 * Pure JS: the header checksum covers 2-14 bytes, and the content checksum (absent in what
 * Kafka's client writes) runs once per frame at several hundred MB/s.
 */

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function readU32LE(data: Uint8Array, pos: number): number {
  return data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16) | (data[pos + 3]! << 24);
}

/** XXH32 of `data[start, end)` with `seed`, as an unsigned 32-bit number. */
export function xxhash32(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  let pos = start;
  const length = end - start;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (pos <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(readU32LE(data, pos), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(readU32LE(data, pos + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(readU32LE(data, pos + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(readU32LE(data, pos + 12), P2)) | 0, 13), P1);
      pos += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + length) | 0;
  while (pos + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(readU32LE(data, pos), P3)) | 0, 17), P4);
    pos += 4;
  }
  while (pos < end) {
    h = Math.imul(rotl((h + Math.imul(data[pos]!, P5)) | 0, 11), P1);
    pos++;
  }
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}
