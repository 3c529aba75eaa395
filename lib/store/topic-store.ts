import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EventLogError } from '../log/errors.js';
import type { SweepState } from '../log/orphan-sweep.js';
import type { TopicConfig } from '../log/topic-config.js';
import { conditionalRequest, request, transactRequest } from './aws-errors.js';
import { unmarshallItem } from './dynamo-items.js';

export interface TopicRecord {
  name: string;
  /** Immutable id: segments and index items hang off it, so a re-created topic starts empty. */
  topicId: string;
  partitions: number;
  /**
   * Commit sequences the partitions are spread over (partition p commits in sequence
   * p % sequences): each takes its own stream of commits. Fixed at creation.
   */
  sequences: number;
  config: TopicConfig;
  createdAt: number;
}

/** Left behind by a delete so background work can remove the topic's objects and items. */
export interface DeletedTopicRecord {
  name: string;
  topicId: string;
  topicName: string;
  partitions: number;
  sequences: number;
  deletedAt: number;
}

/** Topic metadata, one item per topic name. */
export interface TopicStore {
  /** Fails with TOPIC_ALREADY_EXISTS when the name is taken. */
  create(topic: TopicRecord): Promise<void>;
  get(name: string): Promise<TopicRecord | undefined>;
  list(): Promise<TopicRecord[]>;
  updateConfig(name: string, topicId: string, config: TopicConfig): Promise<TopicRecord>;
  /**
   * Raises the partition count to `partitions`: fails with INVALID_PARTITIONS unless it is
   * higher than the stored count (so two racing increases cannot lower it), UNKNOWN_TOPIC
   * when the topic id changed.
   */
  increasePartitions(name: string, topicId: string, partitions: number): Promise<TopicRecord>;
  /**
   * Removes the topic at once (the name is free again) and leaves a tombstone from which
   * background work deletes the old topic id's objects and items.
   */
  delete(topic: TopicRecord, deletedAt: number): Promise<void>;
  listDeleted(): Promise<DeletedTopicRecord[]>;
  forgetDeleted(topicId: string): Promise<void>;
  /**
   * Takes a named lease for background work (e.g. one retention run per topic at a time):
   * true when taken, false while another owner holds an unexpired one.
   */
  acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
  /** Where the orphan-object sweep of a topic id stands (lib/log/orphan-sweep.ts). */
  sweepState(topicId: string): Promise<SweepState | undefined>;
  saveSweepState(topicId: string, state: SweepState): Promise<void>;
}

export class DynamoTopicStore implements TopicStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(topic: TopicRecord): Promise<void> {
    const outcome = await conditionalRequest(`Creating topic ${topic.name}`, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: topic,
          ConditionExpression: 'attribute_not_exists(#name)',
          ExpressionAttributeNames: { '#name': 'name' },
        }),
      ),
    );
    if (!outcome.written) {
      throw new EventLogError('TOPIC_ALREADY_EXISTS', `Topic "${topic.name}" already exists`, {
        details: { topic: topic.name },
      });
    }
  }

  async get(name: string): Promise<TopicRecord | undefined> {
    const response = await request(`Reading topic ${name}`, () =>
      this.doc.send(new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true })),
    );
    return response.Item as TopicRecord | undefined;
  }

  async list(): Promise<TopicRecord[]> {
    const topics = (await this.scan()).filter(isTopic) as unknown as TopicRecord[];
    return topics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async updateConfig(name: string, topicId: string, config: TopicConfig): Promise<TopicRecord> {
    const outcome = await this.setIfIncarnation(`Updating topic ${name}`, name, topicId, {
      attribute: 'config',
      value: config,
    });
    if (!outcome.written) throw unknownTopic(name);
    return outcome.response.Attributes as TopicRecord;
  }

  async increasePartitions(
    name: string,
    topicId: string,
    partitions: number,
  ): Promise<TopicRecord> {
    const outcome = await this.setIfIncarnation(
      `Increasing the partitions of topic ${name}`,
      name,
      topicId,
      // Only ever up: a smaller count would orphan the partitions above it.
      { attribute: 'partitions', value: partitions, condition: '#attribute < :value' },
    );
    if (outcome.written) {
      return outcome.response.Attributes as TopicRecord;
    }
    const raw = outcome.item;
    const old = raw === undefined ? undefined : unmarshallItem(raw);
    if (old === undefined || old['topicId'] !== topicId) throw unknownTopic(name);
    throw partitionsNotIncreased(name, old['partitions'] as number, partitions);
  }

  /**
   * Sets one attribute of topic `name` if it is still incarnation `topicId` (a topic deleted
   * and created again under the same name is another) and `condition` holds; on a failed
   * condition the outcome carries the item as it was.
   */
  private setIfIncarnation(
    action: string,
    name: string,
    topicId: string,
    set: { attribute: string; value: unknown; condition?: string },
  ) {
    return conditionalRequest(action, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: 'SET #attribute = :value',
          ConditionExpression: `#topicId = :topicId${set.condition === undefined ? '' : ` AND ${set.condition}`}`,
          ExpressionAttributeNames: { '#attribute': set.attribute, '#topicId': 'topicId' },
          ExpressionAttributeValues: { ':value': set.value, ':topicId': topicId },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
  }

  async delete(topic: TopicRecord, deletedAt: number): Promise<void> {
    const tombstone: DeletedTopicRecord = {
      name: DELETED_PREFIX + topic.topicId,
      topicId: topic.topicId,
      topicName: topic.name,
      partitions: topic.partitions,
      sequences: topic.sequences,
      deletedAt,
    };
    const outcome = await transactRequest(`Deleting topic ${topic.name}`, () =>
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table,
                Key: { name: topic.name },
                ConditionExpression: '#topicId = :topicId',
                ExpressionAttributeNames: { '#topicId': 'topicId' },
                ExpressionAttributeValues: { ':topicId': topic.topicId },
              },
            },
            { Put: { TableName: this.table, Item: tombstone } },
          ],
        }),
      ),
    );
    // Another incarnation, or none: the topic the caller read is gone.
    if (!outcome.written) throw unknownTopic(topic.name);
  }

  async listDeleted(): Promise<DeletedTopicRecord[]> {
    return (await this.scan()).filter(isDeleted) as unknown as DeletedTopicRecord[];
  }

  async forgetDeleted(topicId: string): Promise<void> {
    await request(`Forgetting deleted topic ${topicId}`, async () => {
      await this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: { name: SWEEP_PREFIX + topicId } }),
      );
      await this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: { name: DELETED_PREFIX + topicId } }),
      );
    });
  }

  async acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const outcome = await conditionalRequest(`Taking the lease ${name}`, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { name: LEASE_PREFIX + name, owner, expires: now + ttlMs },
          ConditionExpression: 'attribute_not_exists(#name) OR expires < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#name': 'name', '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
        }),
      ),
    );
    if (!outcome.written) return false;
    return true;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await conditionalRequest(`Releasing the lease ${name}`, () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { name: LEASE_PREFIX + name },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  async sweepState(topicId: string): Promise<SweepState | undefined> {
    const response = await request(`Reading the orphan sweep state of ${topicId}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { name: SWEEP_PREFIX + topicId },
          ConsistentRead: true,
        }),
      ),
    );
    const item = response.Item;
    if (item === undefined) return undefined;
    return {
      sweptUntil: item['sweptUntil'] as number,
      checkpoints: (item['checkpoints'] as SweepState['checkpoints'] | undefined) ?? [],
    };
  }

  async saveSweepState(topicId: string, state: SweepState): Promise<void> {
    await request(`Saving the orphan sweep state of ${topicId}`, async () => {
      // Written only under the topic's retention lease, so a plain put is enough.
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            name: SWEEP_PREFIX + topicId,
            sweptUntil: state.sweptUntil,
            checkpoints: state.checkpoints,
          },
        }),
      );
    });
  }

  private async scan(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    await request('Listing topics', async () => {
      do {
        const page = await this.doc.send(
          new ScanCommand({
            TableName: this.table,
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    });
    return items;
  }
}

/** Names of real topics cannot contain '#', so these items never collide with topics. */
const DELETED_PREFIX = '#deleted#';
const LEASE_PREFIX = '#lease#';
const SWEEP_PREFIX = '#sweep#';

function isDeleted(item: Record<string, unknown>): boolean {
  return typeof item['name'] === 'string' && item['name'].startsWith(DELETED_PREFIX);
}

function isTopic(item: Record<string, unknown>): boolean {
  return typeof item['name'] === 'string' && !item['name'].startsWith('#');
}

export function unknownTopic(name: string): EventLogError {
  return new EventLogError('UNKNOWN_TOPIC', `Topic "${name}" does not exist`, {
    details: { topic: name },
  });
}

/** Kafka's rule: a partition count only grows (keys would otherwise lose their records). */
export function partitionsNotIncreased(
  name: string,
  current: number,
  requested: number,
): EventLogError {
  return new EventLogError(
    'INVALID_PARTITIONS',
    `Topic "${name}" has ${current} partition${current === 1 ? '' : 's'}; the count can only be increased, and ${requested} is not more than ${current}`,
    { details: { topic: name, partitions: current, requested } },
  );
}
