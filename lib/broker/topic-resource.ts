/**
 * The deploy-time life of an EventLogTopic (lib/infra/event-log-topic.ts): CloudFormation's
 * Create, Update and Delete of the custom resource, applied to the topics through
 * TopicService. Every step is safe to replay, since CloudFormation and the provider framework
 * may send an event again after a timeout or a lost answer:
 *
 * - Create creates the topic; a topic of that name with exactly the declared settings counts
 *   as created (the replay of a Create that worked), one with other settings is an error
 *   (a topic made outside the stack is not silently taken over).
 * - Update raises the partition count (never lowers it: Kafka's rule) and sets the configs
 *   to the declared ones (a config no longer declared returns to its default), from the live
 *   topic rather than from the old properties, so a replay finds nothing left to do. Every
 *   check runs before the first write. A new name replaces the resource, as CloudFormation
 *   replaces an SNS topic or a DynamoDB table whose name changes: the new topic is created
 *   and the old one then gets a Delete, which honours its removal policy.
 * - Delete deletes the topic only with the destroy policy, and only when the event's
 *   physical id is the topic's name (a Create that failed has another id, so a topic that
 *   already existed is never deleted by the failed resource's cleanup). A topic already gone
 *   is a success.
 */
import { COMMIT_SEQUENCES_CONFIG } from '../log/commit.js';
import { EventLogError, isEventLogError } from '../log/errors.js';
import { buildTopicConfig, configEntries } from '../log/topic-config.js';
import {
  parseTopicResourceProperties,
  TOPIC_RESOURCE_PROPERTIES,
  type TopicResourceProperties,
} from '../log/topic-resource-properties.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { TopicService } from './topics.js';

/** The fields of CloudFormation's custom resource event that the handler reads. */
export type TopicResourceEvent =
  | { RequestType: 'Create'; ResourceProperties: unknown }
  | {
      RequestType: 'Update';
      PhysicalResourceId: string;
      ResourceProperties: unknown;
      OldResourceProperties?: unknown;
    }
  | { RequestType: 'Delete'; PhysicalResourceId: string; ResourceProperties: unknown };

/** What the provider framework sends back to CloudFormation (`Fn::GetAtt` reads Data). */
export interface TopicResourceResult {
  PhysicalResourceId: string;
  Data: { TopicName: string; TopicId: string; Partitions: number };
}

export class TopicResource {
  constructor(private readonly topics: TopicService) {}

  async handle(event: TopicResourceEvent): Promise<TopicResourceResult> {
    switch (event.RequestType) {
      case 'Create':
        return result(await this.create(parseTopicResourceProperties(event.ResourceProperties)));
      case 'Update': {
        const props = parseTopicResourceProperties(event.ResourceProperties);
        if (props.name !== event.PhysicalResourceId) return result(await this.create(props));
        return result(await this.update(props));
      }
      case 'Delete':
        return this.delete(event.PhysicalResourceId, event.ResourceProperties);
      default:
        throw new EventLogError(
          'INVALID_REQUEST',
          `Unknown RequestType ${String((event as { RequestType?: unknown }).RequestType)}`,
        );
    }
  }

  private async create(props: TopicResourceProperties): Promise<TopicRecord> {
    try {
      return await this.topics.create({
        name: props.name,
        partitions: props.partitions,
        configs: props.configs,
      });
    } catch (error) {
      if (!isEventLogError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
      const existing = await this.topics.get(props.name);
      const differences = settingsDifferences(existing, props);
      if (differences.length === 0) return existing;
      throw new EventLogError(
        'TOPIC_ALREADY_EXISTS',
        `Topic "${props.name}" already exists with other settings (${differences.join('; ')}); declare it as it is, or delete it first`,
        { details: { topic: props.name } },
      );
    }
  }

  private async update(props: TopicResourceProperties): Promise<TopicRecord> {
    const topic = await this.topics.get(props.name);
    const { [COMMIT_SEQUENCES_CONFIG]: sequences, ...configs } = props.configs;
    if (sequences !== undefined && Number(sequences) !== topic.sequences) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `${COMMIT_SEQUENCES_CONFIG} of topic "${topic.name}" is ${topic.sequences} and is fixed when a topic is created; ${sequences} would need a new topic (a new name)`,
      );
    }
    if (props.partitions < topic.partitions) {
      throw new EventLogError(
        'INVALID_PARTITIONS',
        `Topic "${topic.name}" has ${topic.partitions} partitions and the stack declares ${props.partitions}: a partition count can only be increased (Kafka's rule; fewer partitions would move keys away from their records). Declare ${topic.partitions} or more, or give the topic a new name to replace it`,
        {
          details: { topic: topic.name, partitions: topic.partitions, requested: props.partitions },
        },
      );
    }
    const changed = configChanges(topic, configs);
    let updated = topic;
    if (props.partitions > topic.partitions) {
      updated = await this.topics.increasePartitions(topic.name, props.partitions);
    }
    if (Object.keys(changed).length > 0)
      updated = await this.topics.updateConfig(topic.name, changed);
    return updated;
  }

  private async delete(physicalId: string, rawProps: unknown): Promise<TopicResourceResult> {
    const props = (typeof rawProps === 'object' && rawProps !== null ? rawProps : {}) as Record<
      string,
      unknown
    >;
    const gone = {
      PhysicalResourceId: physicalId,
      Data: { TopicName: physicalId, TopicId: '', Partitions: 0 },
    };
    if (
      props[TOPIC_RESOURCE_PROPERTIES.removalPolicy] !== 'destroy' ||
      props[TOPIC_RESOURCE_PROPERTIES.name] !== physicalId
    ) {
      return gone;
    }
    try {
      return result(await this.topics.delete(physicalId));
    } catch (error) {
      if (isEventLogError(error, 'UNKNOWN_TOPIC')) return gone;
      throw error;
    }
  }
}

function result(topic: TopicRecord): TopicResourceResult {
  return {
    PhysicalResourceId: topic.name,
    Data: { TopicName: topic.name, TopicId: topic.topicId, Partitions: topic.partitions },
  };
}

/** The configs to set so that the topic's configs become exactly `declared` over defaults. */
function configChanges(
  topic: TopicRecord,
  declared: Record<string, string>,
): Record<string, string> {
  const live = new Map(configEntries(topic.config).map((e) => [e.name, e.value]));
  return Object.fromEntries(
    configEntries(buildTopicConfig(declared))
      .filter((e) => live.get(e.name) !== e.value)
      .map((e) => [e.name, e.value]),
  );
}

/** How an existing topic differs from the declared one, in words; empty when it does not. */
function settingsDifferences(topic: TopicRecord, props: TopicResourceProperties): string[] {
  const out: string[] = [];
  if (topic.partitions !== props.partitions) {
    out.push(`partitions ${topic.partitions}, declared ${props.partitions}`);
  }
  const sequences = props.configs[COMMIT_SEQUENCES_CONFIG];
  if (sequences !== undefined && Number(sequences) !== topic.sequences) {
    out.push(`${COMMIT_SEQUENCES_CONFIG} ${topic.sequences}, declared ${sequences}`);
  }
  const { [COMMIT_SEQUENCES_CONFIG]: _sequences, ...configs } = props.configs;
  const live = new Map(configEntries(topic.config).map((e) => [e.name, e.value]));
  for (const [name, value] of Object.entries(configChanges(topic, configs))) {
    out.push(`${name} ${live.get(name as never)}, declared ${value}`);
  }
  return out;
}
