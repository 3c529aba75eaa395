import { SEGMENT_PREFIX } from '../infra/resources.js';
import { EventLogError, isEventLogError, toEventLogError } from '../log/errors.js';
import { Partitioner } from '../log/partitioner.js';
import { type EncodeOptions, encodeRecordBatch, type RecordInput } from '../log/record-batch.js';
import type { TopicConfig } from '../log/topic-config.js';
import { createUlidGenerator } from '../log/ulid.js';
import type { IndexEntry, LogIndexStore } from '../store/log-index-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import type { TopicService } from './topics.js';

export interface ProduceRecord {
  key?: Uint8Array | null;
  value?: Uint8Array | null;
  headers?: { key: string; value: Uint8Array | null }[];
  /** Explicit partition; otherwise the key decides (murmur2), else records are spread. */
  partition?: number;
  /** CreateTime in ms; defaults to now. Ignored when the topic uses LogAppendTime. */
  timestamp?: number;
}

export interface ProduceRequest {
  topic: string;
  records: ProduceRecord[];
}

export type RecordResult =
  | { partition: number; offset: number; timestamp: number; error?: undefined }
  | { partition: number; offset?: undefined; timestamp?: undefined; error: EventLogError };

export interface ProduceResult {
  topic: string;
  /** One result per record, in request order. */
  records: RecordResult[];
}

export interface ProduceLimits {
  /**
   * A writer that has not published within this time gives up instead of publishing: the
   * healer declares holes older than this aborted, and a late publish must not land inside
   * such a range. Keep it at most the produce function's timeout.
   */
  maxProduceMs: number;
  /** Records in one request. */
  maxRecords: number;
  /** Key + value + header bytes in one request (the Lambda payload limit is 6 MB). */
  maxRequestBytes: number;
}

export const DEFAULT_PRODUCE_LIMITS: ProduceLimits = {
  maxProduceMs: 30_000,
  maxRecords: 10_000,
  maxRequestBytes: 6 * 1024 * 1024,
};

/** Per-record framing Kafka counts toward max.message.bytes beyond key, value and headers. */
const RECORD_OVERHEAD = 21;

interface PartitionBatch {
  partition: number;
  /** Indexes into the request's records, in request order. */
  members: number[];
  inputs: RecordInput[];
  bytes: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/**
 * The produce path (the commit protocol in DESIGN.md): validate everything first, encode one
 * RecordBatch per partition, PUT them as one S3 object, then per partition reserve offsets
 * with one atomic ADD and publish the index entry with a conditional put. The answer comes
 * after the publish, the durable point.
 */
export class ProduceService {
  private readonly clock: Clock;
  private readonly limits: ProduceLimits;
  private readonly partitioner = new Partitioner();
  /** Object keys sort by this service's clock: retention reads an object's age from its key. */
  private readonly ulid = createUlidGenerator();

  constructor(
    private readonly topics: TopicService,
    private readonly segments: SegmentStore,
    private readonly index: LogIndexStore,
    options: { clock?: Clock; limits?: Partial<ProduceLimits> } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.limits = { ...DEFAULT_PRODUCE_LIMITS, ...options.limits };
  }

  async produce(request: ProduceRequest): Promise<ProduceResult> {
    const topic = await this.topics.resolve(request.topic);
    const now = this.clock.now();
    const batches = this.plan(topic, request.records, now);

    const appendTime = now;
    const options: EncodeOptions = {
      compression: topic.config.compression,
      timestampType: topic.config.timestampType,
      ...(topic.config.timestampType === 'LogAppendTime' ? { logAppendTime: appendTime } : {}),
    };
    const encoded = batches.map((batch) => encodeRecordBatch(batch.inputs, options));
    const body = encoded.length === 1 ? (encoded[0] as Buffer) : Buffer.concat(encoded);
    const objectKey = `${SEGMENT_PREFIX}${topic.topicId}/${this.ulid(now)}`;
    await this.segments.put(objectKey, body);

    const results = new Array<RecordResult>(request.records.length);
    let position = 0;
    let publishesSent = 0;
    await Promise.all(
      batches.map(async (batch, i) => {
        const length = (encoded[i] as Buffer).byteLength;
        const entry: Omit<IndexEntry, 'baseOffset'> = {
          count: batch.inputs.length,
          object: objectKey,
          position,
          length,
          minTimestamp: batch.minTimestamp,
          maxTimestamp: batch.maxTimestamp,
          appendTime,
          bytes: batch.bytes,
        };
        position += length;
        let baseOffset: number | undefined;
        try {
          baseOffset = await this.index.reserve(
            topic.topicId,
            batch.partition,
            entry.count,
            entry.bytes,
          );
          this.checkDeadline(now, batch.partition);
          publishesSent++;
          await this.index.publish(topic.topicId, batch.partition, { ...entry, baseOffset });
        } catch (error) {
          const published =
            baseOffset !== undefined &&
            (await this.abortOwnRange(topic.topicId, batch.partition, baseOffset, entry.count));
          if (!published) {
            const failure = toEventLogError(error);
            for (const member of batch.members) {
              results[member] = { partition: batch.partition, error: failure };
            }
            return;
          }
        }
        batch.members.forEach((member, j) => {
          const input = batch.inputs[j] as RecordInput;
          results[member] = {
            partition: batch.partition,
            offset: (baseOffset as number) + j,
            timestamp:
              topic.config.timestampType === 'LogAppendTime'
                ? appendTime
                : (input.timestamp as number),
          };
        });
      }),
    );
    if (publishesSent === 0) {
      // No index entry can refer to the object: remove it now rather than leave it to
      // retention. (Once a publish was sent, its outcome may be unknown: keep the object.)
      await this.segments.delete([objectKey]).catch(() => {});
    }
    return { topic: topic.name, records: results };
  }

  /**
   * After a failure past the reservation, settles the range we own at once instead of leaving
   * a hole that holds readers back until the healer's grace period: an aborted marker at our
   * base offset. If the marker's condition fails, our own batch is there (the publish landed
   * and only its answer was lost): returns true, the records are written.
   */
  private async abortOwnRange(
    topicId: string,
    partition: number,
    baseOffset: number,
    count: number,
  ): Promise<boolean> {
    const now = this.clock.now();
    try {
      await this.index.publish(topicId, partition, {
        baseOffset,
        count,
        aborted: true,
        position: 0,
        length: 0,
        minTimestamp: now,
        maxTimestamp: now,
        appendTime: now,
        bytes: 0,
      });
      return false;
    } catch (error) {
      if (!isEventLogError(error, 'CONFLICT')) return false;
      // Something sits at our base offset: our batch, or a healer's marker.
      const entry = await this.index
        .entryAtOrBefore(topicId, partition, baseOffset)
        .catch(() => undefined);
      return entry !== undefined && entry.baseOffset === baseOffset && entry.aborted !== true;
    }
  }

  private checkDeadline(start: number, partition: number): void {
    const elapsed = this.clock.now() - start;
    if (elapsed > this.limits.maxProduceMs) {
      throw new EventLogError(
        'TIMEOUT',
        `Partition ${partition}: the write took ${elapsed} ms, over the ${this.limits.maxProduceMs} ms after which its offsets may be declared aborted; it was not published`,
      );
    }
  }

  /** Validates the whole request and groups it by partition; throws before any write. */
  private plan(topic: TopicRecord, records: ProduceRecord[], now: number): PartitionBatch[] {
    if (records.length === 0) {
      throw new EventLogError('INVALID_REQUEST', 'A produce request needs at least one record');
    }
    if (records.length > this.limits.maxRecords) {
      throw new EventLogError(
        'REQUEST_TOO_LARGE',
        `A produce request carries at most ${this.limits.maxRecords} records; this one has ${records.length}`,
        { details: { limit: this.limits.maxRecords, records: records.length } },
      );
    }
    const byPartition = new Map<number, PartitionBatch>();
    let total = 0;
    records.forEach((record, i) => {
      const size = recordSize(record);
      total += size;
      checkRecordSize(topic.config, size, i);
      const partition = this.partitionOf(topic, record, i);
      const timestamp = record.timestamp ?? now;
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
        throw new EventLogError(
          'INVALID_REQUEST',
          `Record ${i}: timestamp must be a non-negative integer of milliseconds`,
          { details: { record: i } },
        );
      }
      let batch = byPartition.get(partition);
      if (batch === undefined) {
        batch = {
          partition,
          members: [],
          inputs: [],
          bytes: 0,
          minTimestamp: timestamp,
          maxTimestamp: timestamp,
        };
        byPartition.set(partition, batch);
      }
      batch.members.push(i);
      batch.inputs.push({
        key: record.key ?? null,
        value: record.value ?? null,
        headers: record.headers ?? [],
        timestamp,
      });
      batch.bytes += size;
      batch.minTimestamp = Math.min(batch.minTimestamp, timestamp);
      batch.maxTimestamp = Math.max(batch.maxTimestamp, timestamp);
    });
    if (total > this.limits.maxRequestBytes) {
      throw new EventLogError(
        'REQUEST_TOO_LARGE',
        `A produce request carries at most ${this.limits.maxRequestBytes} bytes of records; this one has ${total}`,
        { details: { limit: this.limits.maxRequestBytes, bytes: total } },
      );
    }
    return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
  }

  private partitionOf(topic: TopicRecord, record: ProduceRecord, index: number): number {
    if (record.partition !== undefined) {
      if (
        !Number.isInteger(record.partition) ||
        record.partition < 0 ||
        record.partition >= topic.partitions
      ) {
        throw new EventLogError(
          'UNKNOWN_PARTITION',
          `Record ${index}: topic "${topic.name}" has partitions 0-${topic.partitions - 1}; there is no partition ${record.partition}`,
          { details: { record: index, partition: record.partition, partitions: topic.partitions } },
        );
      }
      return record.partition;
    }
    return this.partitioner.partition(record.key ?? null, topic.partitions);
  }
}

export function recordSize(record: ProduceRecord): number {
  let size = RECORD_OVERHEAD + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers ?? []) {
    size += Buffer.byteLength(header.key) + (header.value?.byteLength ?? 0) + 2;
  }
  return size;
}

function checkRecordSize(config: TopicConfig, size: number, index: number): void {
  if (size > config.maxMessageBytes) {
    throw new EventLogError(
      'RECORD_TOO_LARGE',
      `Record ${index} is ${size} bytes; the topic's max.message.bytes is ${config.maxMessageBytes}`,
      { details: { record: index, size, limit: config.maxMessageBytes } },
    );
  }
}
