import { randomUUID } from 'node:crypto';

import {
  type Commit,
  partitionsOfSequence,
  SEGMENT_ROOT,
  type SettledPrefix,
} from '../log/commit.js';
import {
  countBytes,
  type PartitionRemoval,
  type RetentionPlan,
  RetentionWalk,
} from '../log/retention-plan.js';
import type { CommitLogStore, RetentionState, SequenceMeta } from '../store/commit-log-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { DeletedTopicRecord, TopicRecord, TopicStore } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import type { LogReader } from './log-reader.js';
import { OrphanSweeper, type OrphanSweepResult } from './orphan-sweeper.js';

export interface RetentionOptions {
  clock?: Clock;
  /**
   * The produce path's maximum duration (ProduceService's maxProduceMs): a write started
   * longer ago than this can no longer publish, which bounds what may still refer to an object.
   */
  maxProduceMs: number;
  /** Slack for clocks of different machines. */
  clockSkewMs?: number;
  /** A retention run holds its per-topic lease this long. */
  leaseMs?: number;
  /** Objects the orphan sweep looks at per topic and run at most. @default 10000 */
  maxSweptObjects?: number;
  log?: (message: string) => void;
}

export interface PartitionRetention {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  /** Batches that went below the log start in this run. */
  entriesDeleted: number;
  bytesRemoved: number;
  /**
   * Commits of the partition's sequence this run declared aborted (their writers died after
   * reserving). Counted on the sequence's first partition only, so that sums over partitions
   * count each commit once.
   */
  abortedRanges: number;
}

export interface TopicRetention {
  topic: string;
  skipped?: 'lease-held';
  partitions: PartitionRetention[];
  /** Objects of commits whose every batch retention passed, deleted with their commits. */
  objectsDeleted: number;
  /** Orphans (uploaded, never published) deleted by the sweep, on top of objectsDeleted. */
  orphansDeleted: number;
  /** What the orphan sweep did; absent when the topic was skipped. */
  sweep?: OrphanSweepResult;
}

export interface RetentionReport {
  topics: TopicRetention[];
  deletedTopicsCleaned: string[];
}

/** Commit pages read while walking: small first, as a run where nothing expired reads one. */
const PAGES = [8, 32, 100] as const;
/**
 * Commits one walk reads at most per sequence and run, so that a run fits a Lambda's time and
 * memory; a backlog is worked off over several runs.
 */
const MAX_WALK = 20_000;

/**
 * The scheduled maintenance of the log (functions/retention.ts, and a timer locally), per
 * topic under a lease and per commit sequence: healing of expired holes, time and size
 * retention, deletion of the objects and commits retention passed, the orphan sweep, and the
 * removal of deleted topics' data.
 *
 * Deletion is by reference (lib/log/retention-plan.ts). The order keeps every crash safe: the
 * raised log starts are saved first (readers below them get OFFSET_OUT_OF_RANGE from then on),
 * then the dead commits' objects go, then their entries, then the first kept commit moves past
 * them. A crash between two steps leaves work that the next run repeats: it walks from the
 * same first kept commit and finds the same commits dead.
 */
export class RetentionService {
  private readonly clock: Clock;
  private readonly owner = randomUUID();
  private readonly leaseMs: number;
  private readonly clockSkewMs: number;
  private readonly log: (message: string) => void;
  private readonly sweeper: OrphanSweeper;

  constructor(
    private readonly topics: TopicStore,
    private readonly commits: CommitLogStore,
    private readonly segments: SegmentStore,
    private readonly reader: LogReader,
    private readonly options: RetentionOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.clockSkewMs = options.clockSkewMs ?? 60_000;
    this.log = options.log ?? (() => {});
    this.sweeper = new OrphanSweeper(topics, commits, segments, {
      clock: this.clock,
      maxProduceMs: options.maxProduceMs,
      clockSkewMs: this.clockSkewMs,
      ...(options.maxSweptObjects === undefined
        ? {}
        : { maxObjectsPerRun: options.maxSweptObjects }),
    });
  }

  /** One pass over every topic, or over the named ones only (live or deleted). */
  async runOnce(options: { topics?: readonly string[] } = {}): Promise<RetentionReport> {
    const only = options.topics === undefined ? undefined : new Set(options.topics);
    const report: RetentionReport = { topics: [], deletedTopicsCleaned: [] };
    for (const topic of await this.topics.list()) {
      if (only !== undefined && !only.has(topic.name)) continue;
      report.topics.push(await this.runTopic(topic));
    }
    for (const deleted of await this.topics.listDeleted()) {
      if (only !== undefined && !only.has(deleted.topicName)) continue;
      if (await this.cleanDeleted(deleted)) report.deletedTopicsCleaned.push(deleted.topicName);
    }
    return report;
  }

  /** Removes a deleted topic's commits and objects, once its in-flight writers are done. */
  private async cleanDeleted(deleted: DeletedTopicRecord): Promise<boolean> {
    // In-flight writers of the old id (a warm cache, a slow request) are finished by then.
    if (this.clock.now() - deleted.deletedAt < this.options.maxProduceMs + this.clockSkewMs) {
      return false;
    }
    const lease = `retention#${deleted.topicId}`;
    if (!(await this.topics.acquireLease(lease, this.owner, this.clock.now(), this.leaseMs))) {
      return false;
    }
    try {
      for (let sequence = 0; sequence < deleted.sequences; sequence++) {
        await this.commits.deleteSequence(deleted.topicId, sequence);
      }
      const keys: string[] = [];
      for await (const object of this.segments.list(`${SEGMENT_ROOT}${deleted.topicId}/`)) {
        keys.push(object.key);
      }
      await this.segments.delete(keys);
      this.reader.forget(deleted.topicId);
      await this.topics.forgetDeleted(deleted.topicId);
      this.log(
        `deleted topic ${deleted.topicName} (${deleted.topicId}): ${keys.length} objects removed`,
      );
      return true;
    } finally {
      await this.topics.releaseLease(lease, this.owner);
    }
  }

  async runTopic(topic: TopicRecord): Promise<TopicRetention> {
    const result: TopicRetention = {
      topic: topic.name,
      partitions: [],
      objectsDeleted: 0,
      orphansDeleted: 0,
    };
    const lease = `retention#${topic.topicId}`;
    if (!(await this.topics.acquireLease(lease, this.owner, this.clock.now(), this.leaseMs))) {
      return { ...result, skipped: 'lease-held' };
    }
    try {
      for (let sequence = 0; sequence < topic.sequences; sequence++) {
        const done = await this.runSequence(topic, sequence);
        result.partitions.push(...done.partitions);
        result.objectsDeleted += done.objectsDeleted;
      }
      result.partitions.sort((a, b) => a.partition - b.partition);
      const swept = await this.sweeper.sweep(topic);
      result.orphansDeleted = swept.deleted;
      result.sweep = swept;
      if (swept.deleted > 0) {
        this.log(
          `retention: ${topic.name}: ${swept.deleted} orphan object(s) of writers that never published deleted (${swept.examined} checked)`,
        );
      }
    } finally {
      await this.topics.releaseLease(lease, this.owner);
    }
    return result;
  }

  private async runSequence(
    topic: TopicRecord,
    sequence: number,
  ): Promise<{ partitions: PartitionRetention[]; objectsDeleted: number }> {
    const { topicId, config } = topic;
    // Heals holes whose writers' time is up, so that what follows them is settled, and dead
    // writers' reservations at the tail, which no reader would ever meet as a hole.
    const advanced = await this.reader.settle(topicId, sequence);
    const healed = advanced.healed.length + advanced.tailHealed;
    const { prefix } = advanced;
    // Read afresh, not the reader's cached copy: its version conditions this run's writes.
    const meta = await this.commits.meta(topicId, sequence);

    // Bytes of the commits settled since the last run, each commit counted once. A backlog
    // (the first run on an old topic) is counted over several runs.
    const bytes = new Map(meta.bytes);
    const counted = await this.walk(topicId, sequence, meta.countedThrough, prefix.next, (c) => {
      countBytes(bytes, c);
      return true;
    });
    const countedThrough = Math.max(meta.countedThrough, counted.next);
    // Decided on: settled commits whose bytes are counted (a batch's bytes leave the count
    // they entered).
    const end = Math.min(prefix.next, countedThrough);

    // A view behind the first kept commit (another process's run deleted past it) has nothing
    // to decide: its vector is older than the log starts.
    if (prefix.next <= meta.startCommit) {
      return {
        partitions: this.report(topic, sequence, prefix, meta.logStarts),
        objectsDeleted: 0,
      };
    }
    const walk = new RetentionWalk(
      {
        logStarts: meta.logStarts,
        kept: bytes,
        highWatermarks: prefix.vector,
        deletedBefore: meta.deletedBefore,
      },
      {
        now: this.clock.now(),
        retentionMs: config.retentionMs,
        retentionBytes: config.retentionBytes,
      },
    );
    const decided = await this.walk(topicId, sequence, meta.startCommit, end, (c) => walk.visit(c));
    const plan = walk.finish(decided.complete && end >= prefix.next);
    const applied = await this.apply(topicId, sequence, meta, prefix, countedThrough, plan);

    const partitions = this.report(
      topic,
      sequence,
      prefix,
      applied.saved ? plan.logStarts : meta.logStarts,
      applied.saved ? plan.removed : undefined,
      healed,
    );
    return { partitions, objectsDeleted: applied.objectsDeleted };
  }

  private report(
    topic: TopicRecord,
    sequence: number,
    prefix: SettledPrefix,
    logStarts: ReadonlyMap<number, number>,
    removed?: ReadonlyMap<number, PartitionRemoval>,
    healed = 0,
  ): PartitionRetention[] {
    return partitionsOfSequence(sequence, topic.sequences, topic.partitions).map((partition) => ({
      partition,
      logStartOffset: logStarts.get(partition) ?? 0,
      highWatermark: prefix.vector.get(partition) ?? 0,
      entriesDeleted: removed?.get(partition)?.batches ?? 0,
      bytesRemoved: removed?.get(partition)?.bytes ?? 0,
      abortedRanges: partition === sequence ? healed : 0,
    }));
  }

  /**
   * Writes a plan in the crash-safe order: (a) log starts and byte counts, (b) the dead
   * commits' objects, then their entries, (c) the first kept commit past them. Each save is
   * conditional on the meta's version: when another run moved it, this one stops.
   */
  private async apply(
    topicId: string,
    sequence: number,
    meta: SequenceMeta,
    prefix: SettledPrefix,
    countedThrough: number,
    plan: RetentionPlan,
  ): Promise<{ saved: boolean; objectsDeleted: number }> {
    const state: RetentionState = {
      logStarts: plan.logStarts,
      startCommit: meta.startCommit,
      bytes: plan.kept,
      countedThrough,
    };
    let version = meta.version;
    if (!sameState(state, meta)) {
      if (!(await this.commits.saveRetention(topicId, sequence, version, state))) {
        return { saved: false, objectsDeleted: 0 };
      }
      version++;
    }
    const last = plan.dead.at(-1);
    if (last === undefined) return { saved: true, objectsDeleted: 0 };

    // Readers that start now begin past the commits about to go, not in the middle of them
    // (a missing number there would look like a hole).
    await this.commits.raiseHint(topicId, sequence, prefix);
    const objects = plan.dead.flatMap((d) => (d.object === undefined ? [] : [d.object]));
    const objectsDeleted = objects.length === 0 ? 0 : await this.segments.delete(objects);
    await this.commits.deleteCommits(
      topicId,
      sequence,
      plan.dead.map((d) => d.commit),
    );
    await this.commits.saveRetention(topicId, sequence, version, {
      ...state,
      startCommit: last.commit + 1,
    });
    return { saved: true, objectsDeleted };
  }

  /**
   * Visits the commits numbered [from, end) in order, a page at a time, until `visit` says
   * stop or MAX_WALK commits were visited. `next` is the first number not visited; `complete`
   * says every number below `end` was, false also when one was missing (another run deleted
   * it: this run's save then fails on the version).
   */
  private async walk(
    topicId: string,
    sequence: number,
    from: number,
    end: number,
    visit: (commit: Commit) => boolean,
  ): Promise<{ next: number; complete: boolean }> {
    let next = from;
    for (let page = 0; next < end && next - from < MAX_WALK; page++) {
      const size = PAGES[Math.min(page, PAGES.length - 1)] as number;
      const commits = await this.commits.commitsFrom(topicId, sequence, next, size);
      for (const commit of commits) {
        if (commit.commit >= end) return { next, complete: true };
        if (commit.commit !== next) return { next, complete: false };
        next++;
        if (!visit(commit) || next - from >= MAX_WALK) return { next, complete: next >= end };
      }
      if (commits.length < size) break;
    }
    return { next, complete: next >= end };
  }
}

function sameState(state: RetentionState, meta: SequenceMeta): boolean {
  return (
    state.startCommit === meta.startCommit &&
    state.countedThrough === meta.countedThrough &&
    sameMap(state.logStarts, meta.logStarts) &&
    sameMap(state.bytes, meta.bytes)
  );
}

function sameMap(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const key of keys) if ((a.get(key) ?? 0) !== (b.get(key) ?? 0)) return false;
  return true;
}
