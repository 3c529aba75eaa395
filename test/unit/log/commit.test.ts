import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Commit,
  type CommitBatch,
  defaultSequences,
  EMPTY_PREFIX,
  extendPrefix,
  holeExpired,
  type PublishedCommit,
  packCommitBody,
  packPartitionMap,
  parseCommitSequences,
  partitionsOfSequence,
  SEGMENT_SPREAD,
  segmentKey,
  segmentPrefixes,
  sequenceOf,
  unpackCommitBody,
  unpackPartitionMap,
} from '../../../lib/log/commit.js';
import { isEventLogError } from '../../../lib/log/errors.js';

const RESERVED_AT = 1_700_000_000_000;

function published(
  commit: number,
  vector: [number, number][],
  previousReservedAt = 0,
): PublishedCommit {
  return {
    kind: 'published',
    commit,
    object: `o${commit}`,
    reservedAt: RESERVED_AT + commit,
    previousReservedAt,
    batches: [],
    vector: new Map(vector),
  };
}

const aborted = (commit: number): Commit => ({ kind: 'aborted', commit, abortedAt: 0 });

describe('packed commit bodies', () => {
  const batch = fc
    .record({
      count: fc.integer({ min: 1, max: 10_000 }),
      position: fc.integer({ min: 0, max: 6 * 1024 * 1024 }),
      length: fc.integer({ min: 1, max: 6 * 1024 * 1024 }),
      minDelta: fc.integer({ min: -1e12, max: 1e12 }),
      span: fc.integer({ min: 0, max: 1e10 }),
      bytes: fc.integer({ min: 0, max: 6 * 1024 * 1024 }),
      start: fc.integer({ min: 0, max: 2 ** 50 }),
      baseSequence: fc.integer({ min: 0, max: 0x7fffffff }),
    })
    .map((b) => b);

  it('round-trip any batches, vector and producer (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 64 }),
        fc.array(batch, { minLength: 64, maxLength: 64 }),
        fc.option(
          fc.record({
            producerId: fc.integer({ min: 0, max: 2 ** 40 }),
            producerEpoch: fc.integer({ min: 0, max: 0x7fff }),
          }),
        ),
        (partitions, shapes, producer) => {
          const batches: CommitBatch[] = partitions.map((partition, i) => {
            const s = shapes[i] as (typeof shapes)[number];
            const minTimestamp = RESERVED_AT + s.minDelta;
            return {
              partition,
              baseOffset: s.start,
              count: s.count,
              position: s.position,
              length: s.length,
              minTimestamp,
              maxTimestamp: minTimestamp + s.span,
              bytes: s.bytes,
              ...(producer === null ? {} : { baseSequence: s.baseSequence }),
            };
          });
          const vector = new Map(batches.map((b) => [b.partition, b.baseOffset + b.count]));
          vector.set(1000, 5); // a partition of the sequence this commit did not touch
          const body = { vector, batches, ...(producer === null ? {} : { producer }) };
          const back = unpackCommitBody(packCommitBody(body, RESERVED_AT), RESERVED_AT);
          expect(back.vector).toEqual(vector);
          expect(back.batches).toEqual([...batches].sort((a, b) => a.partition - b.partition));
          expect(back.producer).toEqual(producer === null ? undefined : producer);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a commit of all 64 partitions of a topic small: under 2 KB packed', () => {
    const batches: CommitBatch[] = Array.from({ length: 64 }, (_, p) => ({
      partition: p,
      baseOffset: 1_000_000_000 + p,
      count: 64,
      position: p * 16_400,
      length: 16_400,
      minTimestamp: RESERVED_AT,
      maxTimestamp: RESERVED_AT + 5,
      bytes: 16_384,
    }));
    const vector = new Map(batches.map((b) => [b.partition, b.baseOffset + b.count]));
    const packed = packCommitBody({ vector, batches }, RESERVED_AT);
    expect(packed.byteLength).toBeLessThan(2048);
    expect(packed.byteLength).toBeGreaterThan(64 * 10);
  });

  it('refuses truncated, trailing and unknown-format bytes with CORRUPT_RECORD (property)', () => {
    const vector = new Map([
      [0, 10],
      [3, 7],
    ]);
    const batches: CommitBatch[] = [
      {
        partition: 3,
        baseOffset: 5,
        count: 2,
        position: 0,
        length: 100,
        minTimestamp: RESERVED_AT,
        maxTimestamp: RESERVED_AT,
        bytes: 50,
      },
    ];
    const packed = packCommitBody({ vector, batches }, RESERVED_AT);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: packed.length - 1 }), (cut) => {
        const error = (() => {
          try {
            unpackCommitBody(packed.subarray(0, cut), RESERVED_AT);
            return undefined;
          } catch (e) {
            return e;
          }
        })();
        expect(isEventLogError(error, 'CORRUPT_RECORD')).toBe(true);
      }),
    );
    const trailing = new Uint8Array([...packed, 0]);
    expect(() => unpackCommitBody(trailing, RESERVED_AT)).toThrow(/trailing/);
    const format = new Uint8Array(packed);
    format[0] = 9;
    expect(() => unpackCommitBody(format, RESERVED_AT)).toThrow(/unknown format 9/);
  });

  it('refuses a batch its vector does not cover', () => {
    const packed = packCommitBody(
      {
        vector: new Map([[0, 1]]),
        batches: [
          {
            partition: 1,
            baseOffset: 0,
            count: 1,
            position: 0,
            length: 1,
            minTimestamp: 0,
            maxTimestamp: 0,
            bytes: 1,
          },
        ],
      },
      0,
    );
    expect(() => unpackCommitBody(packed, 0)).toThrow(/not covered by its vector/);
  });

  it('round-trips partition maps', () => {
    const map = new Map([
      [0, 0],
      [7, 2 ** 52],
      [999, 3],
    ]);
    expect(unpackPartitionMap(packPartitionMap(map))).toEqual(map);
    expect(unpackPartitionMap(undefined)).toEqual(new Map());
  });
});

describe('the settled prefix', () => {
  it('extends over contiguous commits, markers included; the vector is the last published one', () => {
    const step = extendPrefix(EMPTY_PREFIX, [
      published(1, [[0, 3]]),
      aborted(2),
      published(3, [[0, 9]]),
    ]);
    expect(step.prefix.next).toBe(4);
    expect(step.prefix.vector.get(0)).toBe(9);
    expect(step.hole).toBeUndefined();
    expect(step.used.map((c) => c.commit)).toEqual([1, 2, 3]);
  });

  it('stops at a missing number below a published commit: a hole, bounded by that commit', () => {
    const step = extendPrefix(EMPTY_PREFIX, [
      published(1, [[0, 3]], 0),
      published(4, [[0, 9]], 500),
    ]);
    expect(step.prefix.next).toBe(2);
    expect(step.prefix.vector.get(0)).toBe(3);
    expect(step.hole).toEqual({ from: 2, to: 4, reservedBy: 500 });
    expect(holeExpired(step.hole as NonNullable<typeof step.hole>, 500 + 45_000, 45_000)).toBe(
      false,
    );
    expect(holeExpired(step.hole as NonNullable<typeof step.hole>, 500 + 45_001, 45_000)).toBe(
      true,
    );
  });

  it('a hole before a marker is bounded by the first published commit after it', () => {
    const step = extendPrefix(EMPTY_PREFIX, [
      published(1, [[0, 3]]),
      aborted(3),
      published(4, [[0, 9]], 777),
    ]);
    expect(step.hole).toEqual({ from: 2, to: 3, reservedBy: 777 });
    const none = extendPrefix(EMPTY_PREFIX, [published(1, [[0, 3]]), aborted(3)]);
    expect(none.hole?.reservedBy).toBe(Number.POSITIVE_INFINITY);
  });

  it('a missing number with nothing after it is no hole: it holds nobody back', () => {
    const step = extendPrefix(EMPTY_PREFIX, [published(1, [[0, 3]])]);
    expect(step.prefix.next).toBe(2);
    expect(step.hole).toBeUndefined();
  });

  it('skips commits below the prefix', () => {
    const step = extendPrefix({ next: 3, vector: new Map([[0, 5]]) }, [
      published(2, [[0, 4]]),
      published(3, [[0, 6]]),
    ]);
    expect(step.prefix).toEqual({ next: 4, vector: new Map([[0, 6]]) });
  });
});

describe('sequences and object keys', () => {
  it('spreads partitions over sequences, one per 64 partitions by default', () => {
    expect(defaultSequences(1)).toBe(1);
    expect(defaultSequences(64)).toBe(1);
    expect(defaultSequences(65)).toBe(2);
    expect(defaultSequences(1000)).toBe(16);
    expect(sequenceOf(7, 3)).toBe(1);
    expect(partitionsOfSequence(1, 3, 8)).toEqual([1, 4, 7]);
  });

  it('parses commit.sequences strictly, within 1..partitions', () => {
    expect(parseCommitSequences(undefined, 128)).toBe(2);
    expect(parseCommitSequences('4', 8)).toBe(4);
    expect(parseCommitSequences(8, 8)).toBe(8);
    for (const bad of ['0', '9', '1e1', '0x2', ' 2', 2.5, -1, 'two']) {
      expect(() => parseCommitSequences(bad, 8)).toThrow(/commit.sequences must be an integer/);
    }
  });

  it('puts objects under one of SEGMENT_SPREAD prefixes of their sequence', () => {
    const prefixes = segmentPrefixes('segments/', 't', 2);
    expect(prefixes).toHaveLength(SEGMENT_SPREAD);
    const keys = [
      '01HZX0000000000000000000A0',
      '01HZX0000000000000000000A1',
      '01HZX0000000000000000000A7',
    ].map((id) => segmentKey('segments/', 't', 2, id));
    for (const key of keys) expect(prefixes.some((p) => key.startsWith(p))).toBe(true);
    expect(new Set(keys.map((k) => k.split('/')[3])).size).toBeGreaterThan(1);
  });
});
