/**
 * Consumer lag, the two figures users of Kafka-on-object-storage systems ask for first:
 * - offset lag: high watermark minus committed offset (Kafka's `LAG`, Lambda's OffsetLag);
 * - time lag: how long the oldest record not yet committed has been in the log (what
 *   Kinesis calls IteratorAge): now minus the append time of the batch holding the committed
 *   offset.
 *
 * Time lag costs no S3 read: a commit records its object's append time (the writer's clock
 * at reservation), and the log reader finds the commit holding an offset from DynamoDB alone.
 * Append time, not the producer's record timestamp: a producer may set any timestamp (or
 * replay old records), but when the log took the record is what a lag alarm is about.
 */

import type { TopicRecord } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import type { GroupService } from './groups.js';
import { leaseKey } from './lease-balancer.js';
import type { LogReader } from './log-reader.js';
import { mapLimited } from './map-limited.js';
import type { TopicService } from './topics.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Null when the group has committed nothing for the partition. */
  committed: number | null;
  logStartOffset: number;
  highWatermark: number;
  /** highWatermark - max(committed, logStartOffset); null without a committed offset. */
  offsetLag: number | null;
  /** Now minus the append time of the oldest record not yet committed; 0 when caught up. */
  timeLagMs: number | null;
}

export interface GroupLag {
  group: string;
  /** When the figures were taken (ms). */
  at: number;
  partitions: PartitionLag[];
  /** Sum of the partitions' offset lags. */
  totalOffsetLag: number;
  /** The largest time lag of any partition; null when nothing is committed. */
  maxTimeLagMs: number | null;
}

/** Partitions looked at in parallel: each is a few DynamoDB reads, mostly cached. */
const PARALLEL = 8;

export class LagService {
  constructor(
    private readonly groups: GroupService,
    private readonly topics: TopicService,
    private readonly reader: LogReader,
    private readonly clock: Clock,
  ) {}

  /**
   * Every partition of the topics the group has committed offsets for (or, with `topics`,
   * of those topics: a subscription's group, before its first commit, has lag on its topic).
   * With `fromLogStart`, a partition without a committed offset counts from its log start,
   * where the dispatcher starts a subscription's partition (its lag is then never null).
   */
  async group(
    group: string,
    options: { topics?: readonly string[]; fromLogStart?: boolean } = {},
  ): Promise<GroupLag> {
    const committed = await this.groups.committed(group);
    const names = options.topics ?? [...new Set(committed.map((c) => c.topic))];
    const byPartition = new Map(committed.map((c) => [leaseKey(c.topic, c.partition), c]));
    const slots: { topic: string; partition: number }[] = [];
    const records = new Map<string, TopicRecord>();
    for (const name of [...names].sort()) {
      const topic = await this.topics.get(name);
      records.set(name, topic);
      for (let partition = 0; partition < topic.partitions; partition++) {
        slots.push({ topic: name, partition });
      }
    }
    const at = this.clock.now();
    const partitions = await mapLimited(slots, PARALLEL, async ({ topic, partition }) => {
      const record = records.get(topic) as TopicRecord;
      const offset = byPartition.get(leaseKey(topic, partition))?.committed ?? null;
      const bounds = await this.reader.bounds(record, partition);
      const lag: PartitionLag = {
        topic,
        partition,
        committed: offset,
        logStartOffset: bounds.logStartOffset,
        highWatermark: bounds.highWatermark,
        offsetLag: null,
        timeLagMs: null,
      };
      if (offset === null && options.fromLogStart !== true) return lag;
      // Records below the log start are gone: the oldest one left to read is at the log start.
      const next = Math.max(offset ?? bounds.logStartOffset, bounds.logStartOffset);
      lag.offsetLag = Math.max(0, bounds.highWatermark - next);
      if (lag.offsetLag === 0) {
        lag.timeLagMs = 0;
        return lag;
      }
      const [read] = await this.reader.read(record, [{ partition, offset: next }], {
        maxBytes: 1,
        maxRecords: 1,
      });
      const batch = read !== undefined && 'batches' in read ? read.batches[0] : undefined;
      lag.timeLagMs = batch === undefined ? null : Math.max(0, at - batch.appendTime);
      return lag;
    });
    const times = partitions.flatMap((p) => (p.timeLagMs === null ? [] : [p.timeLagMs]));
    return {
      group,
      at,
      partitions,
      totalOffsetLag: partitions.reduce((sum, p) => sum + (p.offsetLag ?? 0), 0),
      maxTimeLagMs: times.length === 0 ? null : Math.max(...times),
    };
  }
}
