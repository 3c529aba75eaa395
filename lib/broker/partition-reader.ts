import { EventLogError } from '../log/errors.js';
import type { IndexEntry, LogIndexStore, PartitionHead } from '../store/log-index-store.js';

/**
 * Finds what a reader may see of a partition. Writers reserve offsets, then publish an
 * index entry; a writer still in flight (or dead) leaves a hole, and readers must stop at
 * the first hole: the high watermark is the end of the contiguous published prefix.
 *
 * Every offset below the head's `hw` hint is known to be contiguous, so a walk starts
 * there, not at the log start. Readers raise the hint when they walked far past it, so the
 * walk stays short without costing writers a third write per batch.
 *
 * A prefix once seen contiguous stays so (entries are never removed above the log start, and
 * a healed hole becomes a marker entry), so each process also remembers how far it has seen
 * and starts its walks there: a consumer polling the tail reads only the entries that are new
 * to it, not the stretch between the shared hint and the tail again on every fetch.
 */

const PAGE = 100;
const FIRST_PAGE = 8;
/** Raise the hint once a walk went this many entries past it. */
const RAISE_AFTER_ENTRIES = 32;
/** Partitions remembered per process; past this the memory starts over. */
const MAX_REMEMBERED = 10_000;

interface Seen {
  /** End of the prefix this process has seen contiguous. */
  end: number;
  /** Entries it walked past the stored hint since it last raised it. */
  entries: number;
}

export interface Walk {
  /** Contiguous entries from the walk's start, in offset order. */
  entries: IndexEntry[];
  /** End offset of the contiguous run seen. */
  end: number;
  /** True when the walk stopped at a hole or at the end of the log, so `end` is the HW. */
  complete: boolean;
}

export class PartitionReader {
  /** topicId#partition -> what this process has seen of the partition. */
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly index: LogIndexStore) {}

  /** Where a walk may start: below it, every offset is published (or marked aborted). */
  private walkStart(topicId: string, partition: number, head: PartitionHead): number {
    const seen = this.seen.get(`${topicId}#${partition}`)?.end ?? 0;
    return Math.min(Math.max(head.hwHint, seen), head.nextOffset);
  }

  /**
   * Records a walk from `start`; true when this process has now walked far enough past the
   * stored hint that raising it saves other readers (and the healer) more than the write.
   */
  private remember(
    topicId: string,
    partition: number,
    head: PartitionHead,
    start: number,
    walk: Walk,
  ): boolean {
    const key = `${topicId}#${partition}`;
    const before = this.seen.get(key);
    // Entries between the stored hint and `start` were counted by the walks that saw them.
    const counted = before !== undefined && start > head.hwHint ? before.entries : 0;
    const seen = {
      end: Math.max(walk.end, before?.end ?? 0),
      entries: counted + walk.entries.length,
    };
    if (this.seen.size >= MAX_REMEMBERED && before === undefined) this.seen.clear();
    const raise = seen.entries >= RAISE_AFTER_ENTRIES && walk.end > head.hwHint;
    if (raise) seen.entries = 0;
    this.seen.set(key, seen);
    return raise;
  }

  /**
   * Walks contiguous entries starting at `from` (a batch boundary), until a hole, the end,
   * or until the run covers `until` and holds at least `minEntries` entries past it.
   */
  async walk(
    topicId: string,
    partition: number,
    from: number,
    stop: { until?: number; maxEntries?: number; maxBytes?: number } = {},
  ): Promise<Walk> {
    const entries: IndexEntry[] = [];
    let expected = from;
    const maxEntries = stop.maxEntries ?? Number.POSITIVE_INFINITY;
    const maxBytes = stop.maxBytes ?? Number.POSITIVE_INFINITY;
    const bounded = Number.isFinite(maxEntries) || Number.isFinite(maxBytes);
    // Entries (and their bytes) at or past `until`: what the caller will use.
    let wanted = 0;
    let wantedBytes = 0;
    for (let pages = 0; ; pages++) {
      // A bounded read usually needs a few entries (a consumer at the tail, one new batch):
      // small pages first, each billed by the bytes it returns, then growing ones.
      const size = bounded ? Math.min(PAGE, FIRST_PAGE * 4 ** pages) : PAGE;
      const page = await this.index.entriesFrom(topicId, partition, expected, size);
      for (const entry of page) {
        if (entry.baseOffset !== expected) {
          return { entries, end: expected, complete: true };
        }
        entries.push(entry);
        expected = entry.baseOffset + entry.count;
        if (stop.until === undefined || expected > stop.until) {
          wanted++;
          wantedBytes += entry.length;
        }
      }
      if (page.length < size) return { entries, end: expected, complete: true };
      // One entry more than the budget takes, so a caller that stops short of `end` knows
      // there is more.
      if (wanted > maxEntries || wantedBytes > maxBytes) {
        return { entries, end: expected, complete: false };
      }
    }
  }

  /** The exact high watermark: the end of the contiguous published prefix. */
  async highWatermark(topicId: string, partition: number, head: PartitionHead): Promise<number> {
    if (head.hwHint >= head.nextOffset) return head.hwHint;
    const start = this.walkStart(topicId, partition, head);
    const walk = await this.walk(topicId, partition, start);
    if (this.remember(topicId, partition, head, start, walk)) {
      await this.raiseHint(topicId, partition, walk.end);
    }
    return walk.end;
  }

  /** Raises the stored hint when a walk from it went far past it; never fails the read. */
  async maybeRaiseHint(
    topicId: string,
    partition: number,
    head: PartitionHead,
    walk: Walk,
  ): Promise<void> {
    if (walk.entries.length < RAISE_AFTER_ENTRIES || walk.end <= head.hwHint) return;
    await this.raiseHint(topicId, partition, walk.end);
  }

  private async raiseHint(topicId: string, partition: number, hw: number): Promise<void> {
    try {
      await this.index.raiseHwHint(topicId, partition, hw);
    } catch {
      // The hint is an optimisation; the next reader raises it.
    }
  }

  /**
   * Entries from the one holding `offset`, contiguous, covering more than `maxEntries`
   * entries or `maxBytes` bytes of batches when the log has them. Throws OFFSET_OUT_OF_RANGE
   * when `offset` is below the log start or above the high watermark.
   */
  async entriesForRead(
    topicId: string,
    partition: number,
    offset: number,
    maxEntries: number,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<{ head: PartitionHead; walk: Walk }> {
    const head = await this.index.head(topicId, partition);
    const outOfRange = (highWatermark: number): EventLogError =>
      new EventLogError(
        'OFFSET_OUT_OF_RANGE',
        `Offset ${offset} is out of range for partition ${partition}: the log holds offsets ${head.logStartOffset} to ${highWatermark - 1}`,
        { details: { partition, offset, logStartOffset: head.logStartOffset, highWatermark } },
      );
    if (offset < head.logStartOffset) {
      throw outOfRange(await this.highWatermark(topicId, partition, head));
    }
    if (offset > head.nextOffset)
      throw outOfRange(await this.highWatermark(topicId, partition, head));

    const start = this.walkStart(topicId, partition, head);
    if (offset >= start) {
      const walk = await this.walk(topicId, partition, start, {
        until: offset,
        maxEntries,
        maxBytes,
      });
      if (this.remember(topicId, partition, head, start, walk)) {
        await this.raiseHint(topicId, partition, walk.end);
      }
      if (offset > walk.end) throw outOfRange(walk.end);
      const index = walk.entries.findIndex((e) => e.baseOffset + e.count > offset);
      return {
        head,
        walk: { ...walk, entries: index === -1 ? [] : walk.entries.slice(index) },
      };
    }

    const first = await this.index.entryAtOrBefore(topicId, partition, offset);
    if (first === undefined || first.baseOffset + first.count <= offset) {
      throw new EventLogError(
        'INTERNAL',
        `The index of partition ${partition} has no batch holding offset ${offset} below its high watermark`,
      );
    }
    const rest = await this.walk(topicId, partition, first.baseOffset + first.count, {
      maxEntries: Math.max(0, maxEntries - 1),
      maxBytes: Math.max(0, maxBytes - first.length),
    });
    return { head, walk: { ...rest, entries: [first, ...rest.entries] } };
  }
}
