import { SEGMENT_ROOT, segmentPrefixes } from '../log/commit.js';
import {
  advanceSweep,
  capWindow,
  commitCursor,
  EMPTY_SWEEP_STATE,
  readsPastWindow,
  type SweepBounds,
  type SweepState,
  sweepUntil,
} from '../log/orphan-sweep.js';
import { isUlid, ulidTime, ulidTimePrefix } from '../log/ulid.js';
import type { CommitLogStore } from '../store/commit-log-store.js';
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
  /** Commits read to tell orphans from published objects. */
  commitsRead: number;
  /** Objects stamped before this time have been swept. */
  sweptUntil: number;
}

const PAGE = 100;
/** Sequence heads read at once. */
const HEAD_READS = 16;

interface Candidate {
  key: string;
  time: number;
  sequence: number;
}

/**
 * Deletes objects that no published commit names and none ever will: uploads of writers that
 * died (or gave up) before reserving, and of writers whose commit was declared aborted (a
 * marker does not name the object). Retention deletes only the objects of commits it passed,
 * so without this a topic would keep its orphans forever. Each run looks at the objects
 * stamped since the last one (lib/log/orphan-sweep.ts says why the window and the commits it
 * reads are enough). Run under the topic's retention lease.
 */
export class OrphanSweeper {
  private readonly maxObjects: number;
  private readonly bounds: SweepBounds;

  constructor(
    private readonly topics: TopicStore,
    private readonly commits: CommitLogStore,
    private readonly segments: SegmentStore,
    private readonly options: OrphanSweepOptions,
  ) {
    this.maxObjects = options.maxObjectsPerRun ?? 10_000;
    this.bounds = { maxProduceMs: options.maxProduceMs, clockSkewMs: options.clockSkewMs };
  }

  async sweep(topic: TopicRecord): Promise<OrphanSweepResult> {
    const { topicId } = topic;
    const sequences = Array.from({ length: topic.sequences }, (_, s) => s);
    const state = (await this.topics.sweepState(topicId)) ?? EMPTY_SWEEP_STATE;
    const before = this.options.clock.now();
    const counts = await mapLimited(sequences, HEAD_READS, (s) =>
      this.commits.reservedCommits(topicId, s),
    );
    const checkpoint = { at: this.options.clock.now(), commits: counts };
    const from = state.sweptUntil;
    let until = sweepUntil(before, this.bounds);
    if (until <= from) {
      await this.topics.saveSweepState(topicId, advanceSweep(state, from, checkpoint, this.bounds));
      return { examined: 0, deleted: 0, commitsRead: 0, sweptUntil: from };
    }

    const listed: Candidate[] = [];
    for (const sequence of sequences) {
      for (const prefix of segmentPrefixes(SEGMENT_ROOT, topicId, sequence)) {
        until = await this.list(prefix, sequence, from, until, listed);
      }
    }
    listed.sort((a, b) => a.time - b.time);
    until = capWindow(
      listed.filter((c) => c.time < until).map((c) => c.time),
      until,
      this.maxObjects,
    );

    let commitsRead = 0;
    const named = new Set<string>();
    for (const sequence of sequences) {
      const mine = listed.filter((c) => c.sequence === sequence && c.time < until);
      if (mine.length === 0) continue;
      const read = await this.readCommits(
        topic,
        sequence,
        state,
        from,
        until,
        counts[sequence] ?? 0,
      );
      commitsRead += read.commitsRead;
      for (const object of read.named) named.add(object);
      // A commit number reserved but not settled may still be published by a window writer:
      // its objects wait for a later run (the reader heals such a number once its writer's
      // time is up, or it gets published).
      for (const stamp of read.unsettled) {
        const bound = stamp ?? (mine[0] as Candidate).time;
        if (bound >= from) until = Math.min(until, bound);
      }
    }
    const inWindow = listed.filter((c) => c.time < until);
    const orphans = inWindow.filter((c) => !named.has(c.key)).map((c) => c.key);
    const deleted = orphans.length === 0 ? 0 : await this.segments.delete(orphans);
    await this.topics.saveSweepState(topicId, advanceSweep(state, until, checkpoint, this.bounds));
    return { examined: inWindow.length, deleted, commitsRead, sweptUntil: until };
  }

  /**
   * Lists one prefix's objects stamped in [from, until), oldest first, into `out`. Past the
   * run's cap it stops between two milliseconds and returns that time as the window's end.
   */
  private async list(
    prefix: string,
    sequence: number,
    from: number,
    until: number,
    out: Candidate[],
  ): Promise<number> {
    let found = 0;
    let last = from;
    for await (const object of this.segments.list(prefix, prefix + ulidTimePrefix(from))) {
      const id = object.key.slice(prefix.length);
      if (!isUlid(id)) continue;
      const time = ulidTime(id);
      if (time < from) continue;
      if (time >= until) break;
      if (found >= this.maxObjects && time > last) return time;
      out.push({ key: object.key, time, sequence });
      found++;
      last = time;
    }
    return until;
  }

  /**
   * Reads the sequence's commits that can name an object of the window: from the checkpoint
   * the window allows, up to the first one reserved too late to belong to it or the count of
   * reservations just read. Returns the objects they name, and for each number among them
   * not settled yet the time its writer stamped its object with, when the next commit says.
   */
  private async readCommits(
    topic: TopicRecord,
    sequence: number,
    state: SweepState,
    from: number,
    until: number,
    count: number,
  ): Promise<{ named: string[]; unsettled: (number | undefined)[]; commitsRead: number }> {
    const named: string[] = [];
    /** Numbers not found, with the time their writer stamped its object with when known. */
    const gaps: [number, number | undefined][] = [];
    let commitsRead = 0;
    // Numbers below the first kept commit were deleted by retention with their objects.
    const { startCommit } = await this.commits.meta(topic.topicId, sequence);
    let expected = Math.max(commitCursor(state, from, sequence, this.bounds), startCommit);
    let pastWindow = false;
    read: while (expected <= count) {
      const page = await this.commits.commitsFrom(topic.topicId, sequence, expected, PAGE);
      for (const commit of page) {
        if (commit.commit > count) break read;
        for (let missing = expected; missing < commit.commit; missing++) {
          // A published commit records when the number before it was reserved.
          const known = missing === commit.commit - 1 && commit.kind === 'published';
          gaps.push([missing, known ? commit.previousReservedAt : undefined]);
        }
        expected = commit.commit + 1;
        commitsRead++;
        if (commit.kind !== 'published') continue;
        named.push(commit.object);
        if (readsPastWindow(commit.reservedAt, until, this.bounds)) {
          pastWindow = true;
          break read;
        }
      }
      if (page.length < PAGE) break;
    }
    if (!pastWindow)
      for (let missing = expected; missing <= count; missing++) gaps.push([missing, undefined]);
    // Most gaps are writers between their reservation and their publish while we read (under
    // traffic the last numbers usually are): one more look settles them. What is still missing
    // and may belong to the window is left for a later run.
    const unsettled: (number | undefined)[] = [];
    for (const [number, stamp] of gaps) {
      if (stamp !== undefined && (stamp < from || stamp >= until)) continue;
      const found = await this.commits.commit(topic.topicId, sequence, number);
      commitsRead++;
      if (found === undefined) unsettled.push(stamp);
      else if (found.kind === 'published') named.push(found.object);
    }
    return { named, unsettled, commitsRead };
  }
}
