import { SEGMENT_PREFIX } from '../infra/resources.js';
import {
  advanceSweep,
  EMPTY_SWEEP_STATE,
  indexCursor,
  readsPastWindow,
  type SweepBounds,
  sweepUntil,
} from '../log/orphan-sweep.js';
import { isUlid, ulidTime, ulidTimePrefix } from '../log/ulid.js';
import type { LogIndexStore } from '../store/log-index-store.js';
import type { SegmentStore } from '../store/segment-store.js';
import type { TopicRecord, TopicStore } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import { mapLimited } from './map-limited.js';

export interface OrphanSweepOptions extends SweepBounds {
  clock: Clock;
  /** Objects looked at per topic and run at most; the rest wait for the next run. */
  maxObjectsPerRun?: number;
}

export interface OrphanSweepResult {
  /** Objects looked at in this run. */
  examined: number;
  /** Orphans among them, deleted. */
  deleted: number;
  /** Index entries read to tell orphans from referenced objects. */
  entriesRead: number;
  /** Objects stamped before this time have been swept. */
  sweptUntil: number;
}

const PAGE = 200;
/** Partition heads read at once. */
const HEAD_READS = 16;

/**
 * Deletes objects that no index entry refers to and none ever will: uploads of writers that
 * died (or gave up) before publishing. Retention's own deletion only reaches objects older than
 * the oldest kept batch, so without this a topic kept forever would keep its orphans forever.
 * Each run looks at the objects stamped since the last one (lib/log/orphan-sweep.ts says why
 * the window and the index range it reads are enough). Run under the topic's retention lease.
 */
export class OrphanSweeper {
  private readonly maxObjects: number;

  constructor(
    private readonly topics: TopicStore,
    private readonly index: LogIndexStore,
    private readonly segments: SegmentStore,
    private readonly options: OrphanSweepOptions,
  ) {
    this.maxObjects = options.maxObjectsPerRun ?? 10_000;
  }

  async sweep(topic: TopicRecord): Promise<OrphanSweepResult> {
    const { topicId } = topic;
    const bounds: SweepBounds = {
      maxProduceMs: this.options.maxProduceMs,
      clockSkewMs: this.options.clockSkewMs,
    };
    const state = (await this.topics.sweepState(topicId)) ?? EMPTY_SWEEP_STATE;
    const before = this.options.clock.now();
    const heads = await mapLimited(
      Array.from({ length: topic.partitions }, (_, partition) => partition),
      HEAD_READS,
      (partition) => this.index.head(topicId, partition),
    );
    const checkpoint = {
      at: this.options.clock.now(),
      offsets: heads.map((head) => head.nextOffset),
    };
    const from = state.sweptUntil;
    let until = sweepUntil(before, bounds);
    if (until <= from) {
      await this.topics.saveSweepState(topicId, advanceSweep(state, from, checkpoint, bounds));
      return { examined: 0, deleted: 0, entriesRead: 0, sweptUntil: from };
    }

    // The window's objects, oldest first; a capped window ends between two milliseconds so
    // the next run starts exactly where this one stopped.
    const prefix = `${SEGMENT_PREFIX}${topicId}/`;
    const candidates = new Set<string>();
    let last = from;
    for await (const object of this.segments.list(prefix, prefix + ulidTimePrefix(from))) {
      const id = object.key.slice(prefix.length);
      if (!isUlid(id)) continue;
      const time = ulidTime(id);
      if (time >= until) break;
      if (candidates.size >= this.maxObjects && time > last) {
        until = time;
        break;
      }
      candidates.add(object.key);
      last = time;
    }
    const examined = candidates.size;
    let entriesRead = 0;

    for (let partition = 0; partition < topic.partitions && candidates.size > 0; partition++) {
      const end = heads[partition]?.nextOffset ?? 0;
      let offset = Math.max(
        indexCursor(state, from, partition, bounds),
        heads[partition]?.logStartOffset ?? 0,
      );
      read: while (offset < end) {
        const page = await this.index.entriesFrom(topicId, partition, offset, PAGE);
        entriesRead += page.length;
        for (const entry of page) {
          // An aborted marker's time is when it was healed, not when its range was reserved.
          if (entry.object !== undefined) {
            candidates.delete(entry.object);
            if (readsPastWindow(entry.appendTime, until, bounds)) break read;
          }
          offset = entry.baseOffset + entry.count;
        }
        if (page.length < PAGE) break;
      }
    }
    const deleted = candidates.size === 0 ? 0 : await this.segments.delete([...candidates]);
    await this.topics.saveSweepState(topicId, advanceSweep(state, until, checkpoint, bounds));
    return { examined, deleted, entriesRead, sweptUntil: until };
  }
}
