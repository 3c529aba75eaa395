import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { EventLogError } from '../log/errors.js';
import { isConditionalCheckFailed, mapAwsError } from './aws-errors.js';
import { queryItems } from './query-items.js';

/**
 * The log table: per partition (`pk` = `{topicId}#{partition}`) a head item at sk = -1 and
 * one index item per committed batch at sk = its base offset.
 *
 * Head item: nextOffset (offsets handed out so far), logStartOffset, hw (a high-watermark
 * hint: every offset below it is known to be published; the true high watermark may be
 * higher). The head is created by the first reservation, so creating a topic of 1000
 * partitions costs one write, not 1001.
 */

export const HEAD_SK = -1;

export interface PartitionHead {
  nextOffset: number;
  logStartOffset: number;
  /** Every offset below this is published (or aborted); a batch boundary. */
  hwHint: number;
  /** Payload bytes appended and removed by retention; their difference is what is kept. */
  bytesIn: number;
  bytesOut: number;
  /** A hole the healer saw: where, when, and the reservations made before it looked. */
  hole?: HoleObservation;
}

export interface HoleObservation {
  at: number;
  seenAt: number;
  /** nextOffset when the hole was first seen: every reservation below it was made earlier. */
  end: number;
}

export interface IndexEntry {
  baseOffset: number;
  count: number;
  /** S3 key of the object holding the batch; absent on an aborted-range marker. */
  object?: string;
  /** Byte range [position, position + length) of the batch inside the object. */
  position: number;
  length: number;
  minTimestamp: number;
  maxTimestamp: number;
  /** When the batch was appended (ms); retention goes by this. */
  appendTime: number;
  /** Uncompressed key + value + header bytes, for retention.bytes. */
  bytes: number;
  /** Marks a range a dead writer reserved and never published: readers skip it. */
  aborted?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/** The entry that declares [baseOffset, baseOffset + count) aborted: readers skip it. */
export function abortedRangeEntry(baseOffset: number, count: number, now: number): IndexEntry {
  return {
    baseOffset,
    count,
    aborted: true,
    position: 0,
    length: 0,
    minTimestamp: now,
    maxTimestamp: now,
    appendTime: now,
    bytes: 0,
  };
}

export interface LogIndexStore {
  head(topicId: string, partition: number): Promise<PartitionHead>;
  /**
   * Atomically hands out `count` offsets; returns the first. `bytes` is added to the
   * partition's byte counter in the same write, for retention.bytes.
   */
  reserve(topicId: string, partition: number, count: number, bytes?: number): Promise<number>;
  /**
   * Makes a batch visible. Fails with CONFLICT if an entry already sits at that base offset
   * (the range was declared aborted after its writer was presumed dead).
   */
  publish(topicId: string, partition: number, entry: IndexEntry): Promise<void>;
  /** The entry with the greatest base offset <= offset. */
  entryAtOrBefore(
    topicId: string,
    partition: number,
    offset: number,
  ): Promise<IndexEntry | undefined>;
  /** Entries with base offset >= from, ascending, at most `limit`. */
  entriesFrom(
    topicId: string,
    partition: number,
    from: number,
    limit: number,
  ): Promise<IndexEntry[]>;
  /** The first entry at or after `from` whose max timestamp is >= `timestamp`. */
  firstEntryWithTimestamp(
    topicId: string,
    partition: number,
    from: number,
    timestamp: number,
  ): Promise<IndexEntry | undefined>;
  /** Raises the high-watermark hint; a no-op when it is already at or above `hw`. */
  raiseHwHint(topicId: string, partition: number, hw: number): Promise<void>;
  /** Records a hole unless the same hole is already recorded (keeping its first sighting). */
  observeHole(topicId: string, partition: number, hole: HoleObservation): Promise<void>;
  clearHole(topicId: string, partition: number): Promise<void>;
  /**
   * Raises logStartOffset (never lowers it) and counts `removedBytes` as gone, in one
   * conditional write; returns false when the log start was already at or past `offset`.
   */
  advanceLogStart(
    topicId: string,
    partition: number,
    offset: number,
    removedBytes?: number,
  ): Promise<boolean>;
  /** Deletes the index entries at these base offsets; deleting a missing one is a no-op. */
  deleteEntries(topicId: string, partition: number, baseOffsets: readonly number[]): Promise<void>;
  /** Deletes every item of the partition, head included (topic deletion). */
  deletePartition(topicId: string, partition: number): Promise<number>;
}

interface IndexItem extends IndexEntry {
  pk: string;
  sk: number;
}

/** The exception carries the old item in the low-level format. */
export function unmarshallItem(item: Record<string, unknown>): Record<string, unknown> {
  const values = Object.values(item);
  const lowLevel = values.some(
    (v) => typeof v === 'object' && v !== null && ('S' in v || 'N' in v),
  );
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's AttributeValue map
  return lowLevel ? unmarshall(item as any) : item;
}

export function isSameBatch(existing: Record<string, unknown>, entry: IndexEntry): boolean {
  return (
    existing['object'] === entry.object &&
    existing['position'] === entry.position &&
    existing['count'] === entry.count &&
    existing['aborted'] === entry.aborted
  );
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}

/** The item an entry is stored as; producer-state transactions put it the same way. */
export function indexItem(
  topicId: string,
  partition: number,
  entry: IndexEntry,
): Record<string, unknown> {
  const { baseOffset, ...rest } = entry;
  return { pk: partitionKey(topicId, partition), sk: baseOffset, ...rest };
}

export function toEntry(item: Record<string, unknown>): IndexEntry {
  const { pk: _pk, sk, ...rest } = item as unknown as IndexItem;
  return { ...rest, baseOffset: sk };
}

export class DynamoLogIndexStore implements LogIndexStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async head(topicId: string, partition: number): Promise<PartitionHead> {
    try {
      const response = await this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: partitionKey(topicId, partition), sk: HEAD_SK },
          ConsistentRead: true,
        }),
      );
      const item = response.Item ?? {};
      const logStartOffset = (item['logStartOffset'] as number | undefined) ?? 0;
      return {
        nextOffset: (item['nextOffset'] as number | undefined) ?? 0,
        logStartOffset,
        hwHint: Math.max((item['hw'] as number | undefined) ?? 0, logStartOffset),
        bytesIn: (item['bytesIn'] as number | undefined) ?? 0,
        bytesOut: (item['bytesOut'] as number | undefined) ?? 0,
        ...(typeof item['holeAt'] === 'number'
          ? {
              hole: {
                at: item['holeAt'],
                seenAt: item['holeSeenAt'] as number,
                end: item['holeEnd'] as number,
              },
            }
          : {}),
      };
    } catch (error) {
      throw mapAwsError(error, `Reading the head of ${topicId}/${partition}`);
    }
  }

  async reserve(topicId: string, partition: number, count: number, bytes = 0): Promise<number> {
    try {
      // One atomic ADD: concurrent writers get disjoint ranges with no retries and no
      // failed (yet billed) conditional writes.
      const response = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: partitionKey(topicId, partition), sk: HEAD_SK },
          UpdateExpression: 'ADD nextOffset :n, bytesIn :b',
          ExpressionAttributeValues: { ':n': count, ':b': bytes },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const next = response.Attributes?.['nextOffset'];
      if (typeof next !== 'number') throw new Error('reservation returned no nextOffset');
      return next - count;
    } catch (error) {
      throw mapAwsError(error, `Reserving ${count} offsets in ${topicId}/${partition}`);
    }
  }

  async publish(topicId: string, partition: number, entry: IndexEntry): Promise<void> {
    const { baseOffset, ...rest } = entry;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: partitionKey(topicId, partition), sk: baseOffset, ...rest },
          ConditionExpression: 'attribute_not_exists(sk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        // The SDK retries a put whose answer was lost; the retry then finds our own entry.
        const existing = (error as { Item?: Record<string, unknown> }).Item;
        if (existing !== undefined && isSameBatch(unmarshallItem(existing), entry)) return;
        throw new EventLogError(
          'CONFLICT',
          `Offsets ${baseOffset}.. of ${topicId}/${partition} were declared aborted before this batch was published`,
          { retriable: true, details: { partition, baseOffset } },
        );
      }
      throw mapAwsError(error, `Publishing offset ${baseOffset} of ${topicId}/${partition}`);
    }
  }

  async entryAtOrBefore(
    topicId: string,
    partition: number,
    offset: number,
  ): Promise<IndexEntry | undefined> {
    const items = await this.query(
      topicId,
      partition,
      'pk = :pk AND sk BETWEEN :zero AND :offset',
      { ':zero': 0, ':offset': offset },
      1,
      false,
    );
    return items[0];
  }

  async entriesFrom(
    topicId: string,
    partition: number,
    from: number,
    limit: number,
  ): Promise<IndexEntry[]> {
    return this.query(
      topicId,
      partition,
      'pk = :pk AND sk >= :from',
      { ':from': from },
      limit,
      true,
    );
  }

  async firstEntryWithTimestamp(
    topicId: string,
    partition: number,
    from: number,
    timestamp: number,
  ): Promise<IndexEntry | undefined> {
    // The filter runs after the read: the cost is the index scanned, not the match.
    const items = queryItems(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        FilterExpression: 'maxTimestamp >= :ts',
        ExpressionAttributeValues: {
          ':pk': partitionKey(topicId, partition),
          ':from': from,
          ':ts': timestamp,
        },
        ConsistentRead: true,
      },
      `Searching the index of ${topicId}/${partition} by time`,
    );
    for await (const item of items) return toEntry(item);
    return undefined;
  }

  async raiseHwHint(topicId: string, partition: number, hw: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: partitionKey(topicId, partition), sk: HEAD_SK },
          UpdateExpression: 'SET hw = :hw',
          ConditionExpression:
            'attribute_exists(nextOffset) AND (attribute_not_exists(hw) OR hw < :hw)',
          ExpressionAttributeValues: { ':hw': hw },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw mapAwsError(error, `Raising the high watermark of ${topicId}/${partition}`);
    }
  }

  async observeHole(topicId: string, partition: number, hole: HoleObservation): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: partitionKey(topicId, partition), sk: HEAD_SK },
          UpdateExpression: 'SET holeAt = :at, holeSeenAt = :seenAt, holeEnd = :end',
          ConditionExpression: 'attribute_not_exists(holeAt) OR holeAt <> :at',
          ExpressionAttributeValues: { ':at': hole.at, ':seenAt': hole.seenAt, ':end': hole.end },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw mapAwsError(error, `Recording a hole in ${topicId}/${partition}`);
    }
  }

  async clearHole(topicId: string, partition: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: partitionKey(topicId, partition), sk: HEAD_SK },
          UpdateExpression: 'REMOVE holeAt, holeSeenAt, holeEnd',
          ConditionExpression: 'attribute_exists(holeAt)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw mapAwsError(error, `Clearing a hole in ${topicId}/${partition}`);
    }
  }

  async advanceLogStart(
    topicId: string,
    partition: number,
    offset: number,
    removedBytes = 0,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: partitionKey(topicId, partition), sk: HEAD_SK },
          UpdateExpression: 'SET logStartOffset = :offset ADD bytesOut :removed',
          ConditionExpression: 'attribute_not_exists(logStartOffset) OR logStartOffset < :offset',
          ExpressionAttributeValues: { ':offset': offset, ':removed': removedBytes },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw mapAwsError(error, `Advancing the log start of ${topicId}/${partition}`);
    }
  }

  async deleteEntries(
    topicId: string,
    partition: number,
    baseOffsets: readonly number[],
  ): Promise<void> {
    const pk = partitionKey(topicId, partition);
    await this.batchDelete(baseOffsets.map((sk) => ({ pk, sk })));
  }

  async deletePartition(topicId: string, partition: number): Promise<number> {
    const pk = partitionKey(topicId, partition);
    let deleted = 0;
    let start: Record<string, unknown> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ProjectionExpression: 'pk, sk',
            ExclusiveStartKey: start,
          }),
        );
      } catch (error) {
        throw mapAwsError(error, `Listing the items of ${topicId}/${partition}`);
      }
      const keys = (page.Items ?? []).map((item) => ({ pk, sk: item['sk'] as number }));
      await this.batchDelete(keys);
      deleted += keys.length;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return deleted;
  }

  private async batchDelete(keys: { pk: string; sk: number }[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests: NonNullable<BatchWriteCommandInput['RequestItems']>[string] = keys
        .slice(i, i + 25)
        .map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        try {
          const response = await this.doc.send(
            new BatchWriteCommand({ RequestItems: { [this.table]: requests } }),
          );
          requests = response.UnprocessedItems?.[this.table] ?? [];
        } catch (error) {
          throw mapAwsError(error, 'Deleting index entries');
        }
        if (attempt > 10 && requests.length > 0) {
          throw new EventLogError('THROTTLED', 'DynamoDB left index deletions unprocessed');
        }
      }
    }
  }

  private async query(
    topicId: string,
    partition: number,
    condition: string,
    values: Record<string, unknown>,
    limit: number,
    forward: boolean,
  ): Promise<IndexEntry[]> {
    const entries: IndexEntry[] = [];
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: condition,
            ExpressionAttributeValues: { ':pk': partitionKey(topicId, partition), ...values },
            ScanIndexForward: forward,
            Limit: limit - entries.length,
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) entries.push(toEntry(item));
        start = page.LastEvaluatedKey;
      } while (start !== undefined && entries.length < limit);
    } catch (error) {
      throw mapAwsError(error, `Reading the index of ${topicId}/${partition}`);
    }
    return entries;
  }
}
