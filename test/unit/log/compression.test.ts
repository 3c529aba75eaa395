import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COMPRESSION_CODES,
  type CompressionType,
  compress,
  compressionFromAttributes,
  decompress,
  isCompressionSupported,
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

describe.each(['none', 'gzip', 'snappy'] as const)('%s', (type) => {
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

describe('lz4 and zstd', () => {
  it('lz4 answers UNSUPPORTED_COMPRESSION both ways', () => {
    expect(isCompressionSupported('lz4')).toBe(false);
    expect(errorOf(() => compress('lz4', Buffer.from('abc'))).code).toBe('UNSUPPORTED_COMPRESSION');
    expect(errorOf(() => decompress('lz4', Buffer.from('abc'))).code).toBe(
      'UNSUPPORTED_COMPRESSION',
    );
  });

  it('zstd works where node:zlib has it and answers UNSUPPORTED_COMPRESSION elsewhere', () => {
    const data = recordLike(10_000);
    if (typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function') {
      expect(isCompressionSupported('zstd')).toBe(true);
      expect(decompress('zstd', compress('zstd', data, { level: 3 })).equals(data)).toBe(true);
    } else {
      expect(isCompressionSupported('zstd')).toBe(false);
      expect(errorOf(() => compress('zstd', data)).code).toBe('UNSUPPORTED_COMPRESSION');
      expect(errorOf(() => decompress('zstd', data)).code).toBe('UNSUPPORTED_COMPRESSION');
    }
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
