import { describe, expect, it } from 'vitest';
import {
  advanceSweep,
  capWindow,
  commitCursor,
  EMPTY_SWEEP_STATE,
  MAX_SWEEP_CHECKPOINTS,
  readsPastWindow,
  type SweepState,
  sweepUntil,
} from '../../../lib/log/orphan-sweep.js';
import { ulidTime, ulidTimePrefix } from '../../../lib/log/ulid.js';

const bounds = { maxProduceMs: 30_000, clockSkewMs: 60_000 };
const MINUTE = 60_000;

describe('orphan sweep windows', () => {
  it('stays maxProduceMs plus twice the skew behind the clock', () => {
    expect(sweepUntil(1_000_000, bounds)).toBe(1_000_000 - 150_000);
  });

  it('starts reading at the latest checkpoint taken at least twice the skew before the window', () => {
    const state: SweepState = {
      sweptUntil: 10 * MINUTE,
      checkpoints: [
        { at: 5 * MINUTE, commits: [50, 7] },
        { at: 8 * MINUTE, commits: [80, 9] },
        { at: 9 * MINUTE, commits: [90, 10] },
      ],
    };
    // from - 2 skew = 8 min: the 8-minute checkpoint qualifies, the 9-minute one does not.
    // A checkpoint holds the last number reserved: reading starts at the next one.
    expect(commitCursor(state, 10 * MINUTE, 0, bounds)).toBe(81);
    expect(commitCursor(state, 10 * MINUTE, 1, bounds)).toBe(10);
    expect(commitCursor(state, 10 * MINUTE - 1, 0, bounds)).toBe(51);
    // A sequence the checkpoint does not know, and a window older than every checkpoint.
    expect(commitCursor(state, 10 * MINUTE, 2, bounds)).toBe(1);
    expect(commitCursor(state, 6 * MINUTE, 0, bounds)).toBe(1);
    expect(commitCursor(EMPTY_SWEEP_STATE, 10 * MINUTE, 0, bounds)).toBe(1);
    // A checkpoint of the old per-partition layout is no checkpoint.
    const old = { sweptUntil: 0, checkpoints: [{ at: 0, offsets: [5] }] } as unknown as SweepState;
    expect(commitCursor(old, 10 * MINUTE, 0, bounds)).toBe(1);
  });

  it('stops reading once a commit is reserved maxProduceMs plus twice the skew past the window', () => {
    const until = 10 * MINUTE;
    expect(readsPastWindow(until + 150_000 - 1, until, bounds)).toBe(false);
    expect(readsPastWindow(until + 150_000, until, bounds)).toBe(true);
  });

  it('keeps the checkpoint the next sweep needs and everything newer, pruning the rest', () => {
    let state: SweepState = EMPTY_SWEEP_STATE;
    for (let minute = 1; minute <= 20; minute++) {
      const until = sweepUntil(minute * MINUTE, bounds);
      state = advanceSweep(state, until, { at: minute * MINUTE, commits: [minute] }, bounds);
    }
    expect(state.sweptUntil).toBe(20 * MINUTE - 150_000);
    const needed = commitCursor(state, state.sweptUntil, 0, bounds);
    // The next window starts at 17.5 min; the newest checkpoint at or before 15.5 min is 15,
    // and reading starts at the number after its count.
    expect(needed).toBe(16);
    expect(state.checkpoints.map((c) => c.commits[0])).toEqual([15, 16, 17, 18, 19, 20]);
  });

  it('never keeps more than the maximum, and never the wrong cursor', () => {
    let state: SweepState = EMPTY_SWEEP_STATE;
    // Runs every second: many checkpoints are within the slack of the window.
    for (let second = 1; second <= 400; second++) {
      state = advanceSweep(
        state,
        sweepUntil(second * 1000, bounds),
        { at: second * 1000, commits: [second] },
        bounds,
      );
      expect(state.checkpoints.length).toBeLessThanOrEqual(MAX_SWEEP_CHECKPOINTS);
      const cursor = commitCursor(state, state.sweptUntil, 0, bounds);
      // Safe: no later than the checkpoint at from - 2 skew would give.
      const from = state.sweptUntil;
      expect(cursor).toBeLessThanOrEqual(Math.max(0, Math.floor((from - 120_000) / 1000)) + 1);
    }
  });

  it('never moves the swept time backwards', () => {
    const state = { sweptUntil: 500, checkpoints: [] };
    expect(advanceSweep(state, 400, { at: 1000, commits: [] }, bounds).sweptUntil).toBe(500);
  });
});

describe('capped windows', () => {
  it('keeps the window when it holds at most the cap', () => {
    expect(capWindow([1, 2, 3], 100, 3)).toBe(100);
    expect(capWindow([], 100, 3)).toBe(100);
  });

  it('ends after the cap, between two milliseconds', () => {
    expect(capWindow([1, 2, 3, 4, 5], 100, 3)).toBe(4);
    // The third object shares its millisecond with the fourth: both are in.
    expect(capWindow([1, 2, 3, 3, 5], 100, 3)).toBe(5);
    // All in one millisecond: the window cannot end inside it.
    expect(capWindow([7, 7, 7, 7], 100, 2)).toBe(100);
  });
});

describe('ulidTimePrefix', () => {
  it('is the time part of every id stamped at that time, and sorts like the time', () => {
    const t = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(ulidTimePrefix(t)).toHaveLength(10);
    expect(ulidTime(`${ulidTimePrefix(t)}0000000000000000`)).toBe(t);
    expect(ulidTimePrefix(t) < ulidTimePrefix(t + 1)).toBe(true);
    expect(ulidTimePrefix(0)).toBe('0000000000');
    expect(() => ulidTimePrefix(-1)).toThrow();
  });
});
