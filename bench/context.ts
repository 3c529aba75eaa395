import { randomBytes } from 'node:crypto';
import type { Broker } from '../lib/broker/broker.js';
import type { ProduceRecord } from '../lib/broker/produce.js';
import type { LocalEnvironment } from '../lib/local/environment.js';
import type { CallCounter } from '../lib/store/call-counter.js';

/** What every benchmark section gets: the emulators, the broker over them, the call counter. */
export interface BenchContext {
  env: LocalEnvironment;
  broker: Broker;
  counter: CallCounter;
  quick: boolean;
  /** Progress on stderr. */
  log: (message: string) => void;
  /** A topic name unique to this run. */
  topicName: (label: string) => string;
}

/**
 * The configs of every topic the bench creates: uncompressed. The records of a request share
 * one random value, which zstd (the topics' default) would shrink many times over by matching
 * the copies, so the path would be measured on a fraction of its bytes, and the raw calls it is
 * set against upload their batches uncompressed. Compression is measured on its own, on
 * JSON-like payloads, in the codec section.
 */
export const BENCH_TOPIC_CONFIGS = { 'compression.type': 'none' } as const;

/**
 * `count` records of `valueBytes` random (incompressible) bytes and no key: the broker spreads
 * them round-robin over the partitions, so a request of n records touches min(n, partitions).
 * Every request reuses the same buffers; nothing in the path mutates them.
 */
export function makeRecords(
  count: number,
  valueBytes: number,
  partition?: number,
): ProduceRecord[] {
  const value = randomBytes(valueBytes);
  return Array.from({ length: count }, () =>
    partition === undefined ? { value } : { value, partition },
  );
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
