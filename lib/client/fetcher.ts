import { topicPath } from './admin.js';
import type { HttpClient } from './http.js';

/**
 * Reads records of one partition (`GET /v1/topics/{t}/partitions/{p}/records`) as bytes:
 * keys, values and header values come as base64 and are decoded here, so any bytes work and
 * the caller decides what they mean (UTF-8 text, JSON, Avro...). The consumer-group
 * Consumer and the CLI read through this.
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

interface FetchAnswer extends Omit<FetchedBatch, 'records'> {
  records: {
    offset: number;
    timestamp: number;
    timestampType: 'CreateTime' | 'LogAppendTime';
    key: string | null;
    value: string | null;
    headers: { key: string; value: string | null }[];
  }[];
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
  return {
    ...answer,
    records: answer.records.map((record) => ({
      offset: record.offset,
      timestamp: record.timestamp,
      timestampType: record.timestampType,
      key: bytes(record.key),
      value: bytes(record.value),
      headers: record.headers.map((h) => ({ key: h.key, value: bytes(h.value) })),
    })),
  };
}

function bytes(base64: string | null): Uint8Array | null {
  return base64 === null ? null : new Uint8Array(Buffer.from(base64, 'base64'));
}
