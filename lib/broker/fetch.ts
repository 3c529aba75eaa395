import { EventLogError } from '../log/errors.js';
import { type DecodedRecord, decodeRecordBatch } from '../log/record-batch.js';
import type { TimestampType } from '../log/topic-config.js';
import type { IndexEntry } from '../store/log-index-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import { mapLimited } from './map-limited.js';
import type { PartitionReader } from './partition-reader.js';
import { TopicService } from './topics.js';

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  /** Soft cap on record bytes returned; at least one record is returned if one exists. */
  maxBytes?: number;
  maxRecords?: number;
}

export interface FetchedRecord {
  offset: number;
  timestamp: number;
  timestampType: TimestampType;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

export interface FetchResult {
  topic: string;
  partition: number;
  records: FetchedRecord[];
  /** Where the next fetch should start (past the records returned and any aborted range). */
  nextOffset: number;
  logStartOffset: number;
  /** The high watermark; a lower bound when the answer was cut by maxBytes/maxRecords. */
  highWatermark: number;
}

export const FETCH_DEFAULTS = { maxBytes: 1024 * 1024, maxRecords: 500 } as const;
export const FETCH_LIMITS = { maxBytes: 4 * 1024 * 1024, maxRecords: 10_000 } as const;

/** Parallel ranged GETs per fetch. */
const GET_CONCURRENCY = 8;

export class FetchService {
  constructor(
    private readonly topics: TopicService,
    private readonly segments: SegmentStore,
    private readonly reader: PartitionReader,
  ) {}

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const maxBytes = bounded(
      'maxBytes',
      request.maxBytes,
      FETCH_DEFAULTS.maxBytes,
      FETCH_LIMITS.maxBytes,
    );
    const maxRecords = bounded(
      'maxRecords',
      request.maxRecords,
      FETCH_DEFAULTS.maxRecords,
      FETCH_LIMITS.maxRecords,
    );
    checkOffset(request.offset);
    const topic = await this.topics.resolve(request.topic);
    TopicService.checkPartition(topic, request.partition);
    const { topicId } = topic;
    const { head, walk } = await this.reader.entriesForRead(
      topicId,
      request.partition,
      request.offset,
      maxRecords,
      maxBytes,
    );

    // Choose the batches within budget before any GET: sizes are in the index.
    const chosen: IndexEntry[] = [];
    let bytes = 0;
    let records = 0;
    for (const entry of walk.entries) {
      if (chosen.length > 0 && (bytes + entry.length > maxBytes || records >= maxRecords)) break;
      chosen.push(entry);
      if (entry.aborted !== true) {
        bytes += entry.length;
        records += entry.baseOffset + entry.count - Math.max(entry.baseOffset, request.offset);
      }
    }

    const decoded = await mapLimited(chosen, GET_CONCURRENCY, async (entry) => {
      if (entry.aborted === true || entry.object === undefined) return [];
      const bytes = await this.segments.getRange(
        entry.object,
        entry.position,
        entry.position + entry.length,
      );
      const batch = decodeRecordBatch(bytes, { baseOffset: entry.baseOffset });
      if (batch.records.length !== entry.count) {
        throw new EventLogError(
          'CORRUPT_RECORD',
          `Batch at offset ${entry.baseOffset} of ${topic.name}/${request.partition} holds ${batch.records.length} records; the index says ${entry.count}`,
        );
      }
      return batch.records.map((record) => toFetched(record, batch.timestampType));
    });

    const out: FetchedRecord[] = [];
    let nextOffset = request.offset;
    for (let i = 0; i < chosen.length; i++) {
      const entry = chosen[i] as IndexEntry;
      for (const record of decoded[i] as FetchedRecord[]) {
        if (record.offset < request.offset) continue;
        if (out.length >= maxRecords) break;
        out.push(record);
        nextOffset = record.offset + 1;
      }
      if (out.length >= maxRecords) break;
      nextOffset = Math.max(nextOffset, entry.baseOffset + entry.count);
    }
    return {
      topic: topic.name,
      partition: request.partition,
      records: out,
      nextOffset,
      logStartOffset: head.logStartOffset,
      highWatermark: Math.max(walk.end, nextOffset),
    };
  }
}

function toFetched(record: DecodedRecord, timestampType: TimestampType): FetchedRecord {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType,
    key: record.key,
    value: record.value,
    headers: record.headers,
  };
}

export function checkOffset(offset: unknown): asserts offset is number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `Offset must be a non-negative integer below 2^53, got ${String(offset)}`,
    );
  }
}

function bounded(name: string, value: number | undefined, fallback: number, limit: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > limit) {
    throw new EventLogError('INVALID_REQUEST', `${name} must be an integer from 1 to ${limit}`, {
      details: { [name]: value, limit },
    });
  }
  return value;
}
