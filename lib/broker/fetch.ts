import { EventLogError } from '../log/errors.js';
import { type DecodedRecord, decodeRecordBatch } from '../log/record-batch.js';
import type { TimestampType } from '../log/topic-config.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { LogReader, PartitionRead, ReadBatch } from './log-reader.js';
import { mapLimited } from './map-limited.js';
import { SegmentCache } from './segment-cache.js';
import { TopicService } from './topics.js';

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  /** Soft cap on the answer's size (see sizeOf); at least one record is returned if one exists. */
  maxBytes?: number;
  maxRecords?: number;
  /**
   * What a record costs against maxBytes: the API passes the size of the record as it will
   * send it (JSON with base64, or binary), so a budget holds for the body actually sent.
   * Default: its key, value and header bytes.
   */
  sizeOf?: (record: FetchedRecord) => number;
}

export interface MultiFetchRequest {
  topic: string;
  partitions: readonly { partition: number; offset: number }[];
  /** Shared by all partitions. */
  maxBytes?: number;
  maxRecords?: number;
  sizeOf?: (record: FetchedRecord) => number;
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
  /** The partition's high watermark (Kafka's meaning), whatever part of it this answer holds. */
  highWatermark: number;
}

export type PartitionFetch = FetchResult | { partition: number; error: EventLogError };

export const FETCH_DEFAULTS = { maxBytes: 1024 * 1024, maxRecords: 500 } as const;
export const FETCH_LIMITS = { maxBytes: 4 * 1024 * 1024, maxRecords: 10_000 } as const;

/** Parallel ranged GETs per fetch. */
const GET_CONCURRENCY = 8;

export function recordBytes(record: FetchedRecord): number {
  let size = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers) {
    size += Buffer.byteLength(header.key) + (header.value?.byteLength ?? 0);
  }
  return size;
}

/**
 * Kafka's fetch over storage engine v2: the reader finds the batches (one walk over each
 * commit sequence for all the partitions asked for), each object is read once with one ranged
 * GET covering the batches wanted from it (a process's recent GETs are shared through a small
 * cache, so groups served by one process do not read an object twice), batches are decoded,
 * and records are kept within the budget, measured on decoded records: a batch may be split
 * across answers.
 */
export class FetchService {
  private readonly cache: SegmentCache;

  constructor(
    private readonly topics: TopicService,
    segments: SegmentStore,
    private readonly reader: LogReader,
    options: { cacheBytes?: number } = {},
  ) {
    this.cache = new SegmentCache(segments, options.cacheBytes);
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const [result] = await this.fetchMany({
      topic: request.topic,
      partitions: [{ partition: request.partition, offset: request.offset }],
      ...(request.maxBytes === undefined ? {} : { maxBytes: request.maxBytes }),
      ...(request.maxRecords === undefined ? {} : { maxRecords: request.maxRecords }),
      ...(request.sizeOf === undefined ? {} : { sizeOf: request.sizeOf }),
    });
    if (result === undefined) throw new EventLogError('INTERNAL', 'Fetch returned nothing');
    if ('error' in result) throw result.error;
    return result;
  }

  /** Several partitions of one topic in one round; an error per partition, not for all. */
  async fetchMany(request: MultiFetchRequest): Promise<PartitionFetch[]> {
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
    const topic = await this.topics.resolve(
      request.topic,
      request.partitions.map((p) => p.partition),
    );
    for (const want of request.partitions) {
      checkOffset(want.offset);
      TopicService.checkPartition(topic, want.partition);
    }
    const sizeOf = request.sizeOf ?? recordBytes;
    const budget = { maxBytes, maxRecords };
    let reads = await this.reader.read(topic, request.partitions, budget);
    let slices: Map<ReadBatch, Buffer>;
    try {
      slices = await this.getBatches(batchesOf(reads));
    } catch (error) {
      // Retention may have raised the log start and deleted an object between our read of the
      // meta and the GET: read again (the meta is read afresh), so such a partition answers
      // OFFSET_OUT_OF_RANGE. A second failure is a real one.
      reads = await this.reader.read(topic, request.partitions, budget);
      try {
        slices = await this.getBatches(batchesOf(reads));
      } catch {
        throw error;
      }
    }

    const out: PartitionFetch[] = [];
    const spent = { bytes: 0, records: 0 };
    for (const read of reads) {
      if ('error' in read) {
        out.push({ partition: read.partition, error: read.error });
        continue;
      }
      out.push(this.records(topic.name, read, slices, spent, { maxBytes, maxRecords, sizeOf }));
    }
    return out;
  }

  /** Reads each object once, for the byte range spanning its wanted batches. */
  private async getBatches(batches: readonly ReadBatch[]): Promise<Map<ReadBatch, Buffer>> {
    const byObject = new Map<string, ReadBatch[]>();
    for (const b of batches) byObject.set(b.object, [...(byObject.get(b.object) ?? []), b]);
    const slices = new Map<ReadBatch, Buffer>();
    await mapLimited([...byObject.entries()], GET_CONCURRENCY, async ([object, list]) => {
      const start = Math.min(...list.map((b) => b.batch.position));
      const end = Math.max(...list.map((b) => b.batch.position + b.batch.length));
      const bytes = await this.cache.getRange(object, start, end);
      for (const b of list) {
        slices.set(
          b,
          bytes.subarray(b.batch.position - start, b.batch.position - start + b.batch.length),
        );
      }
    });
    return slices;
  }

  private records(
    topicName: string,
    read: PartitionRead,
    slices: Map<ReadBatch, Buffer>,
    spent: { bytes: number; records: number },
    budget: { maxBytes: number; maxRecords: number; sizeOf: (r: FetchedRecord) => number },
  ): FetchResult {
    const out: FetchedRecord[] = [];
    let nextOffset = read.offset;
    let full = false;
    for (const item of read.batches) {
      const { batch } = item;
      const bytes = slices.get(item) as Buffer;
      const decoded = decodeRecordBatch(bytes, { baseOffset: batch.baseOffset });
      if (decoded.records.length !== batch.count) {
        throw new EventLogError(
          'CORRUPT_RECORD',
          `Batch at offset ${batch.baseOffset} of ${topicName}/${read.partition} holds ${decoded.records.length} records; its commit says ${batch.count}`,
        );
      }
      for (const record of decoded.records) {
        if (record.offset < read.offset) continue;
        const fetched = toFetched(record, decoded.timestampType);
        const size = budget.sizeOf(fetched);
        const any = spent.records > 0;
        if (any && (spent.records >= budget.maxRecords || spent.bytes + size > budget.maxBytes)) {
          full = true;
          break;
        }
        out.push(fetched);
        spent.records++;
        spent.bytes += size;
        nextOffset = record.offset + 1;
      }
      if (full) break;
      nextOffset = Math.max(nextOffset, batch.baseOffset + batch.count);
    }
    // Past the last batch read and nothing left out: an aborted range up to the high
    // watermark is skipped too.
    if (!full && read.complete) nextOffset = Math.max(nextOffset, read.highWatermark);
    return {
      topic: topicName,
      partition: read.partition,
      records: out,
      nextOffset,
      logStartOffset: read.logStartOffset,
      highWatermark: read.highWatermark,
    };
  }
}

/** Every batch the reads want, in order. */
function batchesOf(reads: readonly (PartitionRead | { error: EventLogError })[]): ReadBatch[] {
  const out: ReadBatch[] = [];
  for (const read of reads) if (!('error' in read)) out.push(...read.batches);
  return out;
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
