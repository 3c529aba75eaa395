import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EventLogError } from '../log/errors.js';
import type { InvocationResponse } from '../log/on-failure-record.js';
import type { SubscriptionConfig } from '../log/subscription-config.js';
import {
  awsErrorName,
  conditionalRequest,
  isConditionalCheckFailed,
  mapAwsError,
  transactRequest,
} from './aws-errors.js';
import { partitionItems, queryItems } from './query-items.js';

/**
 * Subscriptions of Lambda consumers, in the groups table (no table of their own: they are few,
 * and they sit beside the groups whose offsets they move):
 *
 *   pk = subscriptions, sk = {name}                      config (a map), version, createdAt,
 *                                                        updatedAt
 *   pk = subscriptions, sk = {name}#retry#{partition}    one RetryState
 *   pk = subscription-groups, sk = {group}               subscription: the group's one owner
 *
 * One Query lists them all, retry states included (names have no '#', so a subscription's
 * retry items sort right after it), which the dispatcher does at the start of every run.
 * `version` is an optimistic lock for updates. A retry state keeps a failing batch's attempt
 * count across dispatcher runs, so that maximumRetryAttempts holds even when the retries
 * outlive one run; it is written only while a partition is failing. It has an item per
 * partition: inside the subscription item (as before, still read as `retries`) about 330
 * failing partitions passed DynamoDB's 400 KB item limit, the save failed and the counts
 * reset every run. The group claim makes "one subscription per group" a conditional write:
 * two concurrent creates both read a list without the other and could share one group.
 */

const RETRY = '#retry#';
/** Above every partition number's digits: the end of a subscription's retry items. */
const RETRY_END = '#retry#~';
const GROUP_PK = 'subscription-groups';

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
    const { retries: _none, ...item } = stored;
    const outcome = await transactRequest(`Creating subscription ${config.name}`, () =>
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk: PK, sk: config.name, ...item },
                ConditionExpression: 'attribute_not_exists(sk)',
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { pk: GROUP_PK, sk: config.group, subscription: config.name },
                ConditionExpression: 'attribute_not_exists(sk)',
              },
            },
          ],
        }),
      ),
    );
    if (outcome.written) return stored;
    const [nameReason, groupReason] = outcome.reasons;
    if (groupReason?.Code === 'ConditionalCheckFailed') {
      throw new EventLogError(
        'SUBSCRIPTION_ALREADY_EXISTS',
        `Group "${config.group}" is already used by another subscription; each subscription needs its own group`,
        { details: { group: config.group } },
      );
    }
    if (nameReason?.Code === 'ConditionalCheckFailed') {
      throw new EventLogError(
        'SUBSCRIPTION_ALREADY_EXISTS',
        `A subscription named "${config.name}" already exists`,
        { details: { subscription: config.name } },
      );
    }
    throw mapAwsError(outcome.error, `Creating subscription ${config.name}`);
  }

  async get(name: string): Promise<StoredSubscription | undefined> {
    const items = queryItems(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :name AND :end',
        ExpressionAttributeValues: { ':pk': PK, ':name': name, ':end': `${name}${RETRY_END}` },
        ConsistentRead: true,
      },
      `Reading subscription ${name}`,
    );
    const all: Record<string, unknown>[] = [];
    for await (const item of items) all.push(item);
    return withRetries(all)[0];
  }

  async list(): Promise<StoredSubscription[]> {
    const out: StoredSubscription[] = [];
    const items = partitionItems(this.doc, this.table, PK, 'Listing subscriptions', {
      consistent: true,
    });
    const all: Record<string, unknown>[] = [];
    for await (const item of items) all.push(item);
    out.push(...withRetries(all));
    return out;
  }

  async update(
    config: SubscriptionConfig,
    expectedVersion: number,
    now: number,
  ): Promise<StoredSubscription> {
    const outcome = await conditionalRequest(`Updating subscription ${config.name}`, () =>
      this.doc.send(
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
      ),
    );
    if (!outcome.written) {
      throw new EventLogError(
        'CONFLICT',
        `Subscription "${config.name}" was changed or deleted concurrently; read it again and retry`,
        { details: { subscription: config.name } },
      );
    }
    return toStored(outcome.response.Attributes ?? {});
  }

  async delete(name: string): Promise<StoredSubscription> {
    const stored = await this.get(name);
    if (stored === undefined) throw unknownSubscription(name);
    // The subscription and its group claim go together, or neither does.
    const outcome = await transactRequest(`Deleting subscription ${name}`, () =>
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table,
                Key: { pk: PK, sk: name },
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': stored.version },
              },
            },
            {
              Delete: {
                TableName: this.table,
                Key: { pk: GROUP_PK, sk: stored.config.group },
                ConditionExpression: 'attribute_not_exists(sk) OR subscription = :name',
                ExpressionAttributeValues: { ':name': name },
              },
            },
          ],
        }),
      ),
    );
    if (!outcome.written) {
      throw new EventLogError(
        'CONFLICT',
        `Subscription "${name}" was changed or deleted concurrently; read it again and retry`,
        { details: { subscription: name } },
      );
    }
    // Its retry states, so a new subscription of the same name starts with none.
    await Promise.all(
      Object.keys(stored.retries).map((partition) =>
        this.doc
          .send(
            new DeleteCommand({
              TableName: this.table,
              Key: { pk: PK, sk: retrySk(name, partition) },
            }),
          )
          .catch((error: unknown) => {
            throw mapAwsError(error, `Deleting the retry state of subscription ${name}`);
          }),
      ),
    );
    return stored;
  }

  async saveRetryState(
    name: string,
    partition: number,
    state: RetryState | undefined,
  ): Promise<void> {
    try {
      if (state === undefined) {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { pk: PK, sk: retrySk(name, partition) },
          }),
        );
        // A subscription stored before retry states had their own items.
        await this.doc
          .send(
            new UpdateCommand({
              TableName: this.table,
              Key: { pk: PK, sk: name },
              UpdateExpression: 'REMOVE retries.#p',
              ConditionExpression: 'attribute_exists(retries.#p)',
              ExpressionAttributeNames: { '#p': String(partition) },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionalCheckFailed(error)) throw error;
          });
        return;
      }
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.table,
                Key: { pk: PK, sk: name },
                ConditionExpression: 'attribute_exists(sk)',
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { pk: PK, sk: retrySk(name, partition), state },
              },
            },
          ],
        }),
      );
    } catch (error) {
      // The subscription is gone: a deleted subscription is left alone.
      if (awsErrorName(error) === 'TransactionCanceledException') return;
      throw mapAwsError(error, `Saving the retry state of subscription ${name}`);
    }
  }
}

export function unknownSubscription(name: string): EventLogError {
  return new EventLogError('UNKNOWN_SUBSCRIPTION', `Subscription "${name}" does not exist`, {
    details: { subscription: name },
  });
}

function retrySk(name: string, partition: number | string): string {
  return `${name}${RETRY}${String(partition).padStart(4, '0')}`;
}

/** Subscriptions from a query's items, each with its retry items (which sort right after it). */
function withRetries(items: Record<string, unknown>[]): StoredSubscription[] {
  const out: StoredSubscription[] = [];
  const byName = new Map<string, StoredSubscription>();
  for (const item of items) {
    const sk = String(item['sk']);
    const at = sk.indexOf(RETRY);
    if (at < 0) {
      const stored = toStored(item);
      out.push(stored);
      byName.set(sk, stored);
      continue;
    }
    const owner = byName.get(sk.slice(0, at));
    if (owner === undefined) continue;
    owner.retries[String(Number(sk.slice(at + RETRY.length)))] = item['state'] as RetryState;
  }
  return out;
}

function toStored(item: Record<string, unknown>): StoredSubscription {
  return {
    config: item['config'] as SubscriptionConfig,
    version: Number(item['version'] ?? 0),
    createdAt: Number(item['createdAt'] ?? 0),
    updatedAt: Number(item['updatedAt'] ?? 0),
    retries: { ...((item['retries'] as Record<string, RetryState> | undefined) ?? {}) },
  };
}
