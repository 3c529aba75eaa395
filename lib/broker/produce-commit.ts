import {
  type CommitBatch,
  type CommitProducer,
  type PublishedCommit,
  SEGMENT_ROOT,
  segmentKey,
} from '../log/commit.js';
import { EventLogError, toEventLogError } from '../log/errors.js';
import type { EncodeOptions, RecordInput } from '../log/record-batch.js';
import { createUlidGenerator } from '../log/ulid.js';
import type { CommitLogStore, Reservation } from '../store/commit-log-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import type { PartitionBatch } from './produce-plan.js';
import type { ProduceLimits, RecordResult } from './produce-types.js';

/** The producer numbers commitOnce writes into a commit: one base sequence per batch. */
export type SequencedProducer = CommitProducer & { sequences: number[] };

/**
 * The write both produce paths share: upload one commit's object, reserve its number and
 * offsets, publish it, and settle it at once when anything after the reservation fails.
 */
export class CommitWriter {
  /** Object keys sort by this service's clock: the orphan sweep reads an object's age from its key. */
  private readonly ulid = createUlidGenerator();

  constructor(
    private readonly segments: SegmentStore,
    private readonly commits: CommitLogStore,
    private readonly clock: Clock,
    private readonly limits: ProduceLimits,
  ) {}

  /**
   * Reserves a commit in the sequence and publishes it with `publish`. When anything fails
   * after the reservation, settles the commit at once (abortOwnCommit), so that no hole
   * waits for a reader to heal it; a commit found published after all is a success.
   */
  async commitOnce(
    topic: TopicRecord,
    sequence: number,
    batches: PartitionBatch[],
    encoded: Buffer[],
    object: string,
    start: number,
    producer: SequencedProducer | undefined,
    publish: (commit: PublishedCommit) => Promise<void>,
  ): Promise<CommitOutcome> {
    let reservation: Reservation | undefined;
    let publishSent = false;
    let commit: PublishedCommit | undefined;
    try {
      const counts = new Map(batches.map((b) => [b.partition, b.inputs.length]));
      reservation = await this.commits.reserve(topic.topicId, sequence, counts, start);
      commit = commitFor(reservation, batches, encoded, object, start, producer);
      this.checkDeadline(start, sequence);
      publishSent = true;
      await publish(commit);
      return { kind: 'written', commit, publishSent };
    } catch (error) {
      if (reservation === undefined || commit === undefined) {
        return { kind: 'failed', error, settled: 'aborted', publishSent };
      }
      const settled = await this.abortOwnCommit(topic.topicId, sequence, commit);
      if (settled === 'published') return { kind: 'written', commit, publishSent };
      return { kind: 'failed', error, settled, publishSent };
    }
  }

  /**
   * No commit can refer to the object when no publish was sent: remove it now rather than
   * leave it to the orphan sweep. (Once a publish was sent, its outcome may be unknown: keep it.)
   */
  async dropIfNeverPublished(object: string, publishSent: boolean): Promise<void> {
    if (publishSent) return;
    await this.segments.delete([object]).catch(() => {});
  }

  /** One S3 object per commit: its partitions' batches back to back. */
  async uploadSegment(
    topic: TopicRecord,
    sequence: number,
    encoded: Buffer[],
    now: number,
  ): Promise<string> {
    const body = encoded.length === 1 ? (encoded[0] as Buffer) : Buffer.concat(encoded);
    const object = segmentKey(SEGMENT_ROOT, topic.topicId, sequence, this.ulid(now));
    await this.segments.put(object, body);
    return object;
  }

  /**
   * After a failure past the reservation, settles the commit we own at once instead of leaving
   * a hole: an aborted marker at our number. If something is there already and it is our own
   * commit, the publish landed and only its answer was lost: 'published'. 'unknown' when
   * neither could be told (the marker's write failed too).
   */
  private async abortOwnCommit(
    topicId: string,
    sequence: number,
    commit: PublishedCommit,
  ): Promise<'published' | 'aborted' | 'unknown'> {
    try {
      const found = await this.commits.abort(topicId, sequence, commit.commit, this.clock.now());
      if (found.kind === 'aborted') return 'aborted';
      return isSameCommitAs(found, commit) ? 'published' : 'aborted';
    } catch {
      return 'unknown';
    }
  }

  private checkDeadline(start: number, sequence: number): void {
    const elapsed = this.clock.now() - start;
    if (elapsed > this.limits.maxProduceMs) {
      throw new EventLogError(
        'TIMEOUT',
        `Commit sequence ${sequence}: the write took ${elapsed} ms, over the ${this.limits.maxProduceMs} ms after which its commit may be declared aborted; it was not published`,
      );
    }
  }
}

/** How a topic's batches are encoded: its compression and timestamp type. */
export function encodeOptions(topic: TopicRecord, appendTime: number): EncodeOptions {
  return {
    compression: topic.config.compression,
    timestampType: topic.config.timestampType,
    ...(topic.config.timestampType === 'LogAppendTime' ? { logAppendTime: appendTime } : {}),
  };
}

/** Each written record's answer: its offset in the published commit and its timestamp. */
export function answerWritten(
  results: RecordResult[],
  batches: PartitionBatch[],
  commit: PublishedCommit,
  topic: TopicRecord,
  appendTime: number,
): void {
  for (const batch of batches) {
    const baseOffset = baseOffsetIn(commit, batch.partition);
    batch.members.forEach((member, j) => {
      const input = batch.inputs[j] as RecordInput;
      results[member] = {
        partition: batch.partition,
        offset: baseOffset + j,
        timestamp:
          topic.config.timestampType === 'LogAppendTime' ? appendTime : (input.timestamp as number),
      };
    });
  }
}

/** How commitOnce ended. */
export type CommitOutcome =
  | { kind: 'written'; commit: PublishedCommit; publishSent: boolean }
  | { kind: 'failed'; error: unknown; settled: 'aborted' | 'unknown'; publishSent: boolean };

/** The error a failed partition answers: "outcome unknown" once a publish went out unsettled. */
export function failureOf(
  outcome: Extract<CommitOutcome, { kind: 'failed' }>,
  retriable: boolean,
): EventLogError {
  const failure = toEventLogError(outcome.error);
  return outcome.settled === 'unknown' && outcome.publishSent
    ? outcomeUnknown(failure, retriable)
    : failure;
}

function outcomeUnknown(failure: EventLogError, retriable: boolean): EventLogError {
  return new EventLogError(
    failure.code,
    `${failure.message} (the batch may have been written: its outcome is unknown)`,
    { cause: failure, retriable, details: { ...failure.details, outcome: 'unknown' } },
  );
}

/** The commit of a reservation: each batch's range in the object, base offsets from the vector. */
function commitFor(
  reservation: Reservation,
  batches: PartitionBatch[],
  encoded: Buffer[],
  object: string,
  reservedAt: number,
  producer: SequencedProducer | undefined,
): PublishedCommit {
  let position = 0;
  const commitBatches = batches.map((batch, i): CommitBatch => {
    const length = (encoded[i] as Buffer).byteLength;
    const next = reservation.vector.get(batch.partition) as number;
    const entry: CommitBatch = {
      partition: batch.partition,
      baseOffset: next - batch.inputs.length,
      count: batch.inputs.length,
      position,
      length,
      minTimestamp: batch.minTimestamp,
      maxTimestamp: batch.maxTimestamp,
      bytes: batch.bytes,
      ...(producer === undefined ? {} : { baseSequence: producer.sequences[i] as number }),
    };
    position += length;
    return entry;
  });
  return {
    kind: 'published',
    commit: reservation.commit,
    object,
    reservedAt,
    previousReservedAt: reservation.previousReservedAt,
    batches: commitBatches,
    vector: reservation.vector,
    ...(producer === undefined
      ? {}
      : { producer: { producerId: producer.producerId, producerEpoch: producer.producerEpoch } }),
  };
}

function baseOffsetIn(commit: PublishedCommit, partition: number): number {
  const batch = commit.batches.find((b) => b.partition === partition);
  if (batch === undefined)
    throw new EventLogError('INTERNAL', `Commit has no batch for partition ${partition}`);
  return batch.baseOffset;
}

function isSameCommitAs(
  found: PublishedCommit | { kind: 'aborted' },
  ours: PublishedCommit,
): boolean {
  return (
    found.kind === 'published' &&
    found.object === ours.object &&
    found.reservedAt === ours.reservedAt
  );
}
