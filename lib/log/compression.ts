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
 *   3 lz4     the LZ4 frame format, as Kafka's KafkaLZ4BlockOutputStream writes it: see
 *             lz4-frame.ts for the layout.
 *   4 zstd    Zstandard frames (RFC 8878), as zstd-jni's ZstdOutputStream writes them: see
 *             zstd-frame.ts for the layout.
 *
 * Implementations, each loaded on first use, native first with a fallback that always loads:
 *
 *   snappy  `snappy` (native)            else snappyjs (pure JS, same bytes, slower)
 *   lz4     frame format: ours (lz4-frame.ts); blocks: `lz4-napi` (native) else ours, pure JS
 *           (lz4-block.ts, and the bounds-checked decoder in lz4-frame.ts)
 *   zstd    node:zlib's zstd (Node >= 22.15: Lambda's nodejs22.x) else `@toondepauw/node-zstd`
 *           (native) else, for reading only, fzstd (pure JS); writing zstd then is
 *           UNSUPPORTED_COMPRESSION
 *
 * Decompression bombs: no codec decompresses more than MAX_DECOMPRESSED_BYTES (64 MiB) per
 * batch. lz4 and zstd frames are walked before anything is allocated (their block headers bound
 * the output), gzip stops at the limit (zlib's maxOutputLength) and snappy blocks declare their
 * length up front; a batch over the limit is CORRUPT_RECORD. 64 MiB is 16x the largest record a
 * topic accepts (max.message.bytes <= 4 MiB) and a twentieth of the API function's memory.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import SnappyJS from 'snappyjs';
import { EventLogError } from './errors.js';
import { lz4CompressBlockJs } from './lz4-block.js';
import { type Lz4BlockDecoder, lz4FrameCompress, lz4FrameDecompress } from './lz4-frame.js';
import { zstdDecompressedBound } from './zstd-frame.js';

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

/** The uncompressed length a raw snappy block declares up front (a varint of up to 32 bits). */
function snappyDeclaredLength(block: Uint8Array): number {
  let length = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return length;
  }
  throw corrupt('snappy (bad block length preamble)');
}

function snappyUncompressBlock(snappy: SnappyBinding, block: Uint8Array, room: number): Buffer {
  if (snappyDeclaredLength(block) > room) throw tooLarge('snappy', room);
  try {
    return snappy.uncompressSync(block, SNAPPY_UNCOMPRESS_OPTIONS) as Buffer;
  } catch (error) {
    throw corrupt('snappy', error);
  }
}

function snappyDecompress(data: Uint8Array, maxOutput: number): Buffer {
  const snappy = requireSnappy();
  if (!hasXerialMagic(data, 0)) return snappyUncompressBlock(snappy, data, maxOutput);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Buffer[] = [];
  let room = maxOutput;
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
    const block = snappyUncompressBlock(snappy, data.subarray(pos, pos + length), room);
    room -= block.length;
    blocks.push(block);
    pos += length;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

// ---------------------------------------------------------------------------------------------
// lz4

interface Lz4Napi {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
}

let lz4Native: Lz4Napi | null | undefined;

function loadLz4Native(): Lz4Napi | null {
  if (lz4Native !== undefined) return lz4Native;
  try {
    const require = createRequire(import.meta.url);
    lz4Native = require('lz4-napi') as Lz4Napi;
  } catch {
    lz4Native = null;
  }
  return lz4Native;
}

// lz4-napi's compressSync writes lz4_flex's block with its length prepended (4 bytes).
function nativeCompressBlock(
  native: Lz4Napi,
): (src: Uint8Array, start: number, end: number, dst: Uint8Array) => number {
  return (src, start, end, dst) => {
    const block = native.compressSync(Buffer.from(src.buffer, src.byteOffset + start, end - start));
    const size = block.length - 4;
    if (size > dst.length) return 0;
    dst.set(block.subarray(4), 0);
    return size;
  };
}

// lz4-napi's uncompressSync reads the same length-prefixed form; the prefix is the most the
// block may decode to (lz4_flex refuses a block that would need more).
function nativeDecodeBlock(native: Lz4Napi): Lz4BlockDecoder {
  return (src, start, end, maxOutput) => {
    const input = Buffer.allocUnsafe(end - start + 4);
    input.writeUInt32LE(maxOutput, 0);
    input.set(src.subarray(start, end), 4);
    try {
      return native.uncompressSync(input);
    } catch {
      return undefined;
    }
  };
}

let lz4NativeDecoder: Lz4BlockDecoder | undefined;

function lz4Decompress(data: Uint8Array, maxOutput: number): Buffer {
  const native = loadLz4Native();
  if (native !== null) lz4NativeDecoder ??= nativeDecodeBlock(native);
  return lz4FrameDecompress(data, maxOutput, lz4NativeDecoder);
}

/** Which lz4 block codec is in use; 'js' when lz4-napi could not load. */
export function lz4Implementation(): 'native' | 'js' {
  return loadLz4Native() === null ? 'js' : 'native';
}

function lz4Compress(data: Uint8Array): Buffer {
  const native = loadLz4Native();
  return lz4FrameCompress(data, native === null ? lz4CompressBlockJs : nativeCompressBlock(native));
}

// ---------------------------------------------------------------------------------------------
// zstd

type ZlibSync = (data: Uint8Array, options?: object) => Buffer;
const zlibZstd = zlib as unknown as {
  zstdCompressSync?: ZlibSync;
  zstdDecompressSync?: ZlibSync;
  constants: Record<string, number>;
};

interface ZstdBinding {
  name: 'node:zlib' | 'native' | 'js';
  /** Undefined where this process cannot write zstd. */
  compress: ((data: Uint8Array, level: number | undefined) => Buffer) | undefined;
  decompress(data: Uint8Array, maxOutput: number): Buffer;
}

interface NodeZstd {
  Encoder: new (level: number) => { encodeSync(data: Buffer): Buffer };
  Decoder: new () => { decodeSync(data: Buffer): Buffer };
}

/** zstd's own default level, which zstd-jni and Kafka (compression.zstd.level) keep. */
const ZSTD_DEFAULT_LEVEL = 3;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : toBuffer(bytes);
}

function zlibZstdBinding(): ZstdBinding | undefined {
  const compressSync = zlibZstd.zstdCompressSync;
  const decompressSync = zlibZstd.zstdDecompressSync;
  if (compressSync === undefined || decompressSync === undefined) return undefined;
  const levelParam = zlibZstd.constants['ZSTD_c_compressionLevel'] ?? 100;
  return {
    name: 'node:zlib',
    compress: (data, level) =>
      compressSync(data, { params: { [levelParam]: level ?? ZSTD_DEFAULT_LEVEL } }),
    decompress: (data, maxOutput) => decompressSync(data, { maxOutputLength: maxOutput }),
  };
}

function nativeZstdBinding(): ZstdBinding | undefined {
  let native: NodeZstd;
  try {
    const require = createRequire(import.meta.url);
    native = require('@toondepauw/node-zstd') as NodeZstd;
  } catch {
    return undefined;
  }
  const encoders = new Map<number, { encodeSync(data: Buffer): Buffer }>();
  const decoder = new native.Decoder();
  return {
    name: 'native',
    compress: (data, level = ZSTD_DEFAULT_LEVEL) => {
      let encoder = encoders.get(level);
      if (encoder === undefined) {
        encoder = new native.Encoder(level);
        encoders.set(level, encoder);
      }
      return encoder.encodeSync(asBuffer(data));
    },
    // The frames were walked first: what the decoder can produce is bounded by maxOutput.
    decompress: (data) => decoder.decodeSync(asBuffer(data)),
  };
}

/**
 * fzstd is loaded only where it is used: Lambda's nodejs22.x has zstd in node:zlib, so the
 * function bundles leave it out (lib/infra/bundling.ts) and stay under their size goal.
 */
let fzstdDecompress: ((data: Uint8Array) => Uint8Array) | undefined;

const zstdJsBinding: ZstdBinding = {
  name: 'js',
  compress: undefined,
  decompress: (data) => {
    if (fzstdDecompress === undefined) {
      try {
        const require = createRequire(import.meta.url);
        fzstdDecompress = (require('fzstd') as typeof import('fzstd')).decompress;
      } catch (error) {
        throw new EventLogError(
          'UNSUPPORTED_COMPRESSION',
          'Reading zstd needs Node >= 22.15, the @toondepauw/node-zstd binding or the fzstd package; none is available here',
          { cause: error },
        );
      }
    }
    return toBuffer(fzstdDecompress(data));
  },
};

let zstdBinding: ZstdBinding | undefined;

function loadZstd(): ZstdBinding {
  zstdBinding ??= zlibZstdBinding() ?? nativeZstdBinding() ?? zstdJsBinding;
  return zstdBinding;
}

/** Which zstd implementation is in use: node:zlib's, the native binding, or fzstd (read only). */
export function zstdImplementation(): 'node:zlib' | 'native' | 'js' {
  return loadZstd().name;
}

function zstdCompress(data: Uint8Array, level: number | undefined): Buffer {
  const binding = loadZstd();
  if (binding.compress === undefined) {
    throw new EventLogError(
      'UNSUPPORTED_COMPRESSION',
      `Writing zstd needs Node >= 22.15 or the @toondepauw/node-zstd binding (this is ${process.version} without it); reading works everywhere`,
      { details: { compression: 'zstd' } },
    );
  }
  return binding.compress(data, level);
}

function zstdDecompress(binding: ZstdBinding, data: Uint8Array, maxOutput: number): Buffer {
  zstdDecompressedBound(data, maxOutput);
  try {
    return binding.decompress(data, maxOutput);
  } catch (error) {
    throw corrupt('zstd', error);
  }
}

/** For tests and the bench: the fallbacks that run where no native module loads. */
export const codecFallbacksForTests = {
  lz4Compress: (data: Uint8Array): Buffer => lz4FrameCompress(data, lz4CompressBlockJs),
  lz4Decompress: (data: Uint8Array, maxOutput = MAX_DECOMPRESSED_BYTES): Buffer =>
    lz4FrameDecompress(data, maxOutput),
  zstdDecompress: (data: Uint8Array, maxOutput = MAX_DECOMPRESSED_BYTES): Buffer =>
    zstdDecompress(zstdJsBinding, data, maxOutput),
};

// ---------------------------------------------------------------------------------------------

/** The most a batch's records may decompress to: 64 MiB. See the top of this file. */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

function corrupt(codec: string, cause?: unknown): EventLogError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new EventLogError('CORRUPT_RECORD', `Cannot decompress the ${codec} records${reason}`, {
    cause,
    details: { codec },
  });
}

function tooLarge(codec: string, limit: number): EventLogError {
  return new EventLogError(
    'CORRUPT_RECORD',
    `Cannot decompress the ${codec} records: they exceed the ${limit}-byte limit on decompressed records`,
    { details: { codec, limit } },
  );
}

/**
 * The codec a batch meant for `type` is written with in this process: `type` itself, except
 * zstd where this process cannot write it (Node < 22.15 without the native binding: never
 * Lambda's nodejs22.x), which is written as gzip, the codec nearest to it in ratio. A batch
 * names its codec in its attributes and every reader reads all five, so a topic whose
 * compression.type is zstd stays readable whoever wrote it; the fallback only costs speed.
 */
export function writableCompression(type: CompressionType): CompressionType {
  return type === 'zstd' && loadZstd().compress === undefined ? 'gzip' : type;
}

/** For tests: make this process read zstd with fzstd only, as where no encoder loads. */
export function useZstdReadOnlyForTests(readOnly: boolean): void {
  zstdBinding = readOnly ? zstdJsBinding : undefined;
}

/** Whether `compress` can write `type` in this process (`decompress` reads every codec). */
export function isCompressionSupported(type: CompressionType): boolean {
  switch (type) {
    case 'none':
    case 'gzip':
    case 'snappy':
    case 'lz4':
      return true;
    case 'zstd':
      return loadZstd().compress !== undefined;
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
    case 'lz4':
      return lz4Compress(data);
    case 'zstd':
      return zstdCompress(data, options.level);
  }
}

export interface DecompressOptions {
  /** The most the records may decompress to; default MAX_DECOMPRESSED_BYTES. */
  maxBytes?: number;
}

/**
 * Decompresses `data` written with `type`. A blob the codec rejects, or one that would
 * decompress past `maxBytes`, is CORRUPT_RECORD (details: codec, and the position in the blob
 * where the codec could tell).
 */
export function decompress(
  type: CompressionType,
  data: Uint8Array,
  options: DecompressOptions = {},
): Buffer {
  const maxBytes = options.maxBytes ?? MAX_DECOMPRESSED_BYTES;
  switch (type) {
    case 'none':
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case 'gzip':
      try {
        return zlib.gunzipSync(data, { maxOutputLength: maxBytes });
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          throw tooLarge('gzip', maxBytes);
        }
        throw corrupt('gzip', error);
      }
    case 'snappy':
      return snappyDecompress(data, maxBytes);
    case 'lz4':
      return lz4Decompress(data, maxBytes);
    case 'zstd':
      return zstdDecompress(loadZstd(), data, maxBytes);
  }
}
