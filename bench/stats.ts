/** Small statistics helpers for the benchmarks: percentiles by the nearest-rank method. */

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0 < p <= 100) of `values` by nearest rank: the smallest value such
 * that at least p% of the values are at or below it. NaN for an empty list.
 * `sorted` says the values are already ascending (saves a copy and a sort).
 */
export function percentile(values: readonly number[], p: number, sorted = false): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const ordered = sorted ? values : [...values].sort((a, b) => a - b);
  // The tolerance keeps binary fractions (0.999 x 1000 = 999.0000000000001) on their rank.
  const rank = Math.ceil((p * ordered.length) / 100 - 1e-9);
  return ordered[Math.min(ordered.length, Math.max(1, rank)) - 1] as number;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const ordered = [...values].sort((a, b) => a - b);
  const middle = Math.floor(ordered.length / 2);
  return ordered.length % 2 === 1
    ? (ordered[middle] as number)
    : ((ordered[middle - 1] as number) + (ordered[middle] as number)) / 2;
}

export function summarize(values: readonly number[]): LatencySummary {
  const ordered = [...values].sort((a, b) => a - b);
  return {
    count: ordered.length,
    min: ordered[0] ?? Number.NaN,
    mean: mean(ordered),
    p50: percentile(ordered, 50, true),
    p90: percentile(ordered, 90, true),
    p99: percentile(ordered, 99, true),
    max: ordered[ordered.length - 1] ?? Number.NaN,
  };
}

/** `value` rounded to `digits` significant digits, for tables and JSON that stay readable. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** (digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}
