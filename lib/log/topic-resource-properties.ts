/**
 * The properties of the EventLogTopic custom resource (lib/infra/event-log-topic.ts), as
 * CloudFormation hands them to the handler: every scalar a string ("3", not 3), whatever the
 * template said. Parsed here once, so the construct (at synth) and the handler (at deploy)
 * check the same things.
 */
import { COMMIT_SEQUENCES_CONFIG, parseCommitSequences } from './commit.js';
import { EventLogError } from './errors.js';
import { parseStrictInteger } from './strict-number.js';
import { buildTopicConfig, validatePartitionCount, validateTopicName } from './topic-config.js';

/** What happens to the topic when the resource leaves the stack. */
export type TopicRemovalPolicy = 'retain' | 'destroy';

export interface TopicResourceProperties {
  name: string;
  partitions: number;
  /** Kafka-named configs, `commit.sequences` included when given. */
  configs: Record<string, string>;
  removalPolicy: TopicRemovalPolicy;
}

/** The property names in the template (PascalCase, as CloudFormation's own). */
export const TOPIC_RESOURCE_PROPERTIES = {
  name: 'TopicName',
  partitions: 'Partitions',
  configs: 'Configs',
  removalPolicy: 'RemovalPolicy',
} as const;

/** Parses and checks the resource's properties: name, count, each config's value. */
export function parseTopicResourceProperties(raw: unknown): TopicResourceProperties {
  const props = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const name = validateTopicName(props[TOPIC_RESOURCE_PROPERTIES.name]);
  const rawPartitions = props[TOPIC_RESOURCE_PROPERTIES.partitions];
  const parsed = parseStrictInteger(rawPartitions);
  const partitions = validatePartitionCount(parsed.ok ? parsed.value : rawPartitions);
  const rawConfigs = props[TOPIC_RESOURCE_PROPERTIES.configs] ?? {};
  if (typeof rawConfigs !== 'object' || rawConfigs === null || Array.isArray(rawConfigs)) {
    throw new EventLogError('INVALID_CONFIG', `${TOPIC_RESOURCE_PROPERTIES.configs} must be a map`);
  }
  const configs = Object.fromEntries(
    Object.entries(rawConfigs).map(([key, value]) => [key, String(value)]),
  );
  checkTopicConfigs(configs, partitions);
  const removalPolicy = props[TOPIC_RESOURCE_PROPERTIES.removalPolicy] ?? 'retain';
  if (removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
    throw new EventLogError(
      'INVALID_REQUEST',
      `${TOPIC_RESOURCE_PROPERTIES.removalPolicy} must be retain or destroy, got ${String(removalPolicy)}`,
    );
  }
  return { name, partitions, configs, removalPolicy };
}

/** Throws INVALID_CONFIG for an unknown name or a bad value, as a topic create would. */
export function checkTopicConfigs(configs: Record<string, unknown>, partitions: number): void {
  const { [COMMIT_SEQUENCES_CONFIG]: sequences, ...rest } = configs;
  parseCommitSequences(sequences, partitions);
  buildTopicConfig(rest);
}
