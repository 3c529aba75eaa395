/**
 * MurmurHash2 (32-bit), exactly as Kafka's Java client computes it to pick a keyed record's
 * partition (org.apache.kafka.common.utils.Utils.murmur2), so that a key lands in the same
 * partition here as with any Java-compatible Kafka producer.
 *
 *   seed 0x9747b28c, m 0x5bd1e995, r 24
 *   h = seed ^ length
 *   for each 4-byte little-endian word k:   k *= m; k ^= k >>> r; k *= m; h *= m; h ^= k
 *   tail (1-3 bytes), little-endian:        h ^= tail; h *= m
 *   h ^= h >>> 13; h *= m; h ^= h >>> 15
 *
 * Java's int arithmetic wraps at 32 bits: Math.imul and `| 0` reproduce it exactly.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's murmur2 of `data`, as the signed 32-bit int Java returns. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const words = length >>> 2;
  for (let i = 0; i < words; i++) {
    const i4 = i << 2;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & 3;
  if (tail !== 0) {
    const t = length & ~3;
    // Java's switch falls through from case 3 to case 1.
    if (tail === 3) h ^= data[t + 2]! << 16;
    if (tail >= 2) h ^= data[t + 1]! << 8;
    h ^= data[t]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which fails on -2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}
