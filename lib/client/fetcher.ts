import { type ErrorCode, EventLogError } from '../log/errors.js';
import { topicPath } from './admin.js';
import type { HttpClient } from './http.js';

/**
 * Reads records as bytes, of one partition (`GET /v1/topics/{t}/partitions/{p}/records`) or
 * of several partitions of a topic at once (`POST /v1/topics/{t}/fetch`): keys, values and
 * header values come as base64 and are decoded here, so any bytes work and the caller
 * decides what they mean (UTF-8 text, JSON, Avro...). The consumer-group Consumer and the
 * CLI read through this.
 */

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  /** 1-10000, server default 500. */
  maxRecords?: number;
  /** Soft cap on record bytes, 1-4194304, server default 1 MiB. */
  maxBytes?: number;
  /** Long poll: wait up to this long (at most 20000 ms) for records when there are none yet. */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface FetchedRecord {
  offset: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: { key: string; value: Uint8Array | null }[];
}

export interface FetchedBatch {
  topic: string;
  partition: number;
  records: FetchedRecord[];
  /** Fetch again from here. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

interface AnswerRecord {
  offset: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

interface FetchAnswer extends Omit<FetchedBatch, 'records'> {
  records: AnswerRecord[];
}

export interface FetchPartitionsRequest {
  topic: string;
  partitions: readonly { partition: number; offset: number }[];
  /** Records in all, shared by the partitions: 1-10000, server default 500. */
  maxRecords?: number;
  /** Soft cap on the answer's record bytes, shared by the partitions: 1-4194304, default 1 MiB. */
  maxBytes?: number;
  /** Long poll: wait up to this long (at most 20000 ms) until any partition has records. */
  waitMs?: number;
  signal?: AbortSignal;
}

/** A partition's batch, or why it could not be read (e.g. OFFSET_OUT_OF_RANGE). */
export type PartitionBatch =
  | FetchedBatch
  | { topic: string; partition: number; error: EventLogError };

interface FetchManyAnswer {
  topic: string;
  partitions: (
    | (Omit<FetchAnswer, 'topic'> & { error?: undefined })
    | {
        partition: number;
        error: { message: string; code: ErrorCode; retriable: boolean; [detail: string]: unknown };
      }
  )[];
}

/** Slack over a long poll's wait before the request counts as lost. */
const LONG_POLL_SLACK_MS = 15_000;

export async function fetchRecords(http: HttpClient, request: FetchRequest): Promise<FetchedBatch> {
  const answer = await http.request<FetchAnswer>(
    'GET',
    `${topicPath(request.topic)}/partitions/${request.partition}/records`,
    {
      query: {
        offset: request.offset,
        maxRecords: request.maxRecords,
        maxBytes: request.maxBytes,
        waitMs: request.waitMs,
        format: 'base64',
        headerFormat: 'base64',
      },
      ...(request.waitMs === undefined ? {} : { timeoutMs: request.waitMs + LONG_POLL_SLACK_MS }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    },
  );
  return { ...answer, records: answer.records.map(toRecord) };
}

/**
 * Several partitions of one topic in one request: one answer per partition, in request
 * order. A partition that cannot be read comes back with its error; the request fails only
 * when all of it does (an unknown topic, a bad request).
 */
export async function fetchPartitions(
  http: HttpClient,
  request: FetchPartitionsRequest,
): Promise<PartitionBatch[]> {
  const answer = await http.request<FetchManyAnswer>('POST', `${topicPath(request.topic)}/fetch`, {
    body: {
      partitions: request.partitions.map((p) => ({ partition: p.partition, offset: p.offset })),
      ...(request.maxRecords === undefined ? {} : { maxRecords: request.maxRecords }),
      ...(request.maxBytes === undefined ? {} : { maxBytes: request.maxBytes }),
      ...(request.waitMs === undefined ? {} : { waitMs: request.waitMs }),
      format: 'base64',
      headerFormat: 'base64',
    },
    // A POST that only reads: safe to send again whatever happened to the first attempt.
    retry: 'idempotent',
    ...(request.waitMs === undefined ? {} : { timeoutMs: request.waitMs + LONG_POLL_SLACK_MS }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  return answer.partitions.map((p) => {
    if (p.error !== undefined) {
      const { error_code: _errorCode, message, code, retriable, ...details } = p.error;
      return {
        topic: answer.topic,
        partition: p.partition,
        error: new EventLogError(code, message, {
          retriable,
          ...(Object.keys(details).length === 0 ? {} : { details }),
        }),
      };
    }
    return { ...p, topic: answer.topic, records: p.records.map(toRecord) };
  });
}

function toRecord(record: AnswerRecord): FetchedRecord {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    key: bytes(record.key),
    value: bytes(record.value),
    headers: record.headers.map((h) => ({ key: h.key, value: bytes(h.value) })),
  };
}

function bytes(base64: string | null): Uint8Array | null {
  return base64 === null ? null : new Uint8Array(Buffer.from(base64, 'base64'));
}
