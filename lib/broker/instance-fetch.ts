import { setTimeout as sleep } from 'node:timers/promises';
import { sequenceOf } from '../log/commit.js';
import { isEventLogError } from '../log/errors.js';
import type { InstanceState } from '../store/group-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import {
  FETCH_LIMITS,
  type FetchedRecord,
  type FetchResult,
  type FetchService,
  type PartitionFetch,
} from './fetch.js';
import type { GroupService } from './groups.js';
import { partitionOf } from './instance-positions.js';
import type { LogReader } from './log-reader.js';
import { mapLimited } from './map-limited.js';
import type { TopicService } from './topics.js';

/**
 * The reading half of a v2 instance's records call: fetch from the positions of the
 * partitions it holds, round-robin within a byte budget, and wait for records when there are
 * none. It advances the positions it is given; the service decides what to save.
 */

export interface InstanceRecord extends FetchedRecord {
  topic: string;
  partition: number;
}

const MAX_RECORDS_PER_PARTITION = 500;
const FIRST_RECHECK_MS = 25;
const MAX_RECHECK_MS = 250;
/** How many partitions or topics a call works on at once. */
export const PARALLEL = 8;

export class InstanceFetcher {
  constructor(
    private readonly groups: GroupService,
    private readonly topics: TopicService,
    private readonly fetcher: FetchService,
    private readonly reader: LogReader,
  ) {}

  async poll(
    order: readonly string[],
    positions: Record<string, number>,
    state: InstanceState,
    budget: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<InstanceRecord[]> {
    let records = await this.fetchRound(order, positions, state, budget);
    if (records.length > 0 || timeoutMs <= 0 || order.length === 0) return records;
    const deadline = performance.now() + timeoutMs;
    let gap = FIRST_RECHECK_MS;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || signal?.aborted === true) return records;
      try {
        await sleep(Math.min(gap, remaining), undefined, signal === undefined ? {} : { signal });
      } catch {
        return records;
      }
      gap = Math.min(gap * 2, MAX_RECHECK_MS);
      // Between fetches read only the commit sequences' heads: one small GetItem per sequence
      // of each topic, whatever number of its partitions the instance holds.
      const grown = await this.grownKeys(order);
      const ready = order.filter((key) => grown.has(key));
      if (ready.length === 0) continue;
      records = await this.fetchRound(ready, positions, state, budget);
      if (records.length > 0) return records;
    }
  }

  /** The partitions whose commit sequence has commits this process has not seen yet. */
  private async grownKeys(order: readonly string[]): Promise<Set<string>> {
    const bySequence = new Map<string, { topic: string; partition: number; keys: string[] }>();
    await mapLimited(
      [...new Set(order.map((key) => partitionOf(key).topic))],
      PARALLEL,
      async (topic) => {
        let record: TopicRecord;
        try {
          record = await this.topics.resolve(topic);
        } catch (error) {
          if (isEventLogError(error, 'UNKNOWN_TOPIC')) return;
          throw error;
        }
        for (const key of order) {
          const p = partitionOf(key);
          if (p.topic !== topic) continue;
          const at = `${topic}#${sequenceOf(p.partition, record.sequences)}`;
          const group = bySequence.get(at) ?? { topic, partition: p.partition, keys: [] };
          group.keys.push(key);
          bySequence.set(at, group);
        }
      },
    );
    const grown = new Set<string>();
    await mapLimited([...bySequence.values()], PARALLEL, async (group) => {
      const record = await this.topics.resolve(group.topic);
      if (await this.reader.mayHaveMore(record, group.partition)) {
        for (const key of group.keys) grown.add(key);
      }
    });
    return grown;
  }

  /**
   * Fetches the partitions, one fetchMany per topic (one walk over the commits and one GET per
   * object for all of a topic's partitions), then keeps records in `order` within the budget.
   */
  private async fetchRound(
    order: readonly string[],
    positions: Record<string, number>,
    state: InstanceState,
    budget: number,
  ): Promise<InstanceRecord[]> {
    const byTopic = new Map<string, string[]>();
    for (const key of order) {
      const { topic } = partitionOf(key);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), key]);
    }
    const fetched = new Map<string, FetchResult>();
    await mapLimited([...byTopic.entries()], PARALLEL, async ([topic, keys]) => {
      // Each topic reads its partitions' share of the budget (one record comes back anyway).
      const share = Math.max(1, Math.floor((budget * keys.length) / order.length));
      for (const [key, result] of await this.fetchTopic(topic, keys, positions, state, share)) {
        fetched.set(key, result);
      }
    });
    const out: InstanceRecord[] = [];
    let bytes = 0;
    for (const key of order) {
      const result = fetched.get(key);
      if (result === undefined) continue;
      let taken = 0;
      for (const record of result.records) {
        const size = instanceBytes(record);
        if (out.length > 0 && bytes + size > budget) break;
        bytes += size;
        out.push({ ...record, topic: result.topic, partition: result.partition });
        taken++;
      }
      if (taken === result.records.length) positions[key] = result.nextOffset;
      else if (taken > 0) positions[key] = (result.records[taken - 1] as FetchedRecord).offset + 1;
      if (bytes >= budget) {
        // Later partitions' answers are dropped; their positions stay, they go first next time.
        break;
      }
    }
    return out;
  }

  /**
   * One fetchMany for a topic's partitions; the budget is shared by them, so a poll reads
   * from S3 about what it can return, not partitions x budget. A partition whose position
   * retention removed starts again at auto.offset.reset (and is read next time).
   */
  private async fetchTopic(
    topic: string,
    keys: readonly string[],
    positions: Record<string, number>,
    state: InstanceState,
    budget: number,
  ): Promise<[string, FetchResult][]> {
    let results: PartitionFetch[];
    try {
      results = await this.fetcher.fetchMany({
        topic,
        partitions: keys.map((key) => ({
          partition: partitionOf(key).partition,
          offset: positions[key] ?? 0,
        })),
        maxBytes: Math.min(budget, FETCH_LIMITS.maxBytes),
        maxRecords: Math.min(MAX_RECORDS_PER_PARTITION * keys.length, FETCH_LIMITS.maxRecords),
        sizeOf: instanceBytes,
      });
    } catch (error) {
      if (isEventLogError(error, 'UNKNOWN_TOPIC') || isEventLogError(error, 'UNKNOWN_PARTITION')) {
        return [];
      }
      throw error;
    }
    const out: [string, FetchResult][] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const result = results[i] as PartitionFetch;
      if (!('error' in result)) {
        out.push([key, result]);
        continue;
      }
      const { error } = result;
      if (!isEventLogError(error, 'OFFSET_OUT_OF_RANGE') || state.autoOffsetReset === 'none') {
        throw error;
      }
      // Retention removed the position (or the topic was re-created): Kafka's reset policy.
      positions[key] = await this.groups.resetPosition(
        topic,
        result.partition,
        state.autoOffsetReset,
      );
    }
    return out;
  }
}

/** What a record counts against a records call's max_bytes: its key and value, as Confluent. */
function instanceBytes(record: FetchedRecord): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0);
}
