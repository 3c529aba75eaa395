import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { OffsetReset } from '../log/consumer-group.js';

/**
 * The groups table's items as the store hands them out, their keys, and the conversion from
 * what DynamoDB returns: apart from the queries in group-store.ts, so the shapes can be read
 * without the conditions that write them.
 */

export interface LeaseItem {
  topic: string;
  partition: number;
  owner?: string;
  counter: number;
  /** The next offset to read, as in Kafka; absent until the first commit or reset. */
  committed?: number;
  committedAt?: number;
  /** The topic id the offset belongs to: a topic deleted and re-created starts over. */
  topicId?: string;
  /**
   * The topic id the lease was taken against. A commit under the lease must be for that same
   * incarnation: after a delete and re-create, the old tenure's offsets never apply to the new
   * topic (they counted records the new topic never had).
   */
  leaseTopicId?: string;
}

/** A Confluent REST Proxy v2 consumer instance: lives on its member item. */
export interface InstanceState {
  format: 'binary' | 'json';
  autoOffsetReset: OffsetReset;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  /** The member session: leases move to others when no records call came for this long. */
  sessionTimeoutMs: number;
  /** Default wait of a records call (Confluent's consumer.request.timeout.ms). */
  requestTimeoutMs: number;
  /** Idle time after which the instance is gone (Confluent's consumer.instance.timeout.ms). */
  instanceTimeoutMs: number;
  instanceExpires: number;
  /** Next offset to read per `topic#partition`, valid for the lease counter in `leases`. */
  positions: Record<string, number>;
  /** The lease counter each position belongs to, per `topic#partition`. */
  leases: Record<string, number>;
  lastAutoCommit: number;
  /** Where the next records call starts its round-robin over the assigned partitions. */
  rotation: number;
  /** Optimistic lock: every save checks and bumps it. */
  version: number;
  topicPattern?: string;
}

export interface MemberItem {
  memberId: string;
  topics: string[];
  sessionTimeoutMs: number;
  /** The member is alive while expires > now. */
  expires: number;
  joinedAt: number;
  instance?: InstanceState;
}

export interface GroupSnapshot {
  members: MemberItem[];
  leases: LeaseItem[];
}

export type CommitOutcome =
  | { status: 'committed'; committed: number }
  /** The stored offset is ahead of the one sent: nothing was written (offsets never go back). */
  | { status: 'behind'; committed: number }
  | { status: 'fenced'; owner: string | undefined; counter: number | undefined };

export interface LeaseSeen {
  topic: string;
  partition: number;
  owner?: string;
  /** Undefined when the item did not exist. */
  counter?: number;
  /** The incarnation of the topic the taker resolved; stamped on the lease. */
  topicId?: string;
}

export interface CommitWrite {
  topic: string;
  partition: number;
  memberId: string;
  counter: number;
  offset: number;
  topicId: string;
  now: number;
}

/** Dead member items linger this long for DynamoDB's TTL sweep; readers filter by `expires`. */
const TTL_GRACE_SECONDS = 3600;

export const groupPk = (group: string): string => `group#${group}`;
export const leaseSk = (topic: string, partition: number): string => `lease#${topic}#${partition}`;
export const memberSk = (memberId: string): string => `member#${memberId}`;

export function ttlOf(ms: number): number {
  return Math.ceil(ms / 1000) + TTL_GRACE_SECONDS;
}

/** The exception carries the old item in the low-level format. */
export function oldItem(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: Record<string, unknown> }).Item;
  if (item === undefined) return undefined;
  const lowLevel = Object.values(item).some(
    (v) => typeof v === 'object' && v !== null && ('S' in v || 'N' in v),
  );
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's AttributeValue map
  return lowLevel ? unmarshall(item as any) : item;
}

export function toLease(item: Record<string, unknown>): LeaseItem {
  return {
    topic: String(item['topic']),
    partition: Number(item['partition']),
    counter: Number(item['counter'] ?? 0),
    ...(typeof item['owner'] === 'string' ? { owner: item['owner'] } : {}),
    ...(typeof item['committed'] === 'number' ? { committed: item['committed'] } : {}),
    ...(typeof item['committedAt'] === 'number' ? { committedAt: item['committedAt'] } : {}),
    ...(typeof item['topicId'] === 'string' ? { topicId: item['topicId'] } : {}),
    ...(typeof item['leaseTopicId'] === 'string' ? { leaseTopicId: item['leaseTopicId'] } : {}),
  };
}

export function toMember(item: Record<string, unknown>): MemberItem {
  const instance = item['instance'] as InstanceState | undefined;
  return {
    memberId: String(item['memberId'] ?? String(item['sk']).slice('member#'.length)),
    topics: Array.isArray(item['topics']) ? (item['topics'] as string[]) : [],
    sessionTimeoutMs: Number(item['sessionTimeoutMs'] ?? 0),
    expires: Number(item['expires'] ?? 0),
    joinedAt: Number(item['joinedAt'] ?? 0),
    ...(instance === undefined ? {} : { instance }),
  };
}
