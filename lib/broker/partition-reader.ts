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
 */

const PAGE = 100;
/** Raise the hint once a walk went this many entries past it. */
const RAISE_AFTER_ENTRIES = 32;

export interface Walk {
  /** Contiguous entries from the walk's start, in offset order. */
  entries: IndexEntry[];
  /** End offset of the contiguous run seen. */
  end: number;
  /** True when the walk stopped at a hole or at the end of the log, so `end` is the HW. */
  complete: boolean;
}

export class PartitionReader {
  constructor(private readonly index: LogIndexStore) {}

  /**
   * Walks contiguous entries starting at `from` (a batch boundary), until a hole, the end,
   * or until the run covers `until` and holds at least `minEntries` entries past it.
   */
  async walk(
    topicId: string,
    partition: number,
    from: number,
    stop: { until?: number; maxEntries?: number } = {},
  ): Promise<Walk> {
    const entries: IndexEntry[] = [];
    let expected = from;
    const maxEntries = stop.maxEntries ?? Number.POSITIVE_INFINITY;
    for (;;) {
      const page = await this.index.entriesFrom(topicId, partition, expected, PAGE);
      for (const entry of page) {
        if (entry.baseOffset !== expected) {
          return { entries, end: expected, complete: true };
        }
        entries.push(entry);
        expected = entry.baseOffset + entry.count;
      }
      if (page.length < PAGE) return { entries, end: expected, complete: true };
      const coversUntil = stop.until === undefined || expected > stop.until;
      if (coversUntil && entries.length >= maxEntries) {
        return { entries, end: expected, complete: false };
      }
    }
  }

  /** The exact high watermark: the end of the contiguous published prefix. */
  async highWatermark(topicId: string, partition: number, head: PartitionHead): Promise<number> {
    if (head.hwHint >= head.nextOffset) return head.hwHint;
    const walk = await this.walk(topicId, partition, head.hwHint);
    await this.maybeRaiseHint(topicId, partition, head, walk);
    return walk.end;
  }

  /** Raises the stored hint when this walk went far past it; never fails the read. */
  async maybeRaiseHint(
    topicId: string,
    partition: number,
    head: PartitionHead,
    walk: Walk,
  ): Promise<void> {
    if (walk.entries.length < RAISE_AFTER_ENTRIES || walk.end <= head.hwHint) return;
    try {
      await this.index.raiseHwHint(topicId, partition, walk.end);
    } catch {
      // The hint is an optimisation; the next reader raises it.
    }
  }

  /**
   * Entries from the one holding `offset`, contiguous, covering at least `maxEntries`
   * entries when the log has them. Throws OFFSET_OUT_OF_RANGE when `offset` is below the
   * log start or above the high watermark.
   */
  async entriesForRead(
    topicId: string,
    partition: number,
    offset: number,
    maxEntries: number,
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

    if (offset >= head.hwHint) {
      const walk = await this.walk(topicId, partition, head.hwHint, { until: offset, maxEntries });
      await this.maybeRaiseHint(topicId, partition, head, walk);
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
    });
    return { head, walk: { ...rest, entries: [first, ...rest.entries] } };
  }
}
