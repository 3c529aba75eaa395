import type { OffsetReset } from '../log/consumer-group.js';
import { EventLogError } from '../log/errors.js';
import { withDefaults } from '../log/omit-undefined.js';
import { MAX_JAVA_INT } from '../log/strict-number.js';
import type { InstanceState } from '../store/group-store.js';
import { SESSION_TIMEOUT_LIMITS, type TopicPartition } from './groups.js';
import { leaseKey } from './lease-balancer.js';

/**
 * A Confluent v2 consumer instance's settings: what a create may ask for, the defaults, the
 * state a new instance starts with, and the checks on them. Apart from the service in
 * consumer-instances.ts, which only reads and saves this state.
 */

export type { OffsetReset };

export type InstanceFormat = 'binary' | 'json';

export interface InstanceConfig {
  name?: string;
  format?: InstanceFormat;
  autoOffsetReset?: OffsetReset;
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  sessionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export const INSTANCE_DEFAULTS = {
  format: 'binary' as InstanceFormat,
  autoOffsetReset: 'latest' as OffsetReset,
  autoCommit: true,
  autoCommitIntervalMs: 5000,
  /** Longer than Kafka's 10 s: an HTTP consumer heartbeats only when it polls. */
  sessionTimeoutMs: 30_000,
  /** Confluent's consumer.instance.timeout.ms. */
  instanceTimeoutMs: 300_000,
  /** Confluent's consumer.request.timeout.ms. */
  requestTimeoutMs: 1000,
} as const;

/** The state of a new instance: nothing subscribed, nothing read, idle time from `now`. */
export function initialState(config: InstanceConfig, now: number): InstanceState {
  const { name: _name, ...settings } = config;
  return {
    ...withDefaults<Omit<Required<InstanceConfig>, 'name'>>(INSTANCE_DEFAULTS, settings),
    instanceTimeoutMs: INSTANCE_DEFAULTS.instanceTimeoutMs,
    instanceExpires: now + INSTANCE_DEFAULTS.instanceTimeoutMs,
    positions: {},
    leases: {},
    lastAutoCommit: now,
    rotation: 0,
    version: 0,
  };
}

export function checkInstance(instance: InstanceState): void {
  const invalid = (message: string) => new EventLogError('INVALID_CONSUMER_CONFIG', message);
  if (instance.format !== 'binary' && instance.format !== 'json') {
    throw invalid(
      `format "${String(instance.format)}" is not supported: use "binary" or "json" (avro, jsonschema and protobuf need a schema registry)`,
    );
  }
  if (!['earliest', 'latest', 'none'].includes(instance.autoOffsetReset)) {
    throw invalid(
      `auto.offset.reset must be earliest, latest or none, got "${instance.autoOffsetReset}"`,
    );
  }
  const { min, max } = SESSION_TIMEOUT_LIMITS;
  if (
    !Number.isInteger(instance.sessionTimeoutMs) ||
    instance.sessionTimeoutMs < min ||
    instance.sessionTimeoutMs > max
  ) {
    throw invalid(`session.timeout.ms must be an integer from ${min} to ${max}`);
  }
  // Bounded like Kafka's int settings: a value past 2^53 reached DynamoDB and came back as a
  // 503 from the SDK's number conversion.
  for (const [setting, value] of [
    ['auto.commit.interval.ms', instance.autoCommitIntervalMs],
    ['consumer.request.timeout.ms', instance.requestTimeoutMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_JAVA_INT) {
      throw invalid(`${setting} must be an integer from 0 to ${MAX_JAVA_INT}`);
    }
  }
}

export const MAX_SUBSCRIBED_TOPICS = 1000;
export const MAX_TOPIC_PATTERN_LENGTH = 1000;

/** The key of an assigned partition; PARTITION_NOT_ASSIGNED otherwise. */
export function assigned(
  state: InstanceState,
  p: TopicPartition,
  group: string,
  name: string,
): string {
  const key = leaseKey(p.topic, p.partition);
  if (!(key in state.leases)) {
    throw new EventLogError(
      'PARTITION_NOT_ASSIGNED',
      `Consumer instance "${name}" of group "${group}" is not assigned ${p.topic}/${p.partition} (assignments come with records calls)`,
      { details: { group, instance: name, topic: p.topic, partition: p.partition } },
    );
  }
  return key;
}
