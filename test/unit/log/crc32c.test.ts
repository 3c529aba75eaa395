import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative } from '../../../lib/log/crc32c.js';

const CHECK_INPUT = Buffer.from('123456789');
// The standard check value of CRC-32C (Castagnoli), e.g. in RFC 3720 and the CRC catalogue.
const CHECK_VALUE = 0xe3069283;

describe('crc32c', () => {
  it('gives the standard check value with both implementations', () => {
    expect(crc32cJs(CHECK_INPUT)).toBe(CHECK_VALUE);
    expect(crc32c(CHECK_INPUT)).toBe(CHECK_VALUE);
  });

  it('uses the native module here, where @node-rs/crc32 is installed', () => {
    expect(crc32cImplementation).toBe('native');
    expect(crc32cNative).toBeTypeOf('function');
    expect(crc32c).toBe(crc32cNative);
  });

  it('matches known vectors (RFC 3720 B.4: 32 zero bytes, 32 0xff bytes, 0..31)', () => {
    const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
    const vectors: [Uint8Array, number][] = [
      [new Uint8Array(32), 0x8a9136aa],
      [new Uint8Array(32).fill(0xff), 0x62a8ab43],
      [ascending, 0x46dd794e],
      [new Uint8Array(0), 0],
    ];
    for (const [input, expected] of vectors) {
      expect(crc32cJs(input)).toBe(expected);
      expect(crc32c(input)).toBe(expected);
    }
  });

  it('native and JS agree on any bytes, at any alignment, chained or not', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat(7),
        fc.nat(2000),
        (bytes, shift, split) => {
          // A view at an odd byte offset catches word-at-a-time readers that assume alignment.
          const shifted = new Uint8Array(bytes.length + shift);
          shifted.set(bytes, shift);
          const data = shifted.subarray(shift);
          const native = crc32cNative!(data);
          expect(crc32cJs(data)).toBe(native);
          const cut = Math.min(split, data.length);
          const head = data.subarray(0, cut);
          const tail = data.subarray(cut);
          expect(crc32cJs(tail, crc32cJs(head))).toBe(native);
          expect(crc32cNative!(tail, crc32cNative!(head))).toBe(native);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('changes when any single bit changes', () => {
    const data = Uint8Array.from({ length: 64 }, (_, i) => i * 7);
    const reference = crc32cJs(data);
    for (let i = 0; i < data.length * 8; i++) {
      const flipped = data.slice();
      flipped[i >> 3]! ^= 1 << (i & 7);
      expect(crc32cJs(flipped)).not.toBe(reference);
    }
  });
});
