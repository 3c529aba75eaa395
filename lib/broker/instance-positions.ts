import { compareTopicPartitions } from '../log/consumer-group.js';
import type { TopicPartition } from './groups.js';

/**
 * An instance keeps its positions and lease counters in maps keyed `topic#partition` (the
 * lease key); these read and reshape those maps.
 */

export function partitionOf(key: string): TopicPartition {
  const at = key.lastIndexOf('#');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export function keysToPartitions(keys: readonly string[]): TopicPartition[] {
  return keys.map(partitionOf).sort(compareTopicPartitions);
}

export function filterKeys(
  record: Record<string, number>,
  topics: ReadonlySet<string>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(record).filter(([key]) => topics.has(partitionOf(key).topic)),
  );
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export function sameRecord(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
