/**
 * The compression codecs of a RecordBatch, chosen by bits 0-2 of its attributes. In a compressed
 * batch everything after the 61-byte header (the records) is one compressed blob; the record
 * count stays uncompressed in the header.
 *
 *   0 none
 *   1 gzip    RFC 1952, as java.util.zip.GZIPOutputStream writes it (node:zlib, level 6 default)
 *   2 snappy  xerial snappy-java framing, as Kafka's Java client writes it (SnappyOutputStream):
 *               magic        8 bytes  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *               version      int32    1
 *               compatible   int32    1 (minimum version a reader needs)
 *               chunks       [length int32][raw snappy block of at most 32 KiB of input]...
 *             Readers also meet raw (unframed) snappy from other clients (sarama, librdkafka
 *             with some settings): a blob without the magic is decoded as one raw block, as
 *             snappy-java's SnappyInputStream and kafkajs-snappy do.
 *   3 lz4     Kafka's LZ4 frame format: not supported yet (UNSUPPORTED_COMPRESSION). Nothing in
 *             this system writes it; a pure-JS frame codec is the way to add it.
 *   4 zstd    via node:zlib where this Node has it (zstdCompressSync, Node >= 22.15), else
 *             UNSUPPORTED_COMPRESSION.
 *
 * The `snappy` package is native and optional for a bundle: it is loaded on first use, and a
 * build without it falls back to the pure-JS snappyjs (same bytes, slower).
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import SnappyJS from 'snappyjs';
import { EventLogError } from './errors.js';

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Attribute bits 0-2 of each codec. */
export const COMPRESSION_CODES = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const satisfies Record<CompressionType, number>;

const COMPRESSION_BY_CODE: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The codec named by bits 0-2 of a batch's attributes. */
export function compressionFromAttributes(attributes: number): CompressionType {
  const code = attributes & 0x07;
  const type = COMPRESSION_BY_CODE[code];
  if (type === undefined) {
    throw new EventLogError('UNSUPPORTED_COMPRESSION', `Unknown compression codec id ${code}`, {
      details: { codec: code },
    });
  }
  return type;
}

export interface CompressOptions {
  /** Codec-specific level: gzip 0-9 (default 6), zstd 1-22 (default 3). Ignored by snappy. */
  level?: number;
}

// ---------------------------------------------------------------------------------------------
// snappy

interface SnappyBinding {
  compressSync(input: Uint8Array, options?: { copyOutputData?: boolean }): Buffer;
  uncompressSync(
    input: Uint8Array,
    options?: { asBuffer?: boolean; copyOutputData?: boolean },
  ): string | Buffer;
}

// The binding's default hands back native memory as an external Buffer, which costs more than
// the copy it saves (2-5x slower on 32 KiB blocks, measured with snappy 7.4): ask for a copy.
const SNAPPY_COMPRESS_OPTIONS = { copyOutputData: true };
const SNAPPY_UNCOMPRESS_OPTIONS = { asBuffer: true, copyOutputData: true };

let snappyBinding: SnappyBinding | undefined;

/**
 * Where the native binding cannot load (a Lambda bundle built on another CPU architecture),
 * snappyjs, the pure-JS codec kafkajs-snappy uses, takes over: slower, same bytes.
 */
const snappyJsBinding: SnappyBinding = {
  compressSync: (input) => toBuffer(SnappyJS.compress(input)),
  uncompressSync: (input) => toBuffer(SnappyJS.uncompress(input)),
};

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function loadSnappy(): SnappyBinding {
  if (snappyBinding !== undefined) return snappyBinding;
  try {
    const require = createRequire(import.meta.url);
    snappyBinding = require('snappy') as SnappyBinding;
  } catch {
    snappyBinding = snappyJsBinding;
  }
  return snappyBinding;
}

/** Which snappy implementation is in use; 'js' when the native binding could not load. */
export function snappyImplementation(): 'native' | 'js' {
  return loadSnappy() === snappyJsBinding ? 'js' : 'native';
}

/** For tests: compress and decompress with the pure-JS fallback only. */
export const snappyJsForTests = snappyJsBinding;

function requireSnappy(): SnappyBinding {
  return loadSnappy();
}

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00] as const;
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
// SnappyOutputStream's default block, which Kafka keeps (compression.snappy block size 32 KiB).
const XERIAL_BLOCK_SIZE = 32 * 1024;

function hasXerialMagic(data: Uint8Array, at: number): boolean {
  if (data.length - at < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) {
    if (data[at + i] !== XERIAL_MAGIC[i]) return false;
  }
  return true;
}

function snappyCompress(data: Uint8Array): Buffer {
  const snappy = requireSnappy();
  const blocks: Buffer[] = [];
  let size = XERIAL_HEADER_SIZE;
  for (let start = 0; start < data.length; start += XERIAL_BLOCK_SIZE) {
    const block = snappy.compressSync(
      data.subarray(start, start + XERIAL_BLOCK_SIZE),
      SNAPPY_COMPRESS_OPTIONS,
    );
    blocks.push(block);
    size += 4 + block.length;
  }
  const out = Buffer.allocUnsafe(size);
  out.set(XERIAL_MAGIC, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  let pos = XERIAL_HEADER_SIZE;
  for (const block of blocks) {
    out.writeInt32BE(block.length, pos);
    out.set(block, pos + 4);
    pos += 4 + block.length;
  }
  return out;
}

function snappyUncompressBlock(snappy: SnappyBinding, block: Uint8Array): Buffer {
  try {
    return snappy.uncompressSync(block, SNAPPY_UNCOMPRESS_OPTIONS) as Buffer;
  } catch (error) {
    throw corrupt('snappy', error);
  }
}

function snappyDecompress(data: Uint8Array): Buffer {
  const snappy = requireSnappy();
  if (!hasXerialMagic(data, 0)) return snappyUncompressBlock(snappy, data);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    // A stream may hold several xerial streams back to back (snappy-java reads them as one).
    if (hasXerialMagic(data, pos)) {
      if (data.length - pos < XERIAL_HEADER_SIZE) throw corrupt('snappy (truncated header)');
      const compatible = view.getInt32(pos + 12);
      if (compatible > XERIAL_VERSION) {
        throw corrupt(`snappy (xerial stream needs version ${compatible})`);
      }
      pos += XERIAL_HEADER_SIZE;
      continue;
    }
    if (data.length - pos < 4) throw corrupt('snappy (truncated chunk length)');
    const length = view.getInt32(pos);
    pos += 4;
    if (length < 0 || length > data.length - pos) throw corrupt('snappy (bad chunk length)');
    blocks.push(snappyUncompressBlock(snappy, data.subarray(pos, pos + length)));
    pos += length;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

// ---------------------------------------------------------------------------------------------
// zstd (node:zlib on Node >= 22.15 / 23.8)

type ZlibSync = (data: Uint8Array, options?: object) => Buffer;
const zlibZstd = zlib as unknown as {
  zstdCompressSync?: ZlibSync;
  zstdDecompressSync?: ZlibSync;
  constants: Record<string, number>;
};

function requireZstd(): { compress: ZlibSync; decompress: ZlibSync } {
  const compress = zlibZstd.zstdCompressSync;
  const decompress = zlibZstd.zstdDecompressSync;
  if (compress === undefined || decompress === undefined) {
    throw new EventLogError(
      'UNSUPPORTED_COMPRESSION',
      `zstd compression needs Node >= 22.15 (this is ${process.version})`,
    );
  }
  return { compress, decompress };
}

// ---------------------------------------------------------------------------------------------

function corrupt(codec: string, cause?: unknown): EventLogError {
  return new EventLogError('CORRUPT_RECORD', `Cannot decompress the ${codec} records`, {
    cause,
  });
}

function unsupported(type: CompressionType): EventLogError {
  return new EventLogError(
    'UNSUPPORTED_COMPRESSION',
    `${type} compression is not supported by this build`,
    { details: { compression: type } },
  );
}

/** Whether `compress`/`decompress` can handle `type` in this process. */
export function isCompressionSupported(type: CompressionType): boolean {
  switch (type) {
    case 'none':
    case 'gzip':
      return true;
    case 'snappy':
      return true;
    case 'zstd':
      return zlibZstd.zstdCompressSync !== undefined;
    case 'lz4':
      return false;
  }
}

/** Compresses `data` with `type`, byte-compatible with what Kafka's Java client writes. */
export function compress(
  type: CompressionType,
  data: Uint8Array,
  options: CompressOptions = {},
): Buffer {
  switch (type) {
    case 'none':
      return Buffer.from(data);
    case 'gzip':
      return zlib.gzipSync(data, options.level === undefined ? {} : { level: options.level });
    case 'snappy':
      return snappyCompress(data);
    case 'zstd': {
      const zstd = requireZstd();
      const level = options.level;
      return zstd.compress(
        data,
        level === undefined
          ? {}
          : { params: { [zlibZstd.constants['ZSTD_c_compressionLevel'] ?? 100]: level } },
      );
    }
    case 'lz4':
      throw unsupported(type);
  }
}

/**
 * Decompresses `data` written with `type`. A blob the codec rejects is CORRUPT_RECORD; a codec
 * this build lacks is UNSUPPORTED_COMPRESSION.
 */
export function decompress(type: CompressionType, data: Uint8Array): Buffer {
  switch (type) {
    case 'none':
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case 'gzip':
      try {
        return zlib.gunzipSync(data);
      } catch (error) {
        throw corrupt('gzip', error);
      }
    case 'snappy':
      return snappyDecompress(data);
    case 'zstd': {
      const zstd = requireZstd();
      try {
        return zstd.decompress(data);
      } catch (error) {
        throw corrupt('zstd', error);
      }
    }
    case 'lz4':
      throw unsupported(type);
  }
}
