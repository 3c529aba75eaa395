import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import { lz4CompressBlockJs } from '../../../lib/log/lz4-block.js';
import {
  LZ4_BLOCK_SIZE,
  lz4BlockBound,
  lz4FrameCompress,
  lz4FrameDecompress,
} from '../../../lib/log/lz4-frame.js';
import { xxhash32 } from '../../../lib/log/xxhash32.js';

const MAX = 64 * 1024 * 1024;

function errorOf(fn: () => unknown): EventLogError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EventLogError);
    return error as EventLogError;
  }
  throw new Error('expected an error');
}

const text = (n: number) =>
  Buffer.from(
    Array.from({ length: n }, (_, i) => `{"id":${i},"kind":"order-${i % 7}"}`)
      .join(',')
      .slice(0, n),
  );

/** A frame with the given FLG and BD, its header checksum computed, then `body`. */
function frame(flg: number, bd: number, body: number[], contentSize?: number): Buffer {
  const descriptor = [flg, bd];
  if (contentSize !== undefined) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(contentSize));
    descriptor.push(...size);
  }
  const hc = (xxhash32(Buffer.from(descriptor)) >>> 8) & 0xff;
  return Buffer.from([0x04, 0x22, 0x4d, 0x18, ...descriptor, hc, ...body]);
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** Walks an LZ4 block's sequences: checks the end-of-block rules the spec sets for encoders. */
function checkBlockRules(block: Uint8Array, decodedLength: number): void {
  let pos = 0;
  let out = 0;
  let lastLiterals = 0;
  for (;;) {
    const token = block[pos++]!;
    let literals = token >>> 4;
    if (literals === 15) for (let b = 255; b === 255; literals += b) b = block[pos++]!;
    pos += literals;
    out += literals;
    lastLiterals = literals;
    if (pos === block.length) break;
    pos += 2;
    let match = token & 15;
    if (match === 15) for (let b = 255; b === 255; match += b) b = block[pos++]!;
    // The last match starts at least 12 bytes before the end (MFLIMIT)...
    expect(out).toBeLessThanOrEqual(decodedLength - 12);
    out += match + 4;
  }
  // ...and the block ends with literals only, the last 5 bytes at least (LASTLITERALS).
  expect(out).toBe(decodedLength);
  expect(lastLiterals).toBeGreaterThanOrEqual(Math.min(5, decodedLength));
}

describe('xxhash32', () => {
  it('matches the reference vectors (xxHash, python-xxhash)', () => {
    expect(xxhash32(Buffer.from(''))).toBe(0x02cc5d05);
    expect(xxhash32(Buffer.from('a'))).toBe(0x550d7456);
    expect(xxhash32(Buffer.from('abc'))).toBe(0x32d153ff);
    expect(xxhash32(Buffer.from('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });

  it('hashes a range as it hashes a copy of it', () => {
    const data = text(1000);
    expect(xxhash32(data, 17, 917)).toBe(xxhash32(Buffer.from(data.subarray(17, 917))));
  });
});

describe('the pure-JS block compressor', () => {
  it('round-trips and keeps the end-of-block rules, whatever the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(20), (random, repeats) => {
        const data = Buffer.concat([
          random,
          ...Array.from({ length: repeats }, () => random.subarray(0, 50)),
        ]);
        const dst = new Uint8Array(lz4BlockBound(data.length));
        const size = lz4CompressBlockJs(data, 0, data.length, dst);
        if (size === 0) return; // nothing found: the frame stores the block as it is
        checkBlockRules(dst.subarray(0, size), data.length);
        const framed = lz4FrameCompress(data, lz4CompressBlockJs);
        expect(lz4FrameDecompress(framed, MAX).equals(data)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('compresses JSON-like records to well under half', () => {
    const data = text(100_000);
    const framed = lz4FrameCompress(data, lz4CompressBlockJs);
    expect(framed.length).toBeLessThan(data.length / 2);
  });

  it('writes independent 64 KiB blocks: each decodes alone', () => {
    const data = text(3 * LZ4_BLOCK_SIZE + 100);
    const framed = lz4FrameCompress(data, lz4CompressBlockJs);
    let pos = 7;
    let start = 0;
    for (let i = 0; i < 4; i++) {
      const size = framed.readUInt32LE(pos) & 0x7fffffff;
      const alone = frame(0x60, 0x40, [...framed.subarray(pos, pos + 4 + size), ...u32(0)]);
      const expected = data.subarray(start, Math.min(start + LZ4_BLOCK_SIZE, data.length));
      expect(lz4FrameDecompress(alone, MAX).equals(expected)).toBe(true);
      pos += 4 + size;
      start += LZ4_BLOCK_SIZE;
    }
    expect(framed.readUInt32LE(pos)).toBe(0);
    expect(pos + 4).toBe(framed.length);
  });
});

describe('frame decoding', () => {
  const stored = (bytes: number[]) => [...u32((0x80000000 | bytes.length) >>> 0), ...bytes];

  it('reads stored blocks, content size, content and block checksums', () => {
    const content = [1, 2, 3, 4, 5];
    const checksum = xxhash32(Buffer.from(content));
    // FLG: version 1, independent, block checksum, content size, content checksum.
    const f = frame(
      0x7c,
      0x40,
      [...stored(content), ...u32(checksum), ...u32(0), ...u32(checksum)],
      5,
    );
    expect([...lz4FrameDecompress(f, MAX)]).toEqual(content);
  });

  it.each([
    [
      'a bad header checksum',
      () => {
        const f = frame(0x60, 0x40, [...stored([1]), ...u32(0)]);
        f[6]! ^= 1;
        return f;
      },
      /descriptor checksum/,
    ],
    ['version 0', () => frame(0x20, 0x40, [...u32(0)]), /version/],
    ['a reserved FLG bit', () => frame(0x62, 0x40, [...u32(0)]), /reserved/],
    ['a reserved BD bit', () => frame(0x60, 0x41, [...u32(0)]), /reserved/],
    ['a block maximum size of 3', () => frame(0x60, 0x30, [...u32(0)]), /block maximum size/],
    ['a dictionary id', () => frame(0x61, 0x40, [0, 0, 0, 0, ...u32(0)]), /dictionar/],
    [
      'a block larger than the maximum',
      () => frame(0x60, 0x40, [...u32(0x10001), ...u32(0)]),
      /exceeds/,
    ],
    [
      'a bad block checksum',
      () => frame(0x70, 0x40, [...stored([1]), ...u32(7), ...u32(0)]),
      /block checksum/,
    ],
    [
      'a bad content checksum',
      () => frame(0x64, 0x40, [...stored([1]), ...u32(0), ...u32(7)]),
      /content checksum/,
    ],
    [
      'a wrong content size',
      () => frame(0x68, 0x40, [...stored([1, 2]), ...u32(0)], 3),
      /declares 3/,
    ],
    ['no end mark', () => frame(0x60, 0x40, [...stored([1, 2])]), /end mark/],
    [
      'a match before the start',
      () => frame(0x60, 0x40, [...u32(4), 0x10, 0x41, 0x02, 0x00, ...u32(0)]),
      /offset/,
    ],
    [
      'a match offset of 0',
      () => frame(0x60, 0x40, [...u32(4), 0x10, 0x41, 0x00, 0x00, ...u32(0)]),
      /offset/,
    ],
    [
      'a literal run past the block',
      () => frame(0x60, 0x40, [...u32(2), 0x50, 0x41, ...u32(0)]),
      /literals/,
    ],
    ['another magic number', () => Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), /not an LZ4 frame/],
    ['nothing at all', () => Buffer.alloc(0), /no frame/],
  ])('refuses %s with CORRUPT_RECORD', (_name, make, message) => {
    const error = errorOf(() => lz4FrameDecompress(make(), MAX));
    expect(error.code).toBe('CORRUPT_RECORD');
    expect(error.message).toMatch(message);
    expect(typeof error.details?.['position']).toBe('number');
  });

  it('lets dependent blocks reach back into the block before, and independent ones not', () => {
    // Block 1: "abcd" stored. Block 2: token 0x00 (no literals, match 4), offset 4, then the
    // final sequence: 1 literal 'e'. Valid only when blocks depend on each other.
    const body = [
      ...stored([0x61, 0x62, 0x63, 0x64]),
      ...u32(5),
      0x00,
      0x04,
      0x00,
      0x10,
      0x65,
      ...u32(0),
    ];
    expect(lz4FrameDecompress(frame(0x40, 0x40, body), MAX).toString()).toBe('abcdabcde');
    expect(errorOf(() => lz4FrameDecompress(frame(0x60, 0x40, body), MAX)).message).toMatch(
      /offset/,
    );
  });

  it('stops at the output limit before allocating past it', () => {
    const data = Buffer.alloc(300_000, 1);
    const framed = lz4FrameCompress(data, lz4CompressBlockJs);
    expect(lz4FrameDecompress(framed, 300_000).equals(data)).toBe(true);
    const error = errorOf(() => lz4FrameDecompress(framed, 299_999));
    expect(error.details).toMatchObject({ codec: 'lz4', limit: 299_999 });
    // A declared content size beyond the limit is refused before any block is read.
    const declared = frame(0x68, 0x40, [...u32(0)], 2 ** 40);
    expect(errorOf(() => lz4FrameDecompress(declared, MAX)).message).toMatch(/limit/);
  });

  it('reads frames back to back and skips skippable ones', () => {
    const a = frame(0x60, 0x40, [...stored([0x61]), ...u32(0)]);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, ...u32(2), 9, 9]);
    const b = frame(0x60, 0x40, [...stored([0x62]), ...u32(0)]);
    expect(lz4FrameDecompress(Buffer.concat([a, skippable, b]), MAX).toString()).toBe('ab');
  });
});
