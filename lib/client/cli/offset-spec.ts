import { UsageError } from './context.js';

/**
 * `eventlog consume -o <spec>`, kcat's `-o` (given once, or twice for a start and an end):
 *
 * - `beginning` / `end`: the log start / the high watermark (only new records);
 * - `N`: offset N of each partition read;
 * - `-N`: N records before the end, per partition (`-o -5` prints the last five of each),
 *   never before the log start;
 * - `s@T`: the first record at or after time T (ms since the epoch);
 * - `e@T`: stop before the first record at or after time T (it is not printed).
 */
export type StartSpec =
  | { kind: 'beginning' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: number }
  | { kind: 'fromEnd'; count: number }
  | { kind: 'time'; timestamp: number };

export interface OffsetSpecs {
  start?: StartSpec;
  /** e@T: records at or after this time end a partition's read. */
  endTime?: number;
}

export function parseOffsetSpecs(specs: readonly string[]): OffsetSpecs {
  const out: OffsetSpecs = {};
  for (const spec of specs) {
    if (spec.startsWith('e@')) {
      if (out.endTime !== undefined) throw new UsageError('-o e@<ms> given twice');
      out.endTime = epochMs(spec.slice(2), spec);
      continue;
    }
    if (out.start !== undefined) throw new UsageError(`-o: two starting points (${spec})`);
    out.start = parseStart(spec);
  }
  return out;
}

function parseStart(spec: string): StartSpec {
  if (spec === 'beginning') return { kind: 'beginning' };
  if (spec === 'end') return { kind: 'end' };
  if (spec === 'stored') {
    throw new UsageError("-o stored reads a group's committed offsets: use --group <group>");
  }
  if (spec.startsWith('s@')) return { kind: 'time', timestamp: epochMs(spec.slice(2), spec) };
  if (/^-\d+$/.test(spec)) return { kind: 'fromEnd', count: safe(Number(spec.slice(1)), spec) };
  if (/^\d+$/.test(spec)) return { kind: 'offset', offset: safe(Number(spec), spec) };
  throw new UsageError(
    `-o takes beginning, end, <offset>, -<count>, s@<ms> or e@<ms>, not "${spec}"`,
  );
}

function epochMs(text: string, spec: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`-o ${spec}: expected ms since the epoch`);
  return safe(Number(text), spec);
}

function safe(value: number, spec: string): number {
  if (!Number.isSafeInteger(value)) throw new UsageError(`-o ${spec}: number too large`);
  return value;
}

/** Where a partition's read starts for a spec, given its bounds (and offsets by time). */
export function startOffset(
  spec: StartSpec,
  bounds: { logStartOffset: number; highWatermark: number },
  byTime?: number,
): number {
  switch (spec.kind) {
    case 'beginning':
      return bounds.logStartOffset;
    case 'end':
      return bounds.highWatermark;
    case 'offset':
      return spec.offset;
    case 'fromEnd':
      return Math.max(bounds.logStartOffset, bounds.highWatermark - spec.count);
    case 'time':
      // No record at or after the time yet: only records still to come qualify.
      return byTime ?? bounds.highWatermark;
  }
}
