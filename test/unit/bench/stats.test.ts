import { describe, expect, it } from 'vitest';
import { mean, median, percentile, round, summarize } from '../../../bench/stats.js';

describe('percentile (nearest rank)', () => {
  const values = [15, 20, 35, 40, 50];

  it('matches the textbook nearest-rank examples', () => {
    // Nearest rank: the ceil(p/100 x n)-th smallest value.
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it('does not depend on the input order and does not reorder it', () => {
    const shuffled = [40, 15, 50, 35, 20];
    expect(percentile(shuffled, 50)).toBe(35);
    expect(shuffled).toEqual([40, 15, 50, 35, 20]);
  });

  it('p99 of 1..1000 is 990, p50 is 500', () => {
    const ramp = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(ramp, 99)).toBe(990);
    expect(percentile(ramp, 50)).toBe(500);
    expect(percentile(ramp, 99.9)).toBe(999);
  });

  it('handles one value, no values, and rejects bad ranks', () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(values, 0)).toThrow(RangeError);
    expect(() => percentile(values, 101)).toThrow(RangeError);
  });
});

describe('summaries', () => {
  it('summarizes latencies', () => {
    const s = summarize([3, 1, 2, 4, 100]);
    expect(s).toEqual({ count: 5, min: 1, mean: 22, p50: 3, p90: 100, p99: 100, max: 100 });
  });

  it('mean and median', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
    expect(mean([])).toBeNaN();
  });

  it('rounds to significant digits', () => {
    expect(round(123456, 3)).toBe(123000);
    expect(round(0.0012345, 2)).toBe(0.0012);
    expect(round(1.25, 2)).toBe(1.3);
    expect(round(0)).toBe(0);
  });
});
