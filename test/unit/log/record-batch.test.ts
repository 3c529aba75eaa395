import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompressionType } from '../../../lib/log/compression.js';
import { crc32c } from '../../../lib/log/crc32c.js';
import { EventLogError } from '../../../lib/log/errors.js';
import {
  type DecodedBatch,
  decodeRecordBatch,
  decodeRecordBatches,
  type EncodeOptions,
  encodeRecordBatch,
  RECORD_BATCH_OVERHEAD,
  type RecordInput,
  readBatchHeader,
} from '../../../lib/log/record-batch.js';
import { kafkajsEncode } from './kafkajs-reference.js';

/** Every codec of RecordBatch v2. */
const ALL_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url);

/** Reads an annotated hex fixture: '#' starts a comment, whitespace is ignored. */
function readHexFixture(name: string): Buffer {
  const text = readFileSync(fixture(name), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(text, 'hex');
}

/** The error code a call throws ('ok' if none); anything but an EventLogError fails the test. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (!(error instanceof EventLogError)) {
      throw new Error(`expected an EventLogError, got ${String(error)}`, { cause: error });
    }
    return error.code;
  }
}

/** Rewrites the CRC after a deliberate change, so that the decoder gets past its CRC check. */
function withValidCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** What decoding `records` encoded at `baseOffset` must give back. */
function expectedRecords(records: readonly RecordInput[], baseOffset: number) {
  return records.map((record, i) => ({
    offset: baseOffset + i,
    timestamp: record.timestamp,
    key: record.key == null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    headers: (record.headers ?? []).map((header) => ({
      key: header.key,
      value: header.value === null ? null : Buffer.from(header.value),
    })),
  }));
}

const SMALL_RECORDS: RecordInput[] = [
  {
    key: Buffer.from('key'),
    value: Buffer.from('value'),
    headers: [{ key: 'h', value: Buffer.from('v') }],
    timestamp: 1700000000000,
  },
  { key: null, value: Buffer.from('x'), timestamp: 1700000000250 },
];

// ---------------------------------------------------------------------------------------------
// Arbitraries

const bytes = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null, freq: 4 });
const timestamp = fc.integer({ min: 0, max: 4102444800000 }); // up to 2100-01-01
const header = fc.record({ key: fc.string({ maxLength: 12 }), value: nullable(bytes(16)) });
const record: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: nullable(bytes(24)),
    value: nullable(bytes(200)),
    headers: fc.array(header, { maxLength: 4 }),
    timestamp,
  },
  { requiredKeys: ['value', 'timestamp'] },
);
const records = fc.array(record, { minLength: 1, maxLength: 20 });
const batchOptions: fc.Arbitrary<EncodeOptions> = fc.record(
  {
    baseOffset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 20 }),
    producerId: fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }), fc.constant(-1)),
    producerEpoch: fc.integer({ min: -1, max: 32767 }),
    baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
    transactional: fc.boolean(),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------------------------

describe('golden bytes', () => {
  const golden = readHexFixture('record-batch-v2.hex');

  it('encodes the annotated fixture byte for byte', () => {
    expect(encodeRecordBatch(SMALL_RECORDS).toString('hex')).toBe(golden.toString('hex'));
  });

  it('agrees with kafkajs, whose encoder writes the same bytes', async () => {
    const theirs = await kafkajsEncode([
      {
        key: Buffer.from('key'),
        value: Buffer.from('value'),
        headers: { h: Buffer.from('v') },
        timestamp: 1700000000000,
      },
      { key: null, value: Buffer.from('x'), timestamp: 1700000000250 },
    ]);
    expect(theirs.toString('hex')).toBe(golden.toString('hex'));
  });

  it('decodes the fixture to its annotated fields', () => {
    const batch = decodeRecordBatch(golden);
    expect(batch).toMatchObject({
      baseOffset: 0,
      batchLength: 77,
      sizeInBytes: 89,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: 0xa363e13b,
      attributes: 0,
      compression: 'none',
      timestampType: 'CreateTime',
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 1,
      lastOffset: 1,
      baseTimestamp: 1700000000000,
      maxTimestamp: 1700000000250,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 2,
    });
    expect(batch.records).toEqual(expectedRecords(SMALL_RECORDS, 0));
  });

  describe('sarama (the Go Kafka client) golden batches', () => {
    interface SaramaCase {
      name: string;
      hex: string;
      expected: Record<string, unknown> & {
        records: {
          offset: number;
          timestamp: number;
          key: string;
          value: string;
          headers: { key: string; value: string }[];
        }[];
      };
    }
    const doc = JSON.parse(readFileSync(fixture('sarama-record-batches.json'), 'utf8')) as {
      common: Record<string, unknown>;
      cases: SaramaCase[];
    };
    const decodable = doc.cases;

    it.each(decodable.map((c) => [c.name, c] as const))('decodes "%s"', (_name, c) => {
      const batch = decodeRecordBatch(Buffer.from(c.hex, 'hex'));
      const { records: expected, ...fields } = c.expected;
      const { producerId, ...common } = doc.common;
      expect(batch).toMatchObject({ ...common, ...fields });
      expect(batch.producerId).toBe(BigInt(producerId as string));
      expect(batch.records).toEqual(
        expected.map((r) => ({
          ...r,
          key: Buffer.from(r.key, 'hex'),
          value: Buffer.from(r.value, 'hex'),
          headers: r.headers.map((h) => ({ key: h.key, value: Buffer.from(h.value, 'hex') })),
        })),
      );
    });

    it("has an lz4 batch (written by pierrec/lz4, sarama's codec) among them", () => {
      const lz4 = doc.cases.filter((c) => c.expected['compression'] === 'lz4');
      expect(lz4).toHaveLength(1);
      expect(decodeRecordBatch(Buffer.from(lz4[0]!.hex, 'hex')).records).toHaveLength(1);
    });

    it('re-encodes the uncompressed record to the same record bytes', () => {
      const source = Buffer.from(
        decodable.find((c) => c.name === 'uncompressed record')!.hex,
        'hex',
      );
      const ours = encodeRecordBatch(
        [
          {
            key: Buffer.from([1, 2, 3, 4]),
            value: Buffer.from([5, 6, 7]),
            headers: [{ key: '\b\t\n', value: Buffer.from([11, 12]) }],
            timestamp: 1479847795005,
          },
        ],
        { producerId: 0, producerEpoch: 0, baseSequence: 0, partitionLeaderEpoch: 0 },
      );
      // sarama's batch has a base timestamp 5 ms before its only record and a max timestamp of
      // 0; Kafka's rule (base = first record, max = greatest) gives delta 0, so only the
      // record's timestampDelta byte (varlong 5 = 0x0a, here 0x00) differs past the header.
      const theirRecord = Buffer.from(source.subarray(RECORD_BATCH_OVERHEAD));
      theirRecord[2] = 0;
      expect(ours.subarray(RECORD_BATCH_OVERHEAD)).toEqual(theirRecord);
      expect(ours.subarray(0, 17)).toEqual(source.subarray(0, 17));
    });
  });
});

describe('round trip', () => {
  it.each(ALL_CODECS)('decodes what it encodes, every field, with %s', (compression) => {
    fc.assert(
      fc.property(records, batchOptions, (input, options) => {
        const encoded = encodeRecordBatch(input, { ...options, compression });
        const batch = decodeRecordBatch(encoded);
        const baseOffset = options.baseOffset ?? 0;
        const timestamps = input.map((r) => r.timestamp!);
        expect(batch).toMatchObject({
          baseOffset,
          lastOffsetDelta: input.length - 1,
          lastOffset: baseOffset + input.length - 1,
          recordCount: input.length,
          sizeInBytes: encoded.length,
          compression,
          timestampType: 'CreateTime',
          isTransactional: options.transactional === true,
          isControl: false,
          baseTimestamp: timestamps[0],
          maxTimestamp: Math.max(...timestamps),
          producerId: BigInt(options.producerId ?? -1),
          producerEpoch: options.producerEpoch ?? -1,
          baseSequence: options.baseSequence ?? -1,
          partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
        });
        expect(batch.records).toEqual(expectedRecords(input, baseOffset));
      }),
      { numRuns: 150 },
    );
  });

  it.each(ALL_CODECS)('carries 1 MiB values with %s', (compression) => {
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) >>> 7;
    const input: RecordInput[] = [
      { key: Buffer.from('a'), value: big, timestamp: 1 },
      { key: null, value: Buffer.alloc(0), timestamp: 2 },
      { key: Buffer.alloc(0), value: big.subarray(1), timestamp: 0 },
    ];
    const batch = decodeRecordBatch(encodeRecordBatch(input, { compression }));
    expect(batch.records.map((r) => r.value?.length)).toEqual([1 << 20, 0, (1 << 20) - 1]);
    expect(batch.records[0]!.value!.equals(big)).toBe(true);
    expect(batch.records[2]!.value!.equals(big.subarray(1))).toBe(true);
    expect(batch.records[2]!.key).toEqual(Buffer.alloc(0));
    expect(batch.records.map((r) => r.timestamp)).toEqual([1, 2, 0]);
  });

  it('keeps negative timestamp deltas and timestamps before 1970', () => {
    const input: RecordInput[] = [
      { value: Buffer.from('a'), timestamp: 1700000000000 },
      { value: Buffer.from('b'), timestamp: 1 },
      { value: Buffer.from('c'), timestamp: -86400000 },
      { value: Buffer.from('d'), timestamp: 1700000000001 },
    ];
    const batch = decodeRecordBatch(encodeRecordBatch(input));
    expect(batch.baseTimestamp).toBe(1700000000000);
    expect(batch.maxTimestamp).toBe(1700000000001);
    expect(batch.records.map((r) => r.timestamp)).toEqual([
      1700000000000, 1, -86400000, 1700000000001,
    ]);
  });

  it('is exact for timestamp deltas beyond 2^53 (the whole varlong range)', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const input: RecordInput[] = [
      { value: null, timestamp: -max },
      { value: null, timestamp: max },
      { value: null, timestamp: max - 1 },
      { value: null, timestamp: -max + 3 },
      { value: null, timestamp: 2 ** 52 + 1 },
    ];
    const encoded = encodeRecordBatch(input);
    const batch = decodeRecordBatch(encoded);
    expect(batch.records.map((r) => r.timestamp)).toEqual(input.map((r) => r.timestamp));
    expect(batch.maxTimestamp).toBe(max);
  });

  it('writes every null as -1 and tells a null from an empty key, value or header value', () => {
    const input: RecordInput[] = [
      {
        key: null,
        value: null,
        headers: [
          { key: '', value: null },
          { key: 'e', value: Buffer.alloc(0) },
        ],
        timestamp: 5,
      },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [], timestamp: 5 },
    ];
    const batch = decodeRecordBatch(encodeRecordBatch(input));
    expect(batch.records).toEqual(expectedRecords(input, 0));
    expect(batch.records[0]!.key).toBeNull();
    expect(batch.records[1]!.key).toEqual(Buffer.alloc(0));
  });

  it('keeps header order, repeated header keys and non-ASCII keys', () => {
    const headers = [
      { key: 'trace', value: Buffer.from('1') },
      { key: 'trace', value: Buffer.from('2') },
      { key: 'clé-ü-日本-😀', value: Buffer.from('3') },
      { key: 'x'.repeat(300), value: Buffer.from('4') },
    ];
    const batch = decodeRecordBatch(
      encodeRecordBatch([{ value: Buffer.from('v'), headers, timestamp: 0 }]),
    );
    expect(batch.records[0]!.headers).toEqual(headers);
  });

  it('defaults a missing timestamp to the time of the call', () => {
    const before = Date.now();
    const batch = decodeRecordBatch(encodeRecordBatch([{ value: Buffer.from('v') }]));
    const after = Date.now();
    expect(batch.records[0]!.timestamp).toBeGreaterThanOrEqual(before);
    expect(batch.records[0]!.timestamp).toBeLessThanOrEqual(after);
  });
});

describe('timestamps, offsets and flags', () => {
  it('with LogAppendTime, sets bit 3, writes the append time as maxTimestamp and reports it for every record', () => {
    const encoded = encodeRecordBatch(SMALL_RECORDS, {
      timestampType: 'LogAppendTime',
      logAppendTime: 1800000000000,
    });
    expect(encoded.readInt16BE(21) & 0x08).toBe(0x08);
    const batch = decodeRecordBatch(encoded);
    expect(batch.timestampType).toBe('LogAppendTime');
    expect(batch.baseTimestamp).toBe(1700000000000);
    expect(batch.maxTimestamp).toBe(1800000000000);
    expect(batch.records.map((r) => r.timestamp)).toEqual([1800000000000, 1800000000000]);
  });

  it('replaces the stored base offset when the reader knows the real one', () => {
    const encoded = encodeRecordBatch(SMALL_RECORDS);
    const batch = decodeRecordBatch(encoded, { baseOffset: 2 ** 40 });
    expect(batch.baseOffset).toBe(2 ** 40);
    expect(batch.lastOffset).toBe(2 ** 40 + 1);
    expect(batch.records.map((r) => r.offset)).toEqual([2 ** 40, 2 ** 40 + 1]);
    expect(readBatchHeader(encoded, { baseOffset: 7 }).lastOffset).toBe(8);
  });

  it('writes the transactional and control bits', () => {
    const encoded = encodeRecordBatch(SMALL_RECORDS, { transactional: true, control: true });
    expect(encoded.readInt16BE(21)).toBe(0x30);
    expect(readBatchHeader(encoded)).toMatchObject({ isTransactional: true, isControl: true });
  });

  it('writes the codec in bits 0-2 of the attributes', () => {
    for (const [compression, code] of [
      ['none', 0],
      ['gzip', 1],
      ['snappy', 2],
      ['lz4', 3],
      ['zstd', 4],
    ] as const) {
      const encoded = encodeRecordBatch(SMALL_RECORDS, { compression });
      expect(encoded.readInt16BE(21) & 0x07).toBe(code);
    }
  });

  it('writes int64 fields over their whole range', () => {
    const encoded = encodeRecordBatch(SMALL_RECORDS, {
      baseOffset: Number.MAX_SAFE_INTEGER - 1,
      producerId: 2n ** 63n - 1n,
    });
    expect(encoded.readBigInt64BE(0)).toBe(BigInt(Number.MAX_SAFE_INTEGER - 1));
    expect(encoded.readBigInt64BE(43)).toBe(2n ** 63n - 1n);
    expect(decodeRecordBatch(encoded).producerId).toBe(2n ** 63n - 1n);
  });
});

describe('zero-copy views', () => {
  it('returns keys and values of an uncompressed batch as Buffers over the input memory', () => {
    const encoded = encodeRecordBatch(SMALL_RECORDS);
    const [first] = decodeRecordBatch(encoded).records;
    const value = first!.value!;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value.constructor).toBe(Buffer);
    expect(value.buffer).toBe(encoded.buffer);
    expect(value.toString('base64')).toBe(Buffer.from('value').toString('base64'));
    expect(value.subarray(1, 3).toString()).toBe('al');
    encoded[encoded.indexOf('value')] = 'V'.charCodeAt(0);
    expect(value.toString()).toBe('Value');
  });
});

describe('decoder fast paths', () => {
  it('reads offset deltas of one, two and three varint bytes (10,000 records)', () => {
    const input: RecordInput[] = Array.from({ length: 10_000 }, (_, i) => ({
      key: null,
      value: i % 2 === 0 ? null : Buffer.from([i & 0xff]),
      timestamp: 1_700_000_000_000 + i * 1000, // deltas past 2^20: 4-byte varlongs
    }));
    const batch = decodeRecordBatch(encodeRecordBatch(input, { baseOffset: 5 }));
    expect(batch.records.map((r) => r.offset)).toEqual(input.map((_, i) => 5 + i));
    expect(batch.records[9999]!.timestamp).toBe(1_700_000_000_000 + 9_999_000);
    expect(batch.records[8193]!.value).toEqual(Buffer.from([8193 & 0xff]));
  });

  it('gives records without headers one shared, frozen empty array', () => {
    const input = [SMALL_RECORDS[1]!, { ...SMALL_RECORDS[1]!, value: null }];
    const [a, b] = decodeRecordBatch(encodeRecordBatch(input)).records;
    expect(a!.headers).toEqual([]);
    expect(a!.headers).toBe(b!.headers);
    expect(Object.isFrozen(a!.headers)).toBe(true);
  });
});

describe('several batches', () => {
  const first = encodeRecordBatch(SMALL_RECORDS, { baseOffset: 0 });
  const second = encodeRecordBatch([{ value: Buffer.from('z'), timestamp: 9 }], {
    baseOffset: 2,
    compression: 'gzip',
  });
  const joined = Buffer.concat([first, second]);

  it('decodes batches back to back with their own base offsets', () => {
    const batches = decodeRecordBatches(joined);
    expect(batches.map((b) => b.records.map((r) => r.offset))).toEqual([[0, 1], [2]]);
    expect(batches.map((b) => b.sizeInBytes)).toEqual([first.length, second.length]);
    expect(readBatchHeader(joined.subarray(first.length)).baseOffset).toBe(2);
  });

  it('refuses a partial batch at the end, and stray bytes after a single batch', () => {
    for (let cut = first.length + 1; cut < joined.length; cut++) {
      expect(outcome(() => decodeRecordBatches(joined.subarray(0, cut)))).toBe('CORRUPT_RECORD');
    }
    expect(outcome(() => decodeRecordBatch(joined))).toBe('CORRUPT_RECORD');
    expect(decodeRecordBatches(new Uint8Array(0))).toEqual([]);
  });
});

describe('corruption', () => {
  const batches: [string, Buffer][] = [
    ['none', encodeRecordBatch(SMALL_RECORDS)],
    ['gzip', encodeRecordBatch(SMALL_RECORDS, { compression: 'gzip' })],
    ['snappy', encodeRecordBatch(SMALL_RECORDS, { compression: 'snappy' })],
    ['lz4', encodeRecordBatch(SMALL_RECORDS, { compression: 'lz4' })],
    ['zstd', encodeRecordBatch(SMALL_RECORDS, { compression: 'zstd' })],
  ];

  it.each(batches)(
    '%s: any change to any byte from batchLength to the end is CORRUPT_RECORD',
    (_name, encoded) => {
      // baseOffset and partitionLeaderEpoch are outside the CRC by Kafka's design (brokers
      // rewrite them); every other byte is covered by the size, magic or CRC check.
      for (let i = 8; i < encoded.length; i++) {
        if (i >= 12 && i < 16) continue;
        for (const mask of [0x01, 0x80, 0xff]) {
          const damaged = Buffer.from(encoded);
          damaged[i]! ^= mask;
          expect(
            outcome(() => decodeRecordBatch(damaged)),
            `byte ${i} ^ ${mask}`,
          ).toBe('CORRUPT_RECORD');
        }
      }
    },
  );

  it('detects a changed byte anywhere in the CRC-covered part of random batches', () => {
    fc.assert(
      fc.property(
        records,
        fc.constantFrom(...ALL_CODECS),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (input, compression, at, mask) => {
          const damaged = encodeRecordBatch(input, { compression });
          damaged[17 + (at % (damaged.length - 17))]! ^= mask;
          expect(outcome(() => decodeRecordBatch(damaged))).toBe('CORRUPT_RECORD');
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each(batches)('%s: truncation at every length is CORRUPT_RECORD', (_name, encoded) => {
    for (let length = 0; length < encoded.length; length++) {
      expect(
        outcome(() => decodeRecordBatch(encoded.subarray(0, length))),
        `${length}`,
      ).toBe('CORRUPT_RECORD');
      expect(outcome(() => readBatchHeader(encoded.subarray(0, length)))).toBe('CORRUPT_RECORD');
    }
  });

  it('never throws anything but CORRUPT_RECORD or UNSUPPORTED_COMPRESSION on damage behind a valid CRC', () => {
    fc.assert(
      fc.property(
        records,
        fc.constantFrom(...ALL_CODECS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (input, compression, changes) => {
          const damaged = encodeRecordBatch(input, { compression });
          for (const [at, value] of changes) damaged[21 + (at % (damaged.length - 21))] = value;
          const result = outcome(() => decodeRecordBatch(withValidCrc(damaged)));
          expect(['ok', 'CORRUPT_RECORD', 'UNSUPPORTED_COMPRESSION']).toContain(result);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but an EventLogError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (random) => {
        const buf = Buffer.from(random);
        expect(['CORRUPT_RECORD', 'UNSUPPORTED_COMPRESSION']).toContain(
          outcome(() => decodeRecordBatch(buf)),
        );
        if (buf.length >= RECORD_BATCH_OVERHEAD) {
          // The same bytes dressed as a plausible batch: right length, magic and CRC.
          buf.writeInt32BE(buf.length - 12, 8);
          buf[16] = 2;
          const result = outcome(() => decodeRecordBatch(withValidCrc(buf)));
          expect(['ok', 'CORRUPT_RECORD', 'UNSUPPORTED_COMPRESSION']).toContain(result);
        }
      }),
      { numRuns: 1000 },
    );
  });

  describe('structural damage behind a valid CRC', () => {
    // One record {key "k", value "v"} at timestamp 0: its bytes start at 61.
    //   61 length=0x10 (8)  62 attributes  63 tsDelta  64 offsetDelta  65 keyLength=0x02
    //   66 'k'  67 valueLength=0x02  68 'v'  69 headerCount
    const base = () =>
      encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 0 }]);
    /** Overwrites bytes from `at`. */
    const put =
      (at: number, ...values: number[]) =>
      (b: Buffer): Buffer => {
        b.set(values, at);
        return b;
      };
    const cases: [string, (b: Buffer) => Buffer, string][] = [
      ['more records declared than present', put(57, 0, 0, 0, 2), 'CORRUPT_RECORD'],
      ['fewer records declared than present', put(57, 0, 0, 0, 0), 'CORRUPT_RECORD'],
      ['a negative record count', put(57, 0xff, 0xff, 0xff, 0xff), 'CORRUPT_RECORD'],
      ['a key length of -2', put(65, 0x03), 'CORRUPT_RECORD'],
      ['a key longer than its record', put(65, 0x20), 'CORRUPT_RECORD'],
      ['a value length of -3', put(67, 0x05), 'CORRUPT_RECORD'],
      ['a negative header count', put(69, 0x01), 'CORRUPT_RECORD'],
      ['a header count beyond the record', put(69, 0x02), 'CORRUPT_RECORD'],
      ['a record length beyond the batch', put(61, 0x7e), 'CORRUPT_RECORD'],
      ['a record length shorter than its fields', put(61, 0x0e), 'CORRUPT_RECORD'],
      ['a negative record length', put(61, 0x01), 'CORRUPT_RECORD'],
      [
        'a varint longer than 5 bytes',
        (b) =>
          Buffer.concat([b.subarray(0, 61), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0])]),
        'CORRUPT_RECORD',
      ],
      [
        'garbage after the last record',
        (b) => Buffer.concat([b, Buffer.from([0])]),
        'CORRUPT_RECORD',
      ],
      ['magic 1', put(16, 1), 'CORRUPT_RECORD'],
      ['a batch length below the header size', put(8, 0, 0, 0, 48), 'CORRUPT_RECORD'],
      ['an unknown codec id', put(21, 0, 6), 'UNSUPPORTED_COMPRESSION'],
    ];

    it.each(cases)('%s', (_name, change, code) => {
      const b = change(base());
      // Keep the declared length in step with the bytes when a case changed their number.
      if (b.length !== base().length) b.writeInt32BE(b.length - 12, 8);
      expect(outcome(() => decodeRecordBatch(withValidCrc(b)))).toBe(code);
    });

    it('the undamaged base decodes (so each case above fails for its own reason)', () => {
      expect(decodeRecordBatch(base()).records[0]).toMatchObject({
        key: Buffer.from('k'),
        value: Buffer.from('v'),
      });
    });
  });

  it('checks the CRC in readBatchHeader only when asked', () => {
    const damaged = encodeRecordBatch(SMALL_RECORDS);
    damaged[damaged.length - 1]! ^= 1;
    expect(readBatchHeader(damaged).recordCount).toBe(2);
    expect(outcome(() => readBatchHeader(damaged, { verifyCrc: true }))).toBe('CORRUPT_RECORD');
  });
});

describe('encoder input checks', () => {
  it.each<[string, () => unknown, string]>([
    ['no records', () => encodeRecordBatch([]), 'INVALID_REQUEST'],
    [
      'a fractional timestamp',
      () => encodeRecordBatch([{ value: null, timestamp: 1.5 }]),
      'INVALID_REQUEST',
    ],
    [
      'a timestamp beyond 2^53',
      () =>
        encodeRecordBatch([
          { value: null, timestamp: 1 },
          { value: null, timestamp: 2 ** 60 },
        ]),
      'INVALID_REQUEST',
    ],
    [
      'a negative base offset',
      () => encodeRecordBatch(SMALL_RECORDS, { baseOffset: -1 }),
      'INVALID_REQUEST',
    ],
    [
      'a producer epoch beyond int16',
      () => encodeRecordBatch(SMALL_RECORDS, { producerEpoch: 40000 }),
      'INVALID_REQUEST',
    ],
    [
      'a producer id beyond int64',
      () => encodeRecordBatch(SMALL_RECORDS, { producerId: 2n ** 63n }),
      'INVALID_REQUEST',
    ],
    [
      'a fractional producer id',
      () => encodeRecordBatch(SMALL_RECORDS, { producerId: 0.5 }),
      'INVALID_REQUEST',
    ],
    [
      'a codec that does not exist',
      () =>
        encodeRecordBatch(SMALL_RECORDS, {
          compression: 'brotli' as unknown as CompressionType,
        }),
      'INVALID_REQUEST',
    ],
  ])('refuses %s', (_name, fn, code) => {
    expect(outcome(fn)).toBe(code);
  });

  it('sizes the buffer exactly, whatever the varint widths', () => {
    fc.assert(
      fc.property(records, (input) => {
        const batch: DecodedBatch = decodeRecordBatch(encodeRecordBatch(input));
        expect(batch.sizeInBytes).toBe(12 + batch.batchLength);
      }),
      { numRuns: 100 },
    );
  });
});
