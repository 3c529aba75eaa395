/**
 * What a retention run decides for one commit sequence (storage engine v2, lib/log/commit.ts),
 * without any I/O: lib/broker/retention.ts feeds it the sequence's commits in order and writes
 * what it decides.
 *
 * Deletion is by reference: a batch leaves its partition by raising the partition's log start
 * past it, and an object goes only with its commit, once every batch of that commit is below
 * the log starts. No time is inferred: a commit that is not settled (past `prefix.next`) is
 * never looked at, and a failed produce (an aborted marker) holds no bytes.
 */
import type { Commit } from './commit.js';

export interface RetentionRules {
  now: number;
  /** Kafka's retention.ms; -1 keeps records forever. */
  retentionMs: number;
  /** Kafka's retention.bytes, per partition; -1 for no limit. */
  retentionBytes: number;
}

export interface RetentionStart {
  /** Each partition's log start (absent = 0). */
  logStarts: ReadonlyMap<number, number>;
  /** Published bytes per partition above its log start, counted through the settled prefix. */
  kept: ReadonlyMap<number, number>;
  /** Each partition's high watermark: the settled prefix's vector. */
  highWatermarks: ReadonlyMap<number, number>;
  /** DeleteRecords' log starts: batches wholly below them go whatever their age or size. */
  deletedBefore?: ReadonlyMap<number, number>;
}

export interface PartitionRemoval {
  batches: number;
  bytes: number;
}

export interface DeadCommit {
  commit: number;
  /** The object of a published commit; none for an aborted marker. */
  object?: string;
}

export interface RetentionPlan {
  logStarts: Map<number, number>;
  kept: Map<number, number>;
  /** Batches that went below the log starts in this run, per partition. */
  removed: Map<number, PartitionRemoval>;
  /**
   * The commits from the first one walked on, contiguous, whose batches are all below the new
   * log starts: their objects and entries can go.
   */
  dead: DeadCommit[];
}

/**
 * Adds each published batch's bytes to its partition. Markers add nothing: a produce that
 * failed after its reservation never counts toward retention.bytes.
 */
export function countBytes(bytes: Map<number, number>, commit: Commit): void {
  if (commit.kind !== 'published') return;
  for (const b of commit.batches) bytes.set(b.partition, (bytes.get(b.partition) ?? 0) + b.bytes);
}

/**
 * Walks a sequence's settled commits from its first kept one, in commit order. Per partition,
 * batches expire oldest first (Kafka's rules: by the batch's largest record timestamp, or
 * while the partition without the batch still holds retention.bytes or more), and the first
 * batch that stays ends that partition's walk. A partition's last batch (ending at its high
 * watermark) goes by time, never by size.
 */
export class RetentionWalk {
  private readonly logStarts: Map<number, number>;
  private readonly kept: Map<number, number>;
  private readonly removed = new Map<number, PartitionRemoval>();
  private readonly dead: DeadCommit[] = [];
  /** Partitions with offsets above their log start, whose first kept batch is not found yet. */
  private readonly open = new Set<number>();
  private deadPrefix = true;

  constructor(
    private readonly start: RetentionStart,
    private readonly rules: RetentionRules,
  ) {
    this.logStarts = new Map(start.logStarts);
    this.kept = new Map(start.kept);
    for (const [partition, hw] of start.highWatermarks) {
      if (hw > (start.logStarts.get(partition) ?? 0)) this.open.add(partition);
    }
  }

  /**
   * Takes the next commit (numbers ascending, none skipped, all settled). False once nothing
   * past it can change the plan: every partition found its first kept batch and the run of
   * dead commits has ended.
   */
  visit(commit: Commit): boolean {
    let dead = true;
    if (commit.kind === 'published') {
      for (const batch of commit.batches) {
        const p = batch.partition;
        const end = batch.baseOffset + batch.count;
        if (end <= (this.logStarts.get(p) ?? 0)) continue;
        if (this.open.has(p) && this.expires(p, end, batch.maxTimestamp, batch.bytes)) {
          this.logStarts.set(p, end);
          this.kept.set(p, (this.kept.get(p) ?? 0) - batch.bytes);
          const r = this.removed.get(p) ?? { batches: 0, bytes: 0 };
          this.removed.set(p, { batches: r.batches + 1, bytes: r.bytes + batch.bytes });
          continue;
        }
        this.open.delete(p);
        dead = false;
      }
    }
    if (this.deadPrefix && dead) {
      this.dead.push({
        commit: commit.commit,
        ...(commit.kind === 'published' ? { object: commit.object } : {}),
      });
    } else {
      this.deadPrefix = false;
    }
    return this.open.size > 0 || this.deadPrefix;
  }

  private expires(partition: number, end: number, maxTimestamp: number, bytes: number): boolean {
    const { now, retentionMs, retentionBytes } = this.rules;
    if (end <= (this.start.deletedBefore?.get(partition) ?? 0)) return true;
    // By time even the newest batch goes, as Kafka rolls and deletes an active segment whose
    // records are all past retention.ms: an idle partition must not pin the commits of its
    // sequence behind its last batch. The high watermark survives in every later commit's
    // vector and in the hint retention raises before deleting.
    if (retentionMs >= 0 && maxTimestamp < now - retentionMs) return true;
    // By size the newest batch stays (Kafka never deletes the active segment for size).
    if (end >= (this.start.highWatermarks.get(partition) ?? 0)) return false;
    return retentionBytes >= 0 && (this.kept.get(partition) ?? 0) - bytes >= retentionBytes;
  }

  /**
   * The plan. `reachedEnd`: the walk saw every settled commit. A partition still open then has
   * nothing but aborted offsets between its log start and its high watermark (its last
   * published batch expired, then a failed write reserved more): its log start moves to the
   * high watermark, so later runs stop walking for it.
   */
  finish(reachedEnd: boolean): RetentionPlan {
    if (reachedEnd) {
      for (const p of this.open) {
        const hw = this.start.highWatermarks.get(p) ?? 0;
        if (hw > (this.logStarts.get(p) ?? 0)) this.logStarts.set(p, hw);
      }
    }
    return {
      logStarts: this.logStarts,
      kept: this.kept,
      removed: this.removed,
      dead: this.dead,
    };
  }
}
