/**
 * The shapes a consumer group's member and the broker share: written once here, so the
 * broker, the HTTP API and the client (which may import lib/log only) cannot drift apart.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Where a member starts reading a partition its group never committed (Kafka's auto.offset.reset). */
export type OffsetReset = 'earliest' | 'latest' | 'none';

/** Orders partitions by topic name, then partition number. */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}
