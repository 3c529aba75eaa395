import {
  type Commit,
  type CommitBatch,
  type CommitHole,
  extendPrefix,
  holeExpired,
  type PublishedCommit,
  partitionsOfSequence,
  type SettledPrefix,
  sequenceOf,
} from '../log/commit.js';
import { EventLogError } from '../log/errors.js';
import type { CommitLogStore, SequenceHead, SequenceMeta } from '../store/commit-log-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';

/**
 * What readers see of the log (storage engine v2, lib/log/commit.ts). Per commit sequence,
 * each process remembers the settled prefix it has seen (every commit below `next` published
 * or aborted) and the recent published commits, so that a consumer at the tail reads only the
 * commits new to it: one Query, whatever partitions of the sequence it owns.
 *
 * A missing commit number with a later commit present is a hole: its writer reserved and has
 * not published. Whoever meets it (a fetch, the dispatcher, maintenance) waits until that
 * writer can no longer publish (the next commit says when it was reserved, and a writer gives
 * up maxProduceMs after its start), then settles every missing number of the hole at once with
 * an aborted marker each. A marker sits at exactly one writer's commit number, so that writer's
 * late publish fails; nobody else's can.
 */

/** Recent published commits kept per sequence, for reads near the tail. */
const RECENT_COMMITS = 512;
/** Sequences remembered per process; past this the memory starts over. */
const MAX_SEQUENCES = 10_000;
/** Commit pages read while walking: small first (a tail read finds one or two new commits). */
const PAGES = [8, 32, 100] as const;
/** Raise the shared hint once this process walked this many commits past it. */
const RAISE_AFTER_COMMITS = 64;
/** Jump to the shared hint instead of walking when it is this far ahead of our memory. */
const JUMP_AFTER_COMMITS = 256;

export interface ReaderOptions {
  clock?: Clock;
  /**
   * How long after its reservation a writer may still publish: the produce path's maximum
   * duration plus a margin for clocks. Holes older than this are healed.
   */
  graceMs: number;
  /** How long a sequence's meta (log starts) is reused before it is read again. @default 0: every read, so a fetch never serves offsets retention already gave up */
  metaTtlMs?: number;
}

export interface PartitionBounds {
  partition: number;
  logStartOffset: number;
  /** Kafka's high watermark: the end of the partition's readable offsets. */
  highWatermark: number;
}

export interface ReadBatch {
  partition: number;
  commit: number;
  object: string;
  /** The object's append time (the commit's reservation time). */
  appendTime: number;
  batch: CommitBatch;
}

export interface PartitionRead extends PartitionBounds {
  /** The offset asked for. */
  offset: number;
  /** Batches holding offsets >= offset, in order; gaps between them are aborted ranges. */
  batches: ReadBatch[];
  /** True when the batches reach the high watermark. */
  complete: boolean;
}

export interface ReadWant {
  partition: number;
  offset: number;
}

export interface ReadBudget {
  /** Payload bytes (uncompressed key, value and headers) of the batches chosen, soft. */
  maxBytes: number;
  /** Records of the batches chosen at or past the offsets asked for, soft. */
  maxRecords: number;
}

interface SequenceMemory {
  prefix: SettledPrefix;
  /** Published commits, ascending, contiguous among the published ones (markers left out). */
  recent: PublishedCommit[];
  meta?: { value: SequenceMeta; readAt: number };
  walked: number;
}

export interface AdvanceResult {
  prefix: SettledPrefix;
  /** Commit numbers declared aborted by this call. */
  healed: number[];
  /** A hole whose writers may still publish. */
  pendingHole?: CommitHole;
  /**
   * The sequence's meta as this call read it. [helper, issue 13 req. 5] Callers use it
   * instead of reading it again: with metaTtlMs 0 a second metaOf was a second GetItem,
   * making a tail fetch 3 read units instead of 2.
   */
  meta: SequenceMeta;
}

export class LogReader {
  private readonly clock: Clock;
  private readonly graceMs: number;
  private readonly metaTtlMs: number;
  private readonly memory = new Map<string, SequenceMemory>();

  constructor(
    private readonly commits: CommitLogStore,
    options: ReaderOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.graceMs = options.graceMs;
    this.metaTtlMs = options.metaTtlMs ?? 0;
  }

  private remembered(topicId: string, sequence: number): SequenceMemory | undefined {
    return this.memory.get(`${topicId}/${sequence}`);
  }

  private async metaOf(topicId: string, sequence: number, fresh = false): Promise<SequenceMeta> {
    const key = `${topicId}/${sequence}`;
    let memory = this.memory.get(key);
    const now = this.clock.now();
    if (!fresh && memory?.meta !== undefined && now - memory.meta.readAt < this.metaTtlMs) {
      return memory.meta.value;
    }
    const value = await this.commits.meta(topicId, sequence);
    memory = this.memory.get(key);
    if (memory === undefined) {
      if (this.memory.size >= MAX_SEQUENCES) this.memory.clear();
      memory = { prefix: value.hint, recent: [], walked: 0 };
      this.memory.set(key, memory);
    }
    memory.meta = { value, readAt: now };
    return value;
  }

  /** Drops what this process remembers of a topic's sequences (a deleted topic). */
  forget(topicId: string): void {
    for (const key of this.memory.keys())
      if (key.startsWith(`${topicId}/`)) this.memory.delete(key);
  }

  /**
   * Reads the commits published since this process last looked and extends the settled
   * prefix over them, healing holes whose writers' time is up.
   */
  async advance(topicId: string, sequence: number): Promise<AdvanceResult> {
    const meta = await this.metaOf(topicId, sequence);
    const memory = this.remembered(topicId, sequence) as SequenceMemory;
    if (meta.hint.next > memory.prefix.next + JUMP_AFTER_COMMITS) {
      memory.prefix = meta.hint;
      memory.recent = [];
    }
    if (memory.prefix.next < meta.startCommit) {
      // Retention deleted commits we never saw (their offsets are below the log starts now):
      // start at the first kept commit, never treat the deleted numbers as a hole.
      memory.prefix =
        meta.hint.next >= meta.startCommit
          ? meta.hint
          : await this.prefixBefore(topicId, sequence, meta.startCommit);
      memory.recent = [];
    }
    const healed: number[] = [];
    let pendingHole: CommitHole | undefined;
    for (let page = 0; ; page++) {
      const size = PAGES[Math.min(page, PAGES.length - 1)] as number;
      const commits = await this.commits.commitsFrom(topicId, sequence, memory.prefix.next, size);
      let step = extendPrefix(memory.prefix, commits);
      let merged: Commit[] = commits;
      // A loop, not an `if`: after one hole is settled the walk may meet the next hole of the
      // same page, whose writers may be out of time too; all of them heal in this pass, not
      // one per fetch (test/integration/broker/storage-v2-scenarios.test.ts, two dead writers).
      while (step.hole !== undefined && holeExpired(step.hole, this.clock.now(), this.graceMs)) {
        // Every writer of the hole has given up or published by now: settle each number.
        const settled: Commit[] = [];
        for (let c = step.hole.from; c < step.hole.to; c++) {
          const found = await this.commits.abort(topicId, sequence, c, this.clock.now());
          if (found.kind === 'aborted') healed.push(c);
          settled.push(found);
        }
        merged = [...merged, ...settled].sort((a, b) => a.commit - b.commit);
        step = extendPrefix(memory.prefix, merged);
      }
      this.take(memory, step.used);
      memory.prefix = step.prefix;
      if (step.hole !== undefined) {
        pendingHole = step.hole;
        break;
      }
      if (commits.length < size) break;
    }
    if (memory.walked >= RAISE_AFTER_COMMITS && memory.prefix.next > meta.hint.next) {
      memory.walked = 0;
      await this.commits.raiseHint(topicId, sequence, memory.prefix).catch(() => {});
    }
    return {
      prefix: memory.prefix,
      healed,
      ...(pendingHole === undefined ? {} : { pendingHole }),
      meta,
    };
  }

  /**
   * Advances (and heals) every sequence of a topic, dead writers' reservations at the tail
   * included: what maintenance does for each topic.
   */
  async advanceAll(topic: TopicRecord): Promise<AdvanceResult[]> {
    const out: AdvanceResult[] = [];
    for (let sequence = 0; sequence < topic.sequences; sequence++) {
      out.push(await this.settle(topic.topicId, sequence));
    }
    return out;
  }

  /**
   * Advances one sequence and then settles its tail. Even with a hole pending: a hole followed
   * only by aborted markers has no published commit to say when it was reserved, so only the
   * head's last reservation time can settle it (healTail writes nothing unless every
   * reservation of the sequence is past its deadline).
   */
  async settle(topicId: string, sequence: number): Promise<AdvanceResult & { tailHealed: number }> {
    const result = await this.advance(topicId, sequence);
    const tailHealed = await this.healTail(topicId, sequence);
    if (tailHealed === 0) return { ...result, tailHealed };
    const after = await this.advance(topicId, sequence);
    return { ...after, healed: [...result.healed, ...after.healed], tailHealed };
  }

  /**
   * The settled prefix ending just before commit `next`, from the first published commit at or
   * after it: its vector less its own batches (commits between are markers, which hold no data).
   */
  private async prefixBefore(
    topicId: string,
    sequence: number,
    next: number,
  ): Promise<SettledPrefix> {
    const commits = await this.commits.commitsFrom(topicId, sequence, next, 32);
    const first = commits.find((c): c is PublishedCommit => c.kind === 'published');
    if (first === undefined) return { next, vector: new Map() };
    const vector = new Map(first.vector);
    for (const b of first.batches) vector.set(b.partition, b.baseOffset);
    return { next, vector };
  }

  private take(memory: SequenceMemory, used: readonly Commit[]): void {
    memory.walked += used.length;
    for (const commit of used) if (commit.kind === 'published') memory.recent.push(commit);
    if (memory.recent.length > RECENT_COMMITS) {
      memory.recent.splice(0, memory.recent.length - RECENT_COMMITS);
    }
  }

  /**
   * Whether commits were reserved in the partition's sequence past the settled prefix this
   * process has seen: one small read of the sequence head, for waits between fetches.
   */
  async mayHaveMore(topic: TopicRecord, partition: number): Promise<boolean> {
    const sequence = sequenceOf(partition, topic.sequences);
    const head = await this.commits.head(topic.topicId, sequence);
    const seen = this.remembered(topic.topicId, sequence)?.prefix.next ?? 1;
    if (head.commits < seen) return false;
    // Reserved past what we saw: published since (fetch again), in flight, or a dead writer's
    // reservation at the tail, which nothing after it would ever make us heal.
    const { prefix } = await this.advance(topic.topicId, sequence);
    if (prefix.next > seen) return true;
    return (await this.healTail(topic.topicId, sequence, head)) > 0;
  }

  /**
   * Settles reservations at the tail that nothing was published after, once the last of them
   * is past its writer's deadline (the head says when it was reserved, and every earlier one
   * was reserved before it). A reader never needs this (nothing after such a reservation is
   * held back), but waits and maintenance would otherwise see it as "more to come" forever.
   */
  async healTail(topicId: string, sequence: number, head?: SequenceHead): Promise<number> {
    const current = head ?? (await this.commits.head(topicId, sequence));
    const memory = this.remembered(topicId, sequence);
    const from = memory?.prefix.next ?? (await this.advance(topicId, sequence)).prefix.next;
    if (current.commits < from) return 0;
    if (this.clock.now() <= current.lastReservedAt + this.graceMs) return 0;
    let healed = 0;
    for (let c = from; c <= current.commits; c++) {
      const found = await this.commits.abort(topicId, sequence, c, this.clock.now());
      if (found.kind === 'aborted') healed++;
    }
    await this.advance(topicId, sequence);
    return healed;
  }

  /** The partition's log start and high watermark, as of now. */
  async bounds(topic: TopicRecord, partition: number): Promise<PartitionBounds> {
    const sequence = sequenceOf(partition, topic.sequences);
    const { prefix, meta } = await this.advance(topic.topicId, sequence);
    return boundsOf(partition, prefix, meta);
  }

  /**
   * Kafka's DeleteRecords: moves each partition's log start up to its offset (-1: the high
   * watermark), never down. Written to the sequence's meta item, which every reader reads
   * afresh (metaTtlMs 0), so no reader serves the records below it once this returns;
   * retention then removes the batches wholly below it. An offset past the high watermark
   * is OFFSET_OUT_OF_RANGE and nothing is written. Returns each partition's new log start
   * (Kafka's low watermark).
   */
  async deleteRecords(
    topic: TopicRecord,
    wanted: ReadonlyMap<number, number>,
  ): Promise<PartitionBounds[]> {
    const bySequence = new Map<number, [number, number][]>();
    for (const [partition, offset] of wanted) {
      const sequence = sequenceOf(partition, topic.sequences);
      bySequence.set(sequence, [...(bySequence.get(sequence) ?? []), [partition, offset]]);
    }
    // Every partition is checked before any is written.
    const targets = new Map<number, Map<number, number>>();
    for (const [sequence, entries] of bySequence) {
      const { prefix, meta } = await this.advance(topic.topicId, sequence);
      const target = new Map<number, number>();
      for (const [partition, offset] of entries) {
        const bounds = boundsOf(partition, prefix, meta);
        const to = offset === -1 ? bounds.highWatermark : offset;
        if (to < 0 || to > bounds.highWatermark) {
          throw outOfRange({ partition, offset: to }, bounds);
        }
        target.set(partition, to);
      }
      targets.set(sequence, target);
    }
    const out: PartitionBounds[] = [];
    for (const [sequence, target] of targets) {
      for (let attempt = 0; ; attempt++) {
        const meta = await this.metaOf(topic.topicId, sequence, true);
        const next = new Map(meta.deletedBefore);
        for (const [p, to] of target) next.set(p, Math.max(next.get(p) ?? 0, to));
        if (
          await this.commits.saveDeletedBefore(topic.topicId, sequence, meta.deleteVersion, next)
        ) {
          break;
        }
        if (attempt >= 8) {
          throw new EventLogError('THROTTLED', 'DeleteRecords kept meeting concurrent writers');
        }
      }
      const { prefix } = await this.advance(topic.topicId, sequence);
      const meta = await this.metaOf(topic.topicId, sequence, true);
      for (const p of target.keys()) out.push(boundsOf(p, prefix, meta));
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  /** Every partition's bounds, reading each sequence once. */
  async allBounds(topic: TopicRecord): Promise<PartitionBounds[]> {
    const out: PartitionBounds[] = [];
    for (let sequence = 0; sequence < topic.sequences; sequence++) {
      const { prefix, meta } = await this.advance(topic.topicId, sequence);
      for (const partition of partitionsOfSequence(sequence, topic.sequences, topic.partitions)) {
        out.push(boundsOf(partition, prefix, meta));
      }
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  /**
   * The first batch of the partition, at or past its log start, holding a timestamp at or
   * after `timestamp` (Kafka's ListOffsets by time); walks the sequence's commits in order.
   */
  async firstBatchAtTime(
    topic: TopicRecord,
    partition: number,
    timestamp: number,
  ): Promise<{ bounds: PartitionBounds; batch?: ReadBatch }> {
    const sequence = sequenceOf(partition, topic.sequences);
    const { prefix } = await this.advance(topic.topicId, sequence);
    const meta = await this.metaOf(topic.topicId, sequence, true);
    const bounds = boundsOf(partition, prefix, meta);
    let from = meta.startCommit;
    for (let page = 0; from < prefix.next; page++) {
      const size = PAGES[Math.min(page, PAGES.length - 1)] as number;
      const commits = await this.commits.commitsFrom(topic.topicId, sequence, from, size);
      for (const commit of commits) {
        if (commit.commit >= prefix.next) return { bounds };
        from = commit.commit + 1;
        if (commit.kind !== 'published') continue;
        const batch = commit.batches.find((b) => b.partition === partition);
        if (batch === undefined || batch.baseOffset + batch.count <= bounds.logStartOffset)
          continue;
        if (batch.maxTimestamp >= timestamp) {
          return {
            bounds,
            batch: {
              partition,
              commit: commit.commit,
              object: commit.object,
              appendTime: commit.reservedAt,
              batch,
            },
          };
        }
      }
      if (commits.length < size) break;
    }
    return { bounds };
  }

  /**
   * Batches of each wanted partition from its offset on, within a shared budget, reading each
   * sequence's commits once for all the partitions wanted in it. A partition whose offset is
   * below its log start or past its high watermark gets OFFSET_OUT_OF_RANGE.
   */
  async read(
    topic: TopicRecord,
    wants: readonly ReadWant[],
    budget: ReadBudget,
  ): Promise<(PartitionRead | { partition: number; offset: number; error: EventLogError })[]> {
    const bySequence = new Map<number, ReadWant[]>();
    for (const want of wants) {
      const sequence = sequenceOf(want.partition, topic.sequences);
      bySequence.set(sequence, [...(bySequence.get(sequence) ?? []), want]);
    }
    const spent = { bytes: 0, records: 0, batches: 0 };
    const results = new Map<
      number,
      PartitionRead | { partition: number; offset: number; error: EventLogError }
    >();
    for (const [sequence, group] of bySequence) {
      const advanced = await this.advance(topic.topicId, sequence);
      const { prefix } = advanced;
      let { meta } = advanced;
      const reads: PartitionRead[] = [];
      for (const want of group) {
        let bounds = boundsOf(want.partition, prefix, meta);
        if (want.offset < bounds.logStartOffset) {
          meta = await this.metaOf(topic.topicId, sequence, true);
          bounds = boundsOf(want.partition, prefix, meta);
        }
        if (want.offset < bounds.logStartOffset || want.offset > bounds.highWatermark) {
          results.set(want.partition, { ...want, error: outOfRange(want, bounds) });
          continue;
        }
        const read: PartitionRead = {
          ...bounds,
          offset: want.offset,
          batches: [],
          complete: want.offset === bounds.highWatermark,
        };
        reads.push(read);
        results.set(want.partition, read);
      }
      const open = reads.filter((r) => !r.complete);
      if (open.length > 0) {
        await this.collect(topic.topicId, sequence, prefix, meta, open, budget, spent);
      }
    }
    return wants.map((w) => results.get(w.partition) as PartitionRead);
  }

  /** Walks the sequence's commits from the earliest one any read needs, handing out batches. */
  private async collect(
    topicId: string,
    sequence: number,
    prefix: SettledPrefix,
    meta: SequenceMeta,
    reads: PartitionRead[],
    budget: ReadBudget,
    spent: { bytes: number; records: number; batches: number },
  ): Promise<void> {
    const starts = await Promise.all(
      reads.map((r) => this.commitHolding(topicId, sequence, prefix, meta, r.partition, r.offset)),
    );
    let from = Math.min(...starts);
    const wanted = new Map(
      reads.map((r, i) => [r.partition, { read: r, start: starts[i] as number }]),
    );
    const full = (): boolean =>
      spent.batches > 0 && (spent.bytes >= budget.maxBytes || spent.records >= budget.maxRecords);
    const memory = this.remembered(topicId, sequence) as SequenceMemory;
    for (let page = 0; from < prefix.next && !full(); page++) {
      let commits: Commit[];
      const recentStart = memory.recent[0]?.commit ?? Number.POSITIVE_INFINITY;
      if (from >= recentStart) {
        commits = memory.recent.filter((c) => c.commit >= from && c.commit < prefix.next);
      } else {
        const size = PAGES[Math.min(page, PAGES.length - 1)] as number;
        commits = await this.commits.commitsFrom(topicId, sequence, from, size);
      }
      if (commits.length === 0) break;
      for (const commit of commits) {
        if (commit.commit >= prefix.next || full()) {
          from = prefix.next;
          break;
        }
        from = commit.commit + 1;
        if (commit.kind !== 'published') continue;
        for (const batch of commit.batches) {
          const want = wanted.get(batch.partition);
          if (want === undefined || commit.commit < want.start) continue;
          const end = batch.baseOffset + batch.count;
          if (end <= want.read.offset) continue;
          want.read.batches.push({
            partition: batch.partition,
            commit: commit.commit,
            object: commit.object,
            appendTime: commit.reservedAt,
            batch,
          });
          spent.batches++;
          spent.bytes += batch.bytes;
          spent.records += end - Math.max(batch.baseOffset, want.read.offset);
          if (end >= want.read.highWatermark) want.read.complete = true;
        }
      }
    }
  }

  /**
   * The first commit whose vector puts partition's next offset past `offset`: the commit
   * holding it, or (in an aborted range) the next one with data. From this process's recent
   * commits when they cover it, else a binary search over commit numbers.
   */
  private async commitHolding(
    topicId: string,
    sequence: number,
    prefix: SettledPrefix,
    meta: SequenceMeta,
    partition: number,
    offset: number,
  ): Promise<number> {
    const memory = this.remembered(topicId, sequence) as SequenceMemory;
    const recent = memory.recent;
    for (let i = 0; i < recent.length; i++) {
      const commit = recent[i] as PublishedCommit;
      if ((commit.vector.get(partition) ?? 0) <= offset) continue;
      if (i > 0) return commit.commit;
      const batch = commit.batches.find((b) => b.partition === partition);
      if (batch !== undefined && batch.baseOffset <= offset) return commit.commit;
      break;
    }
    // Binary search: vectors only grow with commit numbers.
    let lo = meta.startCommit;
    let hi = prefix.next;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [probe] = (await this.commits.commitsFrom(topicId, sequence, mid, 4)).filter(
        (c): c is PublishedCommit => c.kind === 'published' && c.commit < prefix.next,
      );
      if (probe === undefined) {
        hi = mid;
        continue;
      }
      if ((probe.vector.get(partition) ?? 0) > offset) hi = Math.min(mid, probe.commit);
      else lo = probe.commit + 1;
    }
    return lo;
  }
}

function boundsOf(partition: number, prefix: SettledPrefix, meta: SequenceMeta): PartitionBounds {
  const highWatermark = prefix.vector.get(partition) ?? 0;
  const logStart = Math.max(
    meta.logStarts.get(partition) ?? 0,
    meta.deletedBefore.get(partition) ?? 0,
  );
  return { partition, logStartOffset: Math.min(logStart, highWatermark), highWatermark };
}

function outOfRange(want: ReadWant, bounds: PartitionBounds): EventLogError {
  return new EventLogError(
    'OFFSET_OUT_OF_RANGE',
    `Offset ${want.offset} is out of range for partition ${want.partition}: the log holds offsets ${bounds.logStartOffset} to ${bounds.highWatermark - 1}`,
    {
      details: {
        partition: want.partition,
        offset: want.offset,
        logStartOffset: bounds.logStartOffset,
        highWatermark: bounds.highWatermark,
      },
    },
  );
}
