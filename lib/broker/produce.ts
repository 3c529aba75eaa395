import { toEventLogError } from '../log/errors.js';
import { Partitioner } from '../log/partitioner.js';
import { encodeRecordBatch } from '../log/record-batch.js';
import type { CommitLogStore } from '../store/commit-log-store.js';
import type { ProducerStore } from '../store/producer-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import { type Clock, systemClock } from './clock.js';
import { answerWritten, CommitWriter, encodeOptions, failureOf } from './produce-commit.js';
import { IdempotentProducePath } from './produce-idempotent.js';
import { bySequence, failBatch, planBatches } from './produce-plan.js';
import {
  DEFAULT_IDEMPOTENCE_OPTIONS,
  DEFAULT_PRODUCE_LIMITS,
  type IdempotenceOptions,
  type ProduceLimits,
  type ProduceRequest,
  type ProduceResult,
  type RecordResult,
} from './produce-types.js';
import type { TopicService } from './topics.js';

// The produce path is made of these files; their names stay importable from here.
export { recordSize } from './produce-plan.js';
export {
  DEFAULT_IDEMPOTENCE_OPTIONS,
  DEFAULT_PRODUCE_LIMITS,
  type IdempotenceOptions,
  type IdempotencyTicket,
  type IdempotentProducer,
  type ProduceLimits,
  type ProduceRecord,
  type ProduceRequest,
  type ProduceResult,
  type RecordResult,
} from './produce-types.js';

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
  private readonly writer: CommitWriter;
  private readonly idempotent: IdempotentProducePath;

  constructor(
    private readonly topics: TopicService,
    segments: SegmentStore,
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
    const idempotence: IdempotenceOptions = {
      ...DEFAULT_IDEMPOTENCE_OPTIONS,
      ...options.idempotence,
    };
    this.writer = new CommitWriter(segments, this.commits, this.clock, this.limits);
    this.idempotent = new IdempotentProducePath(
      this.writer,
      commits,
      options.producers,
      this.clock,
      this.limits,
      idempotence,
      this.partitioner,
    );
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
      return this.idempotent.produce(topic, request, now);
    }
    const batches = planBatches(topic, request.records, now, this.limits, this.partitioner);
    const results = new Array<RecordResult>(request.records.length);
    const groups = bySequence(topic, batches);
    await Promise.all(
      groups.map(async ({ sequence, batches: group }) => {
        try {
          const encoded = group.map((batch) =>
            encodeRecordBatch(batch.inputs, encodeOptions(topic, now)),
          );
          const object = await this.writer.uploadSegment(topic, sequence, encoded, now);
          const outcome = await this.writer.commitOnce(
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
            answerWritten(results, group, outcome.commit, topic, now);
          } else {
            // Sending this request again could write the batches twice: not retriable as such.
            for (const batch of group) failBatch(results, batch, failureOf(outcome, false));
          }
          await this.writer.dropIfNeverPublished(object, outcome.publishSent);
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
}
