import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EventLogError } from '../log/errors.js';
import type { InvocationResponse } from '../log/on-failure-record.js';
import type { SubscriptionConfig } from '../log/subscription-config.js';
import { isConditionalCheckFailed, mapAwsError } from './aws-errors.js';
import { queryItems } from './query-items.js';

/**
 * Subscriptions of Lambda consumers, in the groups table (no table of their own: they are few,
 * and they sit beside the groups whose offsets they move):
 *
 *   pk = subscriptions, sk = {name}   config (a map), version, createdAt, updatedAt,
 *                                     retries: { "{partition}": RetryState }
 *
 * One Query lists them all, which the dispatcher does at the start of every run. `version`
 * is an optimistic lock for updates. `retries` keeps a failing batch's attempt count across
 * dispatcher runs, so that maximumRetryAttempts holds even when the retries outlive one run;
 * it is written only while a partition is failing.
 */

export interface RetryState {
  /** The first offset of the failing records. */
  offset: number;
  /** Attempts made on them so far (the first invocation included). */
  attempts: number;
  /** When the first attempt failed (ms). */
  since: number;
  /** The last failure, for describe. */
  lastError: string;
  /**
   * The function's answer to the last failed attempt, when it answered: the responseContext of
   * the invocation record an SQS or SNS on-failure destination gets.
   */
  lastResponse?: InvocationResponse;
}

export interface StoredSubscription {
  config: SubscriptionConfig;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** By partition. */
  retries: Record<string, RetryState>;
}

export interface SubscriptionStore {
  /** Fails with SUBSCRIPTION_ALREADY_EXISTS when the name is taken. */
  create(config: SubscriptionConfig, now: number): Promise<StoredSubscription>;
  get(name: string): Promise<StoredSubscription | undefined>;
  list(): Promise<StoredSubscription[]>;
  /** Replaces the config if nobody changed it since `expectedVersion`; CONFLICT otherwise. */
  update(
    config: SubscriptionConfig,
    expectedVersion: number,
    now: number,
  ): Promise<StoredSubscription>;
  /** UNKNOWN_SUBSCRIPTION when there is none of that name. */
  delete(name: string): Promise<StoredSubscription>;
  /** Records (or, with undefined, clears) a partition's failing state; a deleted subscription is left alone. */
  saveRetryState(name: string, partition: number, state: RetryState | undefined): Promise<void>;
}

const PK = 'subscriptions';

export class DynamoSubscriptionStore implements SubscriptionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(config: SubscriptionConfig, now: number): Promise<StoredSubscription> {
    const stored: StoredSubscription = {
      config,
      version: 1,
      createdAt: now,
      updatedAt: now,
      retries: {},
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: PK, sk: config.name, ...stored },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return stored;
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new EventLogError(
          'SUBSCRIPTION_ALREADY_EXISTS',
          `A subscription named "${config.name}" already exists`,
          { details: { subscription: config.name } },
        );
      }
      throw mapAwsError(error, `Creating subscription ${config.name}`);
    }
  }

  async get(name: string): Promise<StoredSubscription | undefined> {
    try {
      const response = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: { pk: PK, sk: name }, ConsistentRead: true }),
      );
      return response.Item === undefined ? undefined : toStored(response.Item);
    } catch (error) {
      throw mapAwsError(error, `Reading subscription ${name}`);
    }
  }

  async list(): Promise<StoredSubscription[]> {
    const out: StoredSubscription[] = [];
    const items = queryItems(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PK },
        ConsistentRead: true,
      },
      'Listing subscriptions',
    );
    for await (const item of items) out.push(toStored(item));
    return out;
  }

  async update(
    config: SubscriptionConfig,
    expectedVersion: number,
    now: number,
  ): Promise<StoredSubscription> {
    try {
      const response = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: PK, sk: config.name },
          UpdateExpression: 'SET #config = :config, #version = :next, updatedAt = :now',
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#config': 'config', '#version': 'version' },
          ExpressionAttributeValues: {
            ':config': config,
            ':next': expectedVersion + 1,
            ':expected': expectedVersion,
            ':now': now,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toStored(response.Attributes ?? {});
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new EventLogError(
          'CONFLICT',
          `Subscription "${config.name}" was changed or deleted concurrently; read it again and retry`,
          { details: { subscription: config.name } },
        );
      }
      throw mapAwsError(error, `Updating subscription ${config.name}`);
    }
  }

  async delete(name: string): Promise<StoredSubscription> {
    try {
      const response = await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: PK, sk: name },
          ConditionExpression: 'attribute_exists(sk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      return toStored(response.Attributes ?? {});
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw unknownSubscription(name);
      throw mapAwsError(error, `Deleting subscription ${name}`);
    }
  }

  async saveRetryState(
    name: string,
    partition: number,
    state: RetryState | undefined,
  ): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: PK, sk: name },
          UpdateExpression: state === undefined ? 'REMOVE retries.#p' : 'SET retries.#p = :state',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: { '#p': String(partition) },
          ...(state === undefined ? {} : { ExpressionAttributeValues: { ':state': state } }),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw mapAwsError(error, `Saving the retry state of subscription ${name}`);
    }
  }
}

export function unknownSubscription(name: string): EventLogError {
  return new EventLogError('UNKNOWN_SUBSCRIPTION', `Subscription "${name}" does not exist`, {
    details: { subscription: name },
  });
}

function toStored(item: Record<string, unknown>): StoredSubscription {
  return {
    config: item['config'] as SubscriptionConfig,
    version: Number(item['version'] ?? 0),
    createdAt: Number(item['createdAt'] ?? 0),
    updatedAt: Number(item['updatedAt'] ?? 0),
    retries: (item['retries'] as Record<string, RetryState> | undefined) ?? {},
  };
}
