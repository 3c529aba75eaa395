import { randomUUID } from 'node:crypto';
import { SEGMENT_PREFIX } from '../infra/resources.js';
import { ulidTime } from '../log/ulid.js';
import type { IndexEntry, LogIndexStore } from '../store/log-index-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { TopicRecord, TopicStore } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import type { LogHealer } from './log-healer.js';
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
  entriesDeleted: number;
  bytesRemoved: number;
  abortedRanges: number;
}

export interface TopicRetention {
  topic: string;
  skipped?: 'lease-held';
  partitions: PartitionRetention[];
  /** Objects deleted because retention passed them, orphans included. */
  objectsDeleted: number;
  /** Orphans (never published) deleted by the sweep, on top of objectsDeleted. */
  orphansDeleted: number;
  /** What the orphan sweep did; absent when the topic was skipped. */
  sweep?: OrphanSweepResult;
}

export interface RetentionReport {
  topics: TopicRetention[];
  deletedTopicsCleaned: string[];
}

const PAGE = 100;
const FIRST_PAGE = 8;

/**
 * The scheduled maintenance of the log (functions/retention.ts, and a timer locally):
 * time and size retention per partition, healing of holes, deletion of unreferenced
 * objects (expired ones, and orphans of writers that never published), and the removal of
 * deleted topics' data.
 *
 * Order matters for readers: the log start is raised first (readers below it get
 * OFFSET_OUT_OF_RANGE from then on), then index entries go, then objects. An object is
 * deleted only when no entry that can still be read, or still be published, can refer to it.
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
    private readonly index: LogIndexStore,
    private readonly segments: SegmentStore,
    private readonly healer: LogHealer,
    private readonly options: RetentionOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.clockSkewMs = options.clockSkewMs ?? 60_000;
    this.log = options.log ?? (() => {});
    this.sweeper = new OrphanSweeper(topics, index, segments, {
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
      // In-flight writers of the old id (a warm cache, a slow request) are finished by then.
      if (this.clock.now() - deleted.deletedAt < this.options.maxProduceMs + this.clockSkewMs)
        continue;
      if (
        !(await this.topics.acquireLease(
          `retention#${deleted.topicId}`,
          this.owner,
          this.clock.now(),
          this.leaseMs,
        ))
      )
        continue;
      try {
        for (let partition = 0; partition < deleted.partitions; partition++) {
          await this.index.deletePartition(deleted.topicId, partition);
        }
        const keys: string[] = [];
        for await (const object of this.segments.list(`${SEGMENT_PREFIX}${deleted.topicId}/`)) {
          keys.push(object.key);
        }
        await this.segments.delete(keys);
        await this.topics.forgetDeleted(deleted.topicId);
        report.deletedTopicsCleaned.push(deleted.topicName);
        this.log(
          `deleted topic ${deleted.topicName} (${deleted.topicId}): ${keys.length} objects removed`,
        );
      } finally {
        await this.topics.releaseLease(`retention#${deleted.topicId}`, this.owner);
      }
    }
    return report;
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
      // The oldest append time any readable entry of the topic still has.
      let oldestKept = Number.POSITIVE_INFINITY;
      for (let partition = 0; partition < topic.partitions; partition++) {
        const { retention, firstKept } = await this.runPartition(topic, partition);
        result.partitions.push(retention);
        if (firstKept !== undefined) oldestKept = Math.min(oldestKept, firstKept.appendTime);
      }
      result.objectsDeleted = await this.deleteUnreferencedObjects(topic, oldestKept);
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

  private async runPartition(
    topic: TopicRecord,
    partition: number,
  ): Promise<{ retention: PartitionRetention; firstKept: IndexEntry | undefined }> {
    const { topicId, config } = topic;
    const healed = await this.healer.healPartition(topicId, partition);
    const head = await this.index.head(topicId, partition);
    const highWatermark = healed.highWatermark;
    const now = this.clock.now();
    const cutoff = config.retentionMs >= 0 ? now - config.retentionMs : Number.NEGATIVE_INFINITY;
    let kept = head.bytesIn - head.bytesOut;

    const doomed: IndexEntry[] = [];
    let firstKept: IndexEntry | undefined;
    let from = head.logStartOffset;
    // Usually the first batch stays (nothing has expired since the last run): small pages
    // first, as reads are billed by the bytes they return.
    scan: for (let pages = 0; from < highWatermark; pages++) {
      const page = await this.index.entriesFrom(
        topicId,
        partition,
        from,
        Math.min(PAGE, FIRST_PAGE * 4 ** pages),
      );
      if (page.length === 0) break;
      for (const entry of page) {
        const end = entry.baseOffset + entry.count;
        // Kafka's rules: by the largest timestamp in the batch, and while the partition
        // minus this batch is still at or over retention.bytes. The last batch stays.
        const expired =
          entry.maxTimestamp < cutoff ||
          (config.retentionBytes >= 0 && kept - entry.bytes >= config.retentionBytes);
        if (!expired || end >= highWatermark) {
          firstKept = entry;
          break scan;
        }
        doomed.push(entry);
        kept -= entry.bytes;
        from = end;
      }
    }
    let bytesRemoved = 0;
    let logStartOffset = head.logStartOffset;
    const last = doomed.at(-1);
    if (last !== undefined) {
      bytesRemoved = doomed.reduce((sum, entry) => sum + entry.bytes, 0);
      const newStart = last.baseOffset + last.count;
      if (await this.index.advanceLogStart(topicId, partition, newStart, bytesRemoved)) {
        logStartOffset = newStart;
        await this.index.deleteEntries(
          topicId,
          partition,
          doomed.map((entry) => entry.baseOffset),
        );
      } else {
        bytesRemoved = 0;
      }
    }
    if (firstKept === undefined && logStartOffset < highWatermark) {
      firstKept = (await this.index.entriesFrom(topicId, partition, logStartOffset, 1))[0];
    }
    return {
      retention: {
        partition,
        logStartOffset,
        highWatermark,
        entriesDeleted: last === undefined ? 0 : doomed.length,
        bytesRemoved,
        abortedRanges: healed.aborted.length,
      },
      firstKept,
    };
  }

  /**
   * Objects sort by creation time (ULID keys) and a batch's append time is its object's
   * time. An entry that is still readable, or still being written, was appended no earlier
   * than the oldest kept entry's append time minus the longest a produce can take (offsets
   * are reserved in order, and a writer publishes within maxProduceMs of its start). Objects
   * older than that are referenced by nothing: expired ones and orphans of failed writes.
   */
  private async deleteUnreferencedObjects(topic: TopicRecord, oldestKept: number): Promise<number> {
    const now = this.clock.now();
    const margin = this.options.maxProduceMs + this.clockSkewMs;
    const cutoff = Math.min(oldestKept, now) - margin;
    const doomed: string[] = [];
    let deleted = 0;
    for await (const object of this.segments.list(`${SEGMENT_PREFIX}${topic.topicId}/`)) {
      const id = object.key.slice(object.key.lastIndexOf('/') + 1);
      if (ulidTime(id) >= cutoff) break;
      doomed.push(object.key);
      if (doomed.length >= 1000) deleted += await this.segments.delete(doomed.splice(0));
    }
    if (doomed.length > 0) deleted += await this.segments.delete(doomed);
    return deleted;
  }
}
