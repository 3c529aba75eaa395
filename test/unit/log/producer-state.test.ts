import { describe, expect, it } from 'vitest';
import {
  appendBatch,
  checkAppend,
  incrementSequence,
  isExpired,
  liveState,
  MAX_CACHED_BATCHES,
  MAX_SEQUENCE,
  type ProducerPartitionState,
} from '../../../lib/log/producer-state.js';

function stateAfter(batches: [number, number][], epoch = 0): ProducerPartitionState {
  let state: ProducerPartitionState | undefined;
  let offset = 0;
  for (const [baseSequence, count] of batches) {
    state = appendBatch(
      state,
      state,
      { epoch, baseSequence, count, baseOffset: offset, appendTime: 1000 + offset },
      2_000_000_000,
    );
    offset += count;
  }
  return state as ProducerPartitionState;
}

describe('producer sequence rules (Kafka ProducerStateManager)', () => {
  it('wraps sequences as DefaultRecordBatch.incrementSequence does', () => {
    expect(incrementSequence(5, 3)).toBe(8);
    expect(incrementSequence(MAX_SEQUENCE, 1)).toBe(0);
    expect(incrementSequence(MAX_SEQUENCE - 1, 3)).toBe(1);
  });

  it('accepts sequence 0 with no state, and the next sequence after the last', () => {
    expect(checkAppend(undefined, { epoch: 0, baseSequence: 0, count: 2 }, 0).kind).toBe('append');
    const state = stateAfter([[0, 2]]);
    expect(state.lastSequence).toBe(1);
    expect(checkAppend(state, { epoch: 0, baseSequence: 2, count: 1 }, 0).kind).toBe('append');
  });

  it('finds a duplicate among the last 5 batches, with its offsets', () => {
    const state = stateAfter([
      [0, 2],
      [2, 3],
      [5, 1],
      [6, 1],
      [7, 4],
      [11, 1],
    ]);
    expect(state.batches.length).toBe(MAX_CACHED_BATCHES);
    expect(checkAppend(state, { epoch: 0, baseSequence: 2, count: 3 }, 0)).toEqual({
      kind: 'duplicate',
      batch: { baseSequence: 2, lastSequence: 4, baseOffset: 2, count: 3, appendTime: 1002 },
    });
    // The oldest fell out of the window: Kafka answers out of order.
    expect(checkAppend(state, { epoch: 0, baseSequence: 0, count: 2 }, 0).kind).toBe('error');
    // Same base, other length: not the same batch.
    const mismatch = checkAppend(state, { epoch: 0, baseSequence: 7, count: 2 }, 0);
    expect(mismatch.kind === 'error' && mismatch.error.code).toBe('OUT_OF_ORDER_SEQUENCE');
  });

  it('refuses gaps, older epochs, and a new epoch that does not start at 0', () => {
    const state = stateAfter([[0, 2]], 3);
    const gap = checkAppend(state, { epoch: 3, baseSequence: 5, count: 1 }, 7);
    expect(gap.kind === 'error' && gap.error.details).toEqual({
      partition: 7,
      expectedSequence: 2,
      baseSequence: 5,
    });
    const fenced = checkAppend(state, { epoch: 2, baseSequence: 2, count: 1 }, 0);
    expect(fenced.kind === 'error' && fenced.error.code).toBe('PRODUCER_FENCED');
    const newEpoch = checkAppend(state, { epoch: 4, baseSequence: 2, count: 1 }, 0);
    expect(newEpoch.kind === 'error' && newEpoch.error.code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(checkAppend(state, { epoch: 4, baseSequence: 0, count: 1 }, 0).kind).toBe('append');
  });

  it('starts a new epoch with an empty window and bumps the version on every write', () => {
    const old = stateAfter([[0, 2]], 0);
    const next = appendBatch(
      old,
      old,
      { epoch: 1, baseSequence: 0, count: 1, baseOffset: 9, appendTime: 5 },
      10,
    );
    expect(next).toEqual({
      epoch: 1,
      lastSequence: 0,
      batches: [{ baseSequence: 0, lastSequence: 0, baseOffset: 9, count: 1, appendTime: 5 }],
      version: old.version + 1,
      expiresAt: 10,
    });
  });

  it('counts a state as gone from its expiry second on', () => {
    const state = { ...stateAfter([[0, 1]]), expiresAt: 100 };
    expect(isExpired(state, 99_999)).toBe(false);
    expect(isExpired(state, 100_000)).toBe(true);
    expect(liveState(state, 100_000)).toBeUndefined();
  });
});
