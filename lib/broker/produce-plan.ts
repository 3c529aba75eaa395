import { sequenceOf } from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import type { Partitioner } from '../log/partitioner.js';
import type { RecordInput } from '../log/record-batch.js';
import type { TopicConfig } from '../log/topic-config.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { ProduceLimits, ProduceRecord, RecordResult } from './produce-types.js';

/**
 * The produce path's first step: the whole request validated and grouped by partition, then
 * by commit sequence, before anything is written.
 */

/** Per-record framing Kafka counts toward max.message.bytes beyond key, value and headers. */
const RECORD_OVERHEAD = 21;

export interface PartitionBatch {
  partition: number;
  /** Indexes into the request's records, in request order. */
  members: number[];
  inputs: RecordInput[];
  bytes: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/** Validates the whole request and groups it by partition; throws before any write. */
export function planBatches(
  topic: TopicRecord,
  records: ProduceRecord[],
  now: number,
  limits: ProduceLimits,
  partitioner: Partitioner,
): PartitionBatch[] {
  if (records.length === 0) {
    throw new EventLogError('INVALID_REQUEST', 'A produce request needs at least one record');
  }
  if (records.length > limits.maxRecords) {
    throw new EventLogError(
      'REQUEST_TOO_LARGE',
      `A produce request carries at most ${limits.maxRecords} records; this one has ${records.length}`,
      { details: { limit: limits.maxRecords, records: records.length } },
    );
  }
  const byPartition = new Map<number, PartitionBatch>();
  let total = 0;
  records.forEach((record, i) => {
    checkHeaderNames(record, i);
    const size = recordSize(record);
    total += size;
    checkRecordSize(topic.config, size, i);
    const partition = partitionOf(topic, record, i, partitioner);
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
  if (total > limits.maxRequestBytes) {
    throw new EventLogError(
      'REQUEST_TOO_LARGE',
      `A produce request carries at most ${limits.maxRequestBytes} bytes of records; this one has ${total}`,
      { details: { limit: limits.maxRequestBytes, bytes: total } },
    );
  }
  return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
}

function partitionOf(
  topic: TopicRecord,
  record: ProduceRecord,
  index: number,
  partitioner: Partitioner,
): number {
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
  return partitioner.partition(record.key ?? null, topic.partitions);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A header name is a Kafka string, UTF-8 on the wire: an unpaired UTF-16 surrogate cannot be
 * encoded and Buffer would store U+FFFD in its place, a different name than the one sent.
 * Checked here, once, so every route that produces (ours, v3, the SDK) refuses it alike.
 */
function checkHeaderNames(record: ProduceRecord, index: number): void {
  for (const header of record.headers ?? []) {
    if (typeof header.key !== 'string' || LONE_SURROGATE.test(header.key)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Record ${index}: a header name contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode`,
        { details: { record: index, field: 'header' } },
      );
    }
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

export function failBatch(
  results: RecordResult[],
  batch: PartitionBatch,
  error: EventLogError,
): void {
  for (const member of batch.members) results[member] = { partition: batch.partition, error };
}

/** The request's batches grouped by the commit sequence of their partition. */
export function bySequence(
  topic: TopicRecord,
  batches: PartitionBatch[],
): { sequence: number; batches: PartitionBatch[] }[] {
  const groups = new Map<number, PartitionBatch[]>();
  for (const batch of batches) {
    const sequence = sequenceOf(batch.partition, topic.sequences);
    groups.set(sequence, [...(groups.get(sequence) ?? []), batch]);
  }
  return [...groups.entries()].map(([sequence, group]) => ({ sequence, batches: group }));
}
