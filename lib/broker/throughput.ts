/**
 * A topic's throughput over a recent window and its size, derived from what the log already
 * holds: every commit records when it was reserved (its append time), and each of its batches
 * the partition, record count and payload bytes. Reading the commits of the window backwards
 * from the settled tail gives records, bytes and produce requests per time bucket, with no
 * write on the produce path (a counter per request would cost a DynamoDB write each).
 *
 * Sizes: retention keeps each partition's published bytes counted through some commit (its
 * meta); the commits after that one are added from the same walk. Bytes are Kafka's
 * max.message.bytes measure (uncompressed key, value, headers and framing), not the
 * compressed bytes S3 stores.
 *
 * Cost: one Query page per 100 commits of the window (about 100 bytes a commit, so a page is a
 * few read units), at most `maxCommits` per sequence and call. A busier window is reported as
 * covered from the oldest commit read (`coveredFrom`), the rates over that shorter span.
 */

import { type PublishedCommit, partitionsOfSequence } from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import type { CommitLogStore } from '../store/commit-log-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import type { LogReader } from './log-reader.js';
import type { TopicService } from './topics.js';

export interface ThroughputBucket {
  /** Start of the bucket (ms); it covers [start, start + bucketMs). */
  start: number;
  records: number;
  bytes: number;
  /** Produce requests (commits) in the bucket. */
  requests: number;
}

export interface PartitionThroughput {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  /** Offsets in the log: highWatermark - logStartOffset (aborted ranges included). */
  records: number;
  /** Published bytes kept; a lower bound when `bytesExact` is false. */
  bytes: number;
  bytesExact: boolean;
  recordsPerSecond: number;
  bytesPerSecond: number;
}

export interface TopicThroughput {
  topic: string;
  /** When the figures were taken (ms). */
  at: number;
  windowMs: number;
  bucketMs: number;
  /** The window's start, or later when the window held more commits than one call reads. */
  coveredFrom: number;
  partitions: PartitionThroughput[];
  /** Oldest first; buckets before coveredFrom are left out. */
  series: ThroughputBucket[];
  recordsPerSecond: number;
  bytesPerSecond: number;
  requestsPerSecond: number;
}

export interface ThroughputQuery {
  windowMs: number;
  bucketMs: number;
}

export const THROUGHPUT_LIMITS = {
  windowMs: { min: 10_000, max: 3_600_000, default: 300_000 },
  bucketMs: { min: 1_000, default: 10_000 },
  /** Buckets per answer, at most. */
  maxBuckets: 360,
} as const;

/** Commits read per sequence and call, at most: a bound on a busy topic's read cost. */
export const DEFAULT_MAX_COMMITS = 2_000;
const PAGE = 100;

export class ThroughputService {
  private readonly maxCommits: number;

  constructor(
    private readonly topics: TopicService,
    private readonly commits: CommitLogStore,
    private readonly reader: LogReader,
    private readonly clock: Clock,
    options: { maxCommits?: number } = {},
  ) {
    this.maxCommits = options.maxCommits ?? DEFAULT_MAX_COMMITS;
  }

  async topic(name: string, query: Partial<ThroughputQuery> = {}): Promise<TopicThroughput> {
    const { windowMs, bucketMs } = checkQuery(query);
    const topic = await this.topics.get(name);
    const at = this.clock.now();
    const windowStart = at - windowMs;
    const partitions: PartitionThroughput[] = [];
    const inWindow: PublishedCommit[] = [];
    let coveredFrom = windowStart;
    for (let sequence = 0; sequence < topic.sequences; sequence++) {
      const walked = await this.walk(topic, sequence, windowStart, (commit) => {
        if (commit.reservedAt >= windowStart) inWindow.push(commit);
      });
      coveredFrom = Math.max(coveredFrom, walked.coveredFrom);
      for (const partition of partitionsOfSequence(sequence, topic.sequences, topic.partitions)) {
        const highWatermark = walked.prefixVector.get(partition) ?? 0;
        const logStartOffset = Math.min(walked.logStarts.get(partition) ?? 0, highWatermark);
        partitions.push({
          partition,
          logStartOffset,
          highWatermark,
          records: highWatermark - logStartOffset,
          bytes: (walked.countedBytes.get(partition) ?? 0) + (walked.uncounted.get(partition) ?? 0),
          bytesExact: walked.bytesExact,
          recordsPerSecond: 0,
          bytesPerSecond: 0,
        });
      }
    }
    // Added up only now: a sequence cut short moves coveredFrom for all of them, and the
    // other sequences' older commits must then be left out too.
    const firstBucket = Math.floor(coveredFrom / bucketMs) * bucketMs;
    const buckets = new Map<number, ThroughputBucket>();
    for (let start = firstBucket; start <= at; start += bucketMs) {
      buckets.set(start, { start, records: 0, bytes: 0, requests: 0 });
    }
    const totals = { records: 0, bytes: 0, requests: 0 };
    const perPartition = new Map<number, { records: number; bytes: number }>();
    for (const commit of inWindow) {
      if (commit.reservedAt < coveredFrom) continue;
      const bucket = buckets.get(Math.floor(commit.reservedAt / bucketMs) * bucketMs);
      if (bucket !== undefined) bucket.requests++;
      totals.requests++;
      for (const batch of commit.batches) {
        totals.records += batch.count;
        totals.bytes += batch.bytes;
        if (bucket !== undefined) {
          bucket.records += batch.count;
          bucket.bytes += batch.bytes;
        }
        const sum = perPartition.get(batch.partition) ?? { records: 0, bytes: 0 };
        sum.records += batch.count;
        sum.bytes += batch.bytes;
        perPartition.set(batch.partition, sum);
      }
    }
    const seconds = Math.max(1, at - coveredFrom) / 1000;
    for (const p of partitions) {
      const sum = perPartition.get(p.partition);
      p.recordsPerSecond = round((sum?.records ?? 0) / seconds);
      p.bytesPerSecond = round((sum?.bytes ?? 0) / seconds);
    }
    return {
      topic: topic.name,
      at,
      windowMs,
      bucketMs,
      coveredFrom,
      partitions: partitions.sort((a, b) => a.partition - b.partition),
      series: [...buckets.values()],
      recordsPerSecond: round(totals.records / seconds),
      bytesPerSecond: round(totals.bytes / seconds),
      requestsPerSecond: round(totals.requests / seconds),
    };
  }

  /**
   * Walks one sequence's settled commits from the tail down until both the window and the
   * commits retention has not counted yet are behind, or maxCommits were read.
   */
  private async walk(
    topic: TopicRecord,
    sequence: number,
    windowStart: number,
    visit: (commit: PublishedCommit) => void,
  ) {
    const { prefix, meta } = await this.reader.advance(topic.topicId, sequence);
    const uncounted = new Map<number, number>();
    let to = prefix.next - 1;
    let read = 0;
    let oldest = Number.POSITIVE_INFINITY;
    const bottom = Math.max(1, meta.startCommit);
    let done = false;
    while (!done && to >= bottom && read < this.maxCommits) {
      const limit = Math.min(PAGE, this.maxCommits - read);
      const page = await this.commits.commitsDown(topic.topicId, sequence, bottom, to, limit);
      if (page.length === 0) break;
      for (const commit of page) {
        read++;
        to = commit.commit - 1;
        if (commit.kind !== 'published') continue;
        oldest = Math.min(oldest, commit.reservedAt);
        if (commit.commit >= meta.countedThrough) {
          for (const b of commit.batches) {
            uncounted.set(b.partition, (uncounted.get(b.partition) ?? 0) + b.bytes);
          }
        }
        visit(commit);
        // Writers' clocks differ a little, so commit times are nearly, not strictly, ordered.
        if (commit.reservedAt < windowStart && commit.commit < meta.countedThrough) done = true;
      }
      if (page.length < limit) break;
    }
    const cutShort = !done && to >= bottom && read >= this.maxCommits;
    return {
      prefixVector: prefix.vector,
      logStarts: meta.logStarts,
      countedBytes: meta.bytes,
      uncounted,
      // Every commit retention has not counted was read (or there are none left to read).
      bytesExact: to < meta.countedThrough || to < bottom,
      // Cut short by maxCommits inside the window: only the time after the oldest commit read.
      coveredFrom: cutShort && oldest > windowStart ? oldest : windowStart,
    };
  }
}

function checkQuery(query: Partial<ThroughputQuery>): ThroughputQuery {
  const L = THROUGHPUT_LIMITS;
  const windowMs = query.windowMs ?? L.windowMs.default;
  const bucketMs = query.bucketMs ?? L.bucketMs.default;
  const problems: string[] = [];
  if (!Number.isInteger(windowMs) || windowMs < L.windowMs.min || windowMs > L.windowMs.max) {
    problems.push(`windowMs must be an integer from ${L.windowMs.min} to ${L.windowMs.max}`);
  }
  if (!Number.isInteger(bucketMs) || bucketMs < L.bucketMs.min || bucketMs > windowMs) {
    problems.push(`bucketMs must be an integer from ${L.bucketMs.min} to windowMs`);
  } else if (windowMs / bucketMs > L.maxBuckets) {
    problems.push(`windowMs / bucketMs must be at most ${L.maxBuckets} buckets`);
  }
  if (problems.length > 0) {
    throw new EventLogError('INVALID_REQUEST', problems.join('; '), { details: { problems } });
  }
  return { windowMs, bucketMs };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
