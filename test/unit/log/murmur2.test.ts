import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2, toPositive } from '../../../lib/log/murmur2.js';

const require = createRequire(import.meta.url);
// kafkajs's Java-compatible murmur2 (its DefaultPartitioner), written with Long arithmetic.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (
  key: Buffer,
) => number;

describe('murmur2', () => {
  // Kafka's own vectors: apache/kafka clients/src/test/java/org/apache/kafka/common/utils/
  // UtilsTest.java, testMurmur2 (commit f55581dc73953c3509a4702433aeeeddc2970779).
  it.each<[string, Uint8Array, number]>([
    ['21', Buffer.from('21'), -973932308],
    ['foobar', Buffer.from('foobar'), -790332482],
    ['a-little-bit-long-string', Buffer.from('a-little-bit-long-string'), -985981536],
    ['a-little-bit-longer-string', Buffer.from('a-little-bit-longer-string'), -1486304829],
    [
      'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8',
      Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'),
      -58897971,
    ],
    ["{'a', 'b', 'c'}", Uint8Array.from([0x61, 0x62, 0x63]), 479470107],
  ])('murmur2(%s) is %i, as in Kafka UtilsTest', (_name, key, expected) => {
    expect(murmur2(key)).toBe(expected);
  });

  it('agrees with kafkajs on the Kafka vectors and on every tail length', () => {
    for (const key of ['21', 'foobar', 'a', 'ab', 'abc', 'abcd', 'abcde', '', '日本語']) {
      expect(murmur2(Buffer.from(key))).toBe(kafkajsMurmur2(Buffer.from(key)));
    }
  });

  it('agrees with kafkajs on any bytes, high bits included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (key) => {
        expect(murmur2(key)).toBe(kafkajsMurmur2(Buffer.from(key)));
      }),
      { numRuns: 500 },
    );
  });

  it('reads only the bytes of a view, not its whole ArrayBuffer', () => {
    const whole = Buffer.from('xxfoobarxx');
    expect(murmur2(whole.subarray(2, 8))).toBe(-790332482);
  });
});

describe('toPositive', () => {
  it('clears the sign bit, as Utils.toPositive does (not Math.abs)', () => {
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(479470107)).toBe(479470107);
  });
});
