import { randomUUID } from 'node:crypto';
import { EventLogError, isEventLogError } from '../log/errors.js';
import { validateTopicName } from '../log/topic-config.js';
import { compileTopicPattern } from '../log/topic-pattern.js';
import type { GroupStore, InstanceState, MemberItem } from '../store/group-store.js';
import { instanceNotFound } from '../store/group-store.js';
import { type Clock, systemClock } from './clock.js';
import { FETCH_LIMITS, type FetchService } from './fetch.js';
import {
  type AssignedPartition,
  type CommitOffset,
  checkName,
  type GroupService,
  type TopicPartition,
} from './groups.js';
import { InstanceFetcher, type InstanceRecord, PARALLEL } from './instance-fetch.js';
import {
  filterKeys,
  keysToPartitions,
  partitionOf,
  rotate,
  sameRecord,
} from './instance-positions.js';
import {
  assigned,
  checkInstance,
  type InstanceConfig,
  type InstanceFormat,
  initialState,
  MAX_SUBSCRIBED_TOPICS,
  MAX_TOPIC_PATTERN_LENGTH,
} from './instance-state.js';
import { leaseKey } from './lease-balancer.js';
import type { LogReader } from './log-reader.js';
import { mapLimited } from './map-limited.js';
import type { TopicService } from './topics.js';

/**
 * Confluent REST Proxy v2 consumer instances over the group machinery. The API is stateless
 * (any Lambda may serve any request), so an instance's state (subscription, positions,
 * format, auto-commit settings) lives on its member item in the groups table, and every
 * records call is also the instance's heartbeat: it rebalances, reads from the positions
 * on the partitions the instance holds, advances them and saves them.
 *
 * Positions are kept per lease counter: when a partition comes back under a new counter
 * (it was lost and retaken, or an admin reset it), the instance starts again from the
 * group's committed offset, as a Kafka consumer does after a rebalance.
 */

// The settings, their checks and the fetching moved beside this file; their names stay importable here.
export type { InstanceRecord } from './instance-fetch.js';
export {
  INSTANCE_DEFAULTS,
  type InstanceConfig,
  type InstanceFormat,
  type OffsetReset,
} from './instance-state.js';

export interface RecordsRequest {
  /** How long to wait for records when there are none; default the instance's request timeout. */
  timeoutMs?: number;
  /** Soft cap on key + value bytes returned; at least one record is returned when there is one. */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * The embedded format the caller asked for (from its Accept header): a different one than
   * the instance's is CONSUMER_FORMAT_MISMATCH, found before anything is fetched.
   */
  format?: string;
  /**
   * Checks the caller may read the instance's subscribed topics (throws when not), after the
   * heartbeat found them and before anything is fetched: access revoked since subscribing
   * stops the reads at the next call.
   */
  authorizeTopics?: (topics: readonly string[]) => Promise<void>;
}

export interface ConsumerInstanceServiceOptions {
  clock?: Clock;
  /** Longest wait a records call may do (API Gateway allows 30 s). */
  maxWaitMs?: number;
}

/**
 * Most bytes a rendered records answer may take: a Lambda response is at most 6 MB
 * (6291456 bytes), and API Gateway's envelope needs some of it.
 */
const MAX_RENDERED_BYTES = 6_000_000;

export class ConsumerInstanceService {
  private readonly clock: Clock;
  private readonly maxWaitMs: number;
  private readonly fetcher: InstanceFetcher;

  constructor(
    private readonly groups: GroupService,
    private readonly store: GroupStore,
    private readonly topics: TopicService,
    fetcher: FetchService,
    reader: LogReader,
    options: ConsumerInstanceServiceOptions = {},
  ) {
    this.fetcher = new InstanceFetcher(groups, topics, fetcher, reader);
    this.clock = options.clock ?? systemClock;
    this.maxWaitMs = options.maxWaitMs ?? 20_000;
  }

  async create(group: string, config: InstanceConfig = {}): Promise<{ instanceId: string }> {
    checkName('group', group);
    const name = config.name ?? `rest-consumer-${randomUUID()}`;
    checkName('instance name', name);
    const now = this.clock.now();
    const instance = initialState(config, now);
    checkInstance(instance);
    await this.store.createInstance(group, name, instance, now);
    await this.store.registerGroup(group, now);
    return { instanceId: name };
  }

  /** Commits what was fetched (with auto-commit on), releases the leases, forgets the instance. */
  async delete(group: string, name: string): Promise<void> {
    const member = await this.load(group, name);
    const state = member.instance as InstanceState;
    if (state.autoCommit) await this.commitPositions(group, name, state).catch(ignoreFenced);
    await this.groups.leave(group, name);
  }

  async subscribe(
    group: string,
    name: string,
    request: { topics?: readonly string[]; topicPattern?: string },
    /** Keeps the topics a pattern matched that the caller may read (all, by default). */
    readable: (topics: string[]) => Promise<string[]> = async (topics) => topics,
  ): Promise<void> {
    const member = await this.load(group, name);
    const state = member.instance as InstanceState;
    if ((request.topics === undefined) === (request.topicPattern === undefined)) {
      throw new EventLogError('INVALID_REQUEST', 'Give either topics or topic_pattern, not both');
    }
    // The list and the pattern are stored on the member item: unbounded, a 6 MB body of topic
    // names passed DynamoDB's 400 KB item limit and came back as a 500. Heartbeats have the
    // same bound on topics.
    if ((request.topics?.length ?? 0) > MAX_SUBSCRIBED_TOPICS) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `An instance subscribes to at most ${MAX_SUBSCRIBED_TOPICS} topics, got ${request.topics?.length}`,
        { details: { limit: MAX_SUBSCRIBED_TOPICS } },
      );
    }
    if ((request.topicPattern?.length ?? 0) > MAX_TOPIC_PATTERN_LENGTH) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `topic_pattern is at most ${MAX_TOPIC_PATTERN_LENGTH} characters`,
        { details: { limit: MAX_TOPIC_PATTERN_LENGTH } },
      );
    }
    let topics: string[];
    if (request.topicPattern !== undefined) {
      // Java's Pattern.matches (the whole name must match), in linear time: no regex DoS.
      const pattern = compileTopicPattern(request.topicPattern);
      topics = await readable(
        (await this.topics.list()).map((t) => t.name).filter((t) => pattern.matches(t)),
      );
    } else {
      topics = (request.topics ?? []).map((t) => validateTopicName(t));
    }
    topics = [...new Set(topics)].sort();
    const kept = new Set(topics);
    const next: InstanceState = {
      ...state,
      positions: filterKeys(state.positions, kept),
      leases: filterKeys(state.leases, kept),
      ...(request.topicPattern === undefined ? {} : { topicPattern: request.topicPattern }),
    };
    if (request.topicPattern === undefined) delete next.topicPattern;
    await this.save(group, name, state, next, topics);
  }

  async subscription(group: string, name: string): Promise<{ topics: string[] }> {
    const member = await this.load(group, name);
    return { topics: member.topics };
  }

  async unsubscribe(group: string, name: string): Promise<void> {
    const member = await this.load(group, name);
    const state = member.instance as InstanceState;
    const next: InstanceState = { ...state, positions: {}, leases: {} };
    delete next.topicPattern;
    await this.save(group, name, state, next, []);
    await this.groups.releaseAll(group, name);
  }

  /** The partitions the instance held at its last records call. */
  async assignments(group: string, name: string): Promise<TopicPartition[]> {
    const member = await this.load(group, name);
    return keysToPartitions(Object.keys((member.instance as InstanceState).leases));
  }

  /** Sets the next offset to read of assigned partitions. */
  async seek(
    group: string,
    name: string,
    offsets: readonly (TopicPartition & { offset: number })[],
  ): Promise<void> {
    const member = await this.load(group, name);
    const state = member.instance as InstanceState;
    const positions = { ...state.positions };
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new EventLogError(
          'INVALID_REQUEST',
          `offset must be a non-negative integer, got ${o.offset}`,
        );
      }
      positions[assigned(state, o, group, name)] = o.offset;
    }
    await this.save(group, name, state, { ...state, positions });
  }

  /** Seeks assigned partitions to their log start (beginning) or high watermark (end). */
  async seekTo(
    group: string,
    name: string,
    partitions: readonly TopicPartition[],
    where: 'beginning' | 'end',
  ): Promise<void> {
    const member = await this.load(group, name);
    const state = member.instance as InstanceState;
    const positions = { ...state.positions };
    await mapLimited(partitions, PARALLEL, async (p) => {
      const key = assigned(state, p, group, name);
      positions[key] = await this.groups.resetPosition(
        p.topic,
        p.partition,
        where === 'beginning' ? 'earliest' : 'latest',
      );
    });
    await this.save(group, name, state, { ...state, positions });
  }

  /**
   * Commits offsets (Confluent's convention: the offset of the last record processed, stored
   * + 1 as Kafka's next offset to read), or, with none given, every position fetched so far.
   */
  async commit(
    group: string,
    name: string,
    offsets?: readonly (TopicPartition & { offset: number })[],
  ): Promise<void> {
    const member = await this.load(group, name);
    const state = member.instance as InstanceState;
    if (offsets === undefined) {
      await this.commitPositions(group, name, state);
      return;
    }
    const commits: CommitOffset[] = offsets.map((o) => {
      const key = assigned(state, o, group, name);
      return {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset + 1,
        counter: state.leases[key] as number,
      };
    });
    if (commits.length > 0) await this.groups.commit(group, name, commits);
  }

  /** Committed offsets (next offset to read) of the given partitions, or of the assigned ones. */
  async committed(
    group: string,
    name: string,
    partitions?: readonly TopicPartition[],
  ): Promise<(TopicPartition & { offset: number })[]> {
    const member = await this.load(group, name);
    const wanted = new Set(
      (partitions ?? keysToPartitions(Object.keys((member.instance as InstanceState).leases))).map(
        (p) => leaseKey(p.topic, p.partition),
      ),
    );
    return (await this.groups.committed(group))
      .filter((c) => wanted.has(leaseKey(c.topic, c.partition)))
      .map((c) => ({ topic: c.topic, partition: c.partition, offset: c.committed }));
  }

  /**
   * One poll: heartbeat (rebalance), start new partitions from the committed offset or
   * auto.offset.reset, auto-commit what the previous polls returned, fetch from the
   * positions round-robin within maxBytes (waiting up to the timeout when there is nothing),
   * and save the advanced positions.
   */
  async records<T = InstanceRecord[]>(
    group: string,
    name: string,
    request: RecordsRequest = {},
    render: (records: InstanceRecord[], format: InstanceFormat) => T = (records) => records as T,
  ): Promise<{ format: InstanceFormat; records: InstanceRecord[]; rendered: T }> {
    // The heartbeat's one Query reads the instance too: no separate GetItem.
    const beat = await this.groups.heartbeat(group, name, {}, { instance: true });
    if (request.authorizeTopics !== undefined) await request.authorizeTopics(beat.member.topics);
    const now = this.clock.now();
    const before = beat.member.instance as InstanceState;
    if (request.format !== undefined && request.format !== before.format) {
      throw new EventLogError(
        'CONSUMER_FORMAT_MISMATCH',
        `The consumer instance's format is ${before.format}; the request asks for ${request.format}: use application/vnd.kafka.${before.format}.v2+json`,
        { details: { format: before.format, requested: request.format } },
      );
    }
    const state: InstanceState = { ...before };
    const positions: Record<string, number> = {};
    const leases: Record<string, number> = {};
    const fresh: AssignedPartition[] = [];
    for (const a of beat.assignment) {
      const key = leaseKey(a.topic, a.partition);
      leases[key] = a.counter;
      const position = state.positions[key];
      if (position !== undefined && state.leases[key] === a.counter) positions[key] = position;
      else if (a.committed !== null) positions[key] = a.committed;
      else fresh.push(a);
    }
    await this.startFresh(group, name, state, fresh, positions, leases);

    if (state.autoCommit && now - state.lastAutoCommit >= state.autoCommitIntervalMs) {
      const committed = new Map(
        beat.assignment.map((a) => [leaseKey(a.topic, a.partition), a.committed]),
      );
      for (const f of fresh) {
        const key = leaseKey(f.topic, f.partition);
        committed.set(key, positions[key] ?? null);
      }
      const due = Object.entries(positions).filter(
        ([key, offset]) => offset > (committed.get(key) ?? -1),
      );
      await this.commitPartitions(group, name, due, leases, positions);
      state.lastAutoCommit = now;
    }

    const order = rotate(Object.keys(positions).sort(), state.rotation);
    const budget = Math.max(1, request.maxBytes ?? FETCH_LIMITS.maxBytes);
    const timeout = Math.max(
      0,
      Math.min(
        request.timeoutMs ?? state.requestTimeoutMs,
        this.maxWaitMs,
        beat.expiresInMs - 2000,
      ),
    );
    let records = await this.fetcher.poll(order, positions, state, budget, timeout, request.signal);
    // Rendered before the positions are saved: a record the caller cannot show (not JSON for
    // a json instance) is not skipped, it stays first in line, as a Kafka poll that fails to
    // deserialize does.
    let rendered = render(records, state.format);
    // max_bytes counts keys and values as stored; shown as base64 with each record's JSON
    // around it, 4 MiB of small records render past what a Lambda response may hold. Then
    // the answer keeps the records that fit, and the rest stay first in line.
    for (;;) {
      const size = typeof rendered === 'string' ? Buffer.byteLength(rendered) : 0;
      if (size <= MAX_RENDERED_BYTES || records.length <= 1) break;
      const keep = Math.max(
        1,
        Math.min(
          records.length - 1,
          Math.floor((records.length * MAX_RENDERED_BYTES * 0.95) / size),
        ),
      );
      for (const dropped of records.slice(keep)) {
        const key = leaseKey(dropped.topic, dropped.partition);
        positions[key] = Math.min(positions[key] ?? dropped.offset, dropped.offset);
      }
      records = records.slice(0, keep);
      rendered = render(records, state.format);
    }

    const next: InstanceState = {
      ...state,
      positions,
      leases,
      rotation: order.length === 0 ? 0 : (state.rotation + 1) % order.length,
    };
    const changed =
      records.length > 0 ||
      next.lastAutoCommit !== before.lastAutoCommit ||
      !sameRecord(positions, before.positions) ||
      !sameRecord(leases, before.leases);
    if (changed || before.instanceExpires - now < before.instanceTimeoutMs / 2) {
      await this.save(group, name, before, next);
    }
    return { format: state.format, records, rendered };
  }

  /** The instance, or CONSUMER_INSTANCE_NOT_FOUND when it never existed or idled out. */
  private async load(group: string, name: string): Promise<MemberItem> {
    checkName('group', group);
    checkName('instance name', name);
    const member = await this.store.getMember(group, name);
    if (member?.instance === undefined || member.instance.instanceExpires <= this.clock.now()) {
      throw instanceNotFound(group, name);
    }
    return member;
  }

  private async save(
    group: string,
    name: string,
    before: InstanceState,
    next: InstanceState,
    topics?: string[],
  ): Promise<void> {
    const saved: InstanceState = {
      ...next,
      instanceExpires: this.clock.now() + next.instanceTimeoutMs,
      version: before.version + 1,
    };
    await this.store.saveInstance(group, name, saved, before.version, topics);
  }

  /**
   * Partitions the group never committed start at auto.offset.reset, and that start is
   * committed at once: a later owner then continues from it instead of resetting again
   * (with "latest", to a later end, skipping what was produced in between).
   */
  private async startFresh(
    group: string,
    name: string,
    state: InstanceState,
    fresh: readonly AssignedPartition[],
    positions: Record<string, number>,
    leases: Record<string, number>,
  ): Promise<void> {
    if (fresh.length === 0) return;
    const reset = state.autoOffsetReset;
    if (reset === 'none') {
      const first = fresh[0] as AssignedPartition;
      throw new EventLogError(
        'NO_OFFSET',
        `Group "${group}" has no committed offset for ${fresh.map((f) => `${f.topic}/${f.partition}`).join(', ')} and auto.offset.reset is none`,
        { details: { group, topic: first.topic, partition: first.partition } },
      );
    }
    const starts = await mapLimited(fresh, PARALLEL, async (f) => ({
      key: leaseKey(f.topic, f.partition),
      offset: await this.groups.resetPosition(f.topic, f.partition, reset),
    }));
    for (const s of starts) positions[s.key] = s.offset;
    await this.commitPartitions(
      group,
      name,
      starts.map((s) => [s.key, s.offset]),
      leases,
      positions,
    );
  }

  private async commitPositions(group: string, name: string, state: InstanceState): Promise<void> {
    const entries = Object.entries(state.positions).filter(([key]) => key in state.leases);
    if (entries.length === 0) return;
    await this.groups.commit(group, name, commitOffsets(entries, state.leases));
  }

  /** Commits; partitions found fenced are dropped from the positions and leases given. */
  private async commitPartitions(
    group: string,
    name: string,
    entries: readonly (readonly [string, number])[],
    leases: Record<string, number>,
    positions: Record<string, number>,
  ): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.groups.commit(group, name, commitOffsets(entries, leases));
    } catch (error) {
      if (!isEventLogError(error, 'FENCED')) throw error;
      const fenced = (error.details?.['fenced'] ?? []) as TopicPartition[];
      for (const f of fenced) {
        delete positions[leaseKey(f.topic, f.partition)];
        delete leases[leaseKey(f.topic, f.partition)];
      }
    }
  }
}

function ignoreFenced(error: unknown): void {
  if (!isEventLogError(error, 'FENCED')) throw error;
}

/** The commits of positions (`topic#partition` -> next offset) under the leases they belong to. */
function commitOffsets(
  entries: readonly (readonly [string, number])[],
  leases: Record<string, number>,
): CommitOffset[] {
  return entries.map(([key, offset]) => ({
    ...partitionOf(key),
    offset,
    counter: leases[key] as number,
  }));
}
