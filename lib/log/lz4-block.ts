/**
 * An LZ4 block compressor in pure JS, for where lz4-napi's native one cannot load. The block
 * format (lz4_Block_format.md) is a run of sequences:
 *
 * Sequence =>
 *   token          uint8    high 4 bits: literal count (15 = more follows), low 4 bits:
 *                           match length - 4 (15 = more follows)
 *   literalCount+  bytes    while the token's field was 15: 255s, then the remainder
 *   literals       bytes
 *   offset         uint16   little-endian, 1-65535 bytes back into the output
 *   matchLength+   bytes    as literalCount+
 *
 * The last sequence has literals only. The rules every decoder relies on: the last 5 bytes of a
 * block are literals, and the last match starts at least 12 bytes before the end (LZ4's
 * LASTLITERALS and MFLIMIT); a block under 13 bytes is all literals.
 *
 * Greedy single-probe matching, as LZ4's default (acceleration 1) does: one hash table entry per
 * 4-byte sequence, the step growing while no match turns up. The table holds positions in the
 * input and is never cleared: a stale entry is only a candidate whose bytes are compared, and
 * one before the block's start is ignored, so blocks stay independent (Kafka's framing).
 */

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_LOG = 14;
const MAX_OFFSET = 0xffff;
const SKIP_TRIGGER = 6;

const table = new Int32Array(1 << HASH_LOG);

function read32(src: Uint8Array, pos: number): number {
  return src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24);
}

function writeLength(dst: Uint8Array, d: number, n: number): number {
  while (n >= 255) {
    dst[d++] = 255;
    n -= 255;
  }
  dst[d++] = n;
  return d;
}

function copy(dst: Uint8Array, d: number, src: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n < 16) {
    for (let i = 0; i < n; i++) dst[d + i] = src[from + i]!;
  } else {
    dst.set(src.subarray(from, to), d);
  }
  return d + n;
}

/**
 * Compresses `src[start, end)` as one LZ4 block into `dst` (which holds lz4BlockBound of the
 * length) from 0; returns the length written, or 0 when no match was found (store it as is).
 */
export function lz4CompressBlockJs(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
): number {
  let d = 0;
  let anchor = start;
  if (end - start >= MF_LIMIT + 1) {
    const matchStartLimit = end - MF_LIMIT;
    const matchEndLimit = end - LAST_LITERALS;
    let s = start;
    let attempts = 1 << SKIP_TRIGGER;
    while (s <= matchStartLimit) {
      const sequence = read32(src, s);
      const h = Math.imul(sequence, 0x9e3779b1) >>> (32 - HASH_LOG);
      const ref = table[h]!;
      table[h] = s;
      if (ref < start || ref >= s || s - ref > MAX_OFFSET || read32(src, ref) !== sequence) {
        s += attempts++ >> SKIP_TRIGGER;
        continue;
      }
      attempts = 1 << SKIP_TRIGGER;
      // Extend backwards over literals not yet written, then forwards.
      let matchStart = s;
      let refStart = ref;
      while (matchStart > anchor && refStart > start && src[matchStart - 1] === src[refStart - 1]) {
        matchStart--;
        refStart--;
      }
      let matchEnd = s + MIN_MATCH;
      let refEnd = ref + MIN_MATCH;
      while (matchEnd < matchEndLimit && src[matchEnd] === src[refEnd]) {
        matchEnd++;
        refEnd++;
      }
      const literals = matchStart - anchor;
      const matchLength = matchEnd - matchStart - MIN_MATCH;
      const tokenAt = d++;
      let token: number;
      if (literals >= 15) {
        token = 0xf0;
        d = writeLength(dst, d, literals - 15);
      } else {
        token = literals << 4;
      }
      d = copy(dst, d, src, anchor, matchStart);
      const offset = matchStart - refStart;
      dst[d++] = offset;
      dst[d++] = offset >>> 8;
      if (matchLength >= 15) {
        token |= 15;
        d = writeLength(dst, d, matchLength - 15);
      } else {
        token |= matchLength;
      }
      dst[tokenAt] = token;
      anchor = matchEnd;
      s = matchEnd;
      // Two positions back from the match's end: a cheap hint for the next search.
      if (s - 2 >= start && s - 2 <= matchStartLimit) {
        table[Math.imul(read32(src, s - 2), 0x9e3779b1) >>> (32 - HASH_LOG)] = s - 2;
      }
    }
  }
  if (anchor === start) return 0;
  const literals = end - anchor;
  if (literals >= 15) {
    dst[d++] = 0xf0;
    d = writeLength(dst, d, literals - 15);
  } else {
    dst[d++] = literals << 4;
  }
  return copy(dst, d, src, anchor, end);
}
