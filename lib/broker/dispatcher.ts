import { randomUUID } from 'node:crypto';
import { isEventLogError, toEventLogError } from '../log/errors.js';
import { compileFilterCriteria } from '../log/filter-pattern.js';
import {
  encodedRecordSize,
  envelopeSize,
  LAMBDA_SYNC_PAYLOAD_LIMIT,
  toEventRecord,
} from '../log/lambda-kafka-event.js';
import { withDefaults } from '../log/omit-undefined.js';
import type { SubscriptionConfig } from '../log/subscription-config.js';
import type { FunctionInvoker } from '../store/function-invoker.js';
import type { RetryState, StoredSubscription } from '../store/subscription-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Broker } from './broker.js';
import { systemClock } from './clock.js';
import { emitDispatchMetrics } from './consumer-metrics.js';
import { Delivery } from './dispatch-delivery.js';
import { FailureDestinations } from './dispatch-failures.js';
import {
  type Batch,
  DEADLINE_MARGIN_MS,
  type DispatchContext,
  type DispatcherDeps,
  type DispatcherOptions,
  type DispatchReport,
  type DispatchRequest,
  type Item,
  type PartitionReport,
  type PartitionWork,
  type ResolvedOptions,
  type RunContext,
} from './dispatch-types.js';
import { DispatcherMembership } from './dispatcher-membership.js';
import { FETCH_LIMITS, type FetchService } from './fetch.js';
import { mapLimited } from './map-limited.js';
import type { MetricsEmitter } from './metrics.js';
import { PartitionSignals } from './partition-signals.js';

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
 *
 * The parts: dispatch-types.ts (the shapes they share), dispatcher-membership.ts (the group
 * member, its leases and heartbeat), partition-signals.ts (notify() and the waits it wakes),
 * dispatch-delivery.ts (a batch's invocations, retries, bisection, commits),
 * dispatch-invoke.ts (one invocation and its answer) and dispatch-failures.ts (the on-failure
 * destinations). This file is the loop over subscriptions, partitions and batches.
 */

export { FAILURE_HEADERS } from './dispatch-failures.js';
export type {
  DispatcherDeps,
  DispatcherOptions,
  DispatchReport,
  DispatchRequest,
  PartitionOutcome,
  PartitionReport,
} from './dispatch-types.js';

const DEFAULTS: ResolvedOptions = {
  bootstrapServers: 'eventlog.local:9092',
  concurrency: 32,
  workBudgetMs: 60_000,
  sessionTimeoutMs: 30_000,
  backoff: { baseMs: 500, maxMs: 30_000 },
  pollIntervalMs: 100,
  lingerMs: 0,
  subscriptionCacheMs: 1000,
  maxPayloadBytes: LAMBDA_SYNC_PAYLOAD_LIMIT,
};
/** Time kept back from the deadline so that releasing leases and saving state still fit. */

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

export class Dispatcher {
  readonly memberId: string;
  private readonly ctx: DispatchContext;
  private readonly metrics: MetricsEmitter | undefined;
  private readonly closing = new AbortController();
  /** Partitions (subscription#partition) a run of this dispatcher works on now. */
  private readonly active = new Set<string>();
  private readonly signals: PartitionSignals;
  private readonly membership: DispatcherMembership;
  private readonly delivery: Delivery;
  private subscriptionCache: { at: number; list: Promise<StoredSubscription[]> } | undefined;

  constructor(deps: DispatcherDeps, options: DispatcherOptions = {}) {
    this.memberId = options.memberId ?? `dispatcher-${randomUUID()}`;
    this.metrics = options.metrics;
    this.ctx = {
      deps,
      clock: options.clock ?? systemClock,
      log: options.log ?? ((message) => console.log(message)),
      memberId: this.memberId,
      options: withDefaults<ResolvedOptions>(DEFAULTS, options),
    };
    const sleep = options.sleep ?? abortableSleep;
    this.signals = new PartitionSignals(sleep, this.closing.signal);
    this.membership = new DispatcherMembership(this.ctx);
    this.delivery = new Delivery(
      this.ctx,
      new FailureDestinations(this.ctx),
      this.membership,
      sleep,
      this.closing.signal,
    );
  }

  /** One pass: every matching subscription and partition with records past its offset. */
  async run(request: DispatchRequest = {}): Promise<DispatchReport> {
    const startedAt = Date.now();
    const hardDeadline = request.deadline ?? Number.POSITIVE_INFINITY;
    const run: RunContext = {
      softDeadline: Math.min(
        startedAt + this.ctx.options.workBudgetMs,
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
          const topic = await this.ctx.deps.topics.resolve(sub.config.topic);
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
    const partitions = await mapLimited(tasks, this.ctx.options.concurrency, (task) =>
      this.dispatchPartition(task.sub, task.topic, task.partition, run),
    );
    const report = { startedAt, ms: Date.now() - startedAt, partitions, errors };
    if (this.metrics !== undefined) emitDispatchMetrics(report, this.metrics);
    return report;
  }

  private subscriptionList(): Promise<StoredSubscription[]> {
    const now = Date.now();
    const cached = this.subscriptionCache;
    if (cached !== undefined && now - cached.at < this.ctx.options.subscriptionCacheMs)
      return cached.list;
    const list = this.ctx.deps.subscriptions.forDispatch();
    this.subscriptionCache = { at: now, list };
    list.catch(() => {
      if (this.subscriptionCache?.list === list) this.subscriptionCache = undefined;
    });
    return list;
  }

  /** Cuts short the batching-window waits of these partitions: records just arrived. */
  /** Cuts short the batching-window waits of these partitions: records just arrived. */
  notify(topic: string, partitions: readonly number[]): void {
    this.signals.notify(topic, partitions);
  }

  /** Ends waits at once; runs in progress stop before their next batch. */
  close(): void {
    this.closing.abort();
    this.membership.close();
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
      (await this.ctx.deps.groups.committed(config.group))
        .filter((c) => c.topic === topic.name)
        .map((c) => [c.partition, c.committed]),
    );
    const busy = await mapLimited(partitions, 16, async (partition) => {
      const listed = await this.ctx.deps.offsets.listOffsets(topic.name, partition, 'latest');
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
        const listed = await this.ctx.deps.offsets.listOffsets(topic.name, partition, 'latest');
        if (listed.highWatermark <= position) return report;
        // Whatever retry state there was is cleared once a batch went through.
        retries = {};
      }
    } catch (error) {
      report.outcome = 'stopped';
      report.error = toEventLogError(error).message;
      this.ctx.log(
        `dispatcher: ${config.name} ${topic.name}/${partition} stopped: ${report.error}`,
      );
    }
    return report;
  }

  /** Takes the lease, works, gives the lease back; the position reached, or undefined when held. */
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
      const lease = await this.membership.take(config.group, topic.name, partition);
      if (lease === undefined) return undefined;
      try {
        return await this.work({
          sub,
          config,
          topic,
          partition,
          lease,
          position: lease.committed ?? (await this.startOffset(topic.name, partition)),
          stored: retries[String(partition)],
          leasedAt: this.ctx.clock.now(),
          report,
          run,
          keep: compileFilterCriteria(config.filterCriteria),
        });
      } finally {
        await this.membership.release(config.group, lease);
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
        if (batch.next > work.position) await this.delivery.commit(work, batch.next);
        if (report.outcome === 'idle' && report.filtered > 0) report.outcome = 'delivered';
        if (batch.atEnd) break;
        continue;
      }
      if (report.outcome === 'idle') report.outcome = 'delivered';
      const done = await this.delivery.deliver(work, batch);
      if (!done) {
        if (report.outcome !== 'stopped') report.outcome = 'retrying';
        break;
      }
      // Caught up: the look after the release (dispatchPartition) covers what comes next,
      // unless a notification comes while the lease is still held.
      if (batch.atEnd) {
        const left = run.softDeadline - Date.now();
        if (this.ctx.options.lingerMs <= 0 || left <= 0) break;
        const woken = await this.signals.waitForRecords(
          work.topic.name,
          work.partition,
          Math.min(this.ctx.options.lingerMs, left),
          batch.notifiedBefore,
        );
        if (!woken) break;
      }
    }
    await this.delivery.settle(work);
    return work.position;
  }

  /**
   * The next batch from the position: up to batchSize records and at most the payload limit,
   * waiting up to the batching window for more when there are fewer. Undefined when there is
   * nothing past the position.
   */
  private async nextBatch(work: PartitionWork): Promise<Batch | undefined> {
    const { config, topic, partition, run } = work;
    const envelope = envelopeSize(this.ctx.options.bootstrapServers, topic.name, partition);
    const items: Item[] = [];
    let bytes = envelope;
    let next = work.position;
    let windowEnd: number | undefined;
    for (;;) {
      const notifiedBefore = this.signals.count(topic.name, partition);
      let page: Awaited<ReturnType<FetchService['fetch']>>;
      try {
        page = await this.ctx.deps.fetch.fetch({
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
        if (items.length > 0 && bytes + size + 1 > this.ctx.options.maxPayloadBytes) {
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
        await this.signals.waitForRecords(
          topic.name,
          partition,
          Math.min(left, this.ctx.options.pollIntervalMs),
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
    const listed = await this.ctx.deps.offsets.listOffsets(
      work.topic.name,
      work.partition,
      'earliest',
    );
    if (listed.logStartOffset <= work.position) return false;
    await this.delivery.failures.reportLost(work, work.position, listed.logStartOffset - 1);
    await this.delivery.commit(work, listed.logStartOffset);
    return true;
  }

  /**
   * Delivers one batch: invokes, retries with backoff, bisects, follows partial batch
   * responses, dead-letters, and commits as records are done. True when the whole batch is
   * done; false when the run must stop (budget spent with records still failing, lease lost).
   */
  private async startOffset(topic: string, partition: number): Promise<number> {
    // A partition the group has no offset for: LATEST and AT_TIMESTAMP were resolved when the
    // subscription was created, so this is a partition added (or a topic re-created) since,
    // whose records all came after the subscription: from the start, for every position.
    return (await this.ctx.deps.offsets.listOffsets(topic, partition, 'earliest')).logStartOffset;
  }
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
