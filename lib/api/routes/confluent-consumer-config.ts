import type { z } from '@hono/zod-openapi';
import type {
  InstanceConfig,
  InstanceFormat,
  OffsetReset,
} from '../../broker/consumer-instances.js';
import { EventLogError } from '../../log/errors.js';
import { MAX_JAVA_INT, strictIntegerInRange } from '../../log/strict-number.js';
import type { CreateInstanceSchema } from './confluent-consumer-schemas.js';

/** A consumer instance's settings from Confluent's create request, checked as Kafka checks them. */
export function instanceConfig(body: z.output<typeof CreateInstanceSchema>): InstanceConfig {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  const invalid = (message: string) => new EventLogError('INVALID_CONSUMER_CONFIG', message);
  // Confluent reads these with Kafka's ConfigDef: decimal digits only, and a value that does
  // not fit (Java's int, 2^31 - 1) is a bad config, not a storage failure.
  const integer = (name: string, value: unknown): number | undefined => {
    if (value === null || value === undefined) return undefined;
    const parsed = strictIntegerInRange(name, value, 0, MAX_JAVA_INT);
    if (!parsed.ok) throw invalid(parsed.message);
    return parsed.value;
  };
  const format = text(body.format)?.toLowerCase();
  const reset = text(body['auto.offset.reset'])?.toLowerCase();
  // Kafka's old names for the two ends.
  const resetNames: Record<string, OffsetReset> = {
    earliest: 'earliest',
    smallest: 'earliest',
    latest: 'latest',
    largest: 'latest',
    none: 'none',
  };
  if (reset !== undefined && resetNames[reset] === undefined) {
    throw invalid(`auto.offset.reset must be earliest, latest or none, got "${reset}"`);
  }
  const autoCommit = text(body['auto.commit.enable'])?.toLowerCase();
  if (autoCommit !== undefined && autoCommit !== 'true' && autoCommit !== 'false') {
    throw invalid(`auto.commit.enable must be true or false, got "${autoCommit}"`);
  }
  const config: InstanceConfig = {};
  const name = text(body.name);
  if (name !== undefined) config.name = name;
  if (format !== undefined) config.format = format as InstanceFormat;
  if (reset !== undefined) config.autoOffsetReset = resetNames[reset] as OffsetReset;
  if (autoCommit !== undefined) config.autoCommit = autoCommit === 'true';
  const interval = integer('auto.commit.interval.ms', body['auto.commit.interval.ms']);
  if (interval !== undefined) config.autoCommitIntervalMs = interval;
  const session = integer('session.timeout.ms', body['session.timeout.ms']);
  if (session !== undefined) config.sessionTimeoutMs = session;
  const requestTimeout = integer(
    'consumer.request.timeout.ms',
    body['consumer.request.timeout.ms'],
  );
  if (requestTimeout !== undefined) config.requestTimeoutMs = requestTimeout;
  integer('fetch.min.bytes', body['fetch.min.bytes']);
  return config;
}
