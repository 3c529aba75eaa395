import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type PublishedCommit, packPartitionMap, unpackPartitionMap } from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import type { ProducerSequenceState } from '../log/producer-state.js';
import {
  awsErrorName,
  type CancellationReason,
  conditionalRequest,
  mapAwsError,
  request,
} from './aws-errors.js';
import { commitItem, isSameCommit, sequenceKey, toCommit } from './commit-log-store.js';
import { unmarshallItem } from './dynamo-items.js';

/**
 * Idempotent-producer state in the log table (its TTL attribute `expiresAt` removes what is
 * idle). Items, none of which a commit query can meet (commits live under `{topicId}/{seq}`):
 *
 *   pk = producer-ids                         sk = -1   nextId: the id counter (ADD)
 *   pk = producer#{id}                        sk = 0    epoch, name?: the producer's registration
 *   pk = producer-name#{name}                 sk = 0    producerId: a name's producer id
 *   pk = {topicId}/{seq}#{owner}              sk = 0    epoch, s: last sequence per partition
 *                                                       (packed), c: last commits, version
 *
 * `owner` is `producer#{id}` for a producer and `key#{hash}` for an Idempotency-Key. One state
 * item per commit sequence, not per partition: a request is one commit there, so its state
 * costs one write in the commit's transaction whatever partitions the request touches.
 */

export type ProducerOwner =
  | { kind: 'producer'; producerId: number }
  /** An Idempotency-Key, by the hash of the key. */
  | { kind: 'key'; id: string };

export interface ProducerRegistration {
  producerId: number;
  epoch: number;
  name?: string;
  /** Epoch seconds. */
  expiresAt: number;
}

/**
 * The producer's state on the partition moved between our read and our write (a concurrent
 * duplicate of the batch, or a newer epoch, was written first). Nothing of ours was written.
 */
export class ProducerStateChanged extends EventLogError {
  constructor(
    message: string,
    readonly current: ProducerSequenceState | undefined,
  ) {
    super('CONFLICT', message, { retriable: true });
  }
}

export interface ProducerStore {
  /** A new producer id from the counter, registered at epoch 0. */
  register(expiresAt: number, name?: string): Promise<ProducerRegistration>;
  registration(producerId: number): Promise<ProducerRegistration | undefined>;
  /**
   * Bumps the epoch (from `expectedEpoch` when given, failing with PRODUCER_FENCED if it
   * moved) and extends the registration. UNKNOWN_PRODUCER_ID when there is none.
   */
  bumpEpoch(
    producerId: number,
    expectedEpoch: number | undefined,
    expiresAt: number,
    nowSeconds: number,
  ): Promise<ProducerRegistration>;
  /** Extends a registration's life; a no-op for a registration that is gone. */
  touch(producerId: number, expiresAt: number): Promise<void>;
  /** The producer id a name stands for, if any (and live). */
  named(name: string, nowSeconds: number): Promise<number | undefined>;
  /**
   * Binds a name to a producer id unless a live binding to another id (than `replacing`)
   * exists; returns the id bound. Binding the id already bound extends the binding.
   */
  bindName(
    name: string,
    producerId: number,
    expiresAt: number,
    nowSeconds: number,
    replacing?: number,
  ): Promise<number>;
  /** The owner's state in the commit sequence as stored (expired or not), consistent read. */
  state(
    topicId: string,
    sequence: number,
    owner: ProducerOwner,
  ): Promise<ProducerSequenceState | undefined>;
  /**
   * Publishes the commit and writes the owner's next state in one transaction. The state
   * write requires the stored state to be the one read (`expected`: its version, or `absent`
   * for none or an expired one). A CONFLICT when the commit's number is taken by something
   * else than this commit (an aborted marker); ProducerStateChanged when the state moved.
   */
  publishWithState(
    topicId: string,
    sequence: number,
    commit: PublishedCommit,
    owner: ProducerOwner,
    next: ProducerSequenceState,
    expected: { version: number } | { absent: true; nowSeconds: number },
  ): Promise<void>;
}

const COUNTER_PK = 'producer-ids';

export function ownerKey(owner: ProducerOwner): string {
  return owner.kind === 'producer' ? `producer#${owner.producerId}` : `key#${owner.id}`;
}

export function stateKey(topicId: string, sequence: number, owner: ProducerOwner): string {
  return `${sequenceKey(topicId, sequence)}#${ownerKey(owner)}`;
}

/** Attempts of a transaction that DynamoDB cancelled for a conflicting concurrent one. */
const CONFLICT_ATTEMPTS = 4;

export class DynamoProducerStore implements ProducerStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async register(expiresAt: number, name?: string): Promise<ProducerRegistration> {
    let producerId: number;
    const response = await request('Allocating a producer id', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: COUNTER_PK, sk: -1 },
          UpdateExpression: 'ADD nextId :one',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    producerId = response.Attributes?.['nextId'] as number;
    const registration: ProducerRegistration = {
      producerId,
      epoch: 0,
      expiresAt,
      ...(name === undefined ? {} : { name }),
    };
    await request(`Registering producer ${producerId}`, async () => {
      // A fresh id: nothing can be there (a lost-answer retry rewrites the same item).
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `producer#${producerId}`, sk: 0, ...registration },
        }),
      );
    });
    return registration;
  }

  async registration(producerId: number): Promise<ProducerRegistration | undefined> {
    const response = await request(`Reading producer ${producerId}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: `producer#${producerId}`, sk: 0 },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item === undefined ? undefined : toRegistration(response.Item);
  }

  async bumpEpoch(
    producerId: number,
    expectedEpoch: number | undefined,
    expiresAt: number,
    nowSeconds: number,
  ): Promise<ProducerRegistration> {
    const conditions = ['attribute_exists(pk)', 'expiresAt > :now'];
    const values: Record<string, unknown> = {
      ':one': 1,
      ':expiresAt': expiresAt,
      ':now': nowSeconds,
    };
    if (expectedEpoch !== undefined) {
      conditions.push('epoch = :expected');
      values[':expected'] = expectedEpoch;
    }
    const outcome = await conditionalRequest(`Bumping the epoch of producer ${producerId}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `producer#${producerId}`, sk: 0 },
          UpdateExpression: 'ADD epoch :one SET expiresAt = :expiresAt',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (outcome.written) {
      return toRegistration(outcome.response.Attributes ?? {});
    }
    const old = outcome.item;
    const current = old === undefined ? undefined : toRegistration(unmarshallItem(old));
    if (current === undefined || current.expiresAt <= nowSeconds) {
      throw new EventLogError(
        'UNKNOWN_PRODUCER_ID',
        `Producer ${producerId} does not exist (never issued, or expired)`,
        { details: { producerId } },
      );
    }
    throw new EventLogError(
      'PRODUCER_FENCED',
      `Producer ${producerId} is at epoch ${current.epoch}, not ${expectedEpoch}: another instance initialized it`,
      { details: { producerId, epoch: expectedEpoch, currentEpoch: current.epoch } },
    );
  }

  async touch(producerId: number, expiresAt: number): Promise<void> {
    await conditionalRequest(`Extending producer ${producerId}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `producer#${producerId}`, sk: 0 },
          UpdateExpression: 'SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_exists(pk) AND expiresAt < :expiresAt',
          ExpressionAttributeValues: { ':expiresAt': expiresAt },
        }),
      ),
    );
  }

  async named(name: string, nowSeconds: number): Promise<number | undefined> {
    const response = await request(`Reading producer name ${name}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: `producer-name#${name}`, sk: 0 },
          ConsistentRead: true,
        }),
      ),
    );
    const item = response.Item;
    if (item === undefined || (item['expiresAt'] as number) <= nowSeconds) return undefined;
    return item['producerId'] as number;
  }

  async bindName(
    name: string,
    producerId: number,
    expiresAt: number,
    nowSeconds: number,
    replacing?: number,
  ): Promise<number> {
    const outcome = await conditionalRequest(`Binding producer name ${name}`, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `producer-name#${name}`, sk: 0, producerId, expiresAt },
          ConditionExpression:
            'attribute_not_exists(pk) OR expiresAt <= :now OR producerId IN (:id, :replacing)',
          ExpressionAttributeValues: {
            ':now': nowSeconds,
            ':id': producerId,
            ':replacing': replacing ?? producerId,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (outcome.written) return producerId;
    const old = outcome.item;
    return unmarshallItem(old ?? {})['producerId'] as number;
  }

  async state(
    topicId: string,
    sequence: number,
    owner: ProducerOwner,
  ): Promise<ProducerSequenceState | undefined> {
    const response = await request(`Reading producer state in ${topicId}/${sequence}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: stateKey(topicId, sequence, owner), sk: 0 },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item === undefined ? undefined : toState(response.Item);
  }

  async publishWithState(
    topicId: string,
    sequence: number,
    commit: PublishedCommit,
    owner: ProducerOwner,
    next: ProducerSequenceState,
    expected: { version: number } | { absent: true; nowSeconds: number },
  ): Promise<void> {
    const stateCondition =
      'version' in expected
        ? {
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: { ':version': expected.version },
          }
        : {
            // An expired state counts as none: TTL deletes it some time later.
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': expected.nowSeconds },
          };
    const command = new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: this.table,
            Item: commitItem(topicId, sequence, commit),
            ConditionExpression: 'attribute_not_exists(sk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: this.table,
            Item: { pk: stateKey(topicId, sequence, owner), sk: 0, ...fromState(next) },
            ...stateCondition,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    });
    for (let attempt = 1; ; attempt++) {
      try {
        // The SDK's own retries (a lost answer) reuse the command's ClientRequestToken, which
        // makes DynamoDB answer success for a transaction it already applied (for 10 minutes).
        await this.doc.send(command);
        return;
      } catch (error) {
        if (awsErrorName(error) !== 'TransactionCanceledException') {
          throw mapAwsError(error, `Publishing commit ${commit.commit} of ${topicId}/${sequence}`);
        }
        const reasons =
          (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
        const [commitReason, stateReason] = reasons;
        if (commitReason?.Code === 'ConditionalCheckFailed') {
          const existing =
            commitReason.Item === undefined ? undefined : toCommit(commitReason.Item);
          // Our own transaction, applied by an attempt whose answer was lost.
          if (existing !== undefined && isSameCommit(existing, commit)) return;
          throw new EventLogError(
            'CONFLICT',
            `Commit ${commit.commit} of ${topicId}/${sequence} was declared aborted before it was published`,
            { retriable: true, details: { sequence, commit: commit.commit } },
          );
        }
        if (stateReason?.Code === 'ConditionalCheckFailed') {
          throw new ProducerStateChanged(
            `The producer's state on ${topicId}/${sequence} changed while this commit was written`,
            stateReason.Item === undefined ? undefined : toState(unmarshallItem(stateReason.Item)),
          );
        }
        // Cancelled for a concurrent transaction on one of the items, or throttled: nothing
        // was written, and the same transaction may go through a moment later.
        if (attempt < CONFLICT_ATTEMPTS && reasons.some((r) => r.Code === 'TransactionConflict')) {
          await sleep(10 * 2 ** attempt * Math.random());
          continue;
        }
        const codes = reasons.map((r) => r.Code ?? 'None').join(', ');
        throw new EventLogError(
          reasons.some((r) => r.Code === 'ThrottlingError') ? 'THROTTLED' : 'STORAGE_UNAVAILABLE',
          `Publishing commit ${commit.commit} of ${topicId}/${sequence} was cancelled (${codes})`,
          { cause: error },
        );
      }
    }
  }
}

function toRegistration(item: Record<string, unknown>): ProducerRegistration {
  return {
    producerId: item['producerId'] as number,
    epoch: item['epoch'] as number,
    expiresAt: item['expiresAt'] as number,
    ...(typeof item['name'] === 'string' ? { name: item['name'] } : {}),
  };
}

function toState(raw: Record<string, unknown>): ProducerSequenceState {
  const item = unmarshallItem(raw);
  return {
    epoch: item['epoch'] as number,
    lastSequences: unpackPartitionMap(item['s'] as Uint8Array | undefined),
    commits: ((item['c'] as number[] | undefined) ?? []).map(Number),
    version: item['version'] as number,
    expiresAt: item['expiresAt'] as number,
  };
}

function fromState(state: ProducerSequenceState): Record<string, unknown> {
  return {
    epoch: state.epoch,
    s: packPartitionMap(state.lastSequences),
    c: state.commits,
    version: state.version,
    expiresAt: state.expiresAt,
  };
}
