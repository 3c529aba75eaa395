import type { EventLogError } from '../log/errors.js';
import { toEventLogError } from '../log/errors.js';
import type { ConsumerOptions } from './consumer-options.js';
import { type FetchedBatch, fetchPartitions, type PartitionBatch } from './fetcher.js';
import type { TopicPartition } from './groups.js';
import type { HttpClient } from './http.js';

/**
 * A Consumer's reading side: one long-polling loop per topic over the partitions the member
 * holds, and each partition's position. Group membership (heartbeats, commits, revoking)
 * stays in consumer.ts, which hands these loops its map of held partitions.
 */

export interface Owned extends TopicPartition {
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

export interface Queued {
  owned: Owned;
  batch: FetchedBatch;
}

/** What the loops need of the consumer that runs them. */
export interface ReaderHost {
  readonly http: HttpClient;
  readonly options: ConsumerOptions;
  /** The partitions held now, by key; the loops read the active ones of their topic. */
  readonly owned: ReadonlyMap<string, Owned>;
  closing(): boolean;
  failed(): boolean;
  /** Queues a batch for the consumer's iterator. */
  hand(item: Queued): void;
  resetPosition(p: TopicPartition, to: 'earliest' | 'latest'): Promise<number>;
  /** Stops the consumer with a failure it cannot ride out. */
  fail(error: EventLogError): void;
}

const RETRY_DELAY_MS = 500;

export class TopicReaders {
  private readonly readers = new Map<string, TopicReader>();

  constructor(private readonly host: ReaderHost) {}

  /** Starts the topic's reading loop, or has the running one start a new round. */
  start(topic: string): void {
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
    void this.read(reader);
  }

  /** Wakes a topic's loop; `restart` also abandons its request in flight. */
  poke(topic: string, restart = false): void {
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
  private async read(reader: TopicReader): Promise<void> {
    const waitMs = this.host.options.waitMs ?? 5000;
    for (;;) {
      reader.dirty = false;
      if (this.host.closing()) break;
      const mine = [...this.host.owned.values()].filter(
        (o) => o.topic === reader.topic && o.active,
      );
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
        answers = await fetchPartitions(this.host.http, {
          topic: reader.topic,
          partitions: sent.map((o) => ({ partition: o.partition, offset: o.position })),
          maxRecords: this.host.options.maxRecords ?? 500,
          ...(this.host.options.maxBytes === undefined
            ? {}
            : { maxBytes: this.host.options.maxBytes }),
          waitMs,
          signal: round.signal,
        });
      } catch (error) {
        // Abandoned on purpose (partitions moved, closing): the next round has it right.
        if (round.signal.aborted || this.host.closing()) continue;
        this.host.options.onError?.(toEventLogError(error));
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
        if (answer === undefined || !o.active || this.host.owned.get(o.key) !== o) continue;
        if ('error' in answer) {
          if (!(await this.outOfRange(o, answer.error))) failed = true;
          continue;
        }
        o.position = answer.nextOffset;
        if (answer.records.length === 0) continue;
        handed = true;
        o.queued = true;
        this.host.hand({ owned: o, batch: answer });
      }
      if (this.host.failed()) break;
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
      this.host.options.onError?.(failure);
      return false;
    }
    const reset = this.host.options.autoOffsetReset ?? 'latest';
    if (reset === 'none') {
      this.host.fail(failure);
      return true;
    }
    o.position = await this.host.resetPosition(o, reset).catch(() => o.position);
    return true;
  }

  /** Waits until the loop is poked, unless it was already. */
  private idle(reader: TopicReader): Promise<void> {
    if (reader.dirty || this.host.closing()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      reader.poke = resolve;
    });
  }

  /** Abandons every loop's request in flight and wakes it (it ends once nothing is held). */
  pokeAll(): void {
    for (const topic of [...this.readers.keys()]) this.poke(topic, true);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
