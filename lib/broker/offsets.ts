import { EventLogError } from '../log/errors.js';
import { decodeRecordBatch } from '../log/record-batch.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { LogReader } from './log-reader.js';
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
    private readonly reader: LogReader,
  ) {}

  /**
   * Kafka's DeleteRecords (AdminClient.deleteRecords): each partition's log start moves up to
   * its offset (-1: the high watermark). Returns each partition's low watermark.
   */
  async deleteRecords(
    topicName: string,
    partitions: readonly { partition: number; offset: number }[],
  ): Promise<{ partition: number; lowWatermark: number }[]> {
    const topic = await this.topics.resolve(topicName);
    if (partitions.length === 0) {
      throw new EventLogError('INVALID_REQUEST', 'Name at least one partition and offset');
    }
    const wanted = new Map<number, number>();
    for (const { partition, offset } of partitions) {
      TopicService.checkPartition(topic, partition);
      if (!Number.isSafeInteger(offset) || offset < -1) {
        throw new EventLogError(
          'INVALID_REQUEST',
          `offset must be -1 (the high watermark) or a non-negative integer, got ${offset}`,
        );
      }
      if (wanted.has(partition)) {
        throw new EventLogError('INVALID_REQUEST', `Partition ${partition} is named twice`);
      }
      wanted.set(partition, offset);
    }
    const bounds = await this.reader.deleteRecords(topic, wanted);
    return bounds.map((b) => ({ partition: b.partition, lowWatermark: b.logStartOffset }));
  }

  async listOffsets(
    topicName: string,
    partition: number,
    spec: OffsetSpec,
  ): Promise<PartitionOffset> {
    const topic = await this.topics.resolve(topicName, [partition]);
    TopicService.checkPartition(topic, partition);
    if (spec === 'earliest' || spec === 'latest') {
      const bounds = await this.reader.bounds(topic, partition);
      return {
        ...bounds,
        offset: spec === 'earliest' ? bounds.logStartOffset : bounds.highWatermark,
      };
    }
    const { timestamp } = spec;
    if (!Number.isSafeInteger(timestamp)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Timestamp must be an integer of ms, got ${timestamp}`,
      );
    }
    const { bounds, batch } = await this.reader.firstBatchAtTime(topic, partition, timestamp);
    if (batch !== undefined) {
      const { position, length, baseOffset } = batch.batch;
      const bytes = await this.segments.getRange(batch.object, position, position + length);
      const decoded = decodeRecordBatch(bytes, { baseOffset });
      const record = decoded.records.find(
        (r) => r.timestamp >= timestamp && r.offset >= bounds.logStartOffset,
      );
      if (record !== undefined) {
        return { ...bounds, offset: record.offset, timestamp: record.timestamp };
      }
    }
    return { ...bounds, offset: null };
  }
}
