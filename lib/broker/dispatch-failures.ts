import { createHash, randomUUID } from 'node:crypto';
import { EventLogError } from '../log/errors.js';
import { buildEvent, envelopeSize } from '../log/lambda-kafka-event.js';
import {
  buildInvocationRecord,
  type FailureRecordInput,
  qualifiedFunctionArn,
} from '../log/on-failure-record.js';
import {
  type AwsDestination,
  parseDestination,
  type S3Destination,
} from '../log/subscription-config.js';
import type {
  DispatchContext,
  FailureRange,
  GiveUp,
  Item,
  PartitionWork,
} from './dispatch-types.js';
import { type ProduceRecord, recordSize } from './produce.js';
import { sendToS3Destination, subscriptionId } from './s3-destination.js';

/**
 * The dispatcher's on-failure destinations (docs/lambda-consumers.md): where records go that
 * leave a partition without a successful invocation (a dead-letter topic, an SQS queue, an SNS
 * topic, an S3 bucket), and the notices of records retention deleted before delivery. A send
 * that fails throws: nothing is committed past records their destination does not have.
 */

/** Headers a dead-lettered record carries on top of its own. */
export const FAILURE_HEADERS = {
  condition: 'eventlog.failure.condition',
  reason: 'eventlog.failure.reason',
  error: 'eventlog.failure.error',
  attempts: 'eventlog.failure.attempts',
  topic: 'eventlog.source.topic',
  partition: 'eventlog.source.partition',
  offset: 'eventlog.source.offset',
  /** Only on a RecordExpired notice, which stands for a range: its last offset. */
  lastOffset: 'eventlog.source.last-offset',
  timestamp: 'eventlog.source.timestamp',
  /**
   * On a record too large for the dead-letter topic with the failure headers added: why its
   * key, value and headers are not there. Lambda does the same when a record cannot reach an
   * on-failure destination: it sends the invocation record, the record's coordinates only.
   */
  omitted: 'eventlog.failure.omitted',
  subscription: 'eventlog.subscription',
  group: 'eventlog.group',
  function: 'eventlog.function',
} as const;

/** Dead-lettered records per produce request, well inside its 10000 records and 6 MB. */
const DLQ_CHUNK_RECORDS = 500;
const DLQ_CHUNK_BYTES = 3 * 1024 * 1024;

export class FailureDestinations {
  constructor(private readonly ctx: DispatchContext) {}

  /** Records that leave the partition without a successful invocation. */
  async giveUp(
    work: PartitionWork,
    items: Item[],
    why: GiveUp,
    onSent: (sent: Item[]) => Promise<void> = async () => {},
  ): Promise<void> {
    const { config, topic, partition, report } = work;
    if (why.condition === 'RecordAgeExceeded') report.expired += items.length;
    const first = items[0]?.record.offset;
    const last = items[items.length - 1]?.record.offset;
    const destination = config.destinationConfig?.onFailure.destination;
    if (destination === undefined) {
      report.dropped += items.length;
      this.ctx.log(
        `dispatcher: ${config.name} DROPPED ${items.length} record(s) of ${topic.name}/${partition} (offsets ${first}-${last}): ${why.condition}, ${why.reason}${why.lastError === '' ? '' : `; last error: ${why.lastError}`}. Set destinationConfig.onFailure to keep them.`,
      );
      return;
    }
    const parsed = parseDestination(destination);
    if (parsed.kind === 'topic') {
      // The time of the failure: the original time is in a header, and the dead-letter
      // topic's own retention and age limits count from now.
      const now = this.ctx.clock.now();
      const limit = (await this.ctx.deps.topics.get(parsed.topic)).config.maxMessageBytes;
      await this.produceToDeadLetterTopic(
        parsed.topic,
        items.map((item) => ({ item, record: this.deadLetterRecord(work, why, item, now, limit) })),
        onSent,
      );
    } else {
      const envelope = envelopeSize(this.ctx.options.bootstrapServers, topic.name, partition);
      // One message per run of consecutive offsets: an invocation record describes a range.
      for (const run of consecutiveRuns(items)) {
        const head = run[0] as Item;
        const tail = run[run.length - 1] as Item;
        const range = {
          firstOffset: head.record.offset,
          lastOffset: tail.record.offset,
          firstTimestamp: head.record.timestamp,
          lastTimestamp: tail.record.timestamp,
          payloadSize: run.reduce((n, i) => n + i.size + 1, envelope),
        };
        if (parsed.kind === 's3') {
          const payload = buildEvent(
            this.ctx.options.bootstrapServers,
            topic.name,
            partition,
            run.map((i) => i.event),
          );
          await this.sendToS3(work, parsed, why, range, payload);
        } else {
          await this.sendToAwsDestination(work, parsed, why, range);
        }
        await onSent(run);
      }
    }
    report.deadLettered += items.length;
    this.ctx.log(
      `dispatcher: ${config.name} sent ${items.length} record(s) of ${topic.name}/${partition} (offsets ${first}-${last}) to ${destination}: ${why.condition}, ${why.reason}`,
    );
  }

  /**
   * Records retention deleted before they were delivered (offsets `from` to `to`): the
   * destination hears of the range, since nothing else can tell it. Without a destination,
   * the log line is all there is.
   */
  async reportLost(work: PartitionWork, from: number, to: number): Promise<void> {
    const { config, topic, partition } = work;
    work.report.expired += to - from + 1;
    const destination = config.destinationConfig?.onFailure.destination;
    const what = `offsets ${from}-${to} of ${topic.name}/${partition} were deleted by retention before delivery`;
    if (destination === undefined) {
      this.ctx.log(`dispatcher: ${config.name} ${what}; going on from ${to + 1}`);
      return;
    }
    const why: GiveUp = {
      condition: 'RecordExpired',
      reason: `${what} (retention.ms ${topic.config.retentionMs}, retention.bytes ${topic.config.retentionBytes})`,
      attempts: 0,
      lastError: '',
    };
    const parsed = parseDestination(destination);
    if (parsed.kind === 'topic') {
      // No key and no value: the records are gone; the headers name the range.
      await this.produceToDeadLetterTopic(parsed.topic, [
        {
          record: {
            key: null,
            value: null,
            headers: [
              ...this.failureHeaders(work, why),
              { key: FAILURE_HEADERS.offset, value: headerText(from) },
              { key: FAILURE_HEADERS.lastOffset, value: headerText(to) },
            ],
            timestamp: this.ctx.clock.now(),
          },
        },
      ]);
    } else if (parsed.kind === 's3') {
      await this.sendToS3(work, parsed, why, { firstOffset: from, lastOffset: to });
    } else {
      await this.sendToAwsDestination(work, parsed, why, { firstOffset: from, lastOffset: to });
    }
    this.ctx.log(
      `dispatcher: ${config.name} ${what}; told ${destination} (RecordExpired) and going on from ${to + 1}`,
    );
  }

  /**
   * A failed record as written to a dead-letter topic: the record with the failure headers, or,
   * when that would pass the dead-letter topic's max.message.bytes (a record near the limit plus
   * ~400 bytes of headers and up to 1,000 characters of error), its coordinates without key,
   * value or its own headers. That is Lambda's documented behaviour for Kafka event sources:
   * what reaches an on-failure destination is the invocation record, naming the batch's topic,
   * partition and offsets, and the record is read from there while retention keeps it. Without
   * it the write failed with RECORD_TOO_LARGE on every run and the partition never moved on.
   */
  private deadLetterRecord(
    work: PartitionWork,
    why: GiveUp,
    { record }: Item,
    now: number,
    limit: number,
  ): ProduceRecord {
    const coordinates = [
      { key: FAILURE_HEADERS.offset, value: headerText(record.offset) },
      { key: FAILURE_HEADERS.timestamp, value: headerText(record.timestamp) },
    ];
    const whole: ProduceRecord = {
      key: record.key,
      value: record.value,
      headers: [...record.headers, ...this.failureHeaders(work, why), ...coordinates],
      timestamp: now,
    };
    const size = recordSize(whole);
    if (size <= limit) return whole;
    const omitted = {
      key: FAILURE_HEADERS.omitted,
      value: headerText(
        `key, value and headers: ${size} bytes with the failure headers; the on-failure topic's max.message.bytes is ${limit}. Read the record at ${work.topic.name}/${work.partition} offset ${record.offset} while retention keeps it`,
      ),
    };
    const substitute: ProduceRecord = {
      key: null,
      value: null,
      headers: [...this.failureHeaders(work, why), ...coordinates, omitted],
      timestamp: now,
    };
    if (recordSize(substitute) <= limit) return substitute;
    // A dead-letter topic with a tiny limit: the coordinates alone, which fit any sane one.
    return {
      key: null,
      value: null,
      headers: [
        { key: FAILURE_HEADERS.condition, value: headerText(why.condition) },
        { key: FAILURE_HEADERS.topic, value: headerText(work.topic.name) },
        { key: FAILURE_HEADERS.partition, value: headerText(work.partition) },
        ...coordinates,
      ],
      timestamp: now,
    };
  }

  /** The headers every record written to a dead-letter topic carries, after its own. */
  private failureHeaders(work: PartitionWork, why: GiveUp): { key: string; value: Buffer }[] {
    const { config, topic, partition } = work;
    return [
      { key: FAILURE_HEADERS.condition, value: headerText(why.condition) },
      { key: FAILURE_HEADERS.reason, value: headerText(why.reason) },
      ...(why.lastError === ''
        ? []
        : [{ key: FAILURE_HEADERS.error, value: headerText(why.lastError) }]),
      { key: FAILURE_HEADERS.attempts, value: headerText(why.attempts) },
      { key: FAILURE_HEADERS.topic, value: headerText(topic.name) },
      { key: FAILURE_HEADERS.partition, value: headerText(partition) },
      { key: FAILURE_HEADERS.subscription, value: headerText(config.name) },
      { key: FAILURE_HEADERS.group, value: headerText(config.group) },
      { key: FAILURE_HEADERS.function, value: headerText(config.functionName) },
    ];
  }

  /**
   * Writes in chunks, and reports each written chunk (onSent commits past it): when a later
   * chunk fails, the next run starts after the chunks already written instead of sending them
   * again.
   */
  private async produceToDeadLetterTopic(
    topic: string,
    entries: { item?: Item; record: ProduceRecord }[],
    onSent: (sent: Item[]) => Promise<void> = async () => {},
  ): Promise<void> {
    for (const chunk of chunks(entries)) {
      const result = await this.ctx.deps.produce.produce({
        topic,
        records: chunk.map((e) => e.record),
      });
      const failed = result.records.find((r) => r.error !== undefined);
      if (failed?.error !== undefined) {
        throw new EventLogError(
          'STORAGE_UNAVAILABLE',
          `Writing to the on-failure topic ${topic} failed (${failed.error.message}); the records stay in place`,
          { cause: failed.error, retriable: true },
        );
      }
      await onSent(chunk.flatMap((e) => (e.item === undefined ? [] : [e.item])));
    }
  }

  /** One invocation record to an SQS queue or SNS topic; throws (records stay) when not accepted. */
  private async sendToAwsDestination(
    work: PartitionWork,
    destination: AwsDestination,
    why: GiveUp,
    range: FailureRange,
  ): Promise<void> {
    const { config, topic, partition } = work;
    const sender = this.ctx.deps.destinations;
    if (sender === undefined) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `This dispatcher was built without SQS and SNS destinations, so it cannot send to ${destination.arn}; the records stay in place`,
        { retriable: true },
      );
    }
    const body = buildInvocationRecord(this.failureRecord(work, why, range));
    await sender.send(destination, {
      body,
      groupId: fifoId(`${topic.name}-${partition}`),
      // The same records given up on for the same reason: a resend after a lost answer.
      deduplicationId: fifoId(
        [
          config.name,
          topic.name,
          partition,
          range.firstOffset,
          range.lastOffset,
          why.condition,
        ].join('\n'),
        true,
      ),
    });
  }

  /** One invocation record with the batch's payload to an S3 bucket; throws (records stay) when not stored. */
  private async sendToS3(
    work: PartitionWork,
    destination: S3Destination,
    why: GiveUp,
    range: FailureRange,
    payload?: unknown,
  ): Promise<void> {
    await sendToS3Destination(this.ctx.deps.s3Destinations, destination, {
      subscriptionId: subscriptionId(work.config.name, work.sub.createdAt),
      record: this.failureRecord(work, why, range),
      ...(payload === undefined ? {} : { payload }),
    });
  }

  /** What an invocation record says of records given up on (lib/log/on-failure-record.ts). */
  private failureRecord(work: PartitionWork, why: GiveUp, range: FailureRange): FailureRecordInput {
    const { config, topic, partition } = work;
    const functionArn = qualifiedFunctionArn(config.functionName, work.run.ownArn);
    return {
      condition: why.condition,
      requestId: randomUUID(),
      functionName: config.functionName,
      ...(functionArn === undefined ? {} : { functionArn }),
      approximateInvokeCount: why.attempts,
      ...(why.response === undefined ? {} : { response: why.response }),
      timestamp: this.ctx.clock.now(),
      bootstrapServers: this.ctx.options.bootstrapServers,
      subscription: config.name,
      group: config.group,
      topic: topic.name,
      partition,
      ...range,
      reason: why.reason,
      lastError: why.lastError,
    };
  }
}

/** Items split where their offsets stop being consecutive. */
function consecutiveRuns(items: Item[]): Item[][] {
  const runs: Item[][] = [];
  for (const item of items) {
    const run = runs.at(-1);
    const last = run?.at(-1);
    if (run !== undefined && last !== undefined && item.record.offset === last.record.offset + 1) {
      run.push(item);
    } else {
      runs.push([item]);
    }
  }
  return runs;
}

/**
 * A FIFO message group or deduplication id: SQS and SNS take at most 128 characters (the
 * group's may be a topic-partition name; longer ones, and every deduplication id, are hashed).
 */
function fifoId(text: string, hash = false): string {
  return hash || text.length > 128 ? createHash('sha256').update(text).digest('hex') : text;
}

function* chunks<T extends { record: ProduceRecord }>(entries: T[]): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = recordSize(entry.record);
    if (chunk.length > 0 && (chunk.length >= DLQ_CHUNK_RECORDS || bytes + size > DLQ_CHUNK_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(entry);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** A dead-letter header's value: the text of a string or number, UTF-8. */
function headerText(value: string | number): Buffer {
  return Buffer.from(String(value), 'utf8');
}
