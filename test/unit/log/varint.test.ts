import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import {
  int64FromHalves,
  int64High,
  int64Low,
  readVarInt,
  readVarLong,
  readVarLongBig,
  sizeOfVarInt,
  sizeOfVarLong,
  sizeOfVarLongBig,
  writeVarInt,
  writeVarLong,
  writeVarLongBig,
} from '../../../lib/log/varint.js';

// Vectors from Kafka's own tests: apache/kafka
// clients/src/test/java/org/apache/kafka/common/utils/ByteUtilsTest.java (testVarintSerde,
// testVarlongSerde).
const VARINT_VECTORS: [number, number[]][] = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [63, [0x7e]],
  [-64, [0x7f]],
  [64, [0x80, 0x01]],
  [-65, [0x81, 0x01]],
  [8191, [0xfe, 0x7f]],
  [-8192, [0xff, 0x7f]],
  [8192, [0x80, 0x80, 0x01]],
  [-8193, [0x81, 0x80, 0x01]],
  [1048575, [0xfe, 0xff, 0x7f]],
  [-1048576, [0xff, 0xff, 0x7f]],
  [1048576, [0x80, 0x80, 0x80, 0x01]],
  [-1048577, [0x81, 0x80, 0x80, 0x01]],
  [134217727, [0xfe, 0xff, 0xff, 0x7f]],
  [-134217728, [0xff, 0xff, 0xff, 0x7f]],
  [134217728, [0x80, 0x80, 0x80, 0x80, 0x01]],
  [-134217729, [0x81, 0x80, 0x80, 0x80, 0x01]],
  [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
];

const VARLONG_VECTORS: [bigint, number[]][] = [
  ...VARINT_VECTORS.map(([value, bytes]): [bigint, number[]] => [BigInt(value), bytes]),
  [17179869183n, [0xfe, 0xff, 0xff, 0xff, 0x7f]],
  [-17179869184n, [0xff, 0xff, 0xff, 0xff, 0x7f]],
  [17179869184n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-17179869185n, [0x81, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [2199023255551n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-2199023255552n, [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [2199023255552n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-2199023255553n, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [281474976710655n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-281474976710656n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [281474976710656n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-281474976710657n, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [36028797018963967n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-36028797018963968n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [36028797018963968n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-36028797018963969n, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [4611686018427387903n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-4611686018427387904n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [4611686018427387904n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-4611686018427387905n, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [9223372036854775807n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  [-9223372036854775808n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
];

const cursorOver = (bytes: Uint8Array) => ({ pos: 0, end: bytes.length });

function expectCorrupt(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(EventLogError);
  expect((thrown as EventLogError).code).toBe('CORRUPT_RECORD');
}

describe('varint (int32)', () => {
  it.each(VARINT_VECTORS)('encodes %i as Kafka does', (value, bytes) => {
    const buf = new Uint8Array(10);
    expect(writeVarInt(buf, 0, value)).toBe(bytes.length);
    expect([...buf.subarray(0, bytes.length)]).toEqual(bytes);
    expect(sizeOfVarInt(value)).toBe(bytes.length);
    const cursor = cursorOver(Uint8Array.from(bytes));
    expect(readVarInt(Uint8Array.from(bytes), cursor)).toBe(value);
    expect(cursor.pos).toBe(bytes.length);
  });

  it('round-trips every int32, at any position, and reports its size exactly', () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(8), (value, at) => {
        const buf = new Uint8Array(16);
        const end = writeVarInt(buf, at, value);
        expect(end - at).toBe(sizeOfVarInt(value));
        const cursor = { pos: at, end };
        expect(readVarInt(buf, cursor)).toBe(value);
        expect(cursor.pos).toBe(end);
      }),
    );
  });

  it('rejects a varint longer than 5 bytes, as Java does (ByteUtilsTest.testInvalidVarint)', () => {
    const bytes = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expectCorrupt(() => readVarInt(bytes, cursorOver(bytes)));
  });

  it('rejects a varint cut short, without reading past the cursor end', () => {
    const bytes = Uint8Array.from([0x80, 0x80, 0x01]);
    expectCorrupt(() => readVarInt(bytes, { pos: 0, end: 2 }));
    expectCorrupt(() => readVarInt(bytes, { pos: 3, end: 3 }));
  });
});

describe('varlong (int64)', () => {
  it.each(VARLONG_VECTORS)('encodes %s as Kafka does', (value, bytes) => {
    const buf = new Uint8Array(12);
    expect(writeVarLongBig(buf, 0, value)).toBe(bytes.length);
    expect([...buf.subarray(0, bytes.length)]).toEqual(bytes);
    expect(sizeOfVarLongBig(value)).toBe(bytes.length);
    const encoded = Uint8Array.from(bytes);
    expect(readVarLongBig(encoded, cursorOver(encoded))).toBe(value);
    // The number path agrees wherever a number is exact.
    const asNumber = Number(value);
    if (Number.isSafeInteger(asNumber)) {
      const numberBuf = new Uint8Array(12);
      expect(writeVarLong(numberBuf, 0, asNumber)).toBe(bytes.length);
      expect([...numberBuf.subarray(0, bytes.length)]).toEqual(bytes);
      expect(sizeOfVarLong(asNumber)).toBe(bytes.length);
      expect(readVarLong(encoded, cursorOver(encoded))).toBe(asNumber);
    }
  });

  it('round-trips every safe integer through the number path, bytes equal to the bigint path', () => {
    const safe = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 52, -(2 ** 52)),
    );
    fc.assert(
      fc.property(safe, (value) => {
        const buf = new Uint8Array(12);
        const end = writeVarLong(buf, 0, value);
        const big = new Uint8Array(12);
        expect(writeVarLongBig(big, 0, BigInt(value))).toBe(end);
        expect(buf).toEqual(big);
        expect(sizeOfVarLong(value)).toBe(end);
        const cursor = { pos: 0, end };
        expect(readVarLong(buf, cursor)).toBe(value);
        expect(cursor.pos).toBe(end);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips the whole int64 range through the bigint path', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        const buf = new Uint8Array(12);
        const end = writeVarLongBig(buf, 0, value);
        expect(end).toBe(sizeOfVarLongBig(value));
        const cursor = { pos: 0, end };
        expect(readVarLongBig(buf, cursor)).toBe(value);
        expect(cursor.pos).toBe(end);
      }),
    );
  });

  it('rejects a varlong longer than 10 bytes (ByteUtilsTest.testInvalidVarlong)', () => {
    const bytes = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]);
    expectCorrupt(() => readVarLongBig(bytes, cursorOver(bytes)));
    expectCorrupt(() => readVarLong(bytes, cursorOver(bytes)));
  });

  it('rejects a varlong cut short at every length', () => {
    const bytes = new Uint8Array(10);
    const end = writeVarLongBig(bytes, 0, -9223372036854775808n);
    for (let cut = 0; cut < end; cut++) {
      expectCorrupt(() => readVarLong(bytes, { pos: 0, end: cut }));
      expectCorrupt(() => readVarLongBig(bytes, { pos: 0, end: cut }));
    }
  });
});

describe('int64 halves', () => {
  it('split and join every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        const high = int64High(value);
        const low = int64Low(value);
        expect(low).toBeGreaterThanOrEqual(0);
        expect(low).toBeLessThan(2 ** 32);
        expect((BigInt(high) << 32n) | BigInt(low)).toBe(BigInt(value));
        expect(int64FromHalves(high, low)).toBe(value);
      }),
    );
  });
});
