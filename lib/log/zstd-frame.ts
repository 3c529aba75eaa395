/**
 * The structure of Zstandard frames (RFC 8878), walked without decoding anything: enough to
 * know the most a frame can decompress to before any decoder allocates it, and to refuse a
 * truncated or malformed frame with the position of the fault. All integers are little-endian.
 *
 * Frame =>
 *   magic                 uint32   0xFD2FB528 (0x184D2A50-0x184D2A5F: a skippable frame)
 *   frameHeaderDescriptor uint8    bits 7-6 content size field flag, 5 single segment,
 *                                  4 unused, 3 reserved (0), 2 content checksum,
 *                                  1-0 dictionary id field flag (0, 1, 2 or 4 bytes)
 *   windowDescriptor      uint8    absent with single segment
 *   dictionaryId          0-4 bytes
 *   frameContentSize      0, 1, 2 (+256), 4 or 8 bytes (1 only with single segment and flag 0)
 *   blocks                [Block]  up to the one with the last-block bit
 *   contentChecksum       uint32   low 32 bits of XXH64 of the content, with bit 2
 *
 * Block =>
 *   header                uint24   bit 0 last block, bits 1-2 type (0 raw, 1 RLE, 2 compressed,
 *                                  3 reserved), bits 3-23 size
 *   content               raw: size bytes, decompressing to themselves; RLE: 1 byte repeated
 *                         size times; compressed: size bytes decompressing to at most
 *                         min(window size, 128 KiB)
 *
 * Skippable frame =>  magic 0x184D2A5x, size uint32, size bytes of user data.
 *
 * Kafka's Java client writes plain frames through zstd-jni's ZstdOutputStream (no dictionary,
 * content size unknown, checksum off); the walk accepts any valid frame.
 */

import { EventLogError } from './errors.js';
import { frameError, frameMagic, readU32LE, skippableFrameEnd } from './frame-bytes.js';

const FRAME_MAGIC = 0xfd2fb528;
const MAX_BLOCK_SIZE = 128 * 1024;

const corrupt = (message: string, position: number) => frameError('zstd', message, position);

/**
 * The most that the frames filling `data` can decompress to (exact for raw and RLE blocks, 128 KiB
 * or the window for a compressed block; a declared content size only lowers it).
 * Throws CORRUPT_RECORD on a malformed or truncated frame, and on a bound above `maxOutput`.
 */
export function zstdDecompressedBound(data: Uint8Array, maxOutput: number): number {
  if (data.length === 0) throw corrupt('no frame', 0);
  let pos = 0;
  let total = 0;
  while (pos < data.length) {
    const magic = frameMagic('zstd', data, pos);
    const skipped = skippableFrameEnd('zstd', data, pos, magic);
    if (skipped !== undefined) {
      pos = skipped;
      continue;
    }
    if (magic !== FRAME_MAGIC)
      throw corrupt(`not a zstd frame (magic 0x${magic.toString(16)})`, pos);
    const frameStart = pos;
    pos += 4;
    if (pos >= data.length) throw corrupt('truncated frame header', pos);
    const descriptor = data[pos++]!;
    if ((descriptor & 0x08) !== 0) throw corrupt('reserved frame header bit is set', pos - 1);
    const singleSegment = (descriptor & 0x20) !== 0;
    const fcsFlag = descriptor >>> 6;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03]!;
    const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    const headerRest = (singleSegment ? 0 : 1) + dictionaryBytes + fcsBytes;
    if (data.length - pos < headerRest) throw corrupt('truncated frame header', pos);
    let windowSize = Number.POSITIVE_INFINITY;
    if (!singleSegment) {
      const wd = data[pos++]!;
      const windowLog = 10 + (wd >>> 3);
      const windowBase = 2 ** windowLog;
      windowSize = windowBase + (windowBase / 8) * (wd & 0x07);
    }
    pos += dictionaryBytes;
    let contentSize = -1;
    if (fcsBytes === 1) contentSize = data[pos]!;
    else if (fcsBytes === 2) contentSize = (data[pos]! | (data[pos + 1]! << 8)) + 256;
    else if (fcsBytes === 4) contentSize = readU32LE(data, pos);
    else if (fcsBytes === 8) {
      const high = readU32LE(data, pos + 4);
      contentSize =
        high > 0x1fffff ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + readU32LE(data, pos);
    }
    pos += fcsBytes;
    if (singleSegment) windowSize = contentSize;
    const blockMax = Math.min(windowSize, MAX_BLOCK_SIZE);

    let frameBound = 0;
    for (;;) {
      if (data.length - pos < 3) throw corrupt('truncated block header (no last block)', pos);
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      const last = (header & 1) !== 0;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      pos += 3;
      if (type === 0) {
        if (size > data.length - pos) throw corrupt('truncated raw block', pos - 3);
        frameBound += size;
        pos += size;
      } else if (type === 1) {
        if (pos >= data.length) throw corrupt('truncated RLE block', pos - 3);
        frameBound += size;
        pos += 1;
      } else if (type === 2) {
        if (size > MAX_BLOCK_SIZE) throw corrupt(`compressed block of ${size} bytes`, pos - 3);
        if (size > data.length - pos) throw corrupt('truncated compressed block', pos - 3);
        frameBound += blockMax;
        pos += size;
      } else {
        throw corrupt('reserved block type', pos - 3);
      }
      if (total + frameBound > maxOutput) {
        throw new EventLogError(
          'CORRUPT_RECORD',
          `Cannot decompress the zstd records: they may exceed the ${maxOutput}-byte limit on decompressed records`,
          { details: { codec: 'zstd', position: frameStart, limit: maxOutput } },
        );
      }
      if (last) break;
    }
    if ((descriptor & 0x04) !== 0) {
      if (data.length - pos < 4) throw corrupt('truncated content checksum', pos);
      pos += 4;
    }
    if (contentSize >= 0) {
      if (contentSize > frameBound) {
        throw corrupt(
          `frame declares ${contentSize} bytes, its blocks hold at most ${frameBound}`,
          frameStart,
        );
      }
      frameBound = contentSize;
    }
    total += frameBound;
  }
  return total;
}
