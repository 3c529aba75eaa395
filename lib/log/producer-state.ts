/**
 * Kafka's idempotent-producer rules, per (producer, partition), as the broker's
 * ProducerStateManager applies them (KIP-98, with KIP-360's epoch bumps):
 *
 *   producerId     int64 issued by the cluster (here: POST /v1/producers)
 *   producerEpoch  int16; a newer epoch of the same id fences the older ones
 *   baseSequence   int32, per producer and partition: 0 for the first batch, then the previous
 *                  batch's baseSequence + its record count (wrapping from 2^31-1 to 0)
 *
 * A batch is
 *   - a duplicate when one of the last 5 batches written for the producer on the partition has
 *     the same base and last sequence: it was written, answer with its offsets;
 *   - the next one when baseSequence follows the last written sequence (or is 0 in a new epoch
 *     or with no state): write it;
 *   - fenced when its epoch is older than the state's;
 *   - out of order otherwise.
 *
 * Pure: the store reads and writes the state, the produce service decides with these rules.
 */
import { EventLogError } from './errors.js';

/** Kafka keeps this many batches per producer and partition for answering retries. */
export const MAX_CACHED_BATCHES = 5;
export const MAX_EPOCH = 0x7fff;
export const MAX_SEQUENCE = 0x7fffffff;
/** Kafka's `producer.id.expiration.ms` default: state of a producer idle this long is dropped. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

/** A written batch, kept so that a retry of it is answered with the offsets it got. */
export interface CachedBatch {
  baseSequence: number;
  lastSequence: number;
  baseOffset: number;
  count: number;
  /** The append time of the write: the timestamp of records that gave none, and with LogAppendTime. */
  appendTime: number;
}

export interface ProducerPartitionState {
  epoch: number;
  /** The last sequence written in `epoch`. */
  lastSequence: number;
  /** Oldest first, at most MAX_CACHED_BATCHES, all of `epoch`. */
  batches: CachedBatch[];
  /** Bumped by every write: the condition of the next write (optimistic concurrency). */
  version: number;
  /** Epoch seconds (DynamoDB's TTL attribute). TTL deletes lazily: check it in code too. */
  expiresAt: number;
}

export interface BatchIdentity {
  epoch: number;
  baseSequence: number;
  count: number;
}

export type AppendCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: CachedBatch }
  | { kind: 'error'; error: EventLogError };

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31-1 to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > MAX_SEQUENCE - increment) return increment - (MAX_SEQUENCE - sequence) - 1;
  return sequence + increment;
}

export function lastSequenceOf(baseSequence: number, count: number): number {
  return incrementSequence(baseSequence, count - 1);
}

export function isExpired(state: { expiresAt: number }, nowMs: number): boolean {
  return Math.floor(nowMs / 1000) >= state.expiresAt;
}

/** The state as the rules see it: an expired one is no state at all. */
export function liveState(
  state: ProducerPartitionState | undefined,
  nowMs: number,
): ProducerPartitionState | undefined {
  return state === undefined || isExpired(state, nowMs) ? undefined : state;
}

export function checkBatchIdentity(batch: BatchIdentity, partition: number): void {
  const { epoch, baseSequence, count } = batch;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `producerEpoch must be 0-${MAX_EPOCH}, got ${epoch}`,
    );
  }
  if (!Number.isInteger(baseSequence) || baseSequence < 0 || baseSequence > MAX_SEQUENCE) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `Partition ${partition}: baseSequence must be 0-${MAX_SEQUENCE}, got ${baseSequence}`,
      { details: { partition } },
    );
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new EventLogError('INVALID_REQUEST', `A batch needs at least one record`);
  }
}

/** What to do with a batch, given the producer's live state on its partition. */
export function checkAppend(
  state: ProducerPartitionState | undefined,
  batch: BatchIdentity,
  partition: number,
): AppendCheck {
  const { epoch, baseSequence, count } = batch;
  const lastSequence = lastSequenceOf(baseSequence, count);
  if (state !== undefined && epoch < state.epoch) {
    return {
      kind: 'error',
      error: new EventLogError(
        'PRODUCER_FENCED',
        `Partition ${partition}: epoch ${epoch} is fenced, the producer wrote with epoch ${state.epoch} already`,
        { details: { partition, epoch, currentEpoch: state.epoch } },
      ),
    };
  }
  if (state !== undefined && epoch === state.epoch) {
    const cached = state.batches.find((b) => b.baseSequence === baseSequence);
    if (cached !== undefined) {
      if (cached.lastSequence === lastSequence) return { kind: 'duplicate', batch: cached };
      return outOfOrder(
        partition,
        `sequences ${baseSequence}-${lastSequence} overlap the written batch ${cached.baseSequence}-${cached.lastSequence}`,
        incrementSequence(state.lastSequence, 1),
        baseSequence,
      );
    }
    const expected = incrementSequence(state.lastSequence, 1);
    if (baseSequence === expected) return { kind: 'append' };
    return outOfOrder(
      partition,
      `expected sequence ${expected}, got ${baseSequence}`,
      expected,
      baseSequence,
    );
  }
  // No state (never written, or expired), or a new epoch: sequences start again at 0.
  if (baseSequence === 0) return { kind: 'append' };
  return outOfOrder(
    partition,
    state === undefined
      ? `no state for this producer (new, or idle past producer.id.expiration.ms): expected sequence 0, got ${baseSequence}`
      : `a new epoch starts at sequence 0, got ${baseSequence}`,
    0,
    baseSequence,
  );
}

/** The state after writing `batch` at `baseOffset`; `previous` is the state as read, expired or not. */
export function appendBatch(
  previous: ProducerPartitionState | undefined,
  live: ProducerPartitionState | undefined,
  batch: BatchIdentity & { baseOffset: number; appendTime: number },
  expiresAt: number,
): ProducerPartitionState {
  const cached: CachedBatch = {
    baseSequence: batch.baseSequence,
    lastSequence: lastSequenceOf(batch.baseSequence, batch.count),
    baseOffset: batch.baseOffset,
    count: batch.count,
    appendTime: batch.appendTime,
  };
  const kept = live !== undefined && live.epoch === batch.epoch ? live.batches : [];
  return {
    epoch: batch.epoch,
    lastSequence: cached.lastSequence,
    batches: [...kept, cached].slice(-MAX_CACHED_BATCHES),
    version: (previous?.version ?? 0) + 1,
    expiresAt,
  };
}

function outOfOrder(
  partition: number,
  reason: string,
  expected: number,
  baseSequence: number,
): AppendCheck {
  return {
    kind: 'error',
    error: new EventLogError('OUT_OF_ORDER_SEQUENCE', `Partition ${partition}: ${reason}`, {
      details: { partition, expectedSequence: expected, baseSequence },
    }),
  };
}

/**
 * Storage engine v2 keeps one state item per producer and commit sequence (not per partition):
 * one request is one commit, so a retry repeats a whole commit, and the state names the
 * producer's last MAX_CACHED_BATCHES commits instead of caching batches per partition. Their
 * batches (sequences, offsets) are read from the commits themselves, only when a request may
 * be a duplicate.
 */
export interface ProducerSequenceState {
  epoch: number;
  /** partition -> the last sequence written there in `epoch`. */
  lastSequences: Map<number, number>;
  /** The producer's last commits in this sequence, oldest first, at most MAX_CACHED_BATCHES. */
  commits: number[];
  version: number;
  /** Epoch seconds (DynamoDB's TTL attribute). */
  expiresAt: number;
}

/** One partition's state as the per-partition rules see it. */
export function partitionState(
  state: ProducerSequenceState | undefined,
  partition: number,
  batches: readonly CachedBatch[] = [],
): ProducerPartitionState | undefined {
  if (state === undefined) return undefined;
  const lastSequence = state.lastSequences.get(partition);
  // No batch of this epoch on the partition: the epoch still fences, sequences start at 0.
  return {
    epoch: state.epoch,
    lastSequence: lastSequence ?? -1,
    batches: lastSequence === undefined ? [] : [...batches],
    version: state.version,
    expiresAt: state.expiresAt,
  };
}

/** The state after a commit wrote `written` (partition -> batch identity). */
export function appendCommit(
  previous: ProducerSequenceState | undefined,
  live: ProducerSequenceState | undefined,
  epoch: number,
  written: ReadonlyMap<number, BatchIdentity>,
  commit: number,
  expiresAt: number,
): ProducerSequenceState {
  const sameEpoch = live !== undefined && live.epoch === epoch;
  const lastSequences = new Map(sameEpoch ? live.lastSequences : []);
  for (const [partition, identity] of written) {
    lastSequences.set(partition, lastSequenceOf(identity.baseSequence, identity.count));
  }
  return {
    epoch,
    lastSequences,
    commits: [...(sameEpoch ? live.commits : []), commit].slice(-MAX_CACHED_BATCHES),
    version: (previous?.version ?? 0) + 1,
    expiresAt,
  };
}
