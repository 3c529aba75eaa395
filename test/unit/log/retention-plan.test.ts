import { describe, expect, it } from 'vitest';
import type { Commit, CommitBatch, PublishedCommit } from '../../../lib/log/commit.js';
import {
  countBytes,
  type RetentionRules,
  type RetentionStart,
  RetentionWalk,
} from '../../../lib/log/retention-plan.js';

const DAY = 86_400_000;
const NOW = 100 * DAY;

/** Builds a sequence's commits: each entry is one commit, a batch per partition listed. */
function commits(
  spec: ({ [partition: number]: { count?: number; bytes?: number; at?: number } } | 'aborted')[],
): Commit[] {
  const next = new Map<number, number>();
  return spec.map((entry, i): Commit => {
    const commit = i + 1;
    if (entry === 'aborted') return { kind: 'aborted', commit, abortedAt: NOW };
    const batches: CommitBatch[] = Object.entries(entry).map(([p, b]) => {
      const partition = Number(p);
      const count = b.count ?? 1;
      const baseOffset = next.get(partition) ?? 0;
      next.set(partition, baseOffset + count);
      const at = b.at ?? NOW;
      return {
        partition,
        baseOffset,
        count,
        position: 0,
        length: 10,
        minTimestamp: at,
        maxTimestamp: at,
        bytes: b.bytes ?? 100,
      };
    });
    const published: PublishedCommit = {
      kind: 'published',
      commit,
      object: `o${commit}`,
      reservedAt: NOW,
      previousReservedAt: NOW,
      batches,
      vector: new Map(next),
    };
    return published;
  });
}

/** The high watermarks after all of them: the last published commit's vector. */
function vectorOf(all: Commit[]): Map<number, number> {
  const last = all.filter((c) => c.kind === 'published').at(-1) as PublishedCommit | undefined;
  return new Map(last?.vector ?? []);
}

function plan(all: Commit[], rules: Partial<RetentionRules>, start: Partial<RetentionStart> = {}) {
  const kept = new Map<number, number>();
  for (const c of all) countBytes(kept, c);
  const walk = new RetentionWalk(
    { logStarts: new Map(), kept, highWatermarks: vectorOf(all), ...start },
    { now: NOW, retentionMs: -1, retentionBytes: -1, ...rules },
  );
  let visited = 0;
  let reachedEnd = true;
  for (const c of all) {
    visited++;
    if (!walk.visit(c)) {
      reachedEnd = visited === all.length;
      break;
    }
  }
  return { ...walk.finish(reachedEnd), visited };
}

describe('counting bytes', () => {
  it('counts published batches and nothing for an aborted marker', () => {
    const bytes = new Map<number, number>();
    for (const c of commits([
      { 0: { bytes: 10 }, 1: { bytes: 5 } },
      'aborted',
      { 0: { bytes: 7 } },
    ])) {
      countBytes(bytes, c);
    }
    expect(bytes).toEqual(
      new Map([
        [0, 17],
        [1, 5],
      ]),
    );
  });
});

describe('retention walk', () => {
  it('expires batches by their records’ timestamps, oldest first, and stops at the first kept one', () => {
    const all = commits([
      { 0: { at: NOW - 3 * DAY } },
      { 0: { at: NOW - 2 * DAY } },
      { 0: {} },
      { 0: {} },
    ]);
    const result = plan(all, { retentionMs: DAY });
    expect(result.logStarts.get(0)).toBe(2);
    expect(result.removed.get(0)).toEqual({ batches: 2, bytes: 200 });
    expect(result.kept.get(0)).toBe(200);
    expect(result.dead.map((d) => d.object)).toEqual(['o1', 'o2']);
    expect(result.visited).toBe(3);
  });

  it('a batch with one recent record stays, whenever it was appended', () => {
    const all = commits([
      { 0: { at: NOW - 2 * DAY } },
      { 0: { at: NOW } },
      { 0: { at: NOW - 3 * DAY } },
      { 0: {} },
    ]);
    // The third batch is old but behind a kept one: a partition's log start only moves past a prefix.
    const result = plan(all, { retentionMs: DAY });
    expect(result.logStarts.get(0)).toBe(1);
    expect(result.dead.map((d) => d.commit)).toEqual([1]);
  });

  it('keeps the newest batches of a partition under retention.bytes, plus one', () => {
    const all = commits(Array.from({ length: 10 }, () => ({ 0: { bytes: 1000 } })));
    const result = plan(all, { retentionBytes: 3500 });
    // 10,000 bytes: batches go while what is left without them is still >= 3,500.
    expect(result.logStarts.get(0)).toBe(6);
    expect(result.kept.get(0)).toBe(4000);
  });

  it('deletes a partition’s last batch by time (Kafka rolls an expired active segment), never by size', () => {
    const all = commits([{ 0: { at: 0 } }, { 0: { at: 0 } }]);
    const byTime = plan(all, { retentionMs: DAY });
    expect(byTime.logStarts.get(0)).toBe(2);
    expect(byTime.dead.map((d) => d.commit)).toEqual([1, 2]);
    const bySize = plan(all, { retentionBytes: 0 });
    expect(bySize.logStarts.get(0)).toBe(1);
    expect(bySize.dead.map((d) => d.commit)).toEqual([1]);
  });

  it('keeps a multi-partition commit while any of its batches is live', () => {
    const old = NOW - 2 * DAY;
    const all = commits([{ 0: { at: old }, 1: { at: NOW } }, { 0: { at: old } }, { 0: {}, 1: {} }]);
    const result = plan(all, { retentionMs: DAY });
    expect(result.logStarts.get(0)).toBe(2);
    expect(result.logStarts.get(1) ?? 0).toBe(0);
    expect(result.removed.get(0)?.batches).toBe(2);
    // Commit 2 is dead, but commit 1 is not, and deletion takes a contiguous prefix.
    expect(result.dead).toEqual([]);
  });

  it('counts aborted markers as dead and never moves a log start for them', () => {
    const all = commits(['aborted', { 0: { at: 0 } }, 'aborted', { 0: {} }]);
    const result = plan(all, { retentionMs: DAY });
    expect(result.dead.map((d) => d.commit)).toEqual([1, 2, 3]);
    expect(result.logStarts.get(0)).toBe(1);
  });

  it('finishes a run of dead commits left by a crash before their deletion', () => {
    const all = commits([{ 0: {} }, { 0: {} }, { 0: {} }]);
    const result = plan(all, {}, { logStarts: new Map([[0, 2]]) });
    expect(result.dead.map((d) => d.commit)).toEqual([1, 2]);
    expect(result.removed.size).toBe(0);
    expect(result.visited).toBe(3);
  });

  it('moves the log start over aborted offsets at the tail once the last batch expired', () => {
    // Partition 0: one batch, then a failed write reserved offsets 1-2 in the aborted commit;
    // partition 1 keeps writing, so partition 0's high watermark (3) is past its last batch.
    const all = commits([{ 0: { at: 0 } }, 'aborted', { 1: {} }]);
    (all[2] as PublishedCommit).vector.set(0, 3);
    const result = plan(all, { retentionMs: DAY });
    expect(result.logStarts.get(0)).toBe(3);
    expect(result.dead.map((d) => d.commit)).toEqual([1, 2]);
  });

  it('stops reading at the first commit once every partition found its first kept batch', () => {
    const all = commits(Array.from({ length: 50 }, () => ({ 0: {}, 1: {} })));
    const result = plan(all, { retentionMs: DAY });
    expect(result.visited).toBe(1);
    expect(result.dead).toEqual([]);
    expect(result.logStarts.size).toBe(0);
  });

  it('does nothing for a topic kept forever', () => {
    const all = commits([{ 0: { at: 0 } }, { 0: { at: 0 } }]);
    const result = plan(all, {});
    expect(result.removed.size).toBe(0);
    expect(result.dead).toEqual([]);
  });
});
