/**
 * Finding orphan objects (uploaded by a writer that died before it published them) without
 * reading a topic's whole index on every run.
 *
 * A sweep takes the objects stamped in a window [from, until) of ULID time, reads the index
 * entries that can refer to them, and deletes the objects no entry refers to. The next sweep
 * starts at this one's `until`, so each object is looked at once. What bounds the reading
 * (P = the produce path's maximum duration, s = the clock-skew allowance between machines):
 *
 * - A writer stamps its object with its start time a (its own clock) and reserves offsets within
 *   P of its start, so its entry's reservation happened in real time [a - s, a + s + P].
 * - Reservations take offsets in order. A checkpoint (each partition's next offset, read when
 *   the local clock said at or earlier) proves every entry below it was reserved before at + s.
 *   An entry referring to the window was reserved at or after from - s, so reading may start at
 *   the offsets of the latest checkpoint with at <= from - 2s.
 * - Entries come in reservation order, so once an entry stamped at or after until + P + 2s is
 *   read, no later one refers to the window.
 * - `until` stays P + 2s behind the clock read before the heads: every writer of the window has
 *   then published or given up, and every entry of the window is below the heads just read.
 */

export interface SweepCheckpoint {
  /** The local clock after the heads were read. */
  at: number;
  /** Each partition's next offset then. */
  offsets: number[];
}

export interface SweepState {
  /** Objects stamped before this were swept. */
  sweptUntil: number;
  /** Oldest first. */
  checkpoints: SweepCheckpoint[];
}

export interface SweepBounds {
  maxProduceMs: number;
  clockSkewMs: number;
}

export const EMPTY_SWEEP_STATE: SweepState = { sweptUntil: 0, checkpoints: [] };

/** Checkpoints kept at most; dropping some only makes later sweeps start reading earlier. */
export const MAX_SWEEP_CHECKPOINTS = 48;

/** The end of the window a sweep may take, given the clock read before the heads. */
export function sweepUntil(clockBeforeHeads: number, bounds: SweepBounds): number {
  return clockBeforeHeads - bounds.maxProduceMs - 2 * bounds.clockSkewMs;
}

/** The latest checkpoint usable for a window starting at `from`. */
function checkpointFor(state: SweepState, from: number, bounds: SweepBounds) {
  let found: SweepCheckpoint | undefined;
  for (const checkpoint of state.checkpoints) {
    if (checkpoint.at <= from - 2 * bounds.clockSkewMs) found = checkpoint;
    else break;
  }
  return found;
}

/** The offset from which a partition's index must be read for a window starting at `from`. */
export function indexCursor(
  state: SweepState,
  from: number,
  partition: number,
  bounds: SweepBounds,
): number {
  // A partition added after the checkpoint has nothing below offset 0 to skip.
  return checkpointFor(state, from, bounds)?.offsets[partition] ?? 0;
}

/** Whether an entry stamped `appendTime` proves that nothing after it refers to the window. */
export function readsPastWindow(appendTime: number, until: number, bounds: SweepBounds): boolean {
  return appendTime >= until + bounds.maxProduceMs + 2 * bounds.clockSkewMs;
}

/** The state after a sweep up to `sweptUntil` that took `checkpoint`. */
export function advanceSweep(
  state: SweepState,
  sweptUntil: number,
  checkpoint: SweepCheckpoint,
  bounds: SweepBounds,
): SweepState {
  const all = [...state.checkpoints, checkpoint].sort((a, b) => a.at - b.at);
  const needed = checkpointFor({ sweptUntil, checkpoints: all }, sweptUntil, bounds);
  let kept = needed === undefined ? all : all.slice(all.indexOf(needed));
  // Thin out the middle, keeping the one the next sweep needs and the newest.
  while (kept.length > MAX_SWEEP_CHECKPOINTS) kept = [kept[0] as SweepCheckpoint, ...kept.slice(2)];
  return { sweptUntil: Math.max(state.sweptUntil, sweptUntil), checkpoints: kept };
}
