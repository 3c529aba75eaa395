import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { compareTopicPartitions, type OffsetReset } from '../log/consumer-group.js';
import { EventLogError, isEventLogError, toEventLogError } from '../log/errors.js';
import { Admin } from './admin.js';
import { type FetchedBatch, fetchPartitions, type PartitionBatch } from './fetcher.js';
import {
  type AssignedPartition,
  type CommitOffset,
  Groups,
  type TopicPartition,
} from './groups.js';
import { HttpClient, type HttpClientOptions } from './http.js';

/**
 * A consumer-group member over the HTTP API:
 *
 * ```ts
 * const consumer = new Consumer({ url }, { group: 'billing', topics: ['orders'] });
 * for await (const batch of consumer) {
 *   for (const record of batch.records) handle(batch.topic, batch.partition, record);
 * }
 * ```
 *
 * It heartbeats in the background (joining the group, and learning which partitions it
 * holds: the server balances them between members with leases), reads its partitions with
 * long polls (one request per topic and round, for all the partitions it holds of the
 * topic: the server reads each S3 object once for all of them), and hands out one batch
 * (one partition's records) at a time, in order per partition.
 *
 * Delivery is at least once. With auto-commit (the default) it commits only what was
 * processed: a batch counts as processed once the loop asks for the next one (the
 * iteration step completed), never merely because it was handed out. `commit()` commits
 * everything handed out so far, the current batch included (call it after processing).
 * A partition that moves to another member is revoked here (`onRevoke`) and the new owner
 * starts from the last commit, so records after it may be seen twice, never skipped.
 *
 * Leaving the loop (break, return, a throw) closes the consumer, as does `close()`: it
 * commits what was processed and leaves the group, so other members take its partitions at
 * their next heartbeat instead of after the session timeout.
 */

export type { OffsetReset as AutoOffsetReset };

export interface ConsumerOptions {
  group: string;
  /** Unique within the group; default `{hostname}-{pid}-{random}`. */
  memberId?: string;
  /** The subscription; or call subscribe() before iterating. */
  topics?: readonly string[];
  /** Commit processed batches in the background; default true. */
  autoCommit?: boolean;
  /** Kafka's auto.commit.interval.ms; default 5000. */
  autoCommitIntervalMs?: number;
  /** Where a partition the group never committed starts; default latest. `none` fails with NO_OFFSET. */
  autoOffsetReset?: OffsetReset;
  /** Partitions move to others after this long without a heartbeat; default 10000. */
  sessionTimeoutMs?: number;
  /** Default: the server's advice, a third of the session timeout. */
  heartbeatIntervalMs?: number;
  /**
   * Records per round (1-10000), shared by the batches of a topic's partitions that one
   * request fetches; so also the most a batch holds. Default 500.
   */
  maxRecords?: number;
  /** Soft cap on the record bytes of a round (a topic's batches fetched together); default 1 MiB. */
  maxBytes?: number;
  /** Long-poll wait of a round with nothing new in any partition (0-20000); default 5000. */
  waitMs?: number;
  /** Partitions given to this member (with the offset each starts at). */
  onAssign?: (partitions: (TopicPartition & { offset: number })[]) => unknown;
  /** Partitions taken away (another member has them, or the consumer closed). */
  onRevoke?: (partitions: TopicPartition[]) => unknown;
  /** Every successful commit. */
  onCommit?: (offsets: (TopicPartition & { committed: number; applied: boolean })[]) => void;
  /** Failures the consumer rides out (a heartbeat or fetch that failed and will be retried). */
  onError?: (error: EventLogError) => void;
}

export interface ConsumerBatch extends FetchedBatch {
  /** The lease counter the partition was read under. */
  counter: number;
  /** Records after this batch not yet read: highWatermark - nextOffset. */
  lag: number;
}

interface Owned extends TopicPartition {
  key: string;
  counter: number;
  /** Next offset to fetch. */
  position: number;
  /** Next offset after the records processed; what a commit writes. */
  processed: number;
  /** What the group has committed, as far as this member knows. */
  committed: number;
  active: boolean;
  /** A batch of it waits in the queue: it is fetched again once that was handed out. */
  queued: boolean;
}

/** The reading loop of one topic: one fetch request per round for the partitions held. */
interface TopicReader {
  topic: string;
  /** The request in flight; aborted when the partitions it reads change. */
  round: AbortController | undefined;
  /** Something changed since the loop last looked (a batch handed out, partitions moved). */
  dirty: boolean;
  poke: (() => void) | undefined;
  /** Which partition goes first in the next round: the budget is shared, so turns rotate. */
  turn: number;
}

interface Queued {
  owned: Owned;
  batch: FetchedBatch;
}

const RETRY_DELAY_MS = 500;

export class Consumer implements AsyncIterable<ConsumerBatch> {
  readonly group: string;
  readonly memberId: string;
  private readonly http: HttpClient;
  private readonly groups: Groups;
  private readonly admin: Admin;
  private readonly options: ConsumerOptions;
  private topics: string[];
  private readonly owned = new Map<string, Owned>();
  private readonly queue: Queued[] = [];
  private readonly readers = new Map<string, TopicReader>();
  private wake: (() => void) | undefined;
  private lastHanded: { owned: Owned; nextOffset: number } | undefined;
  private failure: EventLogError | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatIntervalMs: number;
  /** The member's leases are safe until then (local clock), unless it heartbeats again. */
  private validUntil = 0;
  private beating: Promise<void> | undefined;
  private commits: Promise<unknown> = Promise.resolve();
  private lastAutoCommit = Date.now();

  constructor(http: HttpClient | HttpClientOptions, options: ConsumerOptions) {
    this.http = http instanceof HttpClient ? http : new HttpClient(http);
    this.groups = new Groups(this.http);
    this.admin = new Admin(this.http);
    this.options = options;
    this.group = options.group;
    this.memberId =
      options.memberId ??
      `${hostname().replace(/[^a-zA-Z0-9._-]/g, '-')}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.topics = [...(options.topics ?? [])];
    this.heartbeatIntervalMs =
      options.heartbeatIntervalMs ?? (options.sessionTimeoutMs ?? 10_000) / 3;
  }

  /** Replaces the subscription and rebalances now. */
  async subscribe(topics: readonly string[]): Promise<void> {
    this.checkOpen();
    const kept = new Set(topics);
    // The next heartbeat releases partitions of dropped topics: commit them while we can.
    if (this.started && this.options.autoCommit !== false) {
      await this.commitProcessed(false, (o) => !kept.has(o.topic));
    }
    this.topics = [...topics];
    if (this.started) await this.beat();
    else await this.start();
  }

  /** The partitions this member holds now. */
  assignment(): (TopicPartition & { counter: number })[] {
    return [...this.owned.values()]
      .map((o) => ({ topic: o.topic, partition: o.partition, counter: o.counter }))
      .sort(compareTopicPartitions);
  }

  /**
   * Commits every batch handed out so far, the current one included; or, given offsets (the
   * next offset to read per partition, e.g. past the last record of a batch processed only
   * in part), those. Throws FENCED when a partition was lost meanwhile (it is revoked here;
   * the others are committed).
   */
  async commit(offsets?: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    if (offsets === undefined) {
      if (this.lastHanded !== undefined) this.markProcessed(this.lastHanded);
    } else {
      for (const o of offsets) {
        const owned = this.owned.get(keyOf(o));
        if (owned !== undefined) this.markProcessed({ owned, nextOffset: o.offset });
      }
      // The batch being processed counts as processed only as far as the offsets say.
      if (offsets.some((o) => keyOf(o) === this.lastHanded?.owned.key)) this.lastHanded = undefined;
    }
    await this.commitProcessed(true);
  }

  /** Commits what was processed (with auto-commit), leaves the group, stops. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerBatch> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<ConsumerBatch>> {
    // The loop came back for more: the batch it was given is processed.
    if (this.lastHanded !== undefined) {
      this.markProcessed(this.lastHanded);
      this.lastHanded = undefined;
    }
    if (this.closing !== undefined) return { done: true, value: undefined };
    if (!this.started) await this.start();
    await this.autoCommit();
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.closing !== undefined) return { done: true, value: undefined };
      if (this.owned.size > 0 && Date.now() > this.validUntil) {
        // No heartbeat got through for a whole session: others may hold these by now.
        await this.revoke([...this.owned.values()]);
      }
      const item = this.queue.shift();
      if (item === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const { owned, batch } = item;
      owned.queued = false;
      this.poke(owned.topic);
      if (!owned.active) continue;
      this.lastHanded = { owned, nextOffset: batch.nextOffset };
      return {
        done: false,
        value: {
          ...batch,
          counter: owned.counter,
          lag: Math.max(0, batch.highWatermark - batch.nextOffset),
        },
      };
    }
  }

  private async start(): Promise<void> {
    if (this.started) return;
    if (this.topics.length === 0) {
      throw new EventLogError('INVALID_REQUEST', 'Subscribe to at least one topic first');
    }
    this.started = true;
    await this.beat();
    this.schedule();
  }

  private schedule(delayMs = this.heartbeatIntervalMs): void {
    if (this.closing !== undefined) return;
    this.timer = setTimeout(() => {
      void (async () => {
        const began = Date.now();
        await this.beat();
        await this.autoCommit();
        // At a fixed rate: a slow heartbeat must not push the next one later.
        this.schedule(Math.max(0, this.heartbeatIntervalMs - (Date.now() - began)));
      })();
    }, delayMs);
    // Heartbeats alone must not keep a process alive that forgot to close the consumer.
    this.timer.unref();
  }

  private beat(): Promise<void> {
    this.beating ??= this.heartbeat().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async heartbeat(): Promise<void> {
    const sentAt = Date.now();
    let answer: Awaited<ReturnType<Groups['heartbeat']>>;
    try {
      answer = await this.groups.heartbeat(this.group, this.memberId, {
        topics: this.topics,
        ...(this.options.sessionTimeoutMs === undefined
          ? {}
          : { sessionTimeoutMs: this.options.sessionTimeoutMs }),
      });
    } catch (error) {
      const failure = toEventLogError(error);
      if (!failure.retriable) {
        this.fail(failure);
        return;
      }
      this.options.onError?.(failure);
      if (this.owned.size > 0 && Date.now() > this.validUntil) {
        await this.revoke([...this.owned.values()]);
      }
      return;
    }
    if (this.closing !== undefined) return;
    // Measured from when the heartbeat left: the server's clock started no earlier.
    this.validUntil = sentAt + answer.expiresInMs;
    if (this.options.heartbeatIntervalMs === undefined) {
      this.heartbeatIntervalMs = answer.heartbeatIntervalMs;
    }
    await this.reconcile(answer.assignment);
  }

  /** Applies the server's view: revoke what is gone or under a new counter, start what is new. */
  private async reconcile(assignment: readonly AssignedPartition[]): Promise<void> {
    const next = new Map(assignment.map((a) => [keyOf(a), a]));
    const gone = [...this.owned.values()].filter((o) => next.get(o.key)?.counter !== o.counter);
    if (gone.length > 0) await this.revoke(gone);
    const added = assignment.filter((a) => !this.owned.has(keyOf(a)));
    if (added.length === 0) return;
    let starts: (Owned | undefined)[];
    try {
      starts = await Promise.all(added.map((a) => this.startPartition(a)));
    } catch (error) {
      this.fail(toEventLogError(error));
      return;
    }
    const begun = starts.filter((o): o is Owned => o !== undefined);
    for (const o of begun) this.owned.set(o.key, o);
    // A round in flight does not read the new partitions: start over with them.
    for (const topic of new Set(begun.map((o) => o.topic))) this.startReading(topic);
    if (begun.length > 0) {
      await this.options.onAssign?.(
        begun.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position })),
      );
    }
  }

  /**
   * Where a new partition starts: the committed offset, else auto.offset.reset. A reset
   * start is committed at once, so whoever holds the partition next continues from it.
   */
  private async startPartition(a: AssignedPartition): Promise<Owned | undefined> {
    let start = a.committed;
    if (start === null) {
      const reset = this.options.autoOffsetReset ?? 'latest';
      if (reset === 'none') {
        throw new EventLogError(
          'NO_OFFSET',
          `Group "${this.group}" has no committed offset for ${a.topic}/${a.partition} and autoOffsetReset is none`,
          { details: { group: this.group, topic: a.topic, partition: a.partition } },
        );
      }
      start = await this.resetPosition(a, reset);
      try {
        await this.groups.commit(this.group, this.memberId, [
          { topic: a.topic, partition: a.partition, offset: start, counter: a.counter },
        ]);
      } catch (error) {
        if (isEventLogError(error, 'FENCED')) return undefined;
        throw error;
      }
    }
    return {
      topic: a.topic,
      partition: a.partition,
      key: keyOf(a),
      counter: a.counter,
      position: start,
      processed: start,
      committed: start,
      active: true,
      queued: false,
    };
  }

  private async resetPosition(p: TopicPartition, to: 'earliest' | 'latest'): Promise<number> {
    const [listed] = await this.admin.listOffsets(p.topic, to, p.partition);
    if (listed === undefined) throw new EventLogError('INTERNAL', 'No offsets listed');
    return to === 'earliest' ? listed.logStartOffset : listed.highWatermark;
  }

  /** Starts the topic's reading loop, or has the running one start a new round. */
  private startReading(topic: string): void {
    const running = this.readers.get(topic);
    if (running !== undefined) {
      this.poke(topic, true);
      return;
    }
    const reader: TopicReader = {
      topic,
      round: undefined,
      dirty: false,
      poke: undefined,
      turn: 0,
    };
    this.readers.set(topic, reader);
    void this.readTopic(reader);
  }

  /** Wakes a topic's loop; `restart` also abandons its request in flight. */
  private poke(topic: string, restart = false): void {
    const reader = this.readers.get(topic);
    if (reader === undefined) return;
    if (restart) reader.round?.abort();
    reader.dirty = true;
    const poke = reader.poke;
    reader.poke = undefined;
    poke?.();
  }

  /**
   * Reads a topic's partitions held here, in rounds: one request for all of them, then the
   * next round once every batch it returned was handed out (so batches of a partition come
   * out in order, one at a time). Ends when no partition of the topic is held any more.
   */
  private async readTopic(reader: TopicReader): Promise<void> {
    const waitMs = this.options.waitMs ?? 5000;
    for (;;) {
      reader.dirty = false;
      if (this.closing !== undefined) break;
      const mine = [...this.owned.values()].filter((o) => o.topic === reader.topic && o.active);
      if (mine.length === 0) break;
      if (mine.some((o) => o.queued)) {
        await this.idle(reader);
        continue;
      }
      const shift = reader.turn++ % mine.length;
      const sent = [...mine.slice(shift), ...mine.slice(0, shift)];
      const round = new AbortController();
      reader.round = round;
      let answers: PartitionBatch[];
      try {
        answers = await fetchPartitions(this.http, {
          topic: reader.topic,
          partitions: sent.map((o) => ({ partition: o.partition, offset: o.position })),
          maxRecords: this.options.maxRecords ?? 500,
          ...(this.options.maxBytes === undefined ? {} : { maxBytes: this.options.maxBytes }),
          waitMs,
          signal: round.signal,
        });
      } catch (error) {
        // Abandoned on purpose (partitions moved, closing): the next round has it right.
        if (round.signal.aborted || this.closing !== undefined) continue;
        this.options.onError?.(toEventLogError(error));
        await delay(RETRY_DELAY_MS);
        continue;
      } finally {
        if (reader.round === round) reader.round = undefined;
      }
      let handed = false;
      let failed = false;
      const byPartition = new Map(answers.map((a) => [a.partition, a]));
      for (const o of sent) {
        const answer = byPartition.get(o.partition);
        // Revoked meanwhile (or taken again under a new lease): the answer is not ours.
        if (answer === undefined || !o.active || this.owned.get(o.key) !== o) continue;
        if ('error' in answer) {
          if (!(await this.outOfRange(o, answer.error))) failed = true;
          continue;
        }
        o.position = answer.nextOffset;
        if (answer.records.length === 0) continue;
        handed = true;
        o.queued = true;
        this.queue.push({ owned: o, batch: answer });
        this.wake?.();
      }
      if (this.failure !== undefined) break;
      // A zero wait would spin on idle partitions; a failing one is retried after a pause.
      if (failed || (!handed && waitMs === 0)) await delay(RETRY_DELAY_MS);
    }
    if (this.readers.get(reader.topic) === reader) this.readers.delete(reader.topic);
  }

  /**
   * A partition's fetch failed: OFFSET_OUT_OF_RANGE (retention removed records past our
   * position) applies Kafka's reset policy and returns true; anything else is reported.
   */
  private async outOfRange(o: Owned, failure: EventLogError): Promise<boolean> {
    if (failure.code !== 'OFFSET_OUT_OF_RANGE') {
      this.options.onError?.(failure);
      return false;
    }
    const reset = this.options.autoOffsetReset ?? 'latest';
    if (reset === 'none') {
      this.fail(failure);
      return true;
    }
    o.position = await this.resetPosition(o, reset).catch(() => o.position);
    return true;
  }

  /** Waits until the loop is poked, unless it was already. */
  private idle(reader: TopicReader): Promise<void> {
    if (reader.dirty || this.closing !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      reader.poke = resolve;
    });
  }

  private markProcessed(handed: { owned: Owned; nextOffset: number }): void {
    const { owned } = handed;
    if (owned.active && this.owned.get(owned.key) === owned) {
      owned.processed = Math.max(owned.processed, handed.nextOffset);
    }
  }

  private async autoCommit(): Promise<void> {
    if (this.options.autoCommit === false || this.closing !== undefined) return;
    if (Date.now() - this.lastAutoCommit < (this.options.autoCommitIntervalMs ?? 5000)) return;
    this.lastAutoCommit = Date.now();
    await this.commitProcessed(false);
  }

  /** Commits processed offsets ahead of the committed ones; one commit at a time. */
  private commitProcessed(
    explicit: boolean,
    which: (o: Owned) => boolean = () => true,
  ): Promise<void> {
    const run = this.commits.then(async () => {
      const due = [...this.owned.values()].filter((o) => which(o) && o.processed > o.committed);
      if (due.length === 0) return;
      const offsets: CommitOffset[] = due.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.processed,
        counter: o.counter,
      }));
      try {
        const results = await this.groups.commit(this.group, this.memberId, offsets);
        due.forEach((o, i) => {
          o.committed = Math.max(o.committed, (offsets[i] as CommitOffset).offset);
        });
        this.options.onCommit?.(results);
      } catch (error) {
        const failure = toEventLogError(error);
        if (failure.code === 'FENCED') {
          const fenced = new Set(
            ((failure.details?.['fenced'] ?? []) as TopicPartition[]).map(keyOf),
          );
          const committed = (failure.details?.['committed'] ?? []) as (TopicPartition & {
            committed: number;
            applied: boolean;
          })[];
          due.forEach((o, i) => {
            if (!fenced.has(o.key)) {
              o.committed = Math.max(o.committed, (offsets[i] as CommitOffset).offset);
            }
          });
          if (committed.length > 0) this.options.onCommit?.(committed);
          await this.revoke([...this.owned.values()].filter((o) => fenced.has(o.key)));
        }
        if (explicit) throw failure;
        this.options.onError?.(failure);
      }
    });
    this.commits = run.catch(() => {});
    return run;
  }

  private async revoke(partitions: Owned[]): Promise<void> {
    const gone = partitions.filter((o) => this.owned.get(o.key) === o);
    if (gone.length === 0) return;
    for (const o of gone) {
      o.active = false;
      this.owned.delete(o.key);
    }
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (!(this.queue[i] as Queued).owned.active) this.queue.splice(i, 1);
    }
    // Rounds reading revoked partitions are abandoned; the others' partitions are read anew.
    for (const topic of new Set(gone.map((o) => o.topic))) this.poke(topic, true);
    await this.options.onRevoke?.(gone.map((o) => ({ topic: o.topic, partition: o.partition })));
  }

  private fail(error: EventLogError): void {
    this.failure ??= error;
    this.wake?.();
    void this.close().catch(() => {});
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.wake?.();
    await this.beating;
    if (this.started && this.options.autoCommit !== false) {
      await this.commitProcessed(false).catch(() => {});
    }
    await this.commits;
    const all = [...this.owned.values()];
    for (const o of all) o.active = false;
    this.owned.clear();
    this.queue.length = 0;
    for (const topic of [...this.readers.keys()]) this.poke(topic, true);
    if (this.started) {
      try {
        await this.groups.leave(this.group, this.memberId);
      } catch (error) {
        // The session timeout frees the partitions anyway; just later.
        this.options.onError?.(toEventLogError(error));
      }
    }
    if (all.length > 0) {
      await this.options.onRevoke?.(all.map((o) => ({ topic: o.topic, partition: o.partition })));
    }
  }

  private checkOpen(): void {
    if (this.closing !== undefined) {
      throw new EventLogError('INVALID_REQUEST', 'The consumer is closed');
    }
  }
}

function keyOf(p: TopicPartition): string {
  return `${p.topic}#${p.partition}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
