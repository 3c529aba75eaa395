/**
 * The shapes a consumer group's member and the broker share: written once here, so the
 * broker, the HTTP API and the client (which may import lib/log only) cannot drift apart.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface AssignedPartition extends TopicPartition {
  /** The lease counter: commits carry it, and a new one means a new tenure. */
  counter: number;
  /** The next offset to read, or null when the group never committed one. */
  committed: number | null;
}

/** A heartbeat's answer, as the API sends it to the member. */
export interface HeartbeatAnswer {
  group: string;
  memberId: string;
  sessionTimeoutMs: number;
  /** How often to heartbeat: a third of the session timeout, as Kafka advises. */
  heartbeatIntervalMs: number;
  /** The member's leases are safe for this long unless it heartbeats again. */
  expiresInMs: number;
  /** Live members, this one included. */
  members: number;
  assignment: AssignedPartition[];
  /** Subscribed topics that do not exist (they get no partitions until created). */
  unknownTopics: string[];
}

/** Where a member starts reading a partition its group never committed (Kafka's auto.offset.reset). */
export type OffsetReset = 'earliest' | 'latest' | 'none';

/** Orders partitions by topic name, then partition number. */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}
