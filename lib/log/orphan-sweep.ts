/**
 * Finding orphan objects (uploaded by a writer that never published them: it died before
 * reserving, or reserved and died and its commit was then declared aborted) without reading a
 * topic's whole commit log on every run. Storage engine v2 (lib/log/commit.ts): an object
 * belongs to one commit sequence, and only that sequence's published commits can name it.
 *
 * A sweep takes the objects stamped in a window [from, until) of ULID time, reads the commits
 * that can name them, and deletes the objects no published commit names. The next sweep
 * starts at this one's `until`, so each object is looked at once. What bounds the reading
 * (P = the produce path's maximum duration, s = the clock-skew allowance between machines):
 *
 * - A writer stamps its object with its start time a (its own clock), records the same time as
 *   its commit's `reservedAt`, and reserves within P of its start, so its reservation happened
 *   in real time [a - s, a + s + P].
 * - Reservations take commit numbers in order. A checkpoint (each sequence's count of reserved
 *   commits, read when the local clock said at or earlier) proves every commit numbered up to
 *   it was reserved before at + s. A commit naming an object of the window was reserved at or
 *   after from - s, so reading may start past the counts of the latest checkpoint with
 *   at <= from - 2s.
 * - Commits come in reservation order, so once a commit whose reservedAt is at or after
 *   until + P + 2s is read, no later one names an object of the window.
 * - `until` stays P + 2s behind the clock read before the heads: every writer of the window has
 *   then published or given up, and every commit of the window is within the counts just read.
 */

export interface SweepCheckpoint {
  /** The local clock after the heads were read. */
  at: number;
  /** Each sequence's count of reserved commits then (the last number handed out). */
  commits: number[];
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

/**
 * The first commit number of a sequence that may name an object of a window starting at
 * `from`: past the latest usable checkpoint's count, else 1.
 */
export function commitCursor(
  state: SweepState,
  from: number,
  sequence: number,
  bounds: SweepBounds,
): number {
  // A checkpoint of another layout (or none) only means reading from the first commit.
  const counted = checkpointFor(state, from, bounds)?.commits?.[sequence];
  return typeof counted === 'number' ? counted + 1 : 1;
}

/** Whether a commit reserved at `reservedAt` proves that no later one names the window. */
export function readsPastWindow(reservedAt: number, until: number, bounds: SweepBounds): boolean {
  return reservedAt >= until + bounds.maxProduceMs + 2 * bounds.clockSkewMs;
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

/**
 * The end of a window that holds at most `max` of the objects stamped `times` (ascending),
 * plus those sharing the last one's millisecond: a window never ends inside a millisecond, so
 * the next one starts exactly where this one stopped, and it always moves on.
 */
export function capWindow(times: readonly number[], until: number, max: number): number {
  if (times.length <= max || max < 1) return until;
  const last = times[max - 1] as number;
  for (let i = max; i < times.length; i++) {
    const time = times[i] as number;
    if (time > last) return Math.min(until, time);
  }
  return until;
}
