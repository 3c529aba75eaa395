import { describe, expect, it } from 'vitest';
import { Batcher, checkBatchLimits, toBatches } from '../../../lib/client/batcher.js';

const size = (s: string) => s.length;

describe('Batcher', () => {
  it('cuts a batch at maxRecords', () => {
    const batcher = new Batcher({ maxRecords: 2, maxBytes: 100 }, size);
    expect(batcher.add('a')).toEqual([]);
    expect(batcher.add('b')).toEqual([['a', 'b']]);
    expect(batcher.size).toBe(0);
    expect(batcher.add('c')).toEqual([]);
    expect(batcher.drain()).toEqual(['c']);
    expect(batcher.drain()).toBeUndefined();
  });

  it('starts a new batch when an item would overflow maxBytes', () => {
    const batcher = new Batcher({ maxRecords: 100, maxBytes: 5 }, size);
    expect(batcher.add('aaa')).toEqual([]);
    expect(batcher.byteSize).toBe(3);
    expect(batcher.add('bbb')).toEqual([['aaa']]);
    expect(batcher.add('cc')).toEqual([['bbb', 'cc']]);
  });

  it('sends an item larger than maxBytes alone (the server decides whether it is too large)', () => {
    expect(toBatches(['a', 'xxxxxxxxxx', 'b'], { maxRecords: 100, maxBytes: 5 }, size)).toEqual([
      ['a'],
      ['xxxxxxxxxx'],
      ['b'],
    ]);
  });

  it('keeps the order and loses nothing', () => {
    const items = Array.from({ length: 1000 }, (_, i) => 'x'.repeat(1 + (i % 7)) + i);
    const batches = toBatches(items, { maxRecords: 37, maxBytes: 200 }, size);
    expect(batches.flat()).toEqual(items);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(37);
      expect(batch.reduce((sum, s) => sum + s.length, 0)).toBeLessThanOrEqual(200);
    }
  });

  it('refuses limits beyond one request of the server', () => {
    expect(() => checkBatchLimits({ maxRecords: 0, maxBytes: 10 })).toThrow(/maxRecords/);
    expect(() => checkBatchLimits({ maxRecords: 10_001, maxBytes: 10 })).toThrow(/maxRecords/);
    expect(() => checkBatchLimits({ maxRecords: 1, maxBytes: 7 * 1024 * 1024 })).toThrow(
      /maxBytes/,
    );
  });
});
