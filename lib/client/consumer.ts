import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { compareTopicPartitions } from '../log/consumer-group.js';
import { EventLogError, isEventLogError, toEventLogError } from '../log/errors.js';
import { Admin } from './admin.js';
import type { ConsumerBatch, ConsumerOptions } from './consumer-options.js';
import {
  type AssignedPartition,
  type CommitOffset,
  Groups,
  type TopicPartition,
} from './groups.js';
import { HttpClient, type HttpClientOptions } from './http.js';
import { type Owned, type Queued, TopicReaders } from './topic-readers.js';

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

// The options and the batch shape live in consumer-options.ts; importers still find them here.
export type { AutoOffsetReset, ConsumerBatch, ConsumerOptions } from './consumer-options.js';

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
  private readonly readers: TopicReaders;
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
    this.readers = new TopicReaders({
      http: this.http,
      options,
      owned: this.owned,
      closing: () => this.closing !== undefined,
      failed: () => this.failure !== undefined,
      hand: (item) => {
        this.queue.push(item);
        this.wake?.();
      },
      resetPosition: (p, to) => this.resetPosition(p, to),
      fail: (error) => this.fail(error),
    });
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
      this.readers.poke(owned.topic);
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
    for (const topic of new Set(begun.map((o) => o.topic))) this.readers.start(topic);
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
    for (const topic of new Set(gone.map((o) => o.topic))) this.readers.poke(topic, true);
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
    this.readers.pokeAll();
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
