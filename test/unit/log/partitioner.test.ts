import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import { Partitioner, partitionForKey } from '../../../lib/log/partitioner.js';

const require = createRequire(import.meta.url);
type KafkajsPartitioner = (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key: Buffer | null; partition?: number };
}) => number;
const { DefaultPartitioner } = require('kafkajs/src/producer/partitioners') as {
  DefaultPartitioner: () => KafkajsPartitioner;
};

const metadata = (n: number) =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0 }));

describe('partitionForKey', () => {
  it('is toPositive(murmur2(key)) % partitions, as the Java client computes it', () => {
    // murmur2("foobar") = -790332482 (Kafka UtilsTest); & 0x7fffffff = 1357151166.
    expect(partitionForKey(Buffer.from('foobar'), 7)).toBe(1357151166 % 7);
    expect(partitionForKey(Buffer.from('21'), 3)).toBe((-973932308 & 0x7fffffff) % 3);
    expect(partitionForKey(Buffer.from('anything'), 1)).toBe(0);
  });

  it('agrees with kafkajs DefaultPartitioner (the Java-compatible one) for every keyed record', () => {
    const kafkajs = DefaultPartitioner();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const expected = kafkajs({
          topic: 't',
          partitionMetadata: metadata(n),
          message: { key: Buffer.from(key) },
        });
        expect(partitionForKey(key, n)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('hashes an empty key (only null keys are spread)', () => {
    const p = new Partitioner(() => 0);
    const empty = new Uint8Array(0);
    const first = p.partition(empty, 12);
    for (let i = 0; i < 5; i++) expect(p.partition(empty, 12)).toBe(first);
  });

  it('refuses a partition count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      expect(() => partitionForKey(Buffer.from('k'), n)).toThrow(EventLogError);
      expect(() => new Partitioner().partition(null, n)).toThrow(EventLogError);
    }
  });
});

describe('Partitioner', () => {
  it('sends the same key to the same partition, always', () => {
    const a = new Partitioner(() => 0.1);
    const b = new Partitioner(() => 0.9);
    for (let i = 0; i < 100; i++) {
      const key = Buffer.from(`order-${i}`);
      expect(a.partition(key, 6)).toBe(b.partition(key, 6));
      expect(a.partition(key, 6)).toBe(partitionForKey(key, 6));
    }
  });

  it('spreads null keys evenly: n records over n partitions touch each once', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        (r, n) => {
          const p = new Partitioner(() => r);
          const seen = Array.from({ length: 3 * n }, () => p.partition(null, n));
          const counts = new Array<number>(n).fill(0);
          for (const partition of seen) counts[partition]!++;
          expect(counts).toEqual(new Array<number>(n).fill(3));
        },
      ),
    );
  });

  it('starts null keys at a random partition, so that instances do not all favour 0', () => {
    expect(new Partitioner(() => 0).partition(null, 10)).toBe(0);
    expect(new Partitioner(() => 0.5).partition(null, 10)).toBe(0x40000000 % 10);
    const starts = new Set(
      Array.from({ length: 200 }, () => new Partitioner().partition(null, 10)),
    );
    expect(starts.size).toBeGreaterThan(5);
  });

  it('keeps going past 2^31 records', () => {
    const p = new Partitioner(() => 0.9999999999);
    for (let i = 0; i < 10; i++) {
      const partition = p.partition(undefined, 3);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(3);
    }
  });
});
