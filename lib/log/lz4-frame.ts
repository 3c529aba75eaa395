/**
 * The LZ4 frame format (lz4_Frame_format.md v1.6), which Kafka uses for compression codec 3
 * since magic 1 / Kafka 0.10 (KIP-57: with the correct header checksum; magic 0 computed it
 * over the magic number too, a quirk that RecordBatch v2 never carries). All integers are
 * little-endian.
 *
 * Frame =>
 *   magic            uint32   0x184D2204 (0x184D2A50-0x184D2A5F: a skippable frame, below)
 *   FLG              uint8    bits 7-6 version (01), 5 block independence, 4 block checksum,
 *                             3 content size, 2 content checksum, 1 reserved (0), 0 dictionary id
 *   BD               uint8    bits 6-4 block maximum size: 4 64 KiB, 5 256 KiB, 6 1 MiB, 7 4 MiB;
 *                             every other bit reserved (0)
 *   contentSize      uint64   only with FLG bit 3
 *   dictionaryId     uint32   only with FLG bit 0 (refused here: Kafka never sets it)
 *   HC               uint8    (XXH32(FLG..the byte before HC, seed 0) >> 8) & 0xff
 *   blocks           [Block]  up to the end mark
 *   endMark          uint32   0
 *   contentChecksum  uint32   XXH32 of the whole content, only with FLG bit 2
 *
 * Block =>
 *   size             uint32   bit 31 set: the data is stored uncompressed; bits 0-30 its length,
 *                             at most the block maximum size
 *   data             bytes    an LZ4 block (sequences of token, literals, offset, match length)
 *   checksum         uint32   XXH32 of data, only with FLG bit 4
 *
 * Skippable frame =>  magic 0x184D2A5x, size uint32, size bytes of user data (ignored).
 *
 * Kafka's Java client (KafkaLZ4BlockOutputStream) writes FLG 0x60 (version 1, independent
 * blocks, nothing optional) and BD 0x40 (64 KiB blocks); so does `lz4FrameCompress`. The
 * decoder reads any valid frame (dependent blocks, checksums, content size, several frames
 * back to back), checks every length against the input and the output, and verifies every
 * checksum present. This file parses the frame; blocks go to a native block decoder where one
 * is given (lz4-napi: lz4_flex, safe Rust, bounded by the block size), else to the pure-JS one
 * here, which bounds-checks every literal run and match: a damaged block is an error, never
 * garbage. (lz4-napi's own frame decoder measured 2-5x slower than either on Kafka's frames.)
 */

import { EventLogError } from './errors.js';
import { frameError, frameMagic, readU32LE, skippableFrameEnd } from './frame-bytes.js';
import { xxhash32 } from './xxhash32.js';

const FRAME_MAGIC = 0x184d2204;
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICTIONARY_ID = 0x01;
const BD_RESERVED = 0x8f;
const UNCOMPRESSED_BIT = 0x80000000;
const MIN_MATCH = 4;
/** Kafka's block size (KafkaLZ4BlockOutputStream.BLOCKSIZE_64KB), and ours. */
export const LZ4_BLOCK_SIZE = 64 * 1024;
const BD_64KB = 4 << 4;

/** A block compressor: compresses `src[start, end)` into `dst` from 0; returns the length
 *  written, or 0 when it found nothing to gain. `dst` holds `lz4BlockBound(end - start)`. */
export type Lz4BlockCompressor = (
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
) => number;

/**
 * A native block decoder: decodes the independent LZ4 block `src[start, end)` to at most
 * `maxOutput` bytes, or returns undefined when it cannot (the JS decoder then decides).
 */
export type Lz4BlockDecoder = (
  src: Uint8Array,
  start: number,
  end: number,
  maxOutput: number,
) => Uint8Array | undefined;

/** The largest an LZ4 block of `n` input bytes can get (LZ4_COMPRESSBOUND). */
export function lz4BlockBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

const corrupt = (message: string, position: number) => frameError('lz4', message, position);

function writeU32LE(data: Uint8Array, pos: number, value: number): void {
  data[pos] = value;
  data[pos + 1] = value >>> 8;
  data[pos + 2] = value >>> 16;
  data[pos + 3] = value >>> 24;
}

// ---------------------------------------------------------------------------------------------
// Compression

/**
 * One LZ4 frame as Kafka's Java client writes it: FLG 0x60, BD 0x40, independent 64 KiB blocks,
 * a block stored uncompressed when compressing does not make it smaller, the end mark.
 */
export function lz4FrameCompress(data: Uint8Array, compressBlock: Lz4BlockCompressor): Buffer {
  const blocks = Math.ceil(data.length / LZ4_BLOCK_SIZE);
  // Worst case: every block stored, plus the header, block sizes and end mark.
  const out = Buffer.allocUnsafe(7 + data.length + 4 * blocks + 4);
  writeU32LE(out, 0, FRAME_MAGIC);
  out[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENCE;
  out[5] = BD_64KB;
  out[6] = (xxhash32(out, 4, 6) >>> 8) & 0xff;
  let pos = 7;
  const scratch = new Uint8Array(lz4BlockBound(LZ4_BLOCK_SIZE));
  for (let start = 0; start < data.length; start += LZ4_BLOCK_SIZE) {
    const end = Math.min(start + LZ4_BLOCK_SIZE, data.length);
    const size = end - start;
    const compressed = compressBlock(data, start, end, scratch);
    if (compressed > 0 && compressed < size) {
      writeU32LE(out, pos, compressed);
      out.set(scratch.subarray(0, compressed), pos + 4);
      pos += 4 + compressed;
    } else {
      writeU32LE(out, pos, (UNCOMPRESSED_BIT | size) >>> 0);
      out.set(data.subarray(start, end), pos + 4);
      pos += 4 + size;
    }
  }
  writeU32LE(out, pos, 0);
  pos += 4;
  return out.subarray(0, pos);
}

// ---------------------------------------------------------------------------------------------
// Decompression

/** A growable output with a hard ceiling. */
interface Output {
  buf: Uint8Array;
  length: number;
  readonly max: number;
}

function overLimit(max: number, position: number): EventLogError {
  return new EventLogError(
    'CORRUPT_RECORD',
    `Cannot decompress the lz4 records: they exceed the ${max}-byte limit on decompressed records`,
    { details: { codec: 'lz4', position, limit: max } },
  );
}

function reserve(out: Output, extra: number, position: number): void {
  const need = out.length + extra;
  if (need <= out.buf.length) return;
  if (need > out.max) throw overLimit(out.max, position);
  const grown = new Uint8Array(Math.min(out.max, Math.max(need, out.buf.length * 2)));
  grown.set(out.buf.subarray(0, out.length));
  out.buf = grown;
}

/**
 * Decodes the LZ4 block `src[sPos, sEnd)` into `dst` at `dPos`, writing at most up to `dLimit`;
 * matches may reach back to `dFloor` (the block's start when blocks are independent, the
 * frame's start otherwise). Returns the position after the output. Running past `dLimit` is
 * `overflow()`: the block is bigger than its frame allows, or than the output limit leaves.
 */
function decodeBlock(
  src: Uint8Array,
  sPos: number,
  sEnd: number,
  dst: Uint8Array,
  dPos: number,
  dLimit: number,
  dFloor: number,
  overflow: (position: number) => EventLogError,
): number {
  for (;;) {
    if (sPos >= sEnd) throw corrupt('block ends inside a sequence', sPos);
    const token = src[sPos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) throw corrupt('truncated literal length', sPos);
        b = src[sPos++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > sEnd - sPos) throw corrupt('literals run past the block', sPos);
    if (literals > dLimit - dPos) throw overflow(sPos);
    if (literals < 16) {
      for (let i = 0; i < literals; i++) dst[dPos + i] = src[sPos + i]!;
    } else {
      dst.set(src.subarray(sPos, sPos + literals), dPos);
    }
    sPos += literals;
    dPos += literals;
    // The last sequence of a block has literals only.
    if (sPos === sEnd) return dPos;
    if (sEnd - sPos < 2) throw corrupt('truncated match offset', sPos);
    const offset = src[sPos]! | (src[sPos + 1]! << 8);
    sPos += 2;
    if (offset === 0 || offset > dPos - dFloor) {
      throw corrupt(`match offset ${offset} points before the start of the data`, sPos - 2);
    }
    let match = token & 15;
    if (match === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) throw corrupt('truncated match length', sPos);
        b = src[sPos++]!;
        match += b;
      } while (b === 255);
    }
    match += MIN_MATCH;
    if (match > dLimit - dPos) throw overflow(sPos);
    let from = dPos - offset;
    if (offset >= match && match >= 32) {
      dst.copyWithin(dPos, from, from + match);
      dPos += match;
    } else {
      // Overlapping matches repeat the last `offset` bytes: byte by byte.
      const end = dPos + match;
      while (dPos < end) dst[dPos++] = dst[from++]!;
    }
  }
}

const BLOCK_MAX_SIZES: Record<number, number> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};

/**
 * Decompresses one or more LZ4 frames (and skips skippable frames) that fill `data` exactly.
 * The output never grows past `maxOutput` bytes: a frame that would is CORRUPT_RECORD.
 */
export function lz4FrameDecompress(
  data: Uint8Array,
  maxOutput: number,
  nativeBlock?: Lz4BlockDecoder,
): Buffer {
  const out: Output = {
    buf: new Uint8Array(Math.min(maxOutput, Math.max(64, data.length * 4))),
    length: 0,
    max: maxOutput,
  };
  let pos = 0;
  if (data.length === 0) throw corrupt('no frame', 0);
  while (pos < data.length) {
    const magic = frameMagic('lz4', data, pos);
    const skipped = skippableFrameEnd('lz4', data, pos, magic);
    if (skipped !== undefined) {
      pos = skipped;
      continue;
    }
    if (magic !== FRAME_MAGIC) {
      throw corrupt(`not an LZ4 frame (magic 0x${magic.toString(16)})`, pos);
    }
    pos = decodeFrame(data, pos, out, nativeBlock);
  }
  return Buffer.from(out.buf.buffer, out.buf.byteOffset, out.length);
}

function decodeFrame(
  data: Uint8Array,
  frameStart: number,
  out: Output,
  nativeBlock: Lz4BlockDecoder | undefined,
): number {
  let pos = frameStart + 4;
  if (data.length - pos < 3) throw corrupt('truncated frame descriptor', pos);
  const flg = data[pos]!;
  const bd = data[pos + 1]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION) {
    throw corrupt(`unsupported frame version ${flg >>> 6}`, pos);
  }
  if ((flg & FLG_RESERVED) !== 0 || (bd & BD_RESERVED) !== 0) {
    throw corrupt('reserved descriptor bits are set', pos);
  }
  if ((flg & FLG_DICTIONARY_ID) !== 0) throw corrupt('dictionaries are not supported', pos);
  const blockMax = BLOCK_MAX_SIZES[(bd >>> 4) & 0x07];
  if (blockMax === undefined) throw corrupt(`invalid block maximum size ${(bd >>> 4) & 7}`, pos);
  const descriptorLength = (flg & FLG_CONTENT_SIZE) !== 0 ? 10 : 2;
  if (data.length - pos < descriptorLength + 1) throw corrupt('truncated frame descriptor', pos);
  let contentSize = -1;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    const high = readU32LE(data, pos + 6);
    contentSize =
      high > 0x1fffff ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + readU32LE(data, pos + 2);
    reserve(out, contentSize, pos + 2);
  }
  const hc = (xxhash32(data, pos, pos + descriptorLength) >>> 8) & 0xff;
  if (data[pos + descriptorLength] !== hc) {
    throw corrupt('frame descriptor checksum mismatch', pos + descriptorLength);
  }
  pos += descriptorLength + 1;

  const independent = (flg & FLG_BLOCK_INDEPENDENCE) !== 0;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const contentStart = out.length;
  for (;;) {
    if (data.length - pos < 4) throw corrupt('truncated block size (no end mark)', pos);
    const word = readU32LE(data, pos);
    pos += 4;
    if (word === 0) break;
    const stored = (word & UNCOMPRESSED_BIT) !== 0;
    const size = word & 0x7fffffff;
    if (size > blockMax) {
      throw corrupt(`block of ${size} bytes exceeds the frame's ${blockMax}`, pos - 4);
    }
    if (size > data.length - pos - (blockChecksum ? 4 : 0)) {
      throw corrupt('truncated block', pos - 4);
    }
    if (blockChecksum && xxhash32(data, pos, pos + size) !== readU32LE(data, pos + size)) {
      throw corrupt('block checksum mismatch', pos + size);
    }
    if (stored) {
      reserve(out, size, pos);
      out.buf.set(data.subarray(pos, pos + size), out.length);
      out.length += size;
    } else {
      // An LZ4 block expands at most 255-fold (one 0xff length byte per 255 bytes).
      const bound = Math.min(blockMax, size * 255);
      const room = Math.min(bound, out.max - out.length);
      reserve(out, room, pos);
      // Independent blocks may go to the native decoder (about twice as fast on JSON); a block
      // it refuses is decoded again by ours, which says precisely what is wrong.
      const decoded = independent ? nativeBlock?.(data, pos, pos + size, room) : undefined;
      if (decoded !== undefined && decoded.length <= room) {
        out.buf.set(decoded, out.length);
        out.length += decoded.length;
      } else
        out.length = decodeBlock(
          data,
          pos,
          pos + size,
          out.buf,
          out.length,
          out.length + room,
          independent ? out.length : contentStart,
          room < bound
            ? (at) => overLimit(out.max, at)
            : (at) => corrupt(`block decompresses past the frame's ${blockMax}-byte blocks`, at),
        );
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize >= 0 && out.length - contentStart !== contentSize) {
    throw corrupt(
      `frame declares ${contentSize} bytes of content, holds ${out.length - contentStart}`,
      frameStart,
    );
  }
  if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
    if (data.length - pos < 4) throw corrupt('truncated content checksum', pos);
    if (xxhash32(out.buf, contentStart, out.length) !== readU32LE(data, pos)) {
      throw corrupt('content checksum mismatch', pos);
    }
    pos += 4;
  }
  return pos;
}
