/**
 * lz4 and zstd batches written by independent encoders (test/fixtures/make-lz4-zstd-batches.ts:
 * kafkajs's record encoder, the reference lz4 and zstd tools as its codecs) decode to the
 * records they were made from; and the frames inside them exercise the frame options Kafka
 * clients use and the ones they may (checksums, dependent blocks, content size).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decompress,
  isCompressionSupported,
  useZstdReadOnlyForTests,
  writableCompression,
  zstdImplementation,
} from '../../../lib/log/compression.js';
import { crc32c } from '../../../lib/log/crc32c.js';
import { EventLogError } from '../../../lib/log/errors.js';
import {
  decodeRecordBatch,
  encodeRecordBatch,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from '../../../lib/log/record-batch.js';
import { fixtureRecords } from '../../fixtures/lz4-zstd-records.js';
import { kafkajsDecode, registerKafkajsCodec } from './kafkajs-reference.js';

interface GoldenCase {
  name: string;
  hex: string;
  expected: { compression: 'lz4' | 'zstd'; records: { count: number; valueSize: number } };
}

const doc = JSON.parse(
  readFileSync(new URL('../../fixtures/lz4-zstd-record-batches.json', import.meta.url), 'utf8'),
) as { source: string; cases: GoldenCase[] };

const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

function errorOf(fn: () => unknown): EventLogError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EventLogError);
    return error as EventLogError;
  }
  throw new Error('expected an error');
}

describe('golden lz4 and zstd batches from independent encoders', () => {
  it('has both codecs, several frame variants each', () => {
    expect(doc.cases.filter((c) => c.expected.compression === 'lz4')).toHaveLength(3);
    expect(doc.cases.filter((c) => c.expected.compression === 'zstd')).toHaveLength(3);
  });

  it.each(doc.cases.map((c) => [c.name, c] as const))('decodes "%s"', (_name, c) => {
    const batch = decodeRecordBatch(Buffer.from(c.hex, 'hex'));
    const expected = fixtureRecords(c.expected.records.count, c.expected.records.valueSize);
    expect(batch.compression).toBe(c.expected.compression);
    expect(batch.recordCount).toBe(expected.length);
    expect(
      batch.records.map((r) => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: text(r.key),
        value: text(r.value),
        headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
      })),
    ).toEqual(expected);
  });

  it('the Kafka-framed lz4 batch has exactly the frame header our encoder writes', () => {
    const kafka = doc.cases.find((c) => c.name.startsWith('lz4, Kafka framing'))!;
    const theirs = Buffer.from(kafka.hex, 'hex').subarray(RECORD_BATCH_OVERHEAD);
    const ours = encodeRecordBatch([{ value: Buffer.from('x'), timestamp: 0 }], {
      compression: 'lz4',
    }).subarray(RECORD_BATCH_OVERHEAD);
    expect(theirs.subarray(0, 7)).toEqual(ours.subarray(0, 7));
  });

  it('a damaged frame behind a valid CRC is CORRUPT_RECORD naming the batch and codec', () => {
    for (const c of doc.cases) {
      const batch = Buffer.from(c.hex, 'hex');
      // The frame's magic number: no codec can mistake it.
      batch[RECORD_BATCH_OVERHEAD + 1]! ^= 0xff;
      batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
      const error = errorOf(() => decodeRecordBatch(batch, { baseOffset: 4200 }));
      expect(error.code).toBe('CORRUPT_RECORD');
      expect(error.details).toMatchObject({
        batchPosition: 0,
        baseOffset: 4200,
        compression: c.expected.compression,
        codec: c.expected.compression,
      });
      expect(error.message).toMatch(/base offset 4200/);
    }
  });
});

describe('our lz4 and zstd batches read by kafkajs with codec plugins', () => {
  it.each(['lz4', 'zstd'] as const)('%s', async (compression) => {
    // The plugin's decompress is ours: this checks the batch framing kafkajs expects around it.
    registerKafkajsCodec(compression === 'lz4' ? 3 : 4, {
      compress: () => {
        throw new Error('not used');
      },
      decompress: (data) => decompress(compression, data),
    });
    const records = fixtureRecords(50, 200).map((r) => ({
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      headers: r.headers.map((h) => ({ key: h.key, value: Buffer.from(h.value) })),
      timestamp: r.timestamp,
    }));
    const batch = encodeRecordBatch(records, { compression });
    const theirs = await kafkajsDecode(batch);
    expect(theirs.records.map((r) => text(r.value))).toEqual(records.map((r) => text(r.value)));
    expect(theirs.records.map((r) => text(r.key))).toEqual(records.map((r) => text(r.key)));
  });
});

describe('a process that cannot write zstd (Node < 22.15 without the native binding)', () => {
  afterEach(() => useZstdReadOnlyForTests(false));

  const input = fixtureRecords(30, 150).map((r) => ({
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: Buffer.from(h.value) })),
    timestamp: r.timestamp,
  }));
  const values = (batch: Buffer) => decodeRecordBatch(batch).records.map((r) => text(r.value));

  it('writes a batch meant for zstd as gzip, which its attributes say', () => {
    expect(writableCompression('zstd')).toBe('zstd');
    useZstdReadOnlyForTests(true);
    expect(isCompressionSupported('zstd')).toBe(false);
    expect(writableCompression('zstd')).toBe('gzip');
    expect(writableCompression('lz4')).toBe('lz4');
    const batch = encodeRecordBatch(input, { compression: 'zstd' });
    expect(readBatchHeader(batch, { verifyCrc: true }).compression).toBe('gzip');
    expect(values(batch)).toEqual(input.map((r) => text(r.value)));
  });

  it('still reads zstd, with fzstd: our batches and the golden ones', () => {
    const ours = encodeRecordBatch(input, { compression: 'zstd' });
    useZstdReadOnlyForTests(true);
    expect(zstdImplementation()).toBe('js');
    expect(values(ours)).toEqual(input.map((r) => text(r.value)));
    for (const c of doc.cases.filter((x) => x.expected.compression === 'zstd')) {
      const expected = fixtureRecords(c.expected.records.count, c.expected.records.valueSize);
      expect(values(Buffer.from(c.hex, 'hex'))).toEqual(expected.map((r) => r.value));
    }
  });
});
