import { EventLogError } from '../log/errors.js';
import { decodeRecordBatch } from '../log/record-batch.js';
import type { LogIndexStore } from '../store/log-index-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { PartitionReader } from './partition-reader.js';
import { TopicService } from './topics.js';

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

export interface PartitionOffset {
  partition: number;
  /** null when asked for a timestamp after every record (Kafka answers -1). */
  offset: number | null;
  /** The record's timestamp for a timestamp query. */
  timestamp?: number;
  logStartOffset: number;
  highWatermark: number;
}

/** Kafka's ListOffsets: earliest, latest (the high watermark), or by time. */
export class OffsetService {
  constructor(
    private readonly topics: TopicService,
    private readonly segments: SegmentStore,
    private readonly index: LogIndexStore,
    private readonly reader: PartitionReader,
  ) {}

  async listOffsets(
    topicName: string,
    partition: number,
    spec: OffsetSpec,
  ): Promise<PartitionOffset> {
    const topic = await this.topics.resolve(topicName);
    TopicService.checkPartition(topic, partition);
    const head = await this.index.head(topic.topicId, partition);
    const highWatermark = await this.reader.highWatermark(topic.topicId, partition, head);
    const base = { partition, logStartOffset: head.logStartOffset, highWatermark };
    if (spec === 'earliest') return { ...base, offset: head.logStartOffset };
    if (spec === 'latest') return { ...base, offset: highWatermark };
    const { timestamp } = spec;
    if (!Number.isSafeInteger(timestamp)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Timestamp must be an integer of ms, got ${timestamp}`,
      );
    }
    let from = head.logStartOffset;
    while (from < highWatermark) {
      const entry = await this.index.firstEntryWithTimestamp(
        topic.topicId,
        partition,
        from,
        timestamp,
      );
      if (entry === undefined || entry.baseOffset >= highWatermark) break;
      if (entry.aborted !== true && entry.object !== undefined) {
        const bytes = await this.segments.getRange(
          entry.object,
          entry.position,
          entry.position + entry.length,
        );
        const batch = decodeRecordBatch(bytes, { baseOffset: entry.baseOffset });
        const record = batch.records.find((r) => r.timestamp >= timestamp);
        if (record !== undefined)
          return { ...base, offset: record.offset, timestamp: record.timestamp };
      }
      from = entry.baseOffset + entry.count;
    }
    return { ...base, offset: null };
  }
}
