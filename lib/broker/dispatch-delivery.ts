import { envelopeSize } from '../log/lambda-kafka-event.js';
import type { FailureCondition } from '../log/on-failure-record.js';
import {
  effectiveRetries,
  retentionGiveUpAgeMs,
  retentionSafetyMarginMs,
  type SubscriptionConfig,
} from '../log/subscription-config.js';
import type { RetryState } from '../store/subscription-store.js';
import type { FailureDestinations } from './dispatch-failures.js';
import { invokeFunction } from './dispatch-invoke.js';
import {
  type Attempt,
  type Batch,
  DEADLINE_MARGIN_MS,
  type DispatchContext,
  type GiveUp,
  type Item,
  type PartitionWork,
  type Slice,
} from './dispatch-types.js';
import type { DispatcherMembership } from './dispatcher-membership.js';

/**
 * Delivery of a partition's batches: invokes, retries with backoff, bisects, follows partial
 * batch responses, gives up on records (to the on-failure destination), and commits under the
 * lease as records are done. Stored retry state carries a failing batch's attempts across runs.
 */
export class Delivery {
  constructor(
    readonly ctx: DispatchContext,
    readonly failures: FailureDestinations,
    readonly membership: DispatcherMembership,
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>,
    /** Aborted when the dispatcher closes: sleeps end, no new invocation starts. */
    readonly closing: AbortSignal,
  ) {}

  /**
   * Delivers one batch. True when the whole batch is done; false when the run must stop
   * (budget spent with records still failing, lease lost).
   */
  deliver(work: PartitionWork, batch: Batch): Promise<boolean> {
    return new BatchDelivery(this, work, batch).run();
  }

  invoke(work: PartitionWork, items: Item[]): Promise<Attempt> {
    return invokeFunction(this.ctx, work, items);
  }

  /**
   * Commits `offset` under the lease. With `defer`, the write overlaps what comes next (the
   * next read); settle() waits for it before the next invocation and before the lease goes,
   * so no batch is sent while the one before it is not committed.
   */
  async commit(
    work: PartitionWork,
    offset: number,
    options: { defer?: boolean } = {},
  ): Promise<void> {
    const previous = work.committing;
    const write = (async () => {
      await previous;
      await this.ctx.deps.groups.commit(work.config.group, this.ctx.memberId, [
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

  async settle(work: PartitionWork): Promise<void> {
    await work.committing;
  }

  async saveRetryState(work: PartitionWork, items: Item[], slice: Slice): Promise<void> {
    const first = items[slice.idx[0] as number] as Item;
    const state: RetryState = {
      offset: first.record.offset,
      attempts: slice.attempts,
      since: slice.since || this.ctx.clock.now(),
      lastError: slice.lastError.slice(0, 1000),
      ...(slice.lastResponse === undefined ? {} : { lastResponse: slice.lastResponse }),
    };
    await this.ctx.deps.subscriptions.saveRetryState(work.config.name, work.partition, state);
    work.stored = state;
    // The cached list's copy too, so the next run of this dispatcher counts on from here.
    work.sub.retries[String(work.partition)] = state;
  }

  async clearRetryState(work: PartitionWork): Promise<void> {
    if (work.stored === undefined) return;
    await this.ctx.deps.subscriptions.saveRetryState(work.config.name, work.partition, undefined);
    work.stored = undefined;
    delete work.sub.retries[String(work.partition)];
  }

  /** Sleeps before the next attempt; never past `until` (clock time), when the records expire. */
  async backoff(
    attempt: number,
    work: PartitionWork,
    until = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const { baseMs, maxMs } = this.ctx.options.backoff;
    const full = Math.min(maxMs, baseMs * 2 ** Math.min(30, attempt - 1));
    // Half fixed, half random: retries of many partitions spread out, none retries at once.
    const delay = full / 2 + Math.random() * (full / 2);
    const left = work.run.softDeadline - Date.now();
    const expiring = until - this.ctx.clock.now();
    await this.sleep(Math.max(0, Math.min(delay, left, expiring)), this.closing);
  }
}

/** One batch's delivery: the slices still to do, and which records are done. */
class BatchDelivery {
  private readonly items: Item[];
  /** Records done (delivered or given up on), by index: commits move up to the first not done. */
  private readonly handled: boolean[];
  private readonly indexOf: Map<Item, number>;
  /** Slices of the batch still to do, in offset order. */
  private readonly queue: Slice[];
  private readonly maxRetries: number;
  private readonly retentionAgeMs: number | undefined;
  /** Attempts in a row that failed before the function ran. */
  private throttles = 0;
  /**
   * Once anything of this batch failed, the work budget also bounds its retries, and the
   * records are retried only as long as retention keeps them.
   */
  private troubled: boolean;

  constructor(
    private readonly parts: Delivery,
    private readonly work: PartitionWork,
    private readonly batch: Batch,
  ) {
    this.items = batch.items;
    this.handled = new Array<boolean>(this.items.length).fill(false);
    this.indexOf = new Map(this.items.map((it, i) => [it, i]));
    this.maxRetries = effectiveRetries(work.config);
    this.retentionAgeMs = retentionGiveUpAgeMs(work.topic.config.retentionMs);
    const resumed =
      work.stored !== undefined && work.stored.offset === this.items[0]?.record.offset
        ? work.stored
        : undefined;
    this.queue = [
      {
        idx: this.items.map((_, i) => i),
        attempts: resumed?.attempts ?? 0,
        lastError: resumed?.lastError ?? '',
        since: resumed?.since ?? 0,
        ...(resumed?.lastResponse === undefined ? {} : { lastResponse: resumed.lastResponse }),
      },
    ];
    this.troubled = resumed !== undefined;
  }

  async run(): Promise<boolean> {
    const { report } = this.work;
    const queue = this.queue;
    while (queue.length > 0) {
      const slice = queue[0] as Slice;
      await this.expire(slice);
      if (slice.idx.length === 0) {
        queue.shift();
        continue;
      }
      if (await this.tooLarge(slice)) {
        queue.shift();
        continue;
      }
      if (!(await this.mayInvoke(slice))) return false;
      if (slice.attempts > 0) report.retries++;
      const attempt = await this.parts.invoke(this.work, slice.idx.map(this.item));
      report.invocations++;
      if (attempt.kind === 'failed' && attempt.counts) report.functionErrors++;

      if (attempt.kind === 'ok') {
        report.delivered += slice.idx.length;
        // The batch's last commit overlaps the next read.
        await this.finish(slice.idx, queue.length === 1);
        queue.shift();
        this.throttles = 0;
        await this.parts.clearRetryState(this.work);
        continue;
      }
      this.troubled = true;
      if (attempt.kind === 'failed' && !attempt.counts) {
        // The function did not run: not a retry, but no reason to hurry either.
        this.throttles++;
        slice.lastError = attempt.error;
        this.parts.ctx.log(
          `dispatcher: ${this.where()}: invoking ${this.work.config.functionName} failed before it ran (${attempt.error}); trying again, records stay in place`,
        );
        await this.parts.backoff(this.throttles, this.work, this.expiresAt(slice));
        continue;
      }
      await this.failed(slice, attempt);
    }
    return true;
  }

  private readonly item = (i: number): Item => this.items[i] as Item;

  private where(): string {
    return `${this.work.config.name} ${this.work.topic.name}/${this.work.partition}`;
  }

  private async commitDone(defer: boolean): Promise<void> {
    const first = this.handled.indexOf(false);
    const offset = first === -1 ? this.batch.next : this.item(first).record.offset;
    if (offset > this.work.position) await this.parts.commit(this.work, offset, { defer });
  }

  private async finish(indexes: number[], defer = false): Promise<void> {
    for (const i of indexes) this.handled[i] = true;
    await this.commitDone(defer);
  }

  /** Records given up on count as handled as soon as their destination has them. */
  private readonly sent = (done: Item[]): Promise<void> =>
    this.finish(done.map((it) => this.indexOf.get(it) as number));

  /** When the first record of a slice expires (by age or retention): no backoff sleeps past it. */
  private expiresAt(slice: Slice): number {
    const config = this.work.config;
    let at = Number.POSITIVE_INFINITY;
    for (const i of slice.idx) {
      const timestamp = this.item(i).record.timestamp;
      if (config.maximumRecordAgeInSeconds >= 0) {
        at = Math.min(at, timestamp + config.maximumRecordAgeInSeconds * 1000 + 1);
      }
      if (this.retentionAgeMs !== undefined) at = Math.min(at, timestamp + this.retentionAgeMs);
    }
    return at;
  }

  private failure(slice: Slice, condition: FailureCondition, reason: string): GiveUp {
    return {
      condition,
      reason,
      attempts: slice.attempts,
      lastError: slice.lastError,
      ...(slice.lastResponse === undefined ? {} : { response: slice.lastResponse }),
    };
  }

  /** Gives up on the slice's records `expired` picks (by age), for `reason`. */
  private async giveUpExpired(
    slice: Slice,
    expired: (ageMs: number) => boolean,
    reason: string,
    now: number,
  ): Promise<void> {
    const gone = slice.idx.filter((i) => expired(now - this.item(i).record.timestamp));
    if (gone.length === 0) return;
    await this.parts.failures.giveUp(
      this.work,
      gone.map(this.item),
      this.failure(slice, 'RecordAgeExceeded', reason),
      this.sent,
    );
    slice.idx = slice.idx.filter((i) => !gone.includes(i));
    await this.finish(gone);
  }

  /** Gives up on the slice's records past maximumRecordAgeInSeconds or about to be deleted. */
  private async expire(slice: Slice): Promise<void> {
    const { config } = this.work;
    const now = this.parts.ctx.clock.now();
    if (config.maximumRecordAgeInSeconds >= 0) {
      const maxAgeMs = config.maximumRecordAgeInSeconds * 1000;
      await this.giveUpExpired(
        slice,
        (age) => age > maxAgeMs,
        `older than maximumRecordAgeInSeconds (${config.maximumRecordAgeInSeconds} s)`,
        now,
      );
    }
    // A failing record is retried until it expires: here, until the topic's retention is
    // about to delete it, so that the destination still gets it (RETENTION_SAFETY_MARGIN).
    const retentionAgeMs = this.retentionAgeMs;
    if (this.troubled && retentionAgeMs !== undefined) {
      const retentionMs = this.work.topic.config.retentionMs;
      await this.giveUpExpired(
        slice,
        (age) => age >= retentionAgeMs,
        `would expire by retention: the topic's retention.ms (${retentionMs}) deletes it within ${retentionSafetyMarginMs(retentionMs)} ms, so it is given up on now, while the destination can still get it`,
        now,
      );
    }
  }

  /** A record too large for any event on its own: given up on (true), never invoked. */
  private async tooLarge(slice: Slice): Promise<boolean> {
    const { bootstrapServers, maxPayloadBytes } = this.parts.ctx.options;
    const envelope = envelopeSize(bootstrapServers, this.work.topic.name, this.work.partition);
    const only = slice.idx.length === 1 ? this.item(slice.idx[0] as number) : undefined;
    if (only === undefined || envelope + only.size <= maxPayloadBytes) return false;
    await this.parts.failures.giveUp(this.work, [only], {
      condition: 'MaximumPayloadSizeExceeded',
      reason: `the record alone makes an event of ${envelope + only.size} bytes; a synchronous invocation takes at most ${maxPayloadBytes}`,
      attempts: 0,
      lastError: '',
    });
    await this.finish(slice.idx);
    return true;
  }

  /**
   * Whether the slice may be invoked now; false when the run must stop: the dispatcher closes,
   * the deadline (or, once in trouble, the work budget) is reached, or the lease lapsed.
   */
  private async mayInvoke(slice: Slice): Promise<boolean> {
    const { work } = this;
    const clockNow = Date.now();
    if (
      this.parts.closing.aborted ||
      clockNow >= work.run.hardDeadline - DEADLINE_MARGIN_MS ||
      (this.troubled && clockNow >= work.run.softDeadline)
    ) {
      if (slice.attempts > 0) await this.parts.saveRetryState(work, this.items, slice);
      return false;
    }
    await this.parts.settle(work);
    const lapse = this.parts.membership.leaseLapse(work.config.group, work.leasedAt);
    if (lapse === undefined) return true;
    // Another dispatcher may own the partition now and be sending this very batch:
    // invoking again would only deliver it twice, and our commits would be fenced anyway.
    if (slice.attempts > 0)
      await this.parts.saveRetryState(work, this.items, slice).catch(() => {});
    work.report.outcome = 'stopped';
    work.report.error = lapse;
    this.parts.ctx.log(`dispatcher: ${this.where()}: ${lapse}`);
    return false;
  }

  /** An attempt the function failed (or answered with a partial batch response). */
  private async failed(
    slice: Slice,
    attempt: Extract<Attempt, { kind: 'partial' | 'failed' }>,
  ): Promise<void> {
    const { work, queue } = this;
    const config = work.config;
    slice.attempts++;
    slice.since ||= this.parts.ctx.clock.now();
    slice.lastError = attempt.error;
    if (attempt.response === undefined) delete slice.lastResponse;
    else slice.lastResponse = attempt.response;
    if (attempt.kind === 'partial') {
      if (await this.partial(slice, attempt.offset)) return;
    } else if (config.bisectBatchOnFunctionError && slice.idx.length > 1) {
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
      this.parts.ctx.log(
        `dispatcher: ${this.where()}: batch of ${slice.idx.length} from offset ${this.item(slice.idx[0] as number).record.offset} failed (${attempt.error}); bisecting`,
      );
      return;
    }
    if (slice.attempts > this.maxRetries) {
      await this.parts.failures.giveUp(
        work,
        slice.idx.map(this.item),
        this.failure(
          slice,
          'RetryAttemptsExhausted',
          `failed ${slice.attempts} time(s); maximumRetryAttempts is ${config.maximumRetryAttempts}`,
        ),
        this.sent,
      );
      await this.finish(slice.idx);
      queue.shift();
      await this.parts.clearRetryState(work);
      return;
    }
    this.parts.ctx.log(
      `dispatcher: ${this.where()}: attempt ${slice.attempts} from offset ${this.item(slice.idx[0] as number).record.offset} failed (${attempt.error}); retrying${retriesLeft(config, work.topic.config.retentionMs)}`,
    );
    await this.parts.backoff(slice.attempts, work, this.expiresAt(slice));
  }

  /**
   * A partial batch response reporting `offset` failed: the records before it are done. True
   * when the reported record ran out of retries and was given up on.
   */
  private async partial(slice: Slice, offset: number): Promise<boolean> {
    const { work, queue } = this;
    const ok = slice.idx.filter((i) => this.item(i).record.offset < offset);
    work.report.delivered += ok.length;
    slice.idx = slice.idx.filter((i) => this.item(i).record.offset >= offset);
    // The failures count against the record the function reported: a checkpoint that
    // moved on starts a new count.
    if (ok.length > 0) slice.attempts = 1;
    await this.finish(ok);
    if (slice.attempts <= this.maxRetries) return false;
    // Only the reported record is out of retries; the ones after it were never
    // reported and go on as a new batch.
    const [failed, ...rest] = slice.idx;
    await this.parts.failures.giveUp(
      work,
      [this.item(failed as number)],
      this.failure(
        slice,
        'RetryAttemptsExhausted',
        `reported failed ${slice.attempts} time(s); maximumRetryAttempts is ${work.config.maximumRetryAttempts}`,
      ),
      this.sent,
    );
    await this.finish([failed as number]);
    await this.parts.clearRetryState(work);
    if (rest.length === 0) queue.shift();
    else queue.splice(0, 1, { idx: rest, attempts: 0, lastError: '', since: 0 });
    return true;
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
