import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EventLogError } from '../log/errors.js';
import { conditionalRequest, request } from './aws-errors.js';
import {
  type CommitOutcome,
  type CommitWrite,
  type GroupSnapshot,
  groupPk,
  type InstanceState,
  type LeaseItem,
  type LeaseSeen,
  leaseSk,
  type MemberItem,
  memberSk,
  oldItem,
  toLease,
  toMember,
  ttlOf,
} from './group-items.js';
import { partitionItems } from './query-items.js';

// The item shapes and keys moved to group-items.ts; importers of this module still find them here.
export type {
  CommitOutcome,
  CommitWrite,
  GroupSnapshot,
  InstanceState,
  LeaseItem,
  LeaseSeen,
  MemberItem,
} from './group-items.js';
export { groupPk, leaseSk, memberSk } from './group-items.js';

/**
 * The groups table (pk S, sk S, TTL on `expiresAt`). One DynamoDB partition per group:
 *
 *   pk = group#{group}, sk = lease#{topic}#{partition}   committed offset + lease (owner, counter)
 *   pk = group#{group}, sk = member#{memberId}           subscription + session expiry
 *                                                        (+ the state of a Confluent v2 instance)
 *   pk = groups,        sk = {group}                     the registry GET /v1/groups lists
 *
 * A lease has no expiry of its own: it is valid while its owner's member item is alive (see
 * docs/consumer-groups.md). The counter goes up on every change of owner, so (owner, counter)
 * names one tenure, and every take and every commit is conditional on it.
 *
 * Times are milliseconds from the caller's clock, never DynamoDB's: conditions compare
 * against the `now` the caller passes in. `expiresAt` (epoch seconds) only lets DynamoDB's
 * TTL sweep dead members long after they stopped mattering.
 */

export interface GroupStore {
  /** Every member and lease item of the group: one consistent Query. */
  load(group: string): Promise<GroupSnapshot>;
  getMember(group: string, memberId: string): Promise<MemberItem | undefined>;
  /**
   * Creates or renews a member: topics, session timeout, expiry. With `mustExist`, fails
   * with CONSUMER_INSTANCE_NOT_FOUND when the item is gone. Returns whether it was created.
   */
  renewMember(
    group: string,
    member: { memberId: string; topics: string[]; sessionTimeoutMs: number },
    now: number,
    options?: { mustExist?: boolean; ttlFloor?: number },
  ): Promise<{ created: boolean }>;
  deleteMember(group: string, memberId: string): Promise<void>;
  /** Creates a v2 instance; CONSUMER_INSTANCE_EXISTS while one of that name is alive. */
  createInstance(
    group: string,
    memberId: string,
    instance: InstanceState,
    now: number,
  ): Promise<void>;
  /** Saves an instance's state if nobody saved it since `expectedVersion`; CONFLICT otherwise. */
  saveInstance(
    group: string,
    memberId: string,
    instance: InstanceState,
    expectedVersion: number,
    topics?: string[],
  ): Promise<void>;
  /**
   * Takes a lease as seen (absent, or with that owner and counter): the new owner and
   * counter + 1, or undefined when someone else changed it first.
   */
  takeLease(
    group: string,
    seen: LeaseSeen,
    memberId: string,
    now: number,
  ): Promise<LeaseItem | undefined>;
  /** Gives a lease up; false when it was no longer ours. */
  releaseLease(
    group: string,
    lease: LeaseSeen & { owner: string; counter: number },
  ): Promise<boolean>;
  commit(group: string, commit: CommitWrite): Promise<CommitOutcome>;
  /** Sets the committed offset whatever it was, and ends the current tenure. */
  resetOffset(
    group: string,
    topic: string,
    partition: number,
    offset: number,
    topicId: string,
    now: number,
  ): Promise<{ previous: LeaseItem | undefined }>;
  /** Removes a committed offset (Kafka's OffsetDelete); the lease counter stays. */
  forgetOffset(group: string, topic: string, partition: number): Promise<void>;
  registerGroup(group: string, now: number): Promise<void>;
  listGroups(): Promise<string[]>;
  /** Deletes every item of the group and its registry entry; returns the items deleted. */
  deleteGroup(group: string): Promise<number>;
}

const REGISTRY_PK = 'groups';

export class DynamoGroupStore implements GroupStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async load(group: string): Promise<GroupSnapshot> {
    const members: MemberItem[] = [];
    const leases: LeaseItem[] = [];
    const items = partitionItems(this.doc, this.table, groupPk(group), `Reading group ${group}`, {
      consistent: true,
    });
    for await (const item of items) {
      const sk = String(item['sk']);
      if (sk.startsWith('lease#')) leases.push(toLease(item));
      else if (sk.startsWith('member#')) members.push(toMember(item));
    }
    return { members, leases };
  }

  async getMember(group: string, memberId: string): Promise<MemberItem | undefined> {
    const response = await request(`Reading member ${memberId} of group ${group}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: groupPk(group), sk: memberSk(memberId) },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item === undefined ? undefined : toMember(response.Item);
  }

  async renewMember(
    group: string,
    member: { memberId: string; topics: string[]; sessionTimeoutMs: number },
    now: number,
    options: { mustExist?: boolean; ttlFloor?: number } = {},
  ): Promise<{ created: boolean }> {
    const expires = now + member.sessionTimeoutMs;
    const outcome = await conditionalRequest(
      `Renewing member ${member.memberId} of group ${group}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: groupPk(group), sk: memberSk(member.memberId) },
            UpdateExpression:
              'SET memberId = :id, topics = :topics, sessionTimeoutMs = :session, expires = :expires, expiresAt = :ttl, joinedAt = if_not_exists(joinedAt, :now)',
            ...(options.mustExist === true ? { ConditionExpression: 'attribute_exists(sk)' } : {}),
            ExpressionAttributeValues: {
              ':id': member.memberId,
              ':topics': member.topics,
              ':session': member.sessionTimeoutMs,
              ':expires': expires,
              ':ttl': ttlOf(Math.max(expires, options.ttlFloor ?? 0)),
              ':now': now,
            },
            ReturnValues: 'UPDATED_OLD',
          }),
        ),
    );
    if (!outcome.written) throw instanceNotFound(group, member.memberId);
    return { created: outcome.response.Attributes?.['joinedAt'] === undefined };
  }

  async deleteMember(group: string, memberId: string): Promise<void> {
    await request(`Removing member ${memberId} of group ${group}`, () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: groupPk(group), sk: memberSk(memberId) },
        }),
      ),
    );
  }

  async createInstance(
    group: string,
    memberId: string,
    instance: InstanceState,
    now: number,
  ): Promise<void> {
    const outcome = await conditionalRequest(
      `Creating consumer instance ${memberId} in group ${group}`,
      () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              pk: groupPk(group),
              sk: memberSk(memberId),
              memberId,
              topics: [],
              sessionTimeoutMs: 0,
              // Not a live member until its first records call joins the group.
              expires: 0,
              joinedAt: now,
              instance,
              expiresAt: ttlOf(instance.instanceExpires),
            },
            // A dead plain member or an idle-expired instance of the same name may be replaced.
            ConditionExpression:
              'attribute_not_exists(sk) OR (expires < :now AND (attribute_not_exists(#instance) OR #instance.instanceExpires < :now))',
            ExpressionAttributeNames: { '#instance': 'instance' },
            ExpressionAttributeValues: { ':now': now },
          }),
        ),
    );
    if (!outcome.written) {
      throw new EventLogError(
        'CONSUMER_INSTANCE_EXISTS',
        `Consumer instance "${memberId}" already exists in group "${group}"`,
        { details: { group, instance: memberId } },
      );
    }
  }

  async saveInstance(
    group: string,
    memberId: string,
    instance: InstanceState,
    expectedVersion: number,
    topics?: string[],
  ): Promise<void> {
    const outcome = await conditionalRequest(
      `Saving consumer instance ${memberId} of group ${group}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: groupPk(group), sk: memberSk(memberId) },
            UpdateExpression: `SET #instance = :instance, expiresAt = :ttl${topics === undefined ? '' : ', topics = :topics'}`,
            ConditionExpression: '#instance.#version = :expected',
            ExpressionAttributeNames: { '#instance': 'instance', '#version': 'version' },
            ExpressionAttributeValues: {
              ':instance': instance,
              ':ttl': ttlOf(instance.instanceExpires),
              ':expected': expectedVersion,
              ...(topics === undefined ? {} : { ':topics': topics }),
            },
          }),
        ),
    );
    if (!outcome.written) {
      throw new EventLogError(
        'CONFLICT',
        `Consumer instance "${memberId}" of group "${group}" was changed or deleted by a concurrent request; retry`,
        { details: { group, instance: memberId } },
      );
    }
  }

  async takeLease(
    group: string,
    seen: LeaseSeen,
    memberId: string,
    now: number,
  ): Promise<LeaseItem | undefined> {
    const exists = seen.counter !== undefined;
    const condition = !exists
      ? 'attribute_not_exists(sk)'
      : seen.owner === undefined
        ? '#counter = :seen AND attribute_not_exists(#owner)'
        : '#counter = :seen AND #owner = :seenOwner';
    const outcome = await conditionalRequest(
      `Taking lease ${seen.topic}/${seen.partition} of group ${group}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: groupPk(group), sk: leaseSk(seen.topic, seen.partition) },
            UpdateExpression: `SET #owner = :me, #counter = :next, topic = :topic, #partition = :partition, takenAt = :now${seen.topicId === undefined ? '' : ', leaseTopicId = :leaseTopicId'}`,
            ConditionExpression: condition,
            ExpressionAttributeNames: {
              '#owner': 'owner',
              '#counter': 'counter',
              '#partition': 'partition',
            },
            ExpressionAttributeValues: {
              ':me': memberId,
              ':next': (seen.counter ?? 0) + 1,
              ':topic': seen.topic,
              ':partition': seen.partition,
              ':now': now,
              ...(seen.topicId === undefined ? {} : { ':leaseTopicId': seen.topicId }),
              ...(exists ? { ':seen': seen.counter } : {}),
              ...(seen.owner === undefined || !exists ? {} : { ':seenOwner': seen.owner }),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
    );
    if (!outcome.written) return undefined;
    return toLease(outcome.response.Attributes ?? {});
  }

  async releaseLease(
    group: string,
    lease: LeaseSeen & { owner: string; counter: number },
  ): Promise<boolean> {
    const outcome = await conditionalRequest(
      `Releasing lease ${lease.topic}/${lease.partition} of group ${group}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: groupPk(group), sk: leaseSk(lease.topic, lease.partition) },
            // A new counter, so a commit still in flight under the old tenure is refused.
            UpdateExpression: 'REMOVE #owner SET #counter = :next',
            ConditionExpression: '#owner = :owner AND #counter = :counter',
            ExpressionAttributeNames: { '#owner': 'owner', '#counter': 'counter' },
            ExpressionAttributeValues: {
              ':owner': lease.owner,
              ':counter': lease.counter,
              ':next': lease.counter + 1,
            },
          }),
        ),
    );
    if (!outcome.written) return false;
    return true;
  }

  async commit(group: string, commit: CommitWrite): Promise<CommitOutcome> {
    const outcome = await conditionalRequest(
      `Committing ${commit.topic}/${commit.partition} for group ${group}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: groupPk(group), sk: leaseSk(commit.topic, commit.partition) },
            UpdateExpression: 'SET committed = :offset, committedAt = :now, topicId = :topicId',
            // The tenure first (fencing), then monotonicity; an offset of an older incarnation
            // of the topic does not count.
            ConditionExpression:
              '#owner = :member AND #counter = :counter AND (attribute_not_exists(leaseTopicId) OR leaseTopicId = :topicId) AND (attribute_not_exists(committed) OR committed <= :offset OR topicId <> :topicId)',
            ExpressionAttributeNames: { '#owner': 'owner', '#counter': 'counter' },
            ExpressionAttributeValues: {
              ':member': commit.memberId,
              ':counter': commit.counter,
              ':offset': commit.offset,
              ':now': commit.now,
              ':topicId': commit.topicId,
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
    );
    if (outcome.written) return { status: 'committed', committed: commit.offset };
    const old = oldItem(outcome.item);
    const owner = typeof old?.['owner'] === 'string' ? old['owner'] : undefined;
    const counter = typeof old?.['counter'] === 'number' ? old['counter'] : undefined;
    const leaseTopicId = old?.['leaseTopicId'];
    // A tenure of an earlier incarnation of the topic: fenced, whatever the counter says.
    if (typeof leaseTopicId === 'string' && leaseTopicId !== commit.topicId) {
      return { status: 'fenced', owner, counter };
    }
    if (old !== undefined && owner === commit.memberId && counter === commit.counter) {
      return { status: 'behind', committed: Number(old['committed']) };
    }
    if (old === undefined) {
      // The failure gave no item (an emulator, or the item is gone): read it to tell apart.
      const lease = await this.getLease(group, commit.topic, commit.partition);
      if (
        lease?.owner === commit.memberId &&
        lease.counter === commit.counter &&
        (lease.leaseTopicId === undefined || lease.leaseTopicId === commit.topicId)
      ) {
        return { status: 'behind', committed: lease.committed ?? commit.offset };
      }
      return { status: 'fenced', owner: lease?.owner, counter: lease?.counter };
    }
    return { status: 'fenced', owner, counter };
  }

  async resetOffset(
    group: string,
    topic: string,
    partition: number,
    offset: number,
    topicId: string,
    now: number,
  ): Promise<{ previous: LeaseItem | undefined }> {
    const response = await request(`Resetting ${topic}/${partition} for group ${group}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: groupPk(group), sk: leaseSk(topic, partition) },
          // Ends the tenure too: a member still holding the lease cannot commit over the reset.
          UpdateExpression:
            'SET committed = :offset, committedAt = :now, topicId = :topicId, topic = :topic, #partition = :partition, #counter = if_not_exists(#counter, :zero) + :one REMOVE #owner',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            '#counter': 'counter',
            '#partition': 'partition',
          },
          ExpressionAttributeValues: {
            ':offset': offset,
            ':now': now,
            ':topicId': topicId,
            ':topic': topic,
            ':partition': partition,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return {
      previous: response.Attributes === undefined ? undefined : toLease(response.Attributes),
    };
  }

  /**
   * Removes a partition's committed offset, keeping its lease counter (so a tenure from before
   * can never commit over what comes next).
   */
  async forgetOffset(group: string, topic: string, partition: number): Promise<void> {
    await conditionalRequest(
      `Deleting the offset of ${topic}/${partition} for group ${group}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: groupPk(group), sk: leaseSk(topic, partition) },
            UpdateExpression: 'REMOVE committed, committedAt, topicId',
            ConditionExpression: 'attribute_exists(pk)',
          }),
        ),
    );
  }

  async registerGroup(group: string, now: number): Promise<void> {
    await conditionalRequest(`Registering group ${group}`, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: REGISTRY_PK, sk: group, group, createdAt: now },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  async listGroups(): Promise<string[]> {
    const groups: string[] = [];
    const items = partitionItems(this.doc, this.table, REGISTRY_PK, 'Listing groups', {
      consistent: true,
    });
    for await (const item of items) groups.push(String(item['sk']));
    return groups;
  }

  async deleteGroup(group: string): Promise<number> {
    const keys: { pk: string; sk: string }[] = [];
    const items = partitionItems(this.doc, this.table, groupPk(group), `Deleting group ${group}`, {
      consistent: true,
      projection: 'pk, sk',
    });
    for await (const item of items) keys.push({ pk: String(item['pk']), sk: String(item['sk']) });
    const all = [...keys, { pk: REGISTRY_PK, sk: group }];
    await request(`Deleting group ${group}`, async () => {
      for (let i = 0; i < all.length; i += 25) {
        await this.batchDelete(all.slice(i, i + 25));
      }
    });
    return keys.length;
  }

  private async getLease(
    group: string,
    topic: string,
    partition: number,
  ): Promise<LeaseItem | undefined> {
    const response = await request(`Reading lease ${topic}/${partition} of group ${group}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: groupPk(group), sk: leaseSk(topic, partition) },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item === undefined ? undefined : toLease(response.Item);
  }

  private async batchDelete(keys: { pk: string; sk: string }[]): Promise<void> {
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) {
        throw new EventLogError('THROTTLED', 'DynamoDB kept leaving deletes unprocessed');
      }
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const response = await this.doc.send(
        new BatchWriteCommand({ RequestItems: { [this.table]: pending } }),
      );
      pending = (response.UnprocessedItems?.[this.table] ?? []) as typeof pending;
    }
  }
}

export function instanceNotFound(group: string, instance: string): EventLogError {
  return new EventLogError(
    'CONSUMER_INSTANCE_NOT_FOUND',
    `Consumer instance "${instance}" not found in group "${group}"`,
    { details: { group, instance } },
  );
}
