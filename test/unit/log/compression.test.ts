import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COMPRESSION_CODES,
  type CompressionType,
  codecFallbacksForTests,
  compress,
  compressionFromAttributes,
  decompress,
  isCompressionSupported,
  lz4Implementation,
  MAX_DECOMPRESSED_BYTES,
  zstdImplementation,
} from '../../../lib/log/compression.js';
import { EventLogError } from '../../../lib/log/errors.js';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as { compressSync(data: Uint8Array): Buffer };

const XERIAL_HEADER = Buffer.from([
  0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1,
]);

function errorOf(fn: () => unknown): EventLogError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EventLogError);
    return error as EventLogError;
  }
  throw new Error('expected an error');
}

/** Compressible bytes, like real records: runs of a few distinct values. */
const recordLike = (length: number) =>
  Buffer.from(Array.from({ length }, (_, i) => ((i / 37) | 0) % 11));

describe('codec ids', () => {
  it('maps attribute bits 0-2 to the codec, ignoring the other bits', () => {
    const types: CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    for (const type of types) {
      expect(compressionFromAttributes(COMPRESSION_CODES[type])).toBe(type);
      expect(compressionFromAttributes(COMPRESSION_CODES[type] | 0x38)).toBe(type);
    }
  });

  it('answers UNSUPPORTED_COMPRESSION for the unassigned ids 5-7', () => {
    for (const code of [5, 6, 7]) {
      expect(errorOf(() => compressionFromAttributes(code)).code).toBe('UNSUPPORTED_COMPRESSION');
    }
  });
});

describe.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const)('%s', (type) => {
  it('is supported in this build', () => {
    expect(isCompressionSupported(type)).toBe(true);
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect(decompress(type, compress(type, data))).toEqual(Buffer.from(data));
      }),
      { numRuns: 100 },
    );
  });

  it('round-trips 1 MiB of record-like bytes', () => {
    const data = recordLike(1 << 20);
    const compressed = compress(type, data);
    if (type !== 'none') expect(compressed.length).toBeLessThan(data.length / 4);
    expect(decompress(type, compressed).equals(data)).toBe(true);
  });
});

describe('gzip', () => {
  it('writes RFC 1952 gzip that zlib reads, level included', () => {
    const data = recordLike(10_000);
    const fast = compress('gzip', data, { level: 1 });
    const best = compress('gzip', data, { level: 9 });
    expect([...fast.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
    expect(zlib.gunzipSync(best).equals(data)).toBe(true);
    expect(best.length).toBeLessThanOrEqual(fast.length);
  });

  it('reads several gzip members back to back, as GZIPInputStream does', () => {
    const joined = Buffer.concat([zlib.gzipSync('abc'), zlib.gzipSync('def')]);
    expect(decompress('gzip', joined).toString()).toBe('abcdef');
  });

  it('answers CORRUPT_RECORD for damaged gzip', () => {
    const good = compress('gzip', recordLike(1000));
    const bad = Buffer.from(good);
    bad[bad.length - 6]! ^= 0xff; // inside the CRC-32 trailer
    expect(errorOf(() => decompress('gzip', bad)).code).toBe('CORRUPT_RECORD');
    expect(errorOf(() => decompress('gzip', good.subarray(0, 20))).code).toBe('CORRUPT_RECORD');
  });
});

describe('snappy', () => {
  it('writes the xerial framing of the Java client: header, then [length][block] chunks', () => {
    const data = recordLike(1000);
    const framed = compress('snappy', data);
    expect(framed.subarray(0, 16)).toEqual(XERIAL_HEADER);
    const blockLength = framed.readInt32BE(16);
    expect(framed.length).toBe(16 + 4 + blockLength);
    expect(framed.subarray(20)).toEqual(snappy.compressSync(data));
  });

  it('cuts the input into 32 KiB blocks, as SnappyOutputStream does', () => {
    const data = recordLike(100 * 1024);
    const framed = compress('snappy', data);
    const blocks: Buffer[] = [];
    for (let pos = 16; pos < framed.length; ) {
      const length = framed.readInt32BE(pos);
      blocks.push(framed.subarray(pos + 4, pos + 4 + length));
      pos += 4 + length;
    }
    expect(blocks.map((block) => block.length)).toHaveLength(4);
    expect(blocks[0]).toEqual(snappy.compressSync(data.subarray(0, 32 * 1024)));
    expect(blocks[3]).toEqual(snappy.compressSync(data.subarray(96 * 1024)));
  });

  it('writes only the header for empty input, and reads it back as empty', () => {
    const framed = compress('snappy', new Uint8Array(0));
    expect(framed).toEqual(XERIAL_HEADER);
    expect(decompress('snappy', framed)).toHaveLength(0);
  });

  it('reads raw (unframed) snappy, as sarama and librdkafka may write it', () => {
    const data = recordLike(5000);
    expect(decompress('snappy', snappy.compressSync(data)).equals(data)).toBe(true);
  });

  it('reads xerial streams concatenated, as SnappyInputStream does', () => {
    const joined = Buffer.concat([
      compress('snappy', Buffer.from('abc')),
      compress('snappy', Buffer.from('def')),
    ]);
    expect(decompress('snappy', joined).toString()).toBe('abcdef');
  });

  it('answers CORRUPT_RECORD for a truncated or damaged stream', () => {
    const framed = compress('snappy', recordLike(5000));
    for (const cut of [10, 17, 21, framed.length - 1]) {
      expect(errorOf(() => decompress('snappy', framed.subarray(0, cut))).code).toBe(
        'CORRUPT_RECORD',
      );
    }
    const badLength = Buffer.from(framed);
    badLength.writeInt32BE(-5, 16);
    expect(errorOf(() => decompress('snappy', badLength)).code).toBe('CORRUPT_RECORD');
    expect(errorOf(() => decompress('snappy', Buffer.from([0xff, 0xff, 0xff]))).code).toBe(
      'CORRUPT_RECORD',
    );
  });

  it('refuses a xerial stream that needs a newer reader', () => {
    const framed = compress('snappy', Buffer.from('abc'));
    framed.writeInt32BE(2, 12);
    expect(errorOf(() => decompress('snappy', framed)).code).toBe('CORRUPT_RECORD');
  });
});

describe('decompression bombs', () => {
  it('caps what a batch may decompress to at 64 MiB', () => {
    expect(MAX_DECOMPRESSED_BYTES).toBe(64 * 1024 * 1024);
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)(
    '%s: refuses records that decompress past the limit, with CORRUPT_RECORD',
    (type) => {
      const data = Buffer.alloc(1 << 20, 7);
      const compressed = compress(type, data);
      expect(compressed.length).toBeLessThan(data.length / 20);
      expect(decompress(type, compressed, { maxBytes: 1 << 20 }).equals(data)).toBe(true);
      const error = errorOf(() => decompress(type, compressed, { maxBytes: (1 << 20) - 1 }));
      expect(error.code).toBe('CORRUPT_RECORD');
      expect(error.message).toMatch(/limit/);
    },
  );

  it('zstd: a hand-made frame of RLE blocks declaring 75 MiB is refused before decoding', () => {
    // Frame header: magic, descriptor 0 (no content size, window descriptor follows), window
    // 2^17; then 600 RLE blocks of 128 KiB (header: size << 3 | type 1 << 1 | last), 4 bytes
    // each: 2.4 KB that would decompress to 75 MiB.
    const blocks = 600;
    const frame = Buffer.alloc(6 + blocks * 4);
    frame.writeUInt32LE(0xfd2fb528, 0);
    frame[4] = 0;
    frame[5] = (17 - 10) << 3;
    for (let i = 0; i < blocks; i++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
      frame.writeUIntLE(header, 6 + i * 4, 3);
      frame[6 + i * 4 + 3] = 0x61;
    }
    const error = errorOf(() => decompress('zstd', frame));
    expect(error.code).toBe('CORRUPT_RECORD');
    expect(error.details).toMatchObject({ codec: 'zstd', limit: MAX_DECOMPRESSED_BYTES });
    // The same frame cut to 10 blocks is fine: 1.25 MiB of 'a'.
    const small = Buffer.from(frame.subarray(0, 6 + 10 * 4));
    small[6 + 9 * 4]! |= 1;
    expect(decompress('zstd', small).equals(Buffer.alloc(10 * 128 * 1024, 0x61))).toBe(true);
  });
});

describe('lz4', () => {
  it("writes the frame header of Kafka's KafkaLZ4BlockOutputStream: FLG 0x60, BD 0x40", () => {
    const frame = compress('lz4', recordLike(1000));
    expect([...frame.subarray(0, 7)]).toEqual([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
    expect(frame.readUInt32LE(frame.length - 4)).toBe(0); // the end mark
  });

  it('the native and the pure-JS block codecs write frames that each other reads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200_000 }), fc.nat(40), (random, runs) => {
        // Random bytes, then runs of them repeated: both compressible and incompressible blocks.
        const data = Buffer.concat([
          random,
          ...Array.from({ length: runs }, () => random.subarray(0, 97)),
        ]);
        const js = codecFallbacksForTests.lz4Compress(data);
        const native = compress('lz4', data);
        expect(decompress('lz4', js).equals(data)).toBe(true);
        expect(decompress('lz4', native).equals(data)).toBe(true);
        // And both block decoders: the native one (the default) and the pure-JS fallback.
        expect(codecFallbacksForTests.lz4Decompress(native).equals(data)).toBe(true);
        expect(codecFallbacksForTests.lz4Decompress(js).equals(data)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('is native here (lz4-napi loads on this platform)', () => {
    expect(lz4Implementation()).toBe('native');
  });
});

describe('zstd', () => {
  it('reads and writes zstd in this process (node:zlib or the native binding)', () => {
    expect(isCompressionSupported('zstd')).toBe(true);
    const hasZlibZstd =
      typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
    expect(zstdImplementation()).toBe(hasZlibZstd ? 'node:zlib' : 'native');
    const data = recordLike(10_000);
    const fast = compress('zstd', data, { level: 1 });
    const small = compress('zstd', data, { level: 19 });
    expect(fast.readUInt32LE(0)).toBe(0xfd2fb528);
    expect(decompress('zstd', small).equals(data)).toBe(true);
    expect(small.length).toBeLessThanOrEqual(fast.length);
  });

  it('the pure-JS fallback (fzstd) reads what the native codec writes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100_000 }), fc.nat(30), (random, runs) => {
        const data = Buffer.concat([
          random,
          ...Array.from({ length: runs }, () => random.subarray(0, 61)),
        ]);
        const frames = compress('zstd', data);
        expect(codecFallbacksForTests.zstdDecompress(frames).equals(data)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('reads frames back to back and skips skippable frames', () => {
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const joined = Buffer.concat([
      compress('zstd', Buffer.from('abc')),
      skippable,
      compress('zstd', Buffer.from('def')),
    ]);
    expect(decompress('zstd', joined).toString()).toBe('abcdef');
    expect(codecFallbacksForTests.zstdDecompress(joined).toString()).toBe('abcdef');
  });
});

describe.each(['lz4', 'zstd'] as const)('%s damage', (type) => {
  const good = compress(type, recordLike(100_000));

  it('truncation at any length is CORRUPT_RECORD with the codec and a position', () => {
    fc.assert(
      fc.property(fc.nat(good.length - 1), (length) => {
        const error = errorOf(() => decompress(type, good.subarray(0, length)));
        expect(error.code).toBe('CORRUPT_RECORD');
        expect(error.details).toMatchObject({ codec: type });
      }),
      { numRuns: 200 },
    );
  });

  it('changed bytes give CORRUPT_RECORD or bytes of the right length, never another error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        (changes) => {
          const damaged = Buffer.from(good);
          for (const [at, mask] of changes) damaged[at]! ^= mask;
          try {
            // A change inside literals that no checksum covers decodes to other bytes: the
            // batch's CRC-32C, checked before any codec runs, is what catches those.
            expect(decompress(type, damaged).length).toBeLessThanOrEqual(MAX_DECOMPRESSED_BYTES);
          } catch (error) {
            expect(error).toBeInstanceOf(EventLogError);
            expect((error as EventLogError).code).toBe('CORRUPT_RECORD');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('snappy without the native binding', () => {
  it('the pure-JS fallback reads what the native codec writes, and back', async () => {
    const { snappyJsForTests } = await import('../../../lib/log/compression.js');
    const { default: native } = await import('snappy');
    const data = Buffer.from('the same bytes, the same bytes, the same bytes '.repeat(500));
    const fromJs = snappyJsForTests.compressSync(data);
    expect(Buffer.from(native.uncompressSync(fromJs) as Buffer)).toEqual(data);
    const fromNative = native.compressSync(data);
    expect(snappyJsForTests.uncompressSync(fromNative)).toEqual(data);
  });
});
