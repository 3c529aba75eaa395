/**
 * The event Lambda sends a function triggered by a self-managed Apache Kafka event source, and
 * the partial batch response it may answer with. Handlers written for Lambda's Kafka trigger
 * therefore run unchanged on this log's dispatcher.
 *
 *   {
 *     "eventSource": "SelfManagedKafka",
 *     "bootstrapServers": "host1:9092,host2:9092",
 *     "records": {
 *       "{topic}-{partition}": [
 *         { "topic", "partition", "offset", "timestamp" (ms),
 *           "timestampType": "CREATE_TIME" | "LOG_APPEND_TIME",
 *           "key": base64 (absent when null), "value": base64 (absent when null),
 *           "headers": [ { "{name}": [byte, byte, ...] }, ... ] }
 *       ]
 *     }
 *   }
 *
 * One invocation carries one partition's records, in offset order. The answer
 *
 *   { "batchItemFailures": [ { "itemIdentifier": { "topic-partition": "{topic}-{partition}", "offset": n } } ] }
 *
 * (Powertools' Kafka batch processor's form; the string "{topic}-{partition}-{offset}" is
 * accepted too) makes the dispatcher commit up to the lowest failed offset and retry from it.
 */

import { parseStrictInteger } from './strict-number.js';
import type { TimestampType } from './topic-config.js';

/** Lambda's limit on a synchronous invocation's request payload (6 MB). */
export const LAMBDA_SYNC_PAYLOAD_LIMIT = 6_291_456;

export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  key?: string;
  value?: string;
  headers: Record<string, number[]>[];
}

export interface SelfManagedKafkaEvent {
  eventSource: 'SelfManagedKafka';
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

/** A record as the log returns it (FetchService's FetchedRecord fits). */
export interface LogRecord {
  offset: number;
  timestamp: number;
  timestampType: TimestampType;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly { key: string; value: Uint8Array | null }[];
}

export function recordsKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function toEventRecord(
  topic: string,
  partition: number,
  record: LogRecord,
): KafkaEventRecord {
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType === 'LogAppendTime' ? 'LOG_APPEND_TIME' : 'CREATE_TIME',
    ...(record.key === null ? {} : { key: base64(record.key) }),
    ...(record.value === null ? {} : { value: base64(record.value) }),
    // A null header value becomes an empty array: Lambda's shape has no null byte array.
    headers: record.headers.map((h) => ({ [h.key]: h.value === null ? [] : [...h.value] })),
  };
}

export function buildEvent(
  bootstrapServers: string,
  topic: string,
  partition: number,
  records: readonly KafkaEventRecord[],
): SelfManagedKafkaEvent {
  return {
    eventSource: 'SelfManagedKafka',
    bootstrapServers,
    records: { [recordsKey(topic, partition)]: [...records] },
  };
}

/** UTF-8 bytes of the record in the event's JSON. */
export function encodedRecordSize(record: KafkaEventRecord): number {
  return Buffer.byteLength(JSON.stringify(record));
}

/** UTF-8 bytes of an event with no records; each record then adds its size plus a comma. */
export function envelopeSize(bootstrapServers: string, topic: string, partition: number): number {
  return Buffer.byteLength(JSON.stringify(buildEvent(bootstrapServers, topic, partition, [])));
}

export type BatchResponse =
  | { kind: 'success' }
  /** Every record before `offset` succeeded; retry from it. */
  | { kind: 'partial'; offset: number }
  /** The answer could not be read as a partial batch response: the whole batch failed. */
  | { kind: 'invalid'; reason: string };

/**
 * Reads a function's answer under ReportBatchItemFailures, by Lambda's rules for stream
 * sources: no answer, no `batchItemFailures`, or an empty list is a success; an identifier that
 * is empty, malformed, or not one of the batch's records makes the whole batch a failure; else
 * the lowest failed offset is the checkpoint.
 */
export function readBatchResponse(
  payload: unknown,
  topic: string,
  partition: number,
  offsets: ReadonlySet<number>,
): BatchResponse {
  if (payload === null || payload === undefined || typeof payload !== 'object') {
    return { kind: 'success' };
  }
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'invalid', reason: 'batchItemFailures is not a list' };
  }
  if (failures.length === 0) return { kind: 'success' };
  const expected = recordsKey(topic, partition);
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const offset = offsetOf(identifier, expected);
    if (offset === undefined || !offsets.has(offset)) {
      return {
        kind: 'invalid',
        reason: `itemIdentifier ${JSON.stringify(identifier ?? null)} names no record of this batch`,
      };
    }
    lowest = Math.min(lowest, offset);
  }
  return { kind: 'partial', offset: lowest };
}

function offsetOf(identifier: unknown, expected: string): number | undefined {
  if (typeof identifier === 'string') {
    const prefix = `${expected}-`;
    if (!identifier.startsWith(prefix)) return undefined;
    const rest = identifier.slice(prefix.length);
    // Digits only, and exact: "1e3" or a number past 2^53 names no record.
    const parsed = /^\d+$/.test(rest) ? parseStrictInteger(rest) : undefined;
    return parsed?.ok === true ? parsed.value : undefined;
  }
  if (typeof identifier === 'object' && identifier !== null) {
    const { offset } = identifier as { offset?: unknown };
    const topicPartition = (identifier as Record<string, unknown>)['topic-partition'];
    if (topicPartition !== expected) return undefined;
    const n = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
    return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
