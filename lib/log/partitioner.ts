/**
 * Which partition a record goes to, as Kafka's Java producer decides it:
 *
 *   explicit partition      the caller's choice (validated elsewhere)
 *   key present             toPositive(murmur2(keyBytes)) % numPartitions   (BuiltInPartitioner)
 *   key null                spread: a counter from a random start, one partition per record
 *
 * Kafka's own producer is "sticky" for null keys (a whole batch to one partition, then the
 * next); here one request becomes one batch per partition it touches, so round-robin spreads
 * null-key records evenly within a request at no extra cost in S3 objects, and the random start
 * keeps many short-lived Lambda instances from all favouring partition 0.
 */
import { EventLogError } from './errors.js';
import { murmur2, toPositive } from './murmur2.js';

/** The partition Kafka's Java client picks for a non-null key. An empty key is a key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  checkPartitionCount(numPartitions);
  return toPositive(murmur2(key)) % numPartitions;
}

function checkPartitionCount(numPartitions: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new EventLogError(
      'INVALID_PARTITIONS',
      `The partition count must be a positive integer, got ${numPartitions}`,
    );
  }
}

export class Partitioner {
  private counter: number;

  /** `random` (0 <= x < 1) picks where the null-key round-robin starts; tests pass a fixed one. */
  constructor(random: () => number = Math.random) {
    this.counter = Math.floor(random() * 0x80000000);
  }

  /** The partition for a record with this key (null or undefined: the next in round-robin). */
  partition(key: Uint8Array | null | undefined, numPartitions: number): number {
    if (key != null) return partitionForKey(key, numPartitions);
    checkPartitionCount(numPartitions);
    const partition = this.counter % numPartitions;
    this.counter = (this.counter + 1) & 0x7fffffff;
    return partition;
  }
}
