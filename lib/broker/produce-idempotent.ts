import type { PublishedCommit } from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import { Partitioner } from '../log/partitioner.js';
import {
  appendCommit,
  type BatchIdentity,
  type CachedBatch,
  checkAppend,
  checkBatchIdentity,
  isExpired,
  lastSequenceOf,
  type ProducerSequenceState,
  partitionState,
} from '../log/producer-state.js';
import { encodeRecordBatch } from '../log/record-batch.js';
import type { CommitLogStore } from '../store/commit-log-store.js';
import {
  type ProducerOwner,
  type ProducerRegistration,
  ProducerStateChanged,
  type ProducerStore,
} from '../store/producer-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import {
  answerWritten,
  type CommitOutcome,
  type CommitWriter,
  encodeOptions,
  failureOf,
} from './produce-commit.js';
import { bySequence, failBatch, type PartitionBatch, planBatches } from './produce-plan.js';
import type {
  IdempotenceOptions,
  IdempotencyTicket,
  IdempotentProducer,
  ProduceLimits,
  ProduceRecord,
  ProduceRequest,
  ProduceResult,
  RecordResult,
} from './produce-types.js';

/** One idempotent request, as every commit sequence it touches sees it. */
interface IdempotentWrite {
  topic: TopicRecord;
  request: ProduceRequest;
  producers: ProducerStore;
  owner: ProducerOwner;
  producer: IdempotentProducer | undefined;
  ticket: IdempotencyTicket | undefined;
  epoch: number;
  identities: ReadonlyMap<number, BatchIdentity>;
  now: number;
  nowSeconds: number;
  /** Epoch seconds the owner's state lives until. */
  expiresAt: number;
  results: RecordResult[];
}

/**
 * The idempotent path (docs/exactly-once.md). Per commit sequence: read the owner's state,
 * answer duplicates from the commits it names, refuse a gap or a fenced epoch, and write the
 * rest as the plain path does, except that the publish is one transaction with the state's
 * next version. The S3 upload carries only the batches to write, and there is none when all
 * are duplicates.
 */
export class IdempotentProducePath {
  constructor(
    private readonly writer: CommitWriter,
    private readonly commits: CommitLogStore,
    private readonly producers: ProducerStore | undefined,
    private readonly clock: Clock,
    private readonly limits: ProduceLimits,
    private readonly idempotence: IdempotenceOptions,
    private readonly partitioner: Partitioner,
  ) {}

  async produce(topic: TopicRecord, request: ProduceRequest, now: number): Promise<ProduceResult> {
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
    const batches = planBatches(topic, request.records, now, this.limits, partitioner);
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
    const write: IdempotentWrite = {
      topic,
      request,
      producers,
      owner,
      producer,
      ticket,
      epoch,
      identities,
      now,
      nowSeconds,
      expiresAt,
      results,
    };
    await Promise.all(
      bySequence(topic, batches).map(({ sequence, batches: group }) =>
        this.writeSequence(write, sequence, group),
      ),
    );
    return { topic: topic.name, records: results };
  }

  /** One commit sequence of the request: duplicates answered, the rest written with the state. */
  private async writeSequence(
    write: IdempotentWrite,
    sequence: number,
    group: PartitionBatch[],
  ): Promise<void> {
    const { topic, request, producers, owner, producer, ticket, epoch, identities, now } = write;
    const { nowSeconds, expiresAt, results } = write;
    const stored =
      ticket?.fresh === true ? undefined : await producers.state(topic.topicId, sequence, owner);
    const live = stored === undefined || isExpired(stored, now) ? undefined : stored;
    const writes = await this.decide(topic, sequence, group, identities, live, results, request);
    if (writes.length === 0) return;

    const encoded = writes.map((batch) =>
      encodeRecordBatch(batch.inputs, {
        ...encodeOptions(topic, now),
        ...(producer === undefined
          ? {}
          : {
              producerId: producer.producerId,
              producerEpoch: epoch,
              baseSequence: (identities.get(batch.partition) as BatchIdentity).baseSequence,
            }),
      }),
    );
    const object = await this.writer.uploadSegment(topic, sequence, encoded, now);
    const written = new Map(
      writes.map((b) => [b.partition, identities.get(b.partition) as BatchIdentity]),
    );
    const outcome = await this.writer.commitOnce(
      topic,
      sequence,
      writes,
      encoded,
      object,
      now,
      {
        producerId: producer?.producerId ?? 0,
        producerEpoch: epoch,
        sequences: writes.map((b) => (identities.get(b.partition) as BatchIdentity).baseSequence),
      },
      (commit: PublishedCommit) =>
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
    await this.writer.dropIfNeverPublished(object, outcome.publishSent);
    if (outcome.kind === 'written') {
      answerWritten(results, writes, outcome.commit, topic, now);
      return;
    }
    await this.answerFailure(write, sequence, writes, outcome);
  }

  /** The batches of a sequence whose commit failed: decided again when another state won. */
  private async answerFailure(
    write: IdempotentWrite,
    sequence: number,
    writes: PartitionBatch[],
    outcome: Extract<CommitOutcome, { kind: 'failed' }>,
  ): Promise<void> {
    const { topic, request, producers, owner, identities, results } = write;
    const { error } = outcome;
    if (error instanceof ProducerStateChanged) {
      // A concurrent duplicate (or a newer epoch) won; our commit is now an aborted marker,
      // so no hole is left. Decide again against the state that won.
      const current =
        error.current ??
        (await producers.state(topic.topicId, sequence, owner).catch(() => undefined));
      const again =
        current === undefined || isExpired(current, this.clock.now()) ? undefined : current;
      const still = await this.decide(topic, sequence, writes, identities, again, results, request);
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
        answerFromState(results, batch, result.batch, topic, request);
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
}

/** A duplicate's answer: the offsets and timestamps its first write got. */
function answerFromState(
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
