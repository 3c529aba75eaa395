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

// The answers the HTTP client shares: defined in lib/log, which the client may import.
export type * from '../log/group-description.js';
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

export interface CommitResult extends TopicPartition {
  /** The offset stored now. */
  committed: number;
  /** False when the stored offset was already ahead (nothing was written). */
  applied: boolean;
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
