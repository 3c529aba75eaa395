import { createHash, randomUUID } from 'node:crypto';
import { EventLogError, isEventLogError, toEventLogError } from '../log/errors.js';
import { compileFilterCriteria } from '../log/filter-pattern.js';
import {
  buildEvent,
  encodedRecordSize,
  envelopeSize,
  type KafkaEventRecord,
  LAMBDA_SYNC_PAYLOAD_LIMIT,
  readBatchResponse,
  toEventRecord,
} from '../log/lambda-kafka-event.js';
import {
  buildInvocationRecord,
  type FailureCondition,
  type FailureRecordInput,
  type InvocationResponse,
  qualifiedFunctionArn,
} from '../log/on-failure-record.js';
import {
  type AwsDestination,
  effectiveRetries,
  parseDestination,
  retentionGiveUpAgeMs,
  retentionSafetyMarginMs,
  type S3Destination,
  type SubscriptionConfig,
} from '../log/subscription-config.js';
import type { FailureDestinationStore } from '../store/failure-destination-store.js';
import type { FunctionInvoker } from '../store/function-invoker.js';
import type { S3FailureDestinationStore } from '../store/s3-destination-store.js';
import type { RetryState, StoredSubscription } from '../store/subscription-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Broker } from './broker.js';
import { type Clock, systemClock } from './clock.js';
import { emitDispatchMetrics } from './consumer-metrics.js';
import { FETCH_LIMITS, type FetchedRecord, type FetchService } from './fetch.js';
import type { AssignedPartition, GroupService } from './groups.js';
import { leaseKey } from './lease-balancer.js';
import { mapLimited } from './map-limited.js';
import type { MetricsEmitter } from './metrics.js';
import type { OffsetService } from './offsets.js';
import { type ProduceRecord, type ProduceService, recordSize } from './produce.js';
import { sendToS3Destination, subscriptionId } from './s3-destination.js';
import type { SubscriptionService } from './subscriptions.js';
import type { TopicService } from './topics.js';

/**
 * The dispatcher of Lambda consumers (docs/lambda-consumers.md): Lambda's event source mapping
 * for Kafka, rebuilt over this log. For each enabled subscription and each partition with
 * records past the group's committed offset, it takes the group's lease of the partition,
 * sends batches in offset order to the function (synchronously, Lambda's self-managed Kafka
 * event), commits after each success, and gives the lease back.
 *
 * Order and exclusivity: per partition, one batch at a time, each only after the previous one
 * was committed (or given up on); partitions run in parallel. Only the lease holder delivers,
 * and its commits are fenced by the lease counter, so two dispatchers racing on a partition
 * deliver each batch once (at least once across crashes, as Lambda does).
 *
 * Nothing is skipped silently: records leave the partition only by a successful invocation, by
 * the on-failure destination (with the reason), or, without a destination, dropped after the
 * retries with a log line; a failure of the destination itself stops the partition. Records
 * that retention deleted before delivery are reported to the destination as a range.
 *
 * No record is stranded either: a notification that finds the lease held does nothing, so the
 * holder re-reads the high watermark before it lets go and again after, and goes on while
 * records keep coming (the second look covers a commit that landed between the two).
 */

export interface DispatcherOptions {
  /** Ages of records (maximumRecordAgeInSeconds) and times in the stored retry state. */
  clock?: Clock;
  /** Sleeps of backoffs and batching windows; resolves early when the dispatcher closes. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** `bootstrapServers` of the event: this log's address as host:port. */
  bootstrapServers?: string;
  /** Partitions worked on at once. @default 32 */
  concurrency?: number;
  /** No new batch starts this long after a run began; the next run carries on. @default 60000 */
  workBudgetMs?: number;
  /**
   * The dispatcher's member session in the group: a dispatcher that dies frees its partitions
   * after this long. Renewed every third of it while a run holds leases. @default 30000
   */
  sessionTimeoutMs?: number;
  /** Backoff between attempts of a failing batch: base * 2^(n-1), capped. @default 500 / 30000 */
  backoff?: { baseMs: number; maxMs: number };
  /** How often a batching window looks for more records. @default 100 */
  pollIntervalMs?: number;
  /**
   * Where notify() reaches the dispatcher (the local server, in process): how long a caught-up
   * partition keeps its lease waiting for the next notification, which then goes out without
   * a new take, release and look. Useless where nothing calls notify() (AWS). @default 0
   */
  lingerMs?: number;
  /** Largest request payload. @default Lambda's 6 MB */
  maxPayloadBytes?: number;
  /** This dispatcher's member id in the groups. @default dispatcher-{uuid} */
  memberId?: string;
  /**
   * How long a run may reuse the subscription list the previous run read: at a produce's
   * pace, a Query per notification adds up. Changes show after at most this long. @default 1000
   */
  subscriptionCacheMs?: number;
  /** Dropped records, dead-lettered records, failing batches. @default console.log */
  log?: (message: string) => void;
  /** Per-subscription EMF metrics of each run (lib/broker/consumer-metrics.ts). */
  metrics?: MetricsEmitter;
}

export interface DispatchRequest {
  /** Only this topic's subscriptions (a produce notification). */
  topic?: string;
  /** Only these partitions (a produce notification: the ones just written). */
  partitions?: readonly number[];
  /** Only this subscription. */
  subscription?: string;
  /** Epoch ms after which nothing may run any more (the Lambda's own timeout). */
  deadline?: number;
  /**
   * The dispatcher's own function ARN (the Lambda context's invokedFunctionArn): completes
   * the ARN of a consumer function configured by name in on-failure records.
   */
  ownArn?: string;
}

export type PartitionOutcome =
  /** Batches were delivered (or given up on) and committed. */
  | 'delivered'
  /** Nothing past the committed offset. */
  | 'idle'
  /** Another dispatcher (or run) holds the partition. */
  | 'held'
  /** Records are still failing; the next run retries them. */
  | 'retrying'
  /** The lease was lost or a step failed; the next run carries on from the committed offset. */
  | 'stopped';

export interface PartitionReport {
  subscription: string;
  topic: string;
  partition: number;
  outcome: PartitionOutcome;
  invocations: number;
  /** Records delivered by successful invocations. */
  delivered: number;
  /** Records sent to the on-failure destination. */
  deadLettered: number;
  /** Records given up on without a destination. */
  dropped: number;
  /** Attempts that ended in a function error or timeout (metrics). */
  functionErrors: number;
  /** Invocations that sent records again after a failed attempt (metrics). */
  retries: number;
  /** Records given up on for their age, or deleted by retention before delivery (metrics). */
  expired: number;
  /** Records the subscription's filterCriteria left out: committed without an invocation. */
  filtered: number;
  /** The committed offset at the end. */
  committed?: number;
  error?: string;
}

export interface DispatchReport {
  startedAt: number;
  ms: number;
  partitions: PartitionReport[];
  /** Subscriptions that could not run at all (their topic is gone, ...). */
  errors: { subscription: string; error: string }[];
}

export interface DispatcherDeps {
  subscriptions: SubscriptionService;
  topics: TopicService;
  groups: GroupService;
  fetch: FetchService;
  offsets: OffsetService;
  produce: ProduceService;
  invoker: FunctionInvoker;
  /** SQS and SNS on-failure destinations; without it, records bound there stay in place. */
  destinations?: FailureDestinationStore;
  /** S3 bucket on-failure destinations. */
  s3Destinations?: S3FailureDestinationStore;
}

const DEFAULTS = {
  bootstrapServers: 'eventlog.local:9092',
  concurrency: 32,
  workBudgetMs: 60_000,
  sessionTimeoutMs: 30_000,
  backoff: { baseMs: 500, maxMs: 30_000 },
  pollIntervalMs: 100,
  lingerMs: 0,
  subscriptionCacheMs: 1000,
};
/** Time kept back from the deadline so that releasing leases and saving state still fit. */
const DEADLINE_MARGIN_MS = 2_000;
/** Dead-lettered records per produce request, well inside its 10000 records and 6 MB. */
const DLQ_CHUNK_RECORDS = 500;
const DLQ_CHUNK_BYTES = 3 * 1024 * 1024;

/** A dispatcher over a broker's services: how functions, the local server and tests build it. */
export function createDispatcher(
  broker: Broker,
  invoker: FunctionInvoker,
  options: DispatcherOptions = {},
): Dispatcher {
  return new Dispatcher(
    {
      subscriptions: broker.subscriptions,
      topics: broker.topics,
      groups: broker.groups,
      fetch: broker.fetch,
      offsets: broker.offsets,
      produce: broker.produce,
      invoker,
      ...(broker.stores.failureDestinations === undefined
        ? {}
        : { destinations: broker.stores.failureDestinations }),
      ...(broker.stores.s3FailureDestinations === undefined
        ? {}
        : { s3Destinations: broker.stores.s3FailureDestinations }),
    },
    { clock: broker.clock, ...(broker.metrics ? { metrics: broker.metrics } : {}), ...options },
  );
}

/** Why records went to the on-failure destination (the names of Lambda's invocation records). */
export type { FailureCondition } from '../log/on-failure-record.js';

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

interface Item {
  record: FetchedRecord;
  event: KafkaEventRecord;
  size: number;
}

interface Batch {
  items: Item[];
  /** notify() calls for the partition before its last read. */
  notifiedBefore: number;
  /** Where reading goes on after this batch (past aborted ranges it skipped). */
  next: number;
  /** The last read reached the high watermark: nothing more was there then. */
  atEnd: boolean;
}

/** One partition's work in a run: lease, position, counters. */
interface PartitionWork {
  sub: StoredSubscription;
  config: SubscriptionConfig;
  topic: TopicRecord;
  partition: number;
  lease: AssignedPartition;
  /** Where delivery stands: committed, or being committed by `committing`. */
  position: number;
  /** The last commit, possibly still in flight (it overlaps the next read). */
  committing?: Promise<void>;
  /** Retry state stored by an earlier run, and whether this run must clear it. */
  stored: RetryState | undefined;
  /** When the lease was taken (clock time): a session lapse after it means the lease is gone. */
  leasedAt: number;
  report: PartitionReport;
  run: RunContext;
  /** The subscription's filterCriteria (undefined: every record goes to the function). */
  keep?: ((value: Uint8Array | null) => boolean) | undefined;
}

interface RunContext {
  /** No new batch after this. */
  softDeadline: number;
  /** Nothing at all after this (invocations are aborted). */
  hardDeadline: number;
  /** The dispatcher's own function ARN, when it runs on Lambda. */
  ownArn?: string;
}

type Attempt =
  | { kind: 'ok' }
  | { kind: 'partial'; offset: number; error: string; response: InvocationResponse }
  /**
   * `counts`: the function ran (or may have): the attempt counts against the retries.
   * `response`: the function answered (with an error).
   */
  | { kind: 'failed'; error: string; counts: boolean; response?: InvocationResponse };

/** Part of a batch still to do: item indexes, in offset order, and how it fared so far. */
interface Slice {
  idx: number[];
  attempts: number;
  lastError: string;
  /** When its first attempt failed (ms), 0 before. */
  since: number;
  lastResponse?: InvocationResponse;
}

/** The offsets (and, while the records exist, times and event size) of records given up on. */
interface FailureRange {
  firstOffset: number;
  lastOffset: number;
  firstTimestamp?: number;
  lastTimestamp?: number;
  payloadSize?: number;
}

/** Why records are given up on. */
interface GiveUp {
  condition: FailureCondition;
  reason: string;
  attempts: number;
  lastError: string;
  response?: InvocationResponse;
}

export class Dispatcher {
  readonly memberId: string;
  private readonly clock: Clock;
  private readonly options: Required<
    Omit<DispatcherOptions, 'clock' | 'sleep' | 'memberId' | 'log' | 'maxPayloadBytes' | 'metrics'>
  > & { maxPayloadBytes: number };
  private readonly metrics: MetricsEmitter | undefined;
  private readonly sleepFn: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly log: (message: string) => void;
  private readonly closing = new AbortController();
  /** Partitions (subscription#partition) a run of this dispatcher works on now. */
  private readonly active = new Set<string>();
  /** Window waits to cut short when records arrive, by topic#partition. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** notify() calls so far, by topic#partition: a wait knows whether one came since it looked. */
  private readonly notified = new Map<string, number>();
  /** Groups this dispatcher holds leases in (with the subscription's topic), for heartbeats. */
  private readonly holding = new Map<string, { topic: string; count: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** When this dispatcher's member expires in each group, as it last renewed it. */
  private readonly sessions = new Map<string, number>();
  /** When a renewal found this dispatcher's member gone from a group (its leases with it). */
  private readonly lapsedAt = new Map<string, number>();
  /** When (wall time) this dispatcher's member was last renewed in each group. */
  private readonly renewedAt = new Map<string, number>();
  /** Lease counters as this dispatcher left them (group#topic#partition), to take them back blind. */
  private readonly released = new Map<string, number>();
  private subscriptionCache: { at: number; list: Promise<StoredSubscription[]> } | undefined;

  constructor(
    private readonly deps: DispatcherDeps,
    options: DispatcherOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.memberId = options.memberId ?? `dispatcher-${randomUUID()}`;
    this.sleepFn = options.sleep ?? abortableSleep;
    this.log = options.log ?? ((message) => console.log(message));
    this.metrics = options.metrics;
    this.options = {
      bootstrapServers: options.bootstrapServers ?? DEFAULTS.bootstrapServers,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
      workBudgetMs: options.workBudgetMs ?? DEFAULTS.workBudgetMs,
      sessionTimeoutMs: options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs,
      backoff: options.backoff ?? DEFAULTS.backoff,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
      lingerMs: options.lingerMs ?? DEFAULTS.lingerMs,
      subscriptionCacheMs: options.subscriptionCacheMs ?? DEFAULTS.subscriptionCacheMs,
      maxPayloadBytes: options.maxPayloadBytes ?? LAMBDA_SYNC_PAYLOAD_LIMIT,
    };
  }

  /** One pass: every matching subscription and partition with records past its offset. */
  async run(request: DispatchRequest = {}): Promise<DispatchReport> {
    const startedAt = Date.now();
    const hardDeadline = request.deadline ?? Number.POSITIVE_INFINITY;
    const run: RunContext = {
      softDeadline: Math.min(
        startedAt + this.options.workBudgetMs,
        hardDeadline - DEADLINE_MARGIN_MS,
      ),
      hardDeadline,
      ...(request.ownArn === undefined ? {} : { ownArn: request.ownArn }),
    };
    const errors: DispatchReport['errors'] = [];
    const subscriptions = (await this.subscriptionList()).filter(
      (s) =>
        s.config.enabled &&
        (request.topic === undefined || s.config.topic === request.topic) &&
        (request.subscription === undefined || s.config.name === request.subscription),
    );
    const tasks: { sub: StoredSubscription; topic: TopicRecord; partition: number }[] = [];
    await Promise.all(
      subscriptions.map(async (sub) => {
        try {
          const topic = await this.deps.topics.resolve(sub.config.topic);
          const all = Array.from({ length: topic.partitions }, (_, p) => p);
          const wanted =
            request.partitions === undefined
              ? await this.partitionsWithRecords(sub.config, topic, all)
              : all.filter((p) => request.partitions?.includes(p));
          for (const partition of wanted) tasks.push({ sub, topic, partition });
        } catch (error) {
          errors.push({ subscription: sub.config.name, error: toEventLogError(error).message });
        }
      }),
    );
    const partitions = await mapLimited(tasks, this.options.concurrency, (task) =>
      this.dispatchPartition(task.sub, task.topic, task.partition, run),
    );
    const report = { startedAt, ms: Date.now() - startedAt, partitions, errors };
    if (this.metrics !== undefined) emitDispatchMetrics(report, this.metrics);
    return report;
  }

  private subscriptionList(): Promise<StoredSubscription[]> {
    const now = Date.now();
    const cached = this.subscriptionCache;
    if (cached !== undefined && now - cached.at < this.options.subscriptionCacheMs)
      return cached.list;
    const list = this.deps.subscriptions.forDispatch();
    this.subscriptionCache = { at: now, list };
    list.catch(() => {
      if (this.subscriptionCache?.list === list) this.subscriptionCache = undefined;
    });
    return list;
  }

  /** Cuts short the batching-window waits of these partitions: records just arrived. */
  notify(topic: string, partitions: readonly number[]): void {
    for (const partition of partitions) {
      const key = leaseKey(topic, partition);
      this.notified.set(key, (this.notified.get(key) ?? 0) + 1);
      const waiting = this.waiters.get(key);
      if (waiting === undefined) continue;
      for (const wake of waiting) wake();
    }
  }

  /** Ends waits at once; runs in progress stop before their next batch. */
  close(): void {
    this.closing.abort();
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /**
   * A sweep's cheap first look (reads only): the partitions whose high watermark is past the
   * group's committed offset (or past the log start, without one), so idle partitions cost no
   * lease writes.
   */
  private async partitionsWithRecords(
    config: SubscriptionConfig,
    topic: TopicRecord,
    partitions: number[],
  ): Promise<number[]> {
    const committed = new Map(
      (await this.deps.groups.committed(config.group))
        .filter((c) => c.topic === topic.name)
        .map((c) => [c.partition, c.committed]),
    );
    const busy = await mapLimited(partitions, 16, async (partition) => {
      const listed = await this.deps.offsets.listOffsets(topic.name, partition, 'latest');
      const from = committed.get(partition) ?? listed.logStartOffset;
      return listed.highWatermark > from;
    });
    return partitions.filter((_, i) => busy[i]);
  }

  /** Never throws: a failure ends this partition's part of the run, in its report. */
  private async dispatchPartition(
    sub: StoredSubscription,
    topic: TopicRecord,
    partition: number,
    run: RunContext,
  ): Promise<PartitionReport> {
    const config = sub.config;
    const report: PartitionReport = {
      subscription: config.name,
      topic: topic.name,
      partition,
      outcome: 'idle',
      invocations: 0,
      delivered: 0,
      deadLettered: 0,
      dropped: 0,
      functionErrors: 0,
      retries: 0,
      expired: 0,
      filtered: 0,
    };
    try {
      let retries = sub.retries;
      for (let round = 0; !this.closed && Date.now() < run.softDeadline; round++) {
        const position = await this.holdAndWork(sub, retries, topic, partition, run, report);
        if (position === undefined) {
          // Held by another run or dispatcher, which looks again before it lets go.
          if (round === 0) report.outcome = 'held';
          return report;
        }
        report.committed = position;
        if (report.outcome === 'retrying' || report.outcome === 'stopped') return report;
        // Records that arrived after the last look inside the lease, whose notification found
        // the lease held: this look comes after the release, so one of the two sees them.
        const listed = await this.deps.offsets.listOffsets(topic.name, partition, 'latest');
        if (listed.highWatermark <= position) return report;
        // Whatever retry state there was is cleared once a batch went through.
        retries = {};
      }
    } catch (error) {
      report.outcome = 'stopped';
      report.error = toEventLogError(error).message;
      this.log(`dispatcher: ${config.name} ${topic.name}/${partition} stopped: ${report.error}`);
    }
    return report;
  }

  /** Takes the lease, works, gives the lease back; the position reached, or undefined when held. */
  private async holdAndWork(
    sub: StoredSubscription,
    retries: Record<string, RetryState>,
    topic: TopicRecord,
    partition: number,
    run: RunContext,
    report: PartitionReport,
  ): Promise<number | undefined> {
    const config = sub.config;
    const key = `${config.name}#${partition}`;
    if (this.active.has(key)) return undefined;
    this.active.add(key);
    try {
      await this.ensureMember(config.group, topic.name);
      const leaseKey = `${config.group}#${topic.name}#${partition}`;
      const seen = this.released.get(leaseKey);
      this.released.delete(leaseKey);
      const lease = await this.deps.groups.takePartition(
        config.group,
        this.memberId,
        { topic: topic.name, partition },
        {
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          // With no run of ours on it, a lease in our name is a leftover of an earlier run.
          stale: true,
          ...(seen === undefined ? {} : { seen: { counter: seen } }),
        },
      );
      if (lease === undefined) return undefined;
      this.hold(config.group, topic.name);
      try {
        return await this.work({
          sub,
          config,
          topic,
          partition,
          lease,
          position: lease.committed ?? (await this.startOffset(topic.name, partition)),
          stored: retries[String(partition)],
          leasedAt: this.clock.now(),
          report,
          run,
          keep: compileFilterCriteria(config.filterCriteria),
        });
      } finally {
        this.unhold(config.group);
        await this.deps.groups
          .releasePartition(config.group, this.memberId, lease)
          .then((released) => {
            // A release moves the counter one on; the next run takes it back from there.
            if (released) this.released.set(leaseKey, lease.counter + 1);
          })
          .catch((error: unknown) =>
            this.log(
              `dispatcher: releasing ${topic.name}/${partition} of group ${config.group} failed (it frees when this dispatcher's session ends): ${toEventLogError(error).message}`,
            ),
          );
      }
    } finally {
      this.active.delete(key);
    }
  }

  /** Delivers batches until the partition is caught up, the budget is spent, or it stops. */
  private async work(work: PartitionWork): Promise<number> {
    const { report, run } = work;
    while (!this.closed && Date.now() < run.softDeadline) {
      const batch = await this.nextBatch(work);
      if (batch === undefined) break;
      if (batch.items.length === 0) {
        // Only an aborted range, or records the filters left out: step over it, and read on.
        if (batch.next > work.position) await this.commit(work, batch.next);
        if (report.outcome === 'idle' && report.filtered > 0) report.outcome = 'delivered';
        if (batch.atEnd) break;
        continue;
      }
      if (report.outcome === 'idle') report.outcome = 'delivered';
      const done = await this.deliver(work, batch);
      if (!done) {
        if (report.outcome !== 'stopped') report.outcome = 'retrying';
        break;
      }
      // Caught up: the look after the release (dispatchPartition) covers what comes next,
      // unless a notification comes while the lease is still held.
      if (batch.atEnd) {
        const left = run.softDeadline - Date.now();
        if (this.options.lingerMs <= 0 || left <= 0) break;
        const woken = await this.waitForRecords(
          work.topic.name,
          work.partition,
          Math.min(this.options.lingerMs, left),
          batch.notifiedBefore,
        );
        if (!woken) break;
      }
    }
    await this.settle(work);
    return work.position;
  }

  /**
   * The next batch from the position: up to batchSize records and at most the payload limit,
   * waiting up to the batching window for more when there are fewer. Undefined when there is
   * nothing past the position.
   */
  private async nextBatch(work: PartitionWork): Promise<Batch | undefined> {
    const { config, topic, partition, run } = work;
    const envelope = envelopeSize(this.options.bootstrapServers, topic.name, partition);
    const items: Item[] = [];
    let bytes = envelope;
    let next = work.position;
    let windowEnd: number | undefined;
    const key = leaseKey(topic.name, partition);
    for (;;) {
      const notifiedBefore = this.notified.get(key) ?? 0;
      let page: Awaited<ReturnType<FetchService['fetch']>>;
      try {
        page = await this.deps.fetch.fetch({
          topic: topic.name,
          partition,
          offset: next,
          maxRecords: config.batchSize - items.length,
          maxBytes: FETCH_LIMITS.maxBytes,
        });
      } catch (error) {
        if (!isEventLogError(error, 'OFFSET_OUT_OF_RANGE') || items.length > 0) throw error;
        const moved = await this.skipDeleted(work);
        if (!moved) return undefined;
        next = work.position;
        continue;
      }
      let full = false;
      for (const record of page.records) {
        if (work.keep !== undefined && !work.keep(record.value)) {
          // Lambda applies the filters before batching: a left-out record takes no place in
          // the batch, and the commit after the batch moves past it.
          work.report.filtered++;
          continue;
        }
        const event = toEventRecord(topic.name, partition, record);
        const size = encodedRecordSize(event);
        if (items.length > 0 && bytes + size + 1 > this.options.maxPayloadBytes) {
          full = true;
          next = record.offset;
          break;
        }
        items.push({ record, event, size });
        bytes += size + 1;
      }
      if (!full) next = page.nextOffset;
      const atEnd = !full && page.nextOffset >= page.highWatermark;
      const batch = { items, next, atEnd, notifiedBefore };
      if (items.length === 0) return next > work.position ? batch : undefined;
      const window = config.maximumBatchingWindowInSeconds * 1000;
      if (full || items.length >= config.batchSize || window === 0) return batch;
      windowEnd ??= Math.min(Date.now() + window, run.hardDeadline - DEADLINE_MARGIN_MS);
      const left = windowEnd - Date.now();
      if (left <= 0 || this.closed) return batch;
      // Only wait while nothing new is there; a page that brought records is read on at once.
      if (page.records.length === 0 || page.nextOffset >= page.highWatermark) {
        await this.waitForRecords(
          topic.name,
          partition,
          Math.min(left, this.options.pollIntervalMs),
          notifiedBefore,
        );
      }
    }
  }

  /**
   * The committed offset is below the log start: retention deleted records before they were
   * delivered. Nothing can bring them back; the destination hears of the range (a failed
   * notice keeps the position, and the next run tells it again), then delivery goes on from
   * the log start.
   */
  private async skipDeleted(work: PartitionWork): Promise<boolean> {
    const listed = await this.deps.offsets.listOffsets(work.topic.name, work.partition, 'earliest');
    if (listed.logStartOffset <= work.position) return false;
    await this.reportLost(work, work.position, listed.logStartOffset - 1);
    await this.commit(work, listed.logStartOffset);
    return true;
  }

  /**
   * Delivers one batch: invokes, retries with backoff, bisects, follows partial batch
   * responses, dead-letters, and commits as records are done. True when the whole batch is
   * done; false when the run must stop (budget spent with records still failing, lease lost).
   */
  private async deliver(work: PartitionWork, batch: Batch): Promise<boolean> {
    const { config, report } = work;
    const items = batch.items;
    const item = (i: number) => items[i] as Item;
    const handled = new Array<boolean>(items.length).fill(false);
    const maxRetries = effectiveRetries(config);
    const bisect = config.bisectBatchOnFunctionError;
    const envelope = envelopeSize(this.options.bootstrapServers, work.topic.name, work.partition);
    const retentionMs = work.topic.config.retentionMs;
    const retentionAgeMs = retentionGiveUpAgeMs(retentionMs);
    // Slices of the batch still to do, in offset order.
    const resumed =
      work.stored !== undefined && work.stored.offset === items[0]?.record.offset
        ? work.stored
        : undefined;
    const queue: Slice[] = [
      {
        idx: items.map((_, i) => i),
        attempts: resumed?.attempts ?? 0,
        lastError: resumed?.lastError ?? '',
        since: resumed?.since ?? 0,
        ...(resumed?.lastResponse === undefined ? {} : { lastResponse: resumed.lastResponse }),
      },
    ];
    let throttles = 0;
    // Once anything of this batch failed, the work budget also bounds its retries, and the
    // records are retried only as long as retention keeps them.
    let troubled = resumed !== undefined;

    const commitDone = async (defer = false): Promise<void> => {
      const first = handled.indexOf(false);
      const offset = first === -1 ? batch.next : item(first).record.offset;
      if (offset > work.position) await this.commit(work, offset, { defer });
    };
    const finish = async (indexes: number[], defer = false): Promise<void> => {
      for (const i of indexes) handled[i] = true;
      await commitDone(defer);
    };
    // Records given up on count as handled as soon as their destination has them.
    const indexOf = new Map(items.map((it, i) => [it, i]));
    const sent = (done: Item[]) => finish(done.map((it) => indexOf.get(it) as number));
    // When the first record of a slice expires (by age or retention): no backoff sleeps past it.
    const expiresAt = (slice: Slice): number => {
      let at = Number.POSITIVE_INFINITY;
      for (const i of slice.idx) {
        const timestamp = item(i).record.timestamp;
        if (config.maximumRecordAgeInSeconds >= 0) {
          at = Math.min(at, timestamp + config.maximumRecordAgeInSeconds * 1000 + 1);
        }
        if (retentionAgeMs !== undefined) at = Math.min(at, timestamp + retentionAgeMs);
      }
      return at;
    };
    const failure = (slice: Slice, condition: FailureCondition, reason: string): GiveUp => ({
      condition,
      reason,
      attempts: slice.attempts,
      lastError: slice.lastError,
      ...(slice.lastResponse === undefined ? {} : { response: slice.lastResponse }),
    });

    while (queue.length > 0) {
      const slice = queue[0] as Slice;
      const now = this.clock.now();

      if (config.maximumRecordAgeInSeconds >= 0) {
        const maxAgeMs = config.maximumRecordAgeInSeconds * 1000;
        const expired = slice.idx.filter((i) => now - item(i).record.timestamp > maxAgeMs);
        if (expired.length > 0) {
          await this.giveUp(
            work,
            expired.map(item),
            failure(
              slice,
              'RecordAgeExceeded',
              `older than maximumRecordAgeInSeconds (${config.maximumRecordAgeInSeconds} s)`,
            ),
            sent,
          );
          slice.idx = slice.idx.filter((i) => !expired.includes(i));
          await finish(expired);
        }
      }
      // A failing record is retried until it expires: here, until the topic's retention is
      // about to delete it, so that the destination still gets it (RETENTION_SAFETY_MARGIN).
      if (troubled && retentionAgeMs !== undefined) {
        const expiring = slice.idx.filter((i) => now - item(i).record.timestamp >= retentionAgeMs);
        if (expiring.length > 0) {
          await this.giveUp(
            work,
            expiring.map(item),
            failure(
              slice,
              'RecordAgeExceeded',
              `would expire by retention: the topic's retention.ms (${retentionMs}) deletes it within ${retentionSafetyMarginMs(retentionMs)} ms, so it is given up on now, while the destination can still get it`,
            ),
            sent,
          );
          slice.idx = slice.idx.filter((i) => !expiring.includes(i));
          await finish(expiring);
        }
      }
      if (slice.idx.length === 0) {
        queue.shift();
        continue;
      }
      const only = slice.idx.length === 1 ? item(slice.idx[0] as number) : undefined;
      if (only !== undefined && envelope + only.size > this.options.maxPayloadBytes) {
        await this.giveUp(work, [only], {
          condition: 'MaximumPayloadSizeExceeded',
          reason: `the record alone makes an event of ${envelope + only.size} bytes; a synchronous invocation takes at most ${this.options.maxPayloadBytes}`,
          attempts: 0,
          lastError: '',
        });
        await finish(slice.idx);
        queue.shift();
        continue;
      }

      const clockNow = Date.now();
      if (
        this.closed ||
        clockNow >= work.run.hardDeadline - DEADLINE_MARGIN_MS ||
        (troubled && clockNow >= work.run.softDeadline)
      ) {
        if (slice.attempts > 0) await this.saveRetryState(work, items, slice);
        return false;
      }
      await this.settle(work);
      const lapse = this.leaseLapse(work);
      if (lapse !== undefined) {
        // Another dispatcher may own the partition now and be sending this very batch:
        // invoking again would only deliver it twice, and our commits would be fenced anyway.
        if (slice.attempts > 0) await this.saveRetryState(work, items, slice).catch(() => {});
        report.outcome = 'stopped';
        report.error = lapse;
        this.log(`dispatcher: ${config.name} ${work.topic.name}/${work.partition}: ${lapse}`);
        return false;
      }
      if (slice.attempts > 0) report.retries++;
      const attempt = await this.invoke(work, slice.idx.map(item));
      report.invocations++;
      if (attempt.kind === 'failed' && attempt.counts) report.functionErrors++;

      if (attempt.kind === 'ok') {
        report.delivered += slice.idx.length;
        // The batch's last commit overlaps the next read.
        await finish(slice.idx, queue.length === 1);
        queue.shift();
        throttles = 0;
        await this.clearRetryState(work);
        continue;
      }
      troubled = true;
      if (attempt.kind === 'failed' && !attempt.counts) {
        // The function did not run: not a retry, but no reason to hurry either.
        throttles++;
        slice.lastError = attempt.error;
        this.log(
          `dispatcher: ${config.name} ${work.topic.name}/${work.partition}: invoking ${config.functionName} failed before it ran (${attempt.error}); trying again, records stay in place`,
        );
        await this.backoff(throttles, work, expiresAt(slice));
        continue;
      }

      slice.attempts++;
      slice.since ||= this.clock.now();
      slice.lastError = attempt.error;
      if (attempt.response === undefined) delete slice.lastResponse;
      else slice.lastResponse = attempt.response;
      if (attempt.kind === 'partial') {
        const ok = slice.idx.filter((i) => item(i).record.offset < attempt.offset);
        report.delivered += ok.length;
        slice.idx = slice.idx.filter((i) => item(i).record.offset >= attempt.offset);
        // The failures count against the record the function reported: a checkpoint that
        // moved on starts a new count.
        if (ok.length > 0) slice.attempts = 1;
        await finish(ok);
        if (slice.attempts > maxRetries) {
          // Only the reported record is out of retries; the ones after it were never
          // reported and go on as a new batch.
          const [failed, ...rest] = slice.idx;
          await this.giveUp(
            work,
            [item(failed as number)],
            failure(
              slice,
              'RetryAttemptsExhausted',
              `reported failed ${slice.attempts} time(s); maximumRetryAttempts is ${config.maximumRetryAttempts}`,
            ),
            sent,
          );
          await finish([failed as number]);
          await this.clearRetryState(work);
          if (rest.length === 0) queue.shift();
          else queue.splice(0, 1, { idx: rest, attempts: 0, lastError: '', since: 0 });
          continue;
        }
      } else if (bisect && slice.idx.length > 1) {
        // A split is not a retry: each half starts afresh, so a poison record ends up alone
        // and only it exhausts the retries.
        const half = Math.ceil(slice.idx.length / 2);
        const fresh = (idx: number[]): Slice => ({
          idx,
          attempts: 0,
          lastError: slice.lastError,
          since: 0,
          ...(slice.lastResponse === undefined ? {} : { lastResponse: slice.lastResponse }),
        });
        queue.splice(0, 1, fresh(slice.idx.slice(0, half)), fresh(slice.idx.slice(half)));
        this.log(
          `dispatcher: ${config.name} ${work.topic.name}/${work.partition}: batch of ${slice.idx.length} from offset ${item(slice.idx[0] as number).record.offset} failed (${attempt.error}); bisecting`,
        );
        continue;
      }
      if (slice.attempts > maxRetries) {
        await this.giveUp(
          work,
          slice.idx.map(item),
          failure(
            slice,
            'RetryAttemptsExhausted',
            `failed ${slice.attempts} time(s); maximumRetryAttempts is ${config.maximumRetryAttempts}`,
          ),
          sent,
        );
        await finish(slice.idx);
        queue.shift();
        await this.clearRetryState(work);
        continue;
      }
      this.log(
        `dispatcher: ${config.name} ${work.topic.name}/${work.partition}: attempt ${slice.attempts} from offset ${item(slice.idx[0] as number).record.offset} failed (${attempt.error}); retrying${retriesLeft(config, retentionMs)}`,
      );
      await this.backoff(slice.attempts, work, expiresAt(slice));
    }
    return true;
  }

  private async invoke(work: PartitionWork, items: Item[]): Promise<Attempt> {
    const { config, topic, partition, run } = work;
    const event = buildEvent(
      this.options.bootstrapServers,
      topic.name,
      partition,
      items.map((i) => i.event),
    );
    const payload = Buffer.from(JSON.stringify(event));
    const left = run.hardDeadline - Date.now();
    const signal = Number.isFinite(left) ? AbortSignal.timeout(Math.max(1, left)) : undefined;
    let result: Awaited<ReturnType<FunctionInvoker['invoke']>>;
    try {
      result = await this.deps.invoker.invoke(config.functionName, payload, signal);
    } catch (error) {
      const failure = toEventLogError(error);
      const reached = failure.details?.['reachedFunction'];
      return {
        kind: 'failed',
        error: `${failure.code}: ${failure.message}`,
        counts: failure.code === 'TIMEOUT' || reached !== false,
      };
    }
    const text = Buffer.from(result.payload).toString('utf8');
    const response: InvocationResponse = {
      statusCode: result.statusCode ?? 200,
      ...(result.executedVersion === undefined ? {} : { executedVersion: result.executedVersion }),
      ...(result.functionError === undefined ? {} : { functionError: result.functionError }),
      ...(result.requestId === undefined ? {} : { requestId: result.requestId }),
    };
    if (result.functionError !== undefined) {
      return {
        kind: 'failed',
        error: functionErrorOf(result.functionError, text),
        counts: true,
        response,
      };
    }
    if (!config.functionResponseTypes.includes('ReportBatchItemFailures')) return { kind: 'ok' };
    let answer: unknown;
    try {
      answer = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      return { kind: 'failed', error: 'the answer is not JSON', counts: true, response };
    }
    const read = readBatchResponse(
      answer,
      topic.name,
      partition,
      new Set(items.map((i) => i.record.offset)),
    );
    if (read.kind === 'success') return { kind: 'ok' };
    if (read.kind === 'invalid') {
      return { kind: 'failed', error: read.reason, counts: true, response };
    }
    return {
      kind: 'partial',
      offset: read.offset,
      error: `batchItemFailures from offset ${read.offset}`,
      response,
    };
  }

  /** Records that leave the partition without a successful invocation. */
  private async giveUp(
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
      this.log(
        `dispatcher: ${config.name} DROPPED ${items.length} record(s) of ${topic.name}/${partition} (offsets ${first}-${last}): ${why.condition}, ${why.reason}${why.lastError === '' ? '' : `; last error: ${why.lastError}`}. Set destinationConfig.onFailure to keep them.`,
      );
      return;
    }
    const parsed = parseDestination(destination);
    if (parsed.kind === 'topic') {
      // The time of the failure: the original time is in a header, and the dead-letter
      // topic's own retention and age limits count from now.
      const now = this.clock.now();
      const limit = (await this.deps.topics.get(parsed.topic)).config.maxMessageBytes;
      await this.produceToDeadLetterTopic(
        parsed.topic,
        items.map((item) => ({ item, record: this.deadLetterRecord(work, why, item, now, limit) })),
        onSent,
      );
    } else {
      const envelope = envelopeSize(this.options.bootstrapServers, topic.name, partition);
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
            this.options.bootstrapServers,
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
    this.log(
      `dispatcher: ${config.name} sent ${items.length} record(s) of ${topic.name}/${partition} (offsets ${first}-${last}) to ${destination}: ${why.condition}, ${why.reason}`,
    );
  }

  /**
   * Records retention deleted before they were delivered (offsets `from` to `to`): the
   * destination hears of the range, since nothing else can tell it. Without a destination,
   * the log line is all there is.
   */
  private async reportLost(work: PartitionWork, from: number, to: number): Promise<void> {
    const { config, topic, partition } = work;
    work.report.expired += to - from + 1;
    const destination = config.destinationConfig?.onFailure.destination;
    const what = `offsets ${from}-${to} of ${topic.name}/${partition} were deleted by retention before delivery`;
    if (destination === undefined) {
      this.log(`dispatcher: ${config.name} ${what}; going on from ${to + 1}`);
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
            timestamp: this.clock.now(),
          },
        },
      ]);
    } else if (parsed.kind === 's3') {
      await this.sendToS3(work, parsed, why, { firstOffset: from, lastOffset: to });
    } else {
      await this.sendToAwsDestination(work, parsed, why, { firstOffset: from, lastOffset: to });
    }
    this.log(
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

  /**
   * Why this dispatcher can no longer trust its lease, or undefined while it can: its session
   * ran out without a renewal (heartbeats failing), or a renewal found the member gone (so the
   * group may have given the partition to someone else).
   */
  private leaseLapse(work: PartitionWork): string | undefined {
    const group = work.config.group;
    const lapsedAt = this.lapsedAt.get(group);
    if (lapsedAt !== undefined && lapsedAt >= work.leasedAt) {
      return `the dispatcher's session in group ${group} lapsed while it held the lease; stopping the batch (the next owner goes on from the committed offset)`;
    }
    // Wall time, like the heartbeat's timer: the injectable clock ages records in tests and may
    // jump by days, which says nothing about whether renewals are getting through.
    const renewed = this.renewedAt.get(group);
    if (renewed !== undefined && Date.now() - renewed >= this.options.sessionTimeoutMs) {
      return `the dispatcher's session in group ${group} ran out without a renewal; stopping the batch (the next owner goes on from the committed offset)`;
    }
    return undefined;
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
      const result = await this.deps.produce.produce({
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
    const sender = this.deps.destinations;
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
    await sendToS3Destination(this.deps.s3Destinations, destination, {
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
      timestamp: this.clock.now(),
      bootstrapServers: this.options.bootstrapServers,
      subscription: config.name,
      group: config.group,
      topic: topic.name,
      partition,
      ...range,
      reason: why.reason,
      lastError: why.lastError,
    };
  }

  /**
   * Commits `offset` under the lease. With `defer`, the write overlaps what comes next (the
   * next read); settle() waits for it before the next invocation and before the lease goes,
   * so no batch is sent while the one before it is not committed.
   */
  private async commit(
    work: PartitionWork,
    offset: number,
    options: { defer?: boolean } = {},
  ): Promise<void> {
    const previous = work.committing;
    const write = (async () => {
      await previous;
      await this.deps.groups.commit(work.config.group, this.memberId, [
        {
          topic: work.topic.name,
          partition: work.partition,
          offset,
          counter: work.lease.counter,
        },
      ]);
    })();
    // Seen by settle(); a run that fails before it settles has failed already.
    write.catch(() => {});
    work.committing = write;
    work.position = offset;
    if (options.defer !== true) await this.settle(work);
  }

  private async settle(work: PartitionWork): Promise<void> {
    await work.committing;
  }

  private async saveRetryState(work: PartitionWork, items: Item[], slice: Slice): Promise<void> {
    const first = items[slice.idx[0] as number] as Item;
    const state: RetryState = {
      offset: first.record.offset,
      attempts: slice.attempts,
      since: slice.since || this.clock.now(),
      lastError: slice.lastError.slice(0, 1000),
      ...(slice.lastResponse === undefined ? {} : { lastResponse: slice.lastResponse }),
    };
    await this.deps.subscriptions.saveRetryState(work.config.name, work.partition, state);
    work.stored = state;
    // The cached list's copy too, so the next run of this dispatcher counts on from here.
    work.sub.retries[String(work.partition)] = state;
  }

  private async clearRetryState(work: PartitionWork): Promise<void> {
    if (work.stored === undefined) return;
    await this.deps.subscriptions.saveRetryState(work.config.name, work.partition, undefined);
    work.stored = undefined;
    delete work.sub.retries[String(work.partition)];
  }

  /** Sleeps before the next attempt; never past `until` (clock time), when the records expire. */
  private async backoff(
    attempt: number,
    work: PartitionWork,
    until = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const { baseMs, maxMs } = this.options.backoff;
    const full = Math.min(maxMs, baseMs * 2 ** Math.min(30, attempt - 1));
    // Half fixed, half random: retries of many partitions spread out, none retries at once.
    const delay = full / 2 + Math.random() * (full / 2);
    const left = work.run.softDeadline - Date.now();
    const expiring = until - this.clock.now();
    await this.sleepFn(Math.max(0, Math.min(delay, left, expiring)), this.closing.signal);
  }

  /**
   * Waits up to `ms`; true when notify() cut it short, or had been called since the caller's
   * last read (`notifiedBefore`), which makes it return at once.
   */
  private async waitForRecords(
    topic: string,
    partition: number,
    ms: number,
    notifiedBefore: number,
  ): Promise<boolean> {
    const key = leaseKey(topic, partition);
    if ((this.notified.get(key) ?? 0) > notifiedBefore) return true;
    const waiting = this.waiters.get(key) ?? new Set<() => void>();
    this.waiters.set(key, waiting);
    const early = new AbortController();
    let woken = false;
    const wake = () => {
      woken = true;
      early.abort();
    };
    waiting.add(wake);
    const onClose = () => early.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      await this.sleepFn(ms, early.signal);
    } finally {
      waiting.delete(wake);
      if (waiting.size === 0) this.waiters.delete(key);
      this.closing.signal.removeEventListener('abort', onClose);
    }
    return woken;
  }

  private async startOffset(topic: string, partition: number): Promise<number> {
    // A partition the group has no offset for: LATEST and AT_TIMESTAMP were resolved when the
    // subscription was created, so this is a partition added (or a topic re-created) since,
    // whose records all came after the subscription: from the start, for every position.
    return (await this.deps.offsets.listOffsets(topic, partition, 'earliest')).logStartOffset;
  }

  /** Registers or renews this dispatcher's member in the group when its session runs low. */
  private async ensureMember(group: string, topic: string): Promise<void> {
    const now = this.clock.now();
    const session = this.options.sessionTimeoutMs;
    if ((this.sessions.get(group) ?? 0) - now >= session / 2) return;
    const wall = Date.now();
    await this.deps.groups.keepAlive(group, this.memberId, [topic], session);
    this.sessions.set(group, now + session);
    this.renewedAt.set(group, wall);
  }

  private hold(group: string, topic: string): void {
    const held = this.holding.get(group) ?? { topic, count: 0 };
    held.count++;
    this.holding.set(group, held);
    if (this.heartbeat !== undefined) return;
    const every = Math.max(100, Math.floor(this.options.sessionTimeoutMs / 3));
    this.heartbeat = setInterval(() => {
      for (const [g, h] of this.holding) {
        const renewedAt = this.clock.now();
        const wall = Date.now();
        this.deps.groups
          .keepAlive(g, this.memberId, [h.topic], this.options.sessionTimeoutMs)
          .then(({ created }) => {
            // Created anew: the member had expired, and the group may have given its
            // partitions to another dispatcher; work under the old leases stops (leaseLapse).
            if (created) this.lapsedAt.set(g, renewedAt);
            this.sessions.set(g, renewedAt + this.options.sessionTimeoutMs);
            this.renewedAt.set(g, wall);
          })
          .catch((error: unknown) =>
            this.log(
              `dispatcher: heartbeat in group ${g} failed: ${toEventLogError(error).message}`,
            ),
          );
      }
    }, every);
    this.heartbeat.unref();
  }

  private unhold(group: string): void {
    const held = this.holding.get(group);
    if (held === undefined) return;
    held.count--;
    if (held.count <= 0) this.holding.delete(group);
    if (this.holding.size === 0 && this.heartbeat !== undefined) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}

/** "Unhandled: Error: boom" from Lambda's error document. */
function functionErrorOf(functionError: string, payload: string): string {
  try {
    const doc = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof doc.errorType === 'string' ? doc.errorType : 'Error';
    const message = typeof doc.errorMessage === 'string' ? doc.errorMessage : payload;
    return `${functionError}: ${type}: ${message}`.slice(0, 1000);
  } catch {
    return `${functionError}: ${payload}`.slice(0, 1000);
  }
}

/** How long a failing record goes on being retried, for the log line of each retry. */
function retriesLeft(config: SubscriptionConfig, retentionMs: number): string {
  if (config.maximumRetryAttempts >= 0) return '';
  if (config.maximumRecordAgeInSeconds < 0 && retentionMs < 0) {
    return ' (maximumRetryAttempts and maximumRecordAgeInSeconds are -1 and the topic keeps records forever: retried until the function succeeds, as Lambda does)';
  }
  return ' (maximumRetryAttempts -1: retried until the record expires)';
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

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A dead-letter header's value: the text of a string or number, UTF-8. */
function headerText(value: string | number): Buffer {
  return Buffer.from(String(value), 'utf8');
}
