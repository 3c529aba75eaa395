import {
  type CommitBatch,
  type CommitProducer,
  type PublishedCommit,
  SEGMENT_ROOT,
  segmentKey,
  sequenceOf,
} from '../log/commit.js';
import { EventLogError, toEventLogError } from '../log/errors.js';
import { Partitioner } from '../log/partitioner.js';
import {
  appendCommit,
  type BatchIdentity,
  type CachedBatch,
  checkAppend,
  checkBatchIdentity,
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  isExpired,
  lastSequenceOf,
  type ProducerSequenceState,
  partitionState,
} from '../log/producer-state.js';
import { type EncodeOptions, encodeRecordBatch, type RecordInput } from '../log/record-batch.js';
import type { TopicConfig } from '../log/topic-config.js';
import { createUlidGenerator } from '../log/ulid.js';
import type { CommitLogStore, Reservation } from '../store/commit-log-store.js';
import {
  type ProducerOwner,
  type ProducerRegistration,
  ProducerStateChanged,
  type ProducerStore,
} from '../store/producer-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import type { TopicService } from './topics.js';

export interface ProduceRecord {
  key?: Uint8Array | null;
  value?: Uint8Array | null;
  headers?: { key: string; value: Uint8Array | null }[];
  /** Explicit partition; otherwise the key decides (murmur2), else records are spread. */
  partition?: number;
  /** CreateTime in ms; defaults to now. Ignored when the topic uses LogAppendTime. */
  timestamp?: number;
}

export interface ProduceRequest {
  topic: string;
  records: ProduceRecord[];
  /** Kafka's idempotent producer: a retried batch is answered from state, never written twice. */
  producer?: IdempotentProducer;
  /** Set by the Idempotency-Key layer (lib/broker/idempotency.ts), not by clients. */
  idempotencyKey?: IdempotencyTicket;
}

export interface IdempotentProducer {
  producerId: number;
  producerEpoch: number;
  /** The base sequence of each partition's batch, by partition: exactly the partitions written. */
  baseSequences: Readonly<Record<number, number>>;
}

/**
 * An Idempotency-Key acts as a producer of its own (owner `key#{id}`, epoch 0) that writes one
 * batch per partition, at sequence 0: a retry of the request is then a duplicate of the batches
 * that were written, on every partition, whichever step the first attempt died at.
 */
export interface IdempotencyTicket {
  /** Hash of the key. */
  id: string;
  /** The key's first request: no state can exist yet, so none is read. */
  fresh: boolean;
  /** Epoch seconds: the key's state lives exactly as long as its record. */
  expiresAt: number;
}

export type RecordResult =
  | { partition: number; offset: number; timestamp: number; error?: undefined }
  | { partition: number; offset?: undefined; timestamp?: undefined; error: EventLogError };

export interface ProduceResult {
  topic: string;
  /** One result per record, in request order. */
  records: RecordResult[];
}

export interface ProduceLimits {
  /**
   * A writer that has not published within this time gives up instead of publishing: the
   * healer declares holes older than this aborted, and a late publish must not land inside
   * such a range. Keep it at most the produce function's timeout.
   */
  maxProduceMs: number;
  /** Records in one request. */
  maxRecords: number;
  /** Key + value + header bytes in one request (the Lambda payload limit is 6 MB). */
  maxRequestBytes: number;
}

export interface IdempotenceOptions {
  /** Kafka's `producer.id.expiration.ms`: a producer's state on a partition lives this long after its last write. */
  producerIdExpirationMs: number;
  /** A registration (POST /v1/producers) idle this long is gone; producing keeps it alive. */
  registrationExpirationMs: number;
}

export const DEFAULT_IDEMPOTENCE_OPTIONS: IdempotenceOptions = {
  producerIdExpirationMs: DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  // Kafka's transactional.id.expiration.ms.
  registrationExpirationMs: 7 * 86_400_000,
};

export const DEFAULT_PRODUCE_LIMITS: ProduceLimits = {
  maxProduceMs: 30_000,
  maxRecords: 10_000,
  maxRequestBytes: 6 * 1024 * 1024,
};

/** Per-record framing Kafka counts toward max.message.bytes beyond key, value and headers. */
const RECORD_OVERHEAD = 21;

interface PartitionBatch {
  partition: number;
  /** Indexes into the request's records, in request order. */
  members: number[];
  inputs: RecordInput[];
  bytes: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/**
 * The produce path (storage engine v2, docs/architecture.md): validate everything first,
 * encode one RecordBatch per partition, PUT them as one S3 object per commit sequence the
 * request touches (one for most topics), then reserve the commit number and every partition's
 * offsets with one atomic update of the sequence head and publish the commit with one
 * conditional put. The answer comes after the publish, the durable point.
 */
export class ProduceService {
  private readonly clock: Clock;
  private readonly limits: ProduceLimits;
  private readonly partitioner = new Partitioner();
  /** Object keys sort by this service's clock: the orphan sweep reads an object's age from its key. */
  private readonly ulid = createUlidGenerator();

  private readonly producers: ProducerStore | undefined;
  private readonly idempotence: IdempotenceOptions;

  constructor(
    private readonly topics: TopicService,
    private readonly segments: SegmentStore,
    private readonly commits: CommitLogStore,
    options: {
      clock?: Clock;
      limits?: Partial<ProduceLimits>;
      /** Idempotent produce (producer ids, Idempotency-Key) needs it. */
      producers?: ProducerStore;
      idempotence?: Partial<IdempotenceOptions>;
    } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.limits = { ...DEFAULT_PRODUCE_LIMITS, ...options.limits };
    this.producers = options.producers;
    this.idempotence = { ...DEFAULT_IDEMPOTENCE_OPTIONS, ...options.idempotence };
  }

  get maxProduceMs(): number {
    return this.limits.maxProduceMs;
  }

  async produce(request: ProduceRequest): Promise<ProduceResult> {
    // Explicit partitions past a cached count re-read the topic (partitions added elsewhere).
    const topic = await this.topics.resolve(
      request.topic,
      request.records.flatMap((r) => (r.partition === undefined ? [] : [r.partition])),
    );
    const now = this.clock.now();
    if (request.producer !== undefined || request.idempotencyKey !== undefined) {
      return this.produceIdempotent(topic, request, now);
    }
    const batches = this.plan(topic, request.records, now);
    const results = new Array<RecordResult>(request.records.length);
    const groups = bySequence(topic, batches);
    await Promise.all(
      groups.map(async ({ sequence, batches: group }) => {
        try {
          const encoded = group.map((batch) =>
            encodeRecordBatch(batch.inputs, this.encodeOptions(topic, now)),
          );
          const object = await this.uploadSegment(topic, sequence, encoded, now);
          const outcome = await this.commitOnce(
            topic,
            sequence,
            group,
            encoded,
            object,
            now,
            undefined,
            (commit) => this.commits.publish(topic.topicId, sequence, commit),
          );
          if (outcome.kind === 'written') {
            this.answerWritten(results, group, outcome.commit, topic, now);
          } else {
            // Sending this request again could write the batches twice: not retriable as such.
            for (const batch of group) failBatch(results, batch, failureOf(outcome, false));
          }
          await this.dropIfNeverPublished(object, outcome.publishSent);
        } catch (error) {
          // The upload failed: nothing was reserved. One sequence (most topics): the request
          // fails as a whole; several: only this sequence's records.
          if (groups.length === 1) throw error;
          for (const batch of group) failBatch(results, batch, toEventLogError(error));
        }
      }),
    );
    return { topic: topic.name, records: results };
  }

  /**
   * Reserves a commit in the sequence and publishes it with `publish`. When anything fails
   * after the reservation, settles the commit at once (abortOwnCommit), so that no hole
   * waits for a reader to heal it; a commit found published after all is a success.
   */
  private async commitOnce(
    topic: TopicRecord,
    sequence: number,
    batches: PartitionBatch[],
    encoded: Buffer[],
    object: string,
    start: number,
    producer: (CommitProducer & { sequences: number[] }) | undefined,
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
  private async dropIfNeverPublished(object: string, publishSent: boolean): Promise<void> {
    if (publishSent) return;
    await this.segments.delete([object]).catch(() => {});
  }

  /** One S3 object per commit: its partitions' batches back to back. */
  private async uploadSegment(
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

  /**
   * The idempotent path (docs/exactly-once.md). Per commit sequence: read the owner's state,
   * answer duplicates from the commits it names, refuse a gap or a fenced epoch, and write the
   * rest as the plain path does, except that the publish is one transaction with the state's
   * next version. The S3 upload carries only the batches to write, and there is none when all
   * are duplicates.
   */
  private async produceIdempotent(
    topic: TopicRecord,
    request: ProduceRequest,
    now: number,
  ): Promise<ProduceResult> {
    const producers = this.producers;
    if (producers === undefined) {
      throw new EventLogError('INTERNAL', 'Idempotent produce needs a producer store');
    }
    const { producer, idempotencyKey: ticket } = request;
    if (producer !== undefined && ticket !== undefined) {
      throw new EventLogError(
        'INVALID_REQUEST',
        'A produce request is idempotent by its producer id or by its Idempotency-Key, not both',
      );
    }
    const owner: ProducerOwner =
      producer !== undefined
        ? { kind: 'producer', producerId: checkProducerId(producer.producerId) }
        : { kind: 'key', id: (ticket as IdempotencyTicket).id };
    const epoch = producer?.producerEpoch ?? 0;
    if (producer !== undefined) checkKnownPartitions(request.records);
    // A retry must split the records exactly as the first attempt did: null keys are spread
    // from a start derived from the key, not from a random one.
    const partitioner =
      ticket === undefined ? this.partitioner : new Partitioner(seededRandom(ticket.id));
    const batches = this.plan(topic, request.records, now, partitioner);
    const identities = new Map<number, BatchIdentity>();
    for (const batch of batches) {
      const identity = {
        epoch,
        baseSequence: producer === undefined ? 0 : baseSequenceOf(producer, batch.partition),
        count: batch.inputs.length,
      };
      checkBatchIdentity(identity, batch.partition);
      identities.set(batch.partition, identity);
    }
    if (producer !== undefined) checkNoExtraSequences(producer, batches);

    const registration =
      producer === undefined ? undefined : await producers.registration(producer.producerId);
    if (producer !== undefined)
      await this.checkRegistration(producers, producer, registration, now);

    const results = new Array<RecordResult>(request.records.length);
    const nowSeconds = Math.floor(now / 1000);
    const expiresAt =
      ticket?.expiresAt ?? nowSeconds + Math.ceil(this.idempotence.producerIdExpirationMs / 1000);
    await Promise.all(
      bySequence(topic, batches).map(async ({ sequence, batches: group }) => {
        const stored =
          ticket?.fresh === true
            ? undefined
            : await producers.state(topic.topicId, sequence, owner);
        const live = stored === undefined || isExpired(stored, now) ? undefined : stored;
        const writes = await this.decide(
          topic,
          sequence,
          group,
          identities,
          live,
          results,
          request,
        );
        if (writes.length === 0) return;

        const encoded = writes.map((batch) =>
          encodeRecordBatch(batch.inputs, {
            ...this.encodeOptions(topic, now),
            ...(producer === undefined
              ? {}
              : {
                  producerId: producer.producerId,
                  producerEpoch: epoch,
                  baseSequence: (identities.get(batch.partition) as BatchIdentity).baseSequence,
                }),
          }),
        );
        const object = await this.uploadSegment(topic, sequence, encoded, now);
        const written = new Map(
          writes.map((b) => [b.partition, identities.get(b.partition) as BatchIdentity]),
        );
        const outcome = await this.commitOnce(
          topic,
          sequence,
          writes,
          encoded,
          object,
          now,
          {
            producerId: producer?.producerId ?? 0,
            producerEpoch: epoch,
            sequences: writes.map(
              (b) => (identities.get(b.partition) as BatchIdentity).baseSequence,
            ),
          },
          (commit) =>
            producers.publishWithState(
              topic.topicId,
              sequence,
              commit,
              owner,
              appendCommit(stored, live, epoch, written, commit.commit, expiresAt),
              // Unread (a fresh key) or not there: only "none, or expired" may be replaced.
              stored === undefined ? { absent: true, nowSeconds } : { version: stored.version },
            ),
        );
        await this.dropIfNeverPublished(object, outcome.publishSent);
        if (outcome.kind === 'written') {
          this.answerWritten(results, writes, outcome.commit, topic, now);
          return;
        }
        const { error } = outcome;
        if (error instanceof ProducerStateChanged) {
          // A concurrent duplicate (or a newer epoch) won; our commit is now an aborted marker,
          // so no hole is left. Decide again against the state that won.
          const current =
            error.current ??
            (await producers.state(topic.topicId, sequence, owner).catch(() => undefined));
          const again =
            current === undefined || isExpired(current, this.clock.now()) ? undefined : current;
          const still = await this.decide(
            topic,
            sequence,
            writes,
            identities,
            again,
            results,
            request,
          );
          for (const batch of still) {
            failBatch(
              results,
              batch,
              new EventLogError('CONFLICT', error.message, { retriable: true }),
            );
          }
        } else {
          // A retry is safe here (the state answers it), so the error stays retriable.
          for (const batch of writes) failBatch(results, batch, failureOf(outcome, true));
        }
      }),
    );
    return { topic: topic.name, records: results };
  }

  /**
   * Applies Kafka's per-partition rules to a sequence's batches: duplicates are answered from
   * the commits the state names, errors answered; returns the batches to write.
   */
  private async decide(
    topic: TopicRecord,
    sequence: number,
    batches: PartitionBatch[],
    identities: ReadonlyMap<number, BatchIdentity>,
    live: ProducerSequenceState | undefined,
    results: RecordResult[],
    request: ProduceRequest,
  ): Promise<PartitionBatch[]> {
    const check = (cached: ReadonlyMap<number, CachedBatch[]>) =>
      batches.map((batch) =>
        checkAppend(
          partitionState(live, batch.partition, cached.get(batch.partition)),
          identities.get(batch.partition) as BatchIdentity,
          batch.partition,
        ),
      );
    let checks = check(new Map());
    // Only a request that is not plainly the next one can be a duplicate: then read the
    // producer's last commits for their batches.
    if (live !== undefined && live.commits.length > 0 && checks.some((c) => c.kind !== 'append')) {
      checks = check(await this.cachedBatches(topic.topicId, sequence, live));
    }
    const writes: PartitionBatch[] = [];
    batches.forEach((batch, i) => {
      const result = checks[i];
      if (result?.kind === 'duplicate')
        this.answerFromState(results, batch, result.batch, topic, request);
      else if (result?.kind === 'error') failBatch(results, batch, result.error);
      else writes.push(batch);
    });
    return writes;
  }

  /** The batches of the producer's last commits, per partition, as Kafka's batch cache holds them. */
  private async cachedBatches(
    topicId: string,
    sequence: number,
    state: ProducerSequenceState,
  ): Promise<Map<number, CachedBatch[]>> {
    const cached = new Map<number, CachedBatch[]>();
    const commits = await Promise.all(
      state.commits.map((c) => this.commits.commit(topicId, sequence, c)),
    );
    for (const commit of commits) {
      if (commit?.kind !== 'published' || commit.producer?.producerEpoch !== state.epoch) continue;
      for (const b of commit.batches) {
        if (b.baseSequence === undefined) continue;
        const list = cached.get(b.partition) ?? [];
        list.push({
          baseSequence: b.baseSequence,
          lastSequence: lastSequenceOf(b.baseSequence, b.count),
          baseOffset: b.baseOffset,
          count: b.count,
          appendTime: commit.reservedAt,
        });
        cached.set(b.partition, list);
      }
    }
    return cached;
  }

  /** Fences older epochs and refuses ids that were never issued or have expired. */
  private async checkRegistration(
    producers: ProducerStore,
    producer: IdempotentProducer,
    registration: ProducerRegistration | undefined,
    now: number,
  ): Promise<void> {
    const nowSeconds = Math.floor(now / 1000);
    const { producerId, producerEpoch } = producer;
    if (registration === undefined || registration.expiresAt <= nowSeconds) {
      throw new EventLogError(
        'UNKNOWN_PRODUCER_ID',
        `Producer ${producerId} does not exist (never issued, or idle past its expiration); initialize it again with POST /v1/producers`,
        { details: { producerId } },
      );
    }
    if (producerEpoch < registration.epoch) {
      throw new EventLogError(
        'PRODUCER_FENCED',
        `Producer ${producerId} epoch ${producerEpoch} is fenced: the producer was initialized again (epoch ${registration.epoch})`,
        { details: { producerId, epoch: producerEpoch, currentEpoch: registration.epoch } },
      );
    }
    if (producerEpoch > registration.epoch) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Producer ${producerId} has epoch ${registration.epoch}; epoch ${producerEpoch} was never issued`,
        { details: { producerId, epoch: producerEpoch, currentEpoch: registration.epoch } },
      );
    }
    // Producing keeps a registration alive, with one write per half lifetime, not per request.
    const lifetime = Math.ceil(this.idempotence.registrationExpirationMs / 1000);
    if (registration.expiresAt - nowSeconds < lifetime / 2) {
      await producers.touch(producerId, nowSeconds + lifetime).catch(() => {});
      if (registration.name !== undefined) {
        await producers
          .bindName(registration.name, producerId, nowSeconds + lifetime, nowSeconds)
          .catch(() => {});
      }
    }
  }

  private encodeOptions(topic: TopicRecord, appendTime: number): EncodeOptions {
    return {
      compression: topic.config.compression,
      timestampType: topic.config.timestampType,
      ...(topic.config.timestampType === 'LogAppendTime' ? { logAppendTime: appendTime } : {}),
    };
  }

  private answerWritten(
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
            topic.config.timestampType === 'LogAppendTime'
              ? appendTime
              : (input.timestamp as number),
        };
      });
    }
  }

  /** A duplicate's answer: the offsets and timestamps its first write got. */
  private answerFromState(
    results: RecordResult[],
    batch: PartitionBatch,
    written: CachedBatch,
    topic: TopicRecord,
    request: ProduceRequest,
  ): void {
    batch.members.forEach((member, j) => {
      const explicit = request.records[member]?.timestamp;
      results[member] = {
        partition: batch.partition,
        offset: written.baseOffset + j,
        timestamp:
          topic.config.timestampType === 'LogAppendTime' || explicit === undefined
            ? written.appendTime
            : explicit,
      };
    });
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

  /** Validates the whole request and groups it by partition; throws before any write. */
  private plan(
    topic: TopicRecord,
    records: ProduceRecord[],
    now: number,
    partitioner: Partitioner = this.partitioner,
  ): PartitionBatch[] {
    if (records.length === 0) {
      throw new EventLogError('INVALID_REQUEST', 'A produce request needs at least one record');
    }
    if (records.length > this.limits.maxRecords) {
      throw new EventLogError(
        'REQUEST_TOO_LARGE',
        `A produce request carries at most ${this.limits.maxRecords} records; this one has ${records.length}`,
        { details: { limit: this.limits.maxRecords, records: records.length } },
      );
    }
    const byPartition = new Map<number, PartitionBatch>();
    let total = 0;
    records.forEach((record, i) => {
      checkHeaderNames(record, i);
      const size = recordSize(record);
      total += size;
      checkRecordSize(topic.config, size, i);
      const partition = this.partitionOf(topic, record, i, partitioner);
      const timestamp = record.timestamp ?? now;
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
        throw new EventLogError(
          'INVALID_REQUEST',
          `Record ${i}: timestamp must be a non-negative integer of milliseconds`,
          { details: { record: i } },
        );
      }
      let batch = byPartition.get(partition);
      if (batch === undefined) {
        batch = {
          partition,
          members: [],
          inputs: [],
          bytes: 0,
          minTimestamp: timestamp,
          maxTimestamp: timestamp,
        };
        byPartition.set(partition, batch);
      }
      batch.members.push(i);
      batch.inputs.push({
        key: record.key ?? null,
        value: record.value ?? null,
        headers: record.headers ?? [],
        timestamp,
      });
      batch.bytes += size;
      batch.minTimestamp = Math.min(batch.minTimestamp, timestamp);
      batch.maxTimestamp = Math.max(batch.maxTimestamp, timestamp);
    });
    if (total > this.limits.maxRequestBytes) {
      throw new EventLogError(
        'REQUEST_TOO_LARGE',
        `A produce request carries at most ${this.limits.maxRequestBytes} bytes of records; this one has ${total}`,
        { details: { limit: this.limits.maxRequestBytes, bytes: total } },
      );
    }
    return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
  }

  private partitionOf(
    topic: TopicRecord,
    record: ProduceRecord,
    index: number,
    partitioner: Partitioner,
  ): number {
    if (record.partition !== undefined) {
      if (
        !Number.isInteger(record.partition) ||
        record.partition < 0 ||
        record.partition >= topic.partitions
      ) {
        throw new EventLogError(
          'UNKNOWN_PARTITION',
          `Record ${index}: topic "${topic.name}" has partitions 0-${topic.partitions - 1}; there is no partition ${record.partition}`,
          { details: { record: index, partition: record.partition, partitions: topic.partitions } },
        );
      }
      return record.partition;
    }
    return partitioner.partition(record.key ?? null, topic.partitions);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A header name is a Kafka string, UTF-8 on the wire: an unpaired UTF-16 surrogate cannot be
 * encoded and Buffer would store U+FFFD in its place, a different name than the one sent.
 * Checked here, once, so every route that produces (ours, v3, the SDK) refuses it alike.
 */
function checkHeaderNames(record: ProduceRecord, index: number): void {
  for (const header of record.headers ?? []) {
    if (typeof header.key !== 'string' || LONE_SURROGATE.test(header.key)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Record ${index}: a header name contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode`,
        { details: { record: index, field: 'header' } },
      );
    }
  }
}

export function recordSize(record: ProduceRecord): number {
  let size = RECORD_OVERHEAD + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers ?? []) {
    size += Buffer.byteLength(header.key) + (header.value?.byteLength ?? 0) + 2;
  }
  return size;
}

function checkRecordSize(config: TopicConfig, size: number, index: number): void {
  if (size > config.maxMessageBytes) {
    throw new EventLogError(
      'RECORD_TOO_LARGE',
      `Record ${index} is ${size} bytes; the topic's max.message.bytes is ${config.maxMessageBytes}`,
      { details: { record: index, size, limit: config.maxMessageBytes } },
    );
  }
}

function failBatch(results: RecordResult[], batch: PartitionBatch, error: EventLogError): void {
  for (const member of batch.members) results[member] = { partition: batch.partition, error };
}

function checkProducerId(producerId: number): number {
  if (!Number.isSafeInteger(producerId) || producerId < 0) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `producerId must be a non-negative integer, got ${producerId}`,
    );
  }
  return producerId;
}

/** Sequences are per partition, so the producer must know where each record goes. */
function checkKnownPartitions(records: ProduceRecord[]): void {
  records.forEach((record, i) => {
    if (record.partition === undefined && (record.key === undefined || record.key === null)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Record ${i}: an idempotent producer numbers batches per partition, so each record needs a partition or a key`,
        { details: { record: i } },
      );
    }
  });
}

function baseSequenceOf(producer: IdempotentProducer, partition: number): number {
  const sequence = producer.baseSequences[partition];
  if (sequence === undefined) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `Records go to partition ${partition}, but the request has no baseSequence for it`,
      { details: { partition } },
    );
  }
  return sequence;
}

function checkNoExtraSequences(producer: IdempotentProducer, batches: PartitionBatch[]): void {
  const written = new Set(batches.map((b) => b.partition));
  for (const key of Object.keys(producer.baseSequences)) {
    if (!written.has(Number(key))) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `The request has a baseSequence for partition ${key} but no record goes there`,
        { details: { partition: Number(key) } },
      );
    }
  }
}

/** A deterministic stream in [0, 1) from a hex hash: the same key spreads records the same way. */
function seededRandom(hex: string): () => number {
  const seed = Number.parseInt(hex.slice(0, 8), 16);
  return () => (Number.isNaN(seed) ? 0 : seed) / 0x100000000;
}

/** How commitOnce ended. */
type CommitOutcome =
  | { kind: 'written'; commit: PublishedCommit; publishSent: boolean }
  | { kind: 'failed'; error: unknown; settled: 'aborted' | 'unknown'; publishSent: boolean };

/** The error a failed partition answers: "outcome unknown" once a publish went out unsettled. */
function failureOf(
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

/** The request's batches grouped by the commit sequence of their partition. */
function bySequence(
  topic: TopicRecord,
  batches: PartitionBatch[],
): { sequence: number; batches: PartitionBatch[] }[] {
  const groups = new Map<number, PartitionBatch[]>();
  for (const batch of batches) {
    const sequence = sequenceOf(batch.partition, topic.sequences);
    groups.set(sequence, [...(groups.get(sequence) ?? []), batch]);
  }
  return [...groups.entries()].map(([sequence, group]) => ({ sequence, batches: group }));
}

/** The commit of a reservation: each batch's range in the object, base offsets from the vector. */
function commitFor(
  reservation: Reservation,
  batches: PartitionBatch[],
  encoded: Buffer[],
  object: string,
  reservedAt: number,
  producer: (CommitProducer & { sequences: number[] }) | undefined,
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
