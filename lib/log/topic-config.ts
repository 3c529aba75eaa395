import { EventLogError } from './errors.js';
import { parseStrictInteger } from './strict-number.js';

/**
 * Topic rules and configuration, as Kafka defines them where Kafka has a rule. Pure: the
 * broker validates with these before anything is written.
 */

export const MAX_TOPIC_NAME_LENGTH = 249;
export const MIN_PARTITIONS = 1;
export const MAX_PARTITIONS = 1000;

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new EventLogError('INVALID_TOPIC_NAME', 'Topic name must be a non-empty string');
  }
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new EventLogError(
      'INVALID_TOPIC_NAME',
      `Topic name is ${name.length} characters long; the limit is ${MAX_TOPIC_NAME_LENGTH}`,
      { details: { limit: MAX_TOPIC_NAME_LENGTH } },
    );
  }
  if (name === '.' || name === '..') {
    throw new EventLogError('INVALID_TOPIC_NAME', `Topic name cannot be "${name}"`);
  }
  if (!TOPIC_NAME.test(name)) {
    throw new EventLogError(
      'INVALID_TOPIC_NAME',
      `Topic name "${name}" is invalid: use only ASCII letters, digits, '.', '_' and '-'`,
    );
  }
  return name;
}

export function validatePartitionCount(partitions: unknown): number {
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < MIN_PARTITIONS ||
    partitions > MAX_PARTITIONS
  ) {
    throw new EventLogError(
      'INVALID_PARTITIONS',
      `Partition count must be an integer from ${MIN_PARTITIONS} to ${MAX_PARTITIONS}, got ${String(partitions)}`,
      { details: { min: MIN_PARTITIONS, max: MAX_PARTITIONS } },
    );
  }
  return partitions;
}

export type TimestampType = 'CreateTime' | 'LogAppendTime';
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The values of `compression.type`, Kafka's names; `uncompressed` is read as `none`. */
export const COMPRESSION_NAMES: readonly CompressionName[] = [
  'none',
  'gzip',
  'snappy',
  'lz4',
  'zstd',
];

/** Kafka's other spellings of a codec: `uncompressed` is its topic-level name for none. */
const COMPRESSION_ALIASES: Readonly<Record<string, CompressionName>> = { uncompressed: 'none' };

/** The codec a `compression.type` value names, or undefined. */
export function parseCompressionName(raw: unknown): CompressionName | undefined {
  if (typeof raw !== 'string') return undefined;
  if ((COMPRESSION_NAMES as readonly string[]).includes(raw)) return raw as CompressionName;
  return Object.hasOwn(COMPRESSION_ALIASES, raw) ? COMPRESSION_ALIASES[raw] : undefined;
}

export interface TopicConfig {
  /** How long records are kept, in ms; -1 keeps them forever. Kafka's `retention.ms`. */
  retentionMs: number;
  /** Bytes kept per partition before the oldest batches go; -1 = no limit. */
  retentionBytes: number;
  /** Largest record accepted, in bytes. Kafka's `max.message.bytes`. */
  maxMessageBytes: number;
  /** Whether records keep the producer's timestamp or get the time they were appended. */
  timestampType: TimestampType;
  /** Codec of the batches the broker writes. */
  compression: CompressionName;
}

export const DEFAULT_TOPIC_CONFIG: Readonly<TopicConfig> = Object.freeze({
  retentionMs: 604_800_000,
  retentionBytes: -1,
  maxMessageBytes: 1_048_588,
  timestampType: 'CreateTime',
  // zstd: about a fifth of the bytes of JSON events, at gzip's ratio and 4x its speed; the
  // reasoning, from the bench's figures and the cost model, is in docs/cost-model.md.
  compression: 'zstd',
});

/** Kafka's config names, as the REST APIs and the CLI spell them. */
export const CONFIG_NAMES = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'max.message.bytes': 'maxMessageBytes',
  'message.timestamp.type': 'timestampType',
  'compression.type': 'compression',
} as const satisfies Record<string, keyof TopicConfig>;

export type ConfigName = keyof typeof CONFIG_NAMES;

export function isConfigName(name: string): name is ConfigName {
  return Object.hasOwn(CONFIG_NAMES, name);
}

const MAX_RECORD_BYTES_LIMIT = 4 * 1024 * 1024;

function parseInteger(name: string, raw: unknown): number {
  const parsed = parseStrictInteger(raw);
  if (!parsed.ok) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `${name} must be an integer, in decimal digits below 2^53, got ${JSON.stringify(raw) ?? String(raw)}`,
    );
  }
  return parsed.value;
}

/**
 * Configs that tools send by habit and that only have our behaviour: accepted when they ask
 * for it, refused with a reason otherwise (Confluent's own examples create topics with
 * cleanup.policy=delete).
 */
const FIXED_CONFIGS: Record<string, { value: string; why: string }> = {
  'cleanup.policy': { value: 'delete', why: 'log compaction is not supported' },
};

/** Parses one Kafka-named config value (string or number) into its typed form. */
export function parseConfigValue(name: string, raw: unknown): Partial<TopicConfig> {
  const fixed = FIXED_CONFIGS[name];
  if (fixed !== undefined) {
    if (raw !== fixed.value) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `${name} can only be ${fixed.value}: ${fixed.why}, got ${String(raw)}`,
      );
    }
    return {};
  }
  if (!isConfigName(name)) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `Unknown topic config "${name}"; supported: ${Object.keys(CONFIG_NAMES).join(', ')}`,
    );
  }
  switch (name) {
    case 'retention.ms':
    case 'retention.bytes': {
      const value = parseInteger(name, raw);
      if (value < -1) {
        throw new EventLogError('INVALID_CONFIG', `${name} must be -1 (unlimited) or >= 0`);
      }
      return { [CONFIG_NAMES[name]]: value };
    }
    case 'max.message.bytes': {
      const value = parseInteger(name, raw);
      if (value < 1 || value > MAX_RECORD_BYTES_LIMIT) {
        throw new EventLogError(
          'INVALID_CONFIG',
          `max.message.bytes must be from 1 to ${MAX_RECORD_BYTES_LIMIT} (a record must fit a Lambda payload)`,
        );
      }
      return { maxMessageBytes: value };
    }
    case 'message.timestamp.type':
      if (raw !== 'CreateTime' && raw !== 'LogAppendTime') {
        throw new EventLogError(
          'INVALID_CONFIG',
          'message.timestamp.type must be CreateTime or LogAppendTime',
        );
      }
      return { timestampType: raw };
    case 'compression.type': {
      const compression = parseCompressionName(raw);
      if (compression === undefined) {
        throw new EventLogError(
          'INVALID_CONFIG',
          `compression.type must be one of ${COMPRESSION_NAMES.join(', ')} (or uncompressed), got ${String(raw)}`,
        );
      }
      return { compression };
    }
  }
}

/** Builds a full config from defaults and Kafka-named overrides. */
export function buildTopicConfig(
  overrides: Record<string, unknown> = {},
  base: Readonly<TopicConfig> = DEFAULT_TOPIC_CONFIG,
): TopicConfig {
  let config: TopicConfig = { ...base };
  for (const [name, raw] of Object.entries(overrides)) {
    config = { ...config, ...parseConfigValue(name, raw) };
  }
  return config;
}

/** The config as Kafka-named string values, as Confluent's v3 configs API lists them. */
export function configEntries(config: TopicConfig): { name: ConfigName; value: string }[] {
  return (Object.keys(CONFIG_NAMES) as ConfigName[]).map((name) => ({
    name,
    value: String(config[CONFIG_NAMES[name]]),
  }));
}
