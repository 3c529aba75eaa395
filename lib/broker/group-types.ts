import type { AssignedPartition, HeartbeatAnswer, TopicPartition } from '../log/consumer-group.js';
import type { MemberItem } from '../store/group-store.js';
import type { Clock } from './clock.js';

/** The requests and answers of GroupService (lib/broker/groups.ts). */

export interface GroupServiceOptions {
  clock?: Clock;
  /** Kafka's session.timeout.ms when a member gives none; default 10 s. */
  defaultSessionTimeoutMs?: number;
  /** Source of randomness for the balancer's tie-breaking (tests make it deterministic). */
  random?: () => number;
}

export const SESSION_TIMEOUT_LIMITS = { min: 1000, max: 300_000, default: 10_000 } as const;

export type { AssignedPartition, TopicPartition };

export interface HeartbeatRequest {
  /** The subscription; omit to keep the stored one. */
  topics?: readonly string[];
  sessionTimeoutMs?: number;
}

/** The answer the API sends, and what the broker keeps for itself. */
export interface Heartbeat extends HeartbeatAnswer {
  /** The member item as stored after this heartbeat. */
  member: MemberItem;
}

export interface CommitOffset extends TopicPartition {
  /** The next offset to read (Kafka's convention: last processed + 1). */
  offset: number;
  /** The lease counter the member holds the partition under. */
  counter: number;
}

export interface CommitResult extends TopicPartition {
  /** The offset stored now. */
  committed: number;
  /** False when the stored offset was already ahead (nothing was written). */
  applied: boolean;
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

export type ResetTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'timestamp'; timestamp: number }
  | { to: 'offset'; offset: number }
  /** Kafka's --shift-by: the committed offset moved by `by` (refused where none is committed). */
  | { to: 'shift'; by: number }
  /** Kafka's --from-file: an offset per partition; only these partitions are reset. */
  | { to: 'offsets'; offsets: ReadonlyMap<number, number> };

export interface ResetRequest {
  topic: string;
  /** Default: every partition of the topic. */
  partitions?: readonly number[];
  target: ResetTarget;
  /** Reset even while members are alive (they lose their leases and re-read). */
  force?: boolean;
  /** Kafka's --dry-run: answer the plan, write nothing. */
  dryRun?: boolean;
}

export interface ResetResult extends TopicPartition {
  previous: number | null;
  committed: number;
}
