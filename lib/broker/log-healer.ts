import { isEventLogError } from '../log/errors.js';
import { abortedRangeEntry, type LogIndexStore } from '../store/log-index-store.js';
import { type Clock, systemClock } from './clock.js';
import type { PartitionReader } from './partition-reader.js';

export interface HealResult {
  partition: number;
  /** The high watermark after this run. */
  highWatermark: number;
  /** Ranges declared aborted in this run. */
  aborted: { from: number; to: number }[];
  /** A hole seen but younger than the grace period, left for a later run. */
  pendingHole?: { at: number; ageMs: number };
}

/**
 * Fills holes left by writers that reserved offsets and died before publishing. A hole is
 * healed only once it has been seen for longer than the grace period (the produce path's
 * maximum duration): by then every writer that reserved inside it is dead or has given up
 * (ProduceService refuses to publish after that long). The marker is an index entry put with
 * the same conditional put as a real batch, at the hole's first offset: the first dead
 * writer's late publish targets exactly that key and fails.
 */
export class LogHealer {
  private readonly clock: Clock;

  constructor(
    private readonly index: LogIndexStore,
    private readonly reader: PartitionReader,
    private readonly graceMs: number,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
  }

  async healPartition(topicId: string, partition: number): Promise<HealResult> {
    const aborted: { from: number; to: number }[] = [];
    const now = this.clock.now();
    const head = await this.index.head(topicId, partition);
    let walk = await this.reader.walk(topicId, partition, head.hwHint);
    await this.reader.maybeRaiseHint(topicId, partition, head, walk);
    if (walk.end >= head.nextOffset) {
      if (head.hole !== undefined) await this.index.clearHole(topicId, partition);
      return { partition, highWatermark: walk.end, aborted };
    }
    const seen = head.hole;
    if (seen === undefined || seen.at !== walk.end) {
      await this.index.observeHole(topicId, partition, {
        at: walk.end,
        seenAt: now,
        end: head.nextOffset,
      });
      return {
        partition,
        highWatermark: walk.end,
        aborted,
        pendingHole: { at: walk.end, ageMs: 0 },
      };
    }
    const ageMs = now - seen.seenAt;
    if (ageMs <= this.graceMs) {
      return { partition, highWatermark: walk.end, aborted, pendingHole: { at: walk.end, ageMs } };
    }

    // Every reservation below seen.end was made before the sighting, so all are past grace.
    let from = walk.end;
    while (from < seen.end) {
      const next = await this.index.entriesFrom(topicId, partition, from, 1);
      const nextEntry = next[0];
      if (nextEntry !== undefined && nextEntry.baseOffset === from) {
        from = nextEntry.baseOffset + nextEntry.count;
        continue;
      }
      const to = Math.min(seen.end, nextEntry?.baseOffset ?? seen.end);
      try {
        await this.index.publish(topicId, partition, abortedRangeEntry(from, to - from, now));
        aborted.push({ from, to });
      } catch (error) {
        // A real batch landed there first: its writer was alive after all. Walk on.
        if (isEventLogError(error, 'CONFLICT')) continue;
        throw error;
      }
      from = to;
    }
    walk = await this.reader.walk(topicId, partition, head.hwHint);
    const after = await this.index.head(topicId, partition);
    if (walk.end < after.nextOffset) {
      // A hole above the healed ones: start its grace period now, not at the next run.
      await this.index.clearHole(topicId, partition);
      await this.index.observeHole(topicId, partition, {
        at: walk.end,
        seenAt: now,
        end: after.nextOffset,
      });
      return {
        partition,
        highWatermark: walk.end,
        aborted,
        pendingHole: { at: walk.end, ageMs: 0 },
      };
    }
    await this.index.clearHole(topicId, partition);
    return { partition, highWatermark: walk.end, aborted };
  }
}
