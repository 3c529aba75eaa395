import { randomUUID } from 'node:crypto';
import { COMMIT_SEQUENCES_CONFIG, parseCommitSequences } from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import {
  buildTopicConfig,
  type TopicConfig,
  validatePartitionCount,
  validateTopicName,
} from '../log/topic-config.js';
import {
  partitionsNotIncreased,
  type TopicRecord,
  type TopicStore,
  unknownTopic,
} from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import type { LogReader } from './log-reader.js';

export interface CreateTopicInput {
  name: string;
  partitions: number;
  /** Kafka-named configs, e.g. { 'retention.ms': '86400000' }. */
  configs?: Record<string, unknown>;
}

export interface PartitionDescription {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
}

export interface TopicDescription extends TopicRecord {
  partitionOffsets: PartitionDescription[];
}

export interface TopicServiceOptions {
  clock?: Clock;
  /**
   * How long a warm function trusts its copy of a topic. Short, because a topic deleted and
   * re-created elsewhere gets a new id, and writes to the old id would be invisible.
   */
  cacheTtlMs?: number;
}

/** Topic administration, and the cached topic lookup every produce and fetch starts with. */
export class TopicService {
  private readonly clock: Clock;
  private readonly cacheTtlMs: number;
  private readonly cache = new Map<string, { topic: TopicRecord; expires: number }>();

  constructor(
    private readonly topics: TopicStore,
    private readonly reader: LogReader,
    options: TopicServiceOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.cacheTtlMs = options.cacheTtlMs ?? 1000;
  }

  async create(input: CreateTopicInput): Promise<TopicRecord> {
    const topic: TopicRecord = {
      ...TopicService.validateCreate(input),
      topicId: randomUUID(),
      createdAt: this.clock.now(),
    };
    await this.topics.create(topic);
    this.remember(topic);
    return topic;
  }

  /** Everything a create checks before writing (Confluent's validate_only uses it alone). */
  static validateCreate(
    input: CreateTopicInput,
  ): Pick<TopicRecord, 'name' | 'partitions' | 'sequences' | 'config'> {
    const name = validateTopicName(input.name);
    const partitions = validatePartitionCount(input.partitions);
    const { [COMMIT_SEQUENCES_CONFIG]: rawSequences, ...configs } = input.configs ?? {};
    return {
      name,
      partitions,
      sequences: parseCommitSequences(rawSequences, partitions),
      config: buildTopicConfig(configs),
    };
  }

  /**
   * The topic, from a cache younger than cacheTtlMs; UNKNOWN_TOPIC when there is none.
   * `partitions` are those the caller is about to use: one past the cached count reads the
   * topic again, since another process may have added partitions in the meantime.
   */
  async resolve(name: string, partitions: Iterable<number> = []): Promise<TopicRecord> {
    const cached = this.cache.get(name);
    if (
      cached !== undefined &&
      cached.expires > this.clock.now() &&
      !anyAtOrAbove(partitions, cached.topic.partitions)
    ) {
      return cached.topic;
    }
    const topic = await this.topics.get(validateTopicName(name));
    if (topic === undefined) {
      this.cache.delete(name);
      throw unknownTopic(name);
    }
    this.remember(topic);
    return topic;
  }

  async get(name: string): Promise<TopicRecord> {
    this.cache.delete(name);
    return this.resolve(name);
  }

  async list(): Promise<TopicRecord[]> {
    return this.topics.list();
  }

  async describe(name: string): Promise<TopicDescription> {
    const topic = await this.get(name);
    const partitionOffsets = await this.reader.allBounds(topic);
    return { ...topic, partitionOffsets };
  }

  async updateConfig(name: string, configs: Record<string, unknown>): Promise<TopicRecord> {
    const topic = await this.get(name);
    if (Object.hasOwn(configs, COMMIT_SEQUENCES_CONFIG)) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `${COMMIT_SEQUENCES_CONFIG} is fixed when a topic is created (it decides where each partition's commits go)`,
      );
    }
    const config: TopicConfig = buildTopicConfig(configs, topic.config);
    const updated = await this.topics.updateConfig(topic.name, topic.topicId, config);
    this.remember(updated);
    return updated;
  }

  /**
   * Kafka's CreatePartitions: raises the count to `partitions`, never lowers it
   * (INVALID_PARTITIONS). Records already written stay where they are; new records with a key
   * go to murmur2(key) % the new count, so a key's later records may land in another partition.
   * The commit sequences stay as created: a new partition p commits in sequence p % sequences.
   * Asking for the current count is INVALID_PARTITIONS too, as Kafka answers it.
   */
  async increasePartitions(name: string, partitions: number): Promise<TopicRecord> {
    const count = validatePartitionCount(partitions);
    const topic = await this.get(name);
    if (count <= topic.partitions)
      throw partitionsNotIncreased(topic.name, topic.partitions, count);
    const updated = await this.topics.increasePartitions(topic.name, topic.topicId, count);
    this.remember(updated);
    return updated;
  }

  async delete(name: string): Promise<TopicRecord> {
    const topic = await this.get(name);
    await this.topics.delete(topic, this.clock.now());
    this.cache.delete(name);
    return topic;
  }

  /** Throws UNKNOWN_PARTITION unless 0 <= partition < the topic's partition count. */
  static checkPartition(topic: TopicRecord, partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
      throw new EventLogError(
        'UNKNOWN_PARTITION',
        `Topic "${topic.name}" has partitions 0-${topic.partitions - 1}; there is no partition ${partition}`,
        { details: { topic: topic.name, partition, partitions: topic.partitions } },
      );
    }
  }

  private remember(topic: TopicRecord): void {
    this.cache.set(topic.name, { topic, expires: this.clock.now() + this.cacheTtlMs });
  }
}

function anyAtOrAbove(partitions: Iterable<number>, count: number): boolean {
  for (const p of partitions) if (p >= count) return true;
  return false;
}
