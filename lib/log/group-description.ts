import type { TopicPartition } from './consumer-group.js';

/**
 * What the consumer-group service answers and the HTTP client receives: one definition here,
 * in lib/log, because the client may import nothing of the broker's.
 */

export interface CommitOffset extends TopicPartition {
  /** The next offset to read (Kafka's convention: last processed + 1). */
  offset: number;
  /** The lease counter the member holds the partition under. */
  counter: number;
}

export interface CommittedOffset extends TopicPartition {
  committed: number;
  committedAt: number | null;
}

export interface MemberDescription {
  memberId: string;
  kind: 'member' | 'instance';
  topics: string[];
  sessionTimeoutMs: number;
  expiresInMs: number;
  joinedAt: number;
  partitions: TopicPartition[];
}

export interface PartitionDescription extends TopicPartition {
  owner: string | null;
  counter: number | null;
  committed: number | null;
  logStartOffset: number | null;
  /** The log end offset: one past the last readable record. */
  highWatermark: number | null;
  /** highWatermark - committed; null without a committed offset. */
  lag: number | null;
}

export interface GroupDescription {
  group: string;
  /** Kafka's names: Stable with live members, Empty without. */
  state: 'Stable' | 'Empty';
  members: MemberDescription[];
  partitions: PartitionDescription[];
  totalLag: number;
}

export interface GroupSummary {
  group: string;
  state: 'Stable' | 'Empty';
  members: number;
}

export interface ResetResult extends TopicPartition {
  previous: number | null;
  committed: number;
}
