import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Commit,
  type CommitBatch,
  type CommitProducer,
  type PublishedCommit,
  packCommitBody,
  packPartitionMap,
  SEGMENT_ROOT,
  type SettledPrefix,
  segmentId,
  segmentKey,
  unpackCommitBody,
  unpackPartitionMap,
} from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import { conditionalRequest, mapAwsError, request } from './aws-errors.js';
import { unmarshallItem } from './dynamo-items.js';

/**
 * Storage engine v2's metadata in the log table (lib/log/commit.ts says what a commit is).
 * Per commit sequence of a topic:
 *
 *   pk = {topicId}/{seq}/head   sk = 0    c: commits reserved, t: when the last one was,
 *                                         p{n}: partition n's next offset (one ADD reserves all)
 *   pk = {topicId}/{seq}        sk = 0    the sequence's meta: a settled-prefix hint for readers
 *                                         (h, hv), and retention's state (log starts ls, first
 *                                         kept commit sc, bytes counted kb through commit bc)
 *   pk = {topicId}/{seq}        sk = c    commit c (c >= 1): o object, t reservedAt,
 *                                         pt previousReservedAt, b the packed batches and vector;
 *                                         or an aborted marker: x abortedAt
 *
 * The head has a partition key of its own: every reservation writes it, every publish writes
 * a commit, and DynamoDB gives each partition key about 1,000 write units a second.
 */

export interface Reservation {
  commit: number;
  /** When the previous commit number was reserved (0 for the first). */
  previousReservedAt: number;
  /** Every partition of the sequence's next offset after this reservation. */
  vector: Map<number, number>;
}

export interface SequenceHead {
  commits: number;
  lastReservedAt: number;
}

export interface SequenceMeta {
  /** A settled prefix some reader saw: every commit below `hint.next` is settled. */
  hint: SettledPrefix;
  /** Each partition's log start (absent = 0). */
  logStarts: Map<number, number>;
  /** Commits below this were deleted by retention (all their batches are below the log starts). */
  startCommit: number;
  /** Published bytes per partition, counted over commits below `countedThrough`. */
  bytes: Map<number, number>;
  countedThrough: number;
  /** Bumped by each retention write: its condition. */
  version: number;
  /**
   * Kafka's DeleteRecords: a log start asked for per partition, possibly inside a batch.
   * Readers start at the larger of it and `logStarts`; retention removes the batches wholly
   * below it. Written apart from the retention state (its own version), so neither waits.
   */
  deletedBefore: Map<number, number>;
  deleteVersion: number;
}

export interface RetentionState {
  logStarts: Map<number, number>;
  startCommit: number;
  bytes: Map<number, number>;
  countedThrough: number;
}

export interface CommitLogStore {
  /**
   * Reserves the next commit number and `counts` offsets in each partition, in one atomic
   * update; `now` is recorded as the reservation's time.
   */
  reserve(
    topicId: string,
    sequence: number,
    counts: ReadonlyMap<number, number>,
    now: number,
  ): Promise<Reservation>;
  /** Commits reserved so far (0 when none). One small consistent read. */
  reservedCommits(topicId: string, sequence: number): Promise<number>;
  /** The sequence head: commits reserved so far, and when the last one was (0 when none). */
  head(topicId: string, sequence: number): Promise<SequenceHead>;
  /**
   * Publishes a commit. CONFLICT when its number is taken by an aborted marker (the writer
   * was presumed dead); our own commit already there (a retried put) is success.
   */
  publish(topicId: string, sequence: number, commit: PublishedCommit): Promise<void>;
  /**
   * Declares a commit number aborted, unless something is there already: returns the marker
   * written, or the commit found in its place.
   */
  abort(topicId: string, sequence: number, commit: number, now: number): Promise<Commit>;
  /** Commits with number >= from, ascending, at most `limit`. */
  commitsFrom(topicId: string, sequence: number, from: number, limit: number): Promise<Commit[]>;
  /** Commits with number in [from, to], descending, at most `limit`. */
  commitsDown(
    topicId: string,
    sequence: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<Commit[]>;
  commit(topicId: string, sequence: number, commit: number): Promise<Commit | undefined>;
  meta(topicId: string, sequence: number): Promise<SequenceMeta>;
  /**
   * Sets the DeleteRecords log starts of a sequence if its delete version is still `version`;
   * false when another writer moved it first.
   */
  saveDeletedBefore(
    topicId: string,
    sequence: number,
    version: number,
    deletedBefore: Map<number, number>,
  ): Promise<boolean>;
  /** Raises the settled-prefix hint; a no-op when it is already at or past `prefix.next`. */
  raiseHint(topicId: string, sequence: number, prefix: SettledPrefix): Promise<void>;
  /**
   * Saves retention's state if the meta is still at `version`; false when another run moved
   * it. Log starts never go down: the caller computes them from the state it read.
   */
  saveRetention(
    topicId: string,
    sequence: number,
    version: number,
    state: RetentionState,
  ): Promise<boolean>;
  deleteCommits(topicId: string, sequence: number, commits: readonly number[]): Promise<void>;
  /** Deletes every item of the sequence (topic deletion); returns how many. */
  deleteSequence(topicId: string, sequence: number): Promise<number>;
}

export function sequenceKey(topicId: string, sequence: number): string {
  return `${topicId}/${sequence}`;
}

function headKey(topicId: string, sequence: number): string {
  return `${topicId}/${sequence}/head`;
}

const META_SK = 0;

/** The item a published commit is stored as; the idempotent path puts it in a transaction. */
export function commitItem(
  topicId: string,
  sequence: number,
  commit: PublishedCommit,
): Record<string, unknown> {
  return {
    pk: sequenceKey(topicId, sequence),
    sk: commit.commit,
    // Only the object's id: its key follows from the topic and sequence, and DynamoDB bills
    // by the byte (the full key would be 50 bytes more on every commit).
    o: segmentId(commit.object),
    t: commit.reservedAt,
    pt: commit.previousReservedAt,
    b: packCommitBody(
      {
        vector: commit.vector,
        batches: commit.batches,
        ...(commit.producer === undefined ? {} : { producer: commit.producer }),
      },
      commit.reservedAt,
    ),
  };
}

export function toCommit(raw: Record<string, unknown>): Commit {
  const item = unmarshallItem(raw);
  const commit = item['sk'] as number;
  const pk = item['pk'] as string;
  const slash = pk.lastIndexOf('/');
  const topicId = pk.slice(0, slash);
  const sequence = Number(pk.slice(slash + 1));
  if (typeof item['x'] === 'number') return { kind: 'aborted', commit, abortedAt: item['x'] };
  const reservedAt = item['t'] as number;
  const body = unpackCommitBody(item['b'] as Uint8Array, reservedAt);
  return {
    kind: 'published',
    commit,
    object: segmentKey(SEGMENT_ROOT, topicId, sequence, item['o'] as string),
    reservedAt,
    previousReservedAt: item['pt'] as number,
    batches: body.batches,
    vector: body.vector,
    ...(body.producer === undefined ? {} : { producer: body.producer }),
  };
}

/** Whether a stored commit is the one we tried to put (a retry whose first answer was lost). */
export function isSameCommit(stored: Commit, ours: PublishedCommit): boolean {
  return (
    stored.kind === 'published' &&
    stored.object === ours.object &&
    stored.reservedAt === ours.reservedAt
  );
}

export class DynamoCommitLogStore implements CommitLogStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async reserve(
    topicId: string,
    sequence: number,
    counts: ReadonlyMap<number, number>,
    now: number,
  ): Promise<Reservation> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':one': 1, ':now': now };
    const adds = ['c :one'];
    for (const [partition, count] of counts) {
      names[`#p${partition}`] = `p${partition}`;
      values[`:n${partition}`] = count;
      adds.push(`#p${partition} :n${partition}`);
    }
    return request(`Reserving a commit in ${topicId}/${sequence}`, async () => {
      // One atomic update: the commit number and every partition's range at once, no
      // condition (so nothing fails under contention), and ALL_OLD tells us when the previous
      // commit was reserved, which bounds how long its writer may still publish.
      const response = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: headKey(topicId, sequence), sk: 0 },
          UpdateExpression: `SET t = :now ADD ${adds.join(', ')}`,
          ...(Object.keys(names).length === 0 ? {} : { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = response.Attributes ?? {};
      const vector = new Map<number, number>();
      for (const [name, value] of Object.entries(old)) {
        if (name.startsWith('p') && typeof value === 'number')
          vector.set(Number(name.slice(1)), value);
      }
      for (const [partition, count] of counts) {
        vector.set(partition, (vector.get(partition) ?? 0) + count);
      }
      return {
        commit: ((old['c'] as number | undefined) ?? 0) + 1,
        previousReservedAt: (old['t'] as number | undefined) ?? 0,
        vector,
      };
    });
  }

  async reservedCommits(topicId: string, sequence: number): Promise<number> {
    return (await this.head(topicId, sequence)).commits;
  }

  async head(topicId: string, sequence: number): Promise<SequenceHead> {
    const response = await request(`Reading the head of ${topicId}/${sequence}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: headKey(topicId, sequence), sk: 0 },
          ProjectionExpression: 'c, t',
          ConsistentRead: true,
        }),
      ),
    );
    return {
      commits: (response.Item?.['c'] as number | undefined) ?? 0,
      lastReservedAt: (response.Item?.['t'] as number | undefined) ?? 0,
    };
  }

  async publish(topicId: string, sequence: number, commit: PublishedCommit): Promise<void> {
    const outcome = await conditionalRequest(
      `Publishing commit ${commit.commit} of ${topicId}/${sequence}`,
      () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: commitItem(topicId, sequence, commit),
            ConditionExpression: 'attribute_not_exists(sk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
    );
    if (outcome.written) return;
    // The SDK retries a put whose answer was lost; the retry then finds our own commit.
    const existing = outcome.item;
    if (existing !== undefined && isSameCommit(toCommit(existing), commit)) return;
    throw commitTaken(topicId, sequence, commit.commit);
  }

  async abort(topicId: string, sequence: number, commit: number, now: number): Promise<Commit> {
    const action = `Aborting commit ${commit} of ${topicId}/${sequence}`;
    const outcome = await conditionalRequest(action, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: sequenceKey(topicId, sequence), sk: commit, x: now },
          ConditionExpression: 'attribute_not_exists(sk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (outcome.written) return { kind: 'aborted', commit, abortedAt: now };
    if (outcome.item !== undefined) return toCommit(outcome.item);
    const found = await this.commit(topicId, sequence, commit);
    if (found !== undefined) return found;
    // The condition failed, yet no commit is there to explain it.
    throw mapAwsError(outcome.error, action);
  }

  async commitsFrom(
    topicId: string,
    sequence: number,
    from: number,
    limit: number,
  ): Promise<Commit[]> {
    return this.query(
      topicId,
      sequence,
      'pk = :pk AND sk >= :from',
      { ':from': Math.max(1, from) },
      limit,
      true,
    );
  }

  async commitsDown(
    topicId: string,
    sequence: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<Commit[]> {
    if (from < 1 || to < from) return [];
    return this.query(
      topicId,
      sequence,
      'pk = :pk AND sk BETWEEN :from AND :to',
      { ':from': from, ':to': to },
      limit,
      false,
    );
  }

  async commit(topicId: string, sequence: number, commit: number): Promise<Commit | undefined> {
    const response = await request(`Reading commit ${commit} of ${topicId}/${sequence}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: sequenceKey(topicId, sequence), sk: commit },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item === undefined ? undefined : toCommit(response.Item);
  }

  async meta(topicId: string, sequence: number): Promise<SequenceMeta> {
    const response = await request(`Reading the meta of ${topicId}/${sequence}`, () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: sequenceKey(topicId, sequence), sk: META_SK },
          ConsistentRead: true,
        }),
      ),
    );
    const item = response.Item ?? {};
    const startCommit = (item['sc'] as number | undefined) ?? 1;
    const hintNext = (item['h'] as number | undefined) ?? 1;
    return {
      hint: { next: hintNext, vector: unpackPartitionMap(item['hv'] as Uint8Array | undefined) },
      logStarts: unpackPartitionMap(item['ls'] as Uint8Array | undefined),
      startCommit,
      bytes: unpackPartitionMap(item['kb'] as Uint8Array | undefined),
      countedThrough: (item['bc'] as number | undefined) ?? 1,
      version: (item['v'] as number | undefined) ?? 0,
      deletedBefore: unpackPartitionMap(item['dr'] as Uint8Array | undefined),
      deleteVersion: (item['dv'] as number | undefined) ?? 0,
    };
  }

  async saveDeletedBefore(
    topicId: string,
    sequence: number,
    version: number,
    deletedBefore: Map<number, number>,
  ): Promise<boolean> {
    const outcome = await conditionalRequest(
      `Saving the DeleteRecords log starts of ${topicId}/${sequence}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: sequenceKey(topicId, sequence), sk: META_SK },
            UpdateExpression: 'SET dr = :dr, dv = :next',
            ConditionExpression: version === 0 ? 'attribute_not_exists(dv)' : 'dv = :v',
            ExpressionAttributeValues: {
              ':dr': packPartitionMap(deletedBefore),
              ':next': version + 1,
              ...(version === 0 ? {} : { ':v': version }),
            },
          }),
        ),
    );
    if (!outcome.written) return false;
    return true;
  }

  async raiseHint(topicId: string, sequence: number, prefix: SettledPrefix): Promise<void> {
    await conditionalRequest(`Raising the settled-prefix hint of ${topicId}/${sequence}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: sequenceKey(topicId, sequence), sk: META_SK },
          UpdateExpression: 'SET h = :h, hv = :hv',
          ConditionExpression: 'attribute_not_exists(h) OR h < :h',
          ExpressionAttributeValues: {
            ':h': prefix.next,
            ':hv': packPartitionMap(prefix.vector),
          },
        }),
      ),
    );
  }

  async saveRetention(
    topicId: string,
    sequence: number,
    version: number,
    state: RetentionState,
  ): Promise<boolean> {
    const outcome = await conditionalRequest(
      `Saving retention state of ${topicId}/${sequence}`,
      () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: sequenceKey(topicId, sequence), sk: META_SK },
            UpdateExpression: 'SET ls = :ls, sc = :sc, kb = :kb, bc = :bc, v = :next',
            ConditionExpression: version === 0 ? 'attribute_not_exists(v)' : 'v = :v',
            ExpressionAttributeValues: {
              ':ls': packPartitionMap(state.logStarts),
              ':sc': state.startCommit,
              ':kb': packPartitionMap(state.bytes),
              ':bc': state.countedThrough,
              ':next': version + 1,
              ...(version === 0 ? {} : { ':v': version }),
            },
          }),
        ),
    );
    if (!outcome.written) return false;
    return true;
  }

  async deleteCommits(
    topicId: string,
    sequence: number,
    commits: readonly number[],
  ): Promise<void> {
    const pk = sequenceKey(topicId, sequence);
    await this.batchDelete(commits.map((sk) => ({ pk, sk })));
  }

  async deleteSequence(topicId: string, sequence: number): Promise<number> {
    let deleted = 0;
    for (const pk of [sequenceKey(topicId, sequence), headKey(topicId, sequence)]) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await request(`Listing the items of ${pk}`, () =>
          this.doc.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': pk },
              ProjectionExpression: 'pk, sk',
              ExclusiveStartKey: start,
            }),
          ),
        );
        const items = page.Items ?? [];
        await this.batchDelete(items.map((item) => ({ pk, sk: item['sk'] as number })));
        deleted += items.length;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
    return deleted;
  }

  private async batchDelete(keys: { pk: string; sk: number }[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests: NonNullable<BatchWriteCommandInput['RequestItems']>[string] = keys
        .slice(i, i + 25)
        .map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const response = await request('Deleting commits', () =>
          this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } })),
        );
        requests = response.UnprocessedItems?.[this.table] ?? [];
        if (attempt > 10 && requests.length > 0) {
          throw new EventLogError('THROTTLED', 'DynamoDB left commit deletions unprocessed');
        }
      }
    }
  }

  private async query(
    topicId: string,
    sequence: number,
    condition: string,
    values: Record<string, unknown>,
    limit: number,
    forward: boolean,
  ): Promise<Commit[]> {
    const commits: Commit[] = [];
    let start: Record<string, unknown> | undefined;
    await request(`Reading the commits of ${topicId}/${sequence}`, async () => {
      do {
        const page = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: condition,
            ExpressionAttributeValues: { ':pk': sequenceKey(topicId, sequence), ...values },
            ScanIndexForward: forward,
            Limit: limit - commits.length,
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) commits.push(toCommit(item));
        start = page.LastEvaluatedKey;
      } while (start !== undefined && commits.length < limit);
    });
    return commits;
  }
}

function commitTaken(topicId: string, sequence: number, commit: number): EventLogError {
  return new EventLogError(
    'CONFLICT',
    `Commit ${commit} of ${topicId}/${sequence} was declared aborted before it was published`,
    { retriable: true, details: { sequence, commit } },
  );
}

export type { CommitBatch, CommitProducer };
