import type { OffsetReset } from '../log/consumer-group.js';
import type { EventLogError } from '../log/errors.js';
import type { FetchedBatch } from './fetcher.js';
import type { TopicPartition } from './groups.js';

/** What a Consumer is configured with and what it hands out (see consumer.ts). */

export type { OffsetReset as AutoOffsetReset };

export interface ConsumerOptions {
  group: string;
  /** Unique within the group; default `{hostname}-{pid}-{random}`. */
  memberId?: string;
  /** The subscription; or call subscribe() before iterating. */
  topics?: readonly string[];
  /** Commit processed batches in the background; default true. */
  autoCommit?: boolean;
  /** Kafka's auto.commit.interval.ms; default 5000. */
  autoCommitIntervalMs?: number;
  /** Where a partition the group never committed starts; default latest. `none` fails with NO_OFFSET. */
  autoOffsetReset?: OffsetReset;
  /** Partitions move to others after this long without a heartbeat; default 10000. */
  sessionTimeoutMs?: number;
  /** Default: the server's advice, a third of the session timeout. */
  heartbeatIntervalMs?: number;
  /**
   * Records per round (1-10000), shared by the batches of a topic's partitions that one
   * request fetches; so also the most a batch holds. Default 500.
   */
  maxRecords?: number;
  /** Soft cap on the record bytes of a round (a topic's batches fetched together); default 1 MiB. */
  maxBytes?: number;
  /** Long-poll wait of a round with nothing new in any partition (0-20000); default 5000. */
  waitMs?: number;
  /** Partitions given to this member (with the offset each starts at). */
  onAssign?: (partitions: (TopicPartition & { offset: number })[]) => unknown;
  /** Partitions taken away (another member has them, or the consumer closed). */
  onRevoke?: (partitions: TopicPartition[]) => unknown;
  /** Every successful commit. */
  onCommit?: (offsets: (TopicPartition & { committed: number; applied: boolean })[]) => void;
  /** Failures the consumer rides out (a heartbeat or fetch that failed and will be retried). */
  onError?: (error: EventLogError) => void;
}

export interface ConsumerBatch extends FetchedBatch {
  /** The lease counter the partition was read under. */
  counter: number;
  /** Records after this batch not yet read: highWatermark - nextOffset. */
  lag: number;
}
