import { describe, expect, it } from 'vitest';
import { compress } from '../../../lib/log/compression.js';
import { EventLogError } from '../../../lib/log/errors.js';
import { zstdDecompressedBound } from '../../../lib/log/zstd-frame.js';

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

/** A frame: magic, descriptor, window descriptor (2^17), then the given bytes. */
const frame = (descriptor: number, rest: number[]) =>
  Buffer.from([
    0x28,
    0xb5,
    0x2f,
    0xfd,
    descriptor,
    ...(descriptor & 0x20 ? [] : [7 << 3]),
    ...rest,
  ]);
/** A block header: size << 3 | type << 1 | last. */
const block = (size: number, type: number, last: boolean) => {
  const h = (size << 3) | (type << 1) | (last ? 1 : 0);
  return [h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff];
};

describe('zstd frame walk', () => {
  it('bounds raw and RLE blocks exactly, compressed ones by the block maximum', () => {
    expect(
      zstdDecompressedBound(
        frame(0, [...block(3, 0, false), 1, 2, 3, ...block(1000, 1, true), 9]),
        MAX,
      ),
    ).toBe(1003);
    expect(zstdDecompressedBound(frame(0, [...block(2, 2, true), 0, 0]), MAX)).toBe(128 * 1024);
  });

  it('takes a declared content size as the bound of the frame', () => {
    const data = Buffer.alloc(50_000, 3);
    const frames = compress('zstd', data);
    expect(zstdDecompressedBound(frames, MAX)).toBeGreaterThanOrEqual(data.length);
    // Single segment, 1-byte content size: the window is the content size.
    expect(zstdDecompressedBound(frame(0x20, [5, ...block(5, 0, true), 1, 2, 3, 4, 5]), MAX)).toBe(
      5,
    );
  });

  it.each([
    ['a reserved descriptor bit', frame(0x08, [...block(0, 0, true)]), /reserved/],
    ['a reserved block type', frame(0, [...block(0, 3, true)]), /reserved block type/],
    ['a truncated raw block', frame(0, [...block(10, 0, true), 1, 2]), /truncated raw/],
    ['a missing last block', frame(0, [...block(1, 0, false), 1]), /no last block/],
    ['a missing checksum', frame(0x04, [...block(1, 0, true), 1, 0, 0]), /checksum/],
    ['a compressed block over 128 KiB', frame(0, [...block(200_000, 2, true)]), /compressed block/],
    [
      'content size above its blocks',
      frame(0x20, [9, ...block(5, 0, true), 1, 2, 3, 4, 5]),
      /declares 9/,
    ],
    ['another magic number', Buffer.from([1, 2, 3, 4, 5]), /not a zstd frame/],
    ['a truncated header', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), /truncated frame header/],
  ])('refuses %s with CORRUPT_RECORD and a position', (_name, data, message) => {
    const error = errorOf(() => zstdDecompressedBound(data, MAX));
    expect(error.code).toBe('CORRUPT_RECORD');
    expect(error.message).toMatch(message);
    expect(error.details).toMatchObject({ codec: 'zstd' });
    expect(typeof error.details?.['position']).toBe('number');
  });

  it('refuses frames whose blocks may decompress past the limit', () => {
    const rle = frame(0, [...block(100_000, 1, false), 1, ...block(100_000, 1, true), 1]);
    expect(zstdDecompressedBound(rle, 200_000)).toBe(200_000);
    expect(errorOf(() => zstdDecompressedBound(rle, 199_999)).details).toMatchObject({
      limit: 199_999,
    });
  });
});
