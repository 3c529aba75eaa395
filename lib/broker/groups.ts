import {
  type AssignedPartition,
  compareTopicPartitions,
  type HeartbeatAnswer,
  type TopicPartition,
} from '../log/consumer-group.js';
import { EventLogError } from '../log/errors.js';
import { isResourceName, RESOURCE_NAME_RULE } from '../log/resource-name.js';
import { validateTopicName } from '../log/topic-config.js';
import type {
  CommitOutcome,
  GroupSnapshot,
  GroupStore,
  LeaseItem,
  MemberItem,
} from '../store/group-store.js';
import { instanceNotFound } from '../store/group-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import { leaseKey, planBalance } from './lease-balancer.js';
import { mapLimited } from './map-limited.js';
import type { OffsetService } from './offsets.js';
import { TopicService } from './topics.js';

/**
 * Consumer groups: membership, partition leases and committed offsets, coordinated only by
 * conditional writes on the groups table (docs/consumer-groups.md):
 *
 * - a member is alive while its member item's `expires` (renewed by heartbeats) is ahead;
 * - a lease belongs to its `owner` for one `counter` value; it is free when the owner is not
 *   alive, and a new owner takes it with a write conditional on the (owner, counter) it read;
 * - a commit is conditional on (owner, counter), so a member that lost a lease is FENCED,
 *   and on the stored offset not being ahead, so committed offsets never go backwards;
 * - only an explicit reset moves an offset back.
 */

export interface GroupServiceOptions {
  clock?: Clock;
  /** Kafka's session.timeout.ms when a member gives none; default 10 s. */
  defaultSessionTimeoutMs?: number;
  /** Source of randomness for the balancer's tie-breaking (tests make it deterministic). */
  random?: () => number;
}

export const SESSION_TIMEOUT_LIMITS = { min: 1000, max: 300_000, default: 10_000 } as const;

export type { AssignedPartition, TopicPartition };

export interface HeartbeatRequest {
  /** The subscription; omit to keep the stored one. */
  topics?: readonly string[];
  sessionTimeoutMs?: number;
}

/** The answer the API sends, and what the broker keeps for itself. */
export interface Heartbeat extends HeartbeatAnswer {
  /** The member item as stored after this heartbeat. */
  member: MemberItem;
}

export interface CommitOffset extends TopicPartition {
  /** The next offset to read (Kafka's convention: last processed + 1). */
  offset: number;
  /** The lease counter the member holds the partition under. */
  counter: number;
}

export interface CommitResult extends TopicPartition {
  /** The offset stored now. */
  committed: number;
  /** False when the stored offset was already ahead (nothing was written). */
  applied: boolean;
}

export interface CommittedOffset extends TopicPartition {
  committed: number;
  committedAt: number | null;
}

export interface MemberDescription {
  memberId: string;
  kind: 'member' | 'instance';
  topics: string[];
  sessionTimeoutMs: number;
  expiresInMs: number;
  joinedAt: number;
  partitions: TopicPartition[];
}

export interface PartitionDescription extends TopicPartition {
  owner: string | null;
  counter: number | null;
  committed: number | null;
  logStartOffset: number | null;
  /** The log end offset: one past the last readable record. */
  highWatermark: number | null;
  /** highWatermark - committed; null without a committed offset. */
  lag: number | null;
}

export interface GroupDescription {
  group: string;
  /** Kafka's names: Stable with live members, Empty without. */
  state: 'Stable' | 'Empty';
  members: MemberDescription[];
  partitions: PartitionDescription[];
  totalLag: number;
}

export interface GroupSummary {
  group: string;
  state: 'Stable' | 'Empty';
  members: number;
}

export type ResetTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'timestamp'; timestamp: number }
  | { to: 'offset'; offset: number }
  /** Kafka's --shift-by: the committed offset moved by `by` (refused where none is committed). */
  | { to: 'shift'; by: number }
  /** Kafka's --from-file: an offset per partition; only these partitions are reset. */
  | { to: 'offsets'; offsets: ReadonlyMap<number, number> };

export interface ResetRequest {
  topic: string;
  /** Default: every partition of the topic. */
  partitions?: readonly number[];
  target: ResetTarget;
  /** Reset even while members are alive (they lose their leases and re-read). */
  force?: boolean;
  /** Kafka's --dry-run: answer the plan, write nothing. */
  dryRun?: boolean;
}

export interface ResetResult extends TopicPartition {
  previous: number | null;
  committed: number;
}

const PARALLEL = 16;

export class GroupService {
  private readonly clock: Clock;
  private readonly defaultSessionTimeoutMs: number;
  private readonly random: () => number;

  constructor(
    private readonly store: GroupStore,
    private readonly topics: TopicService,
    private readonly offsets: OffsetService,
    options: GroupServiceOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.defaultSessionTimeoutMs =
      options.defaultSessionTimeoutMs ?? SESSION_TIMEOUT_LIMITS.default;
    this.random = options.random ?? Math.random;
  }

  get now(): number {
    return this.clock.now();
  }

  /**
   * Joins or renews a member and rebalances from its point of view: releases leases of topics
   * it dropped, takes free leases up to its share, or steals one from the most loaded member.
   * One Query; the member item is written only when it is new, its subscription changed or
   * a third of its session has passed since it was last written (so a member polling often,
   * as a Confluent v2 consumer does, costs at most ~3 writes per session timeout, while one
   * heartbeating every third of its session renews at every beat and lapses only after
   * missing about two); lease writes only when the assignment changes.
   */
  async heartbeat(
    group: string,
    memberId: string,
    request: HeartbeatRequest = {},
    options: { instance?: boolean } = {},
  ): Promise<Heartbeat> {
    checkName('group', group);
    checkName('member id', memberId);
    const now = this.clock.now();
    const snapshot = await this.store.load(group);
    const existing = snapshot.members.find((m) => m.memberId === memberId);
    if (options.instance === true) {
      if (existing?.instance === undefined || existing.instance.instanceExpires <= now) {
        throw instanceNotFound(group, memberId);
      }
    }
    const topics =
      request.topics === undefined ? (existing?.topics ?? []) : uniqueTopics(request.topics);
    const stored = existing?.instance?.sessionTimeoutMs ?? existing?.sessionTimeoutMs ?? 0;
    const sessionTimeoutMs = this.sessionTimeout(
      request.sessionTimeoutMs ?? (stored > 0 ? stored : undefined),
    );

    const renew =
      existing === undefined ||
      existing.expires - now < (sessionTimeoutMs * 2) / 3 ||
      existing.sessionTimeoutMs !== sessionTimeoutMs ||
      !sameTopics(existing.topics, topics);
    if (renew) {
      const ttlFloor = existing?.instance?.instanceExpires;
      const { created } = await this.store.renewMember(
        group,
        { memberId, topics, sessionTimeoutMs },
        now,
        { mustExist: options.instance === true, ...(ttlFloor === undefined ? {} : { ttlFloor }) },
      );
      if (created) await this.store.registerGroup(group, now);
    }
    const self: MemberItem = {
      ...(existing ?? { joinedAt: now }),
      memberId,
      topics,
      sessionTimeoutMs,
      expires: renew ? now + sessionTimeoutMs : (existing as MemberItem).expires,
    };

    const { resolved, unknown } = await this.resolveTopics(topics);
    const partitions = new Map([...resolved].map(([name, topic]) => [name, topic.partitions]));
    let current = snapshot;
    let live: MemberItem[] = [];
    let kept: LeaseItem[] = [];
    let taken: LeaseItem[] = [];
    // A second pass, on a fresh read, only when a take lost a race (members joining
    // together): the loser then picks another free lease now instead of a heartbeat later.
    for (let pass = 0; pass < 2; pass++) {
      live = [...current.members.filter((m) => m.memberId !== memberId && m.expires > now), self];
      const plan = planBalance({
        self: memberId,
        members: live,
        partitions,
        leases: current.leases,
        random: this.random,
      });
      const released = new Set<string>();
      const attempts = [...plan.take, ...(plan.steal === undefined ? [] : [plan.steal])];
      taken = [];
      await Promise.all([
        ...plan.release.map(async (lease) => {
          await this.store.releaseLease(group, {
            topic: lease.topic,
            partition: lease.partition,
            owner: memberId,
            counter: lease.counter ?? 0,
          });
          released.add(leaseKey(lease.topic, lease.partition));
        }),
        ...attempts.map(async (lease) => {
          const topicId = resolved.get(lease.topic)?.topicId;
          const won = await this.store.takeLease(
            group,
            { ...lease, ...(topicId === undefined ? {} : { topicId }) },
            memberId,
            now,
          );
          if (won !== undefined) taken.push(won);
        }),
      ]);
      kept = current.leases.filter(
        (l) =>
          l.owner === memberId &&
          !released.has(leaseKey(l.topic, l.partition)) &&
          l.partition < (partitions.get(l.topic) ?? 0),
      );
      // A lease kept across a delete and re-create of its topic belongs to the old
      // incarnation: take it again (a new counter, stamped with the new topic id), so the
      // member's commits under the old tenure are fenced and it reads from the new topic's
      // committed offset instead of carrying the old one over.
      kept = await Promise.all(
        kept.map(async (l) => {
          const topicId = resolved.get(l.topic)?.topicId;
          if (topicId === undefined || l.leaseTopicId === undefined || l.leaseTopicId === topicId) {
            return l;
          }
          const again = await this.store.takeLease(
            group,
            {
              topic: l.topic,
              partition: l.partition,
              owner: memberId,
              counter: l.counter,
              topicId,
            },
            memberId,
            now,
          );
          return again ?? l;
        }),
      );
      if (taken.length === attempts.length || plan.steal !== undefined) break;
      const reread = await this.store.load(group);
      current = {
        members: reread.members.filter((m) => m.memberId !== memberId),
        leases: reread.leases,
      };
    }
    const assignment = [...kept, ...taken]
      .map((lease) => ({
        topic: lease.topic,
        partition: lease.partition,
        counter: lease.counter,
        committed: committedOf(lease, resolved.get(lease.topic)),
      }))
      .sort(compareTopicPartitions);

    return {
      group,
      memberId,
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 3),
      expiresInMs: self.expires - now,
      members: live.length,
      assignment,
      unknownTopics: unknown,
      member: self,
    };
  }

  /** Leaves the group: releases the member's leases (others take them at once) and forgets it. */
  async leave(group: string, memberId: string): Promise<TopicPartition[]> {
    checkName('group', group);
    checkName('member id', memberId);
    const snapshot = await this.store.load(group);
    const released = await this.releaseAll(group, memberId, snapshot);
    await this.store.deleteMember(group, memberId);
    return released;
  }

  /** Releases every lease the member holds, keeping the member. */
  async releaseAll(
    group: string,
    memberId: string,
    snapshot?: GroupSnapshot,
  ): Promise<TopicPartition[]> {
    const leases = (snapshot ?? (await this.store.load(group))).leases.filter(
      (l) => l.owner === memberId,
    );
    const released: TopicPartition[] = [];
    await mapLimited(leases, PARALLEL, async (lease) => {
      const ok = await this.store.releaseLease(group, {
        topic: lease.topic,
        partition: lease.partition,
        owner: memberId,
        counter: lease.counter,
      });
      if (ok) released.push({ topic: lease.topic, partition: lease.partition });
    });
    return released.sort(compareTopicPartitions);
  }

  /**
   * Takes one partition's lease for a member that works on it alone for a while and then gives
   * it back (the dispatcher of Lambda consumers), without rebalancing: the lease is taken only
   * if nobody alive holds it (or `stale` says the holder is this member, left over from an
   * earlier run of it), after registering the member if its session would not outlast half of
   * `sessionTimeoutMs`. Undefined when the lease is held, or another taker won the race.
   *
   * With `seen` (the lease as the caller last left it, and a member the caller keeps alive),
   * it first tries the conditional take alone, without reading the group: one write instead of
   * a Query and a write when nobody touched the lease since.
   */
  async takePartition(
    group: string,
    memberId: string,
    partition: TopicPartition,
    options: { sessionTimeoutMs: number; stale?: boolean; seen?: { counter: number } },
  ): Promise<AssignedPartition | undefined> {
    checkName('group', group);
    checkName('member id', memberId);
    const topic = await this.topics.resolve(partition.topic, [partition.partition]);
    TopicService.checkPartition(topic, partition.partition);
    const now = this.clock.now();
    const assigned = (won: LeaseItem): AssignedPartition => ({
      topic: won.topic,
      partition: won.partition,
      counter: won.counter,
      committed: committedOf(won, topic),
    });
    if (options.seen !== undefined) {
      const won = await this.store.takeLease(
        group,
        { ...partition, counter: options.seen.counter, topicId: topic.topicId },
        memberId,
        now,
      );
      if (won !== undefined) return assigned(won);
    }
    const snapshot = await this.store.load(group);
    const lease = snapshot.leases.find(
      (l) => l.topic === partition.topic && l.partition === partition.partition,
    );
    const owner = lease?.owner;
    if (owner !== undefined && !(owner === memberId && options.stale === true)) {
      const holder = snapshot.members.find((m) => m.memberId === owner);
      if (holder !== undefined && holder.expires > now) return undefined;
    }
    const self = snapshot.members.find((m) => m.memberId === memberId);
    if (self === undefined || self.expires - now < options.sessionTimeoutMs / 2) {
      await this.keepAlive(group, memberId, [partition.topic], options.sessionTimeoutMs);
    }
    const won = await this.store.takeLease(
      group,
      {
        topic: partition.topic,
        partition: partition.partition,
        ...(owner === undefined ? {} : { owner }),
        ...(lease === undefined ? {} : { counter: lease.counter }),
        topicId: topic.topicId,
      },
      memberId,
      now,
    );
    return won === undefined ? undefined : assigned(won);
  }

  /** Renews a member's session without rebalancing (its leases stay valid this much longer). */
  async keepAlive(
    group: string,
    memberId: string,
    topics: string[],
    sessionTimeoutMs: number,
  ): Promise<{ created: boolean }> {
    const { created } = await this.store.renewMember(
      group,
      { memberId, topics, sessionTimeoutMs },
      this.clock.now(),
    );
    if (created) await this.store.registerGroup(group, this.clock.now());
    // Created: the member had expired (or never was), so any lease it held may be gone.
    return { created };
  }

  /** Gives one lease back under its counter; false when the member no longer held it. */
  releasePartition(
    group: string,
    memberId: string,
    lease: TopicPartition & { counter: number },
  ): Promise<boolean> {
    return this.store.releaseLease(group, {
      topic: lease.topic,
      partition: lease.partition,
      owner: memberId,
      counter: lease.counter,
    });
  }

  /**
   * Commits offsets under the member's leases. Partitions whose lease the member lost are
   * refused with FENCED (and their offsets stay as they were); the others are written.
   */
  async commit(
    group: string,
    memberId: string,
    offsets: readonly CommitOffset[],
  ): Promise<CommitResult[]> {
    checkName('group', group);
    checkName('member id', memberId);
    const { resolved } = await this.resolveTopics(
      offsets.map((o) => o.topic),
      { strict: true },
    );
    for (const o of offsets) {
      TopicService.checkPartition(resolved.get(o.topic) as TopicRecord, o.partition);
      checkNonNegative('offset', o.offset);
      checkNonNegative('counter', o.counter);
    }
    const now = this.clock.now();
    const outcomes = await mapLimited(offsets, PARALLEL, async (o) => ({
      offset: o,
      outcome: await this.store.commit(group, {
        topic: o.topic,
        partition: o.partition,
        memberId,
        counter: o.counter,
        offset: o.offset,
        topicId: (resolved.get(o.topic) as TopicRecord).topicId,
        now,
      }),
    }));
    const results: CommitResult[] = [];
    const fenced: (TopicPartition & { owner: string | null })[] = [];
    for (const { offset, outcome } of outcomes) {
      if (outcome.status === 'fenced') {
        fenced.push({
          topic: offset.topic,
          partition: offset.partition,
          owner: outcome.owner ?? null,
        });
      } else {
        results.push(commitResult(offset, outcome));
      }
    }
    if (fenced.length > 0) {
      throw new EventLogError(
        'FENCED',
        `Member "${memberId}" of group "${group}" no longer holds ${fenced.map((f) => `${f.topic}/${f.partition}`).join(', ')}; those offsets were not committed`,
        { details: { group, memberId, fenced, committed: results } },
      );
    }
    return results;
  }

  /** The committed offsets of the group (partitions never committed are left out). */
  async committed(group: string): Promise<CommittedOffset[]> {
    checkName('group', group);
    const snapshot = await this.store.load(group);
    const { resolved } = await this.resolveTopics(snapshot.leases.map((l) => l.topic));
    const out: CommittedOffset[] = [];
    for (const lease of snapshot.leases) {
      const committed = committedOf(lease, resolved.get(lease.topic));
      if (committed === null) continue;
      out.push({
        topic: lease.topic,
        partition: lease.partition,
        committed,
        committedAt: lease.committedAt ?? null,
      });
    }
    return out.sort(compareTopicPartitions);
  }

  /** Members, owners, committed offsets, high watermarks and lag per partition. */
  async describe(group: string): Promise<GroupDescription> {
    checkName('group', group);
    const now = this.clock.now();
    const snapshot = await this.store.load(group);
    if (snapshot.members.length === 0 && snapshot.leases.length === 0) throw unknownGroup(group);
    const live = snapshot.members.filter((m) => m.expires > now);
    const liveIds = new Set(live.map((m) => m.memberId));
    const topicNames = new Set([
      ...snapshot.leases.map((l) => l.topic),
      ...live.flatMap((m) => m.topics),
    ]);
    const { resolved } = await this.resolveTopics([...topicNames]);
    const leases = new Map(snapshot.leases.map((l) => [leaseKey(l.topic, l.partition), l]));

    const slots: TopicPartition[] = [];
    for (const name of [...topicNames].sort()) {
      const topic = resolved.get(name);
      if (topic === undefined) continue;
      for (let partition = 0; partition < topic.partitions; partition++) {
        slots.push({ topic: name, partition });
      }
    }
    const partitions = await mapLimited(slots, PARALLEL, async ({ topic, partition }) => {
      const lease = leases.get(leaseKey(topic, partition));
      const listed = await this.offsets.listOffsets(topic, partition, 'latest');
      const committed = lease === undefined ? null : committedOf(lease, resolved.get(topic));
      const owner = lease?.owner !== undefined && liveIds.has(lease.owner) ? lease.owner : null;
      return {
        topic,
        partition,
        owner,
        counter: lease?.counter ?? null,
        committed,
        logStartOffset: listed.logStartOffset,
        highWatermark: listed.highWatermark,
        lag: committed === null ? null : Math.max(0, listed.highWatermark - committed),
      };
    });

    const members = live
      .map((m) => ({
        memberId: m.memberId,
        kind: m.instance === undefined ? ('member' as const) : ('instance' as const),
        topics: m.topics,
        sessionTimeoutMs: m.sessionTimeoutMs,
        expiresInMs: m.expires - now,
        joinedAt: m.joinedAt,
        partitions: partitions
          .filter((p) => p.owner === m.memberId)
          .map((p) => ({ topic: p.topic, partition: p.partition })),
      }))
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));

    return {
      group,
      state: live.length > 0 ? 'Stable' : 'Empty',
      members,
      partitions,
      totalLag: partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0),
    };
  }

  async list(): Promise<GroupSummary[]> {
    const now = this.clock.now();
    const names = (await this.store.listGroups()).sort();
    return mapLimited(names, PARALLEL, async (group) => {
      const members = (await this.store.load(group)).members.filter((m) => m.expires > now).length;
      return { group, state: members > 0 ? ('Stable' as const) : ('Empty' as const), members };
    });
  }

  /** Deletes the group's offsets, leases and members; refused while members are alive unless forced. */
  async delete(group: string, options: { force?: boolean } = {}): Promise<{ deleted: number }> {
    checkName('group', group);
    const snapshot = await this.store.load(group);
    this.checkEmpty(group, snapshot, options.force === true);
    const deleted = await this.store.deleteGroup(group);
    if (deleted === 0) throw unknownGroup(group);
    return { deleted };
  }

  /**
   * Sets committed offsets of one topic to the earliest or latest offset, the first offset at
   * or after a time, or a given offset (clamped to the log, as Kafka's reset tool does). Only
   * while the group has no live members, unless forced.
   */
  async reset(group: string, request: ResetRequest): Promise<ResetResult[]> {
    checkName('group', group);
    const snapshot = await this.store.load(group);
    this.checkEmpty(group, snapshot, request.force === true);
    const topic = await this.topics.get(request.topic);
    const target = request.target;
    const partitions =
      target.to === 'offsets'
        ? [...target.offsets.keys()]
        : request.partitions === undefined
          ? Array.from({ length: topic.partitions }, (_, p) => p)
          : [...new Set(request.partitions)];
    for (const p of partitions) TopicService.checkPartition(topic, p);
    if (target.to === 'offset') checkNonNegative('offset', target.offset);
    if (target.to === 'offsets')
      for (const o of target.offsets.values()) checkNonNegative('offset', o);
    if (target.to === 'shift') checkInteger('shift', target.by);
    const current = new Map<number, number | null>();
    for (const lease of snapshot.leases) {
      if (lease.topic === topic.name) current.set(lease.partition, committedOf(lease, topic));
    }
    const now = this.clock.now();
    const plan = await mapLimited(partitions, PARALLEL, async (partition) => ({
      partition,
      offset: await this.resetOffsetOf(topic.name, partition, target, current.get(partition)),
    }));
    if (request.dryRun === true) {
      return plan
        .map(({ partition, offset }) => ({
          topic: topic.name,
          partition,
          previous: current.get(partition) ?? null,
          committed: offset,
        }))
        .sort(compareTopicPartitions);
    }
    const results = await mapLimited(plan, PARALLEL, async ({ partition, offset }) => {
      const { previous } = await this.store.resetOffset(
        group,
        topic.name,
        partition,
        offset,
        topic.topicId,
        now,
      );
      return {
        topic: topic.name,
        partition,
        previous: previous === undefined ? null : committedOf(previous, topic),
        committed: offset,
      };
    });
    await this.store.registerGroup(group, now);
    return results.sort(compareTopicPartitions);
  }

  /** Where a partition starts for auto.offset.reset earliest|latest. */
  async resetPosition(
    topic: string,
    partition: number,
    to: 'earliest' | 'latest',
  ): Promise<number> {
    return this.resetOffsetOf(topic, partition, { to });
  }

  private async resetOffsetOf(
    topic: string,
    partition: number,
    target: ResetTarget,
    committed?: number | null,
  ): Promise<number> {
    switch (target.to) {
      case 'earliest':
        return (await this.offsets.listOffsets(topic, partition, 'earliest')).logStartOffset;
      case 'latest':
        return (await this.offsets.listOffsets(topic, partition, 'latest')).highWatermark;
      case 'timestamp': {
        const listed = await this.offsets.listOffsets(topic, partition, {
          timestamp: target.timestamp,
        });
        // A time after every record: the end, as Kafka's reset --to-datetime does.
        return listed.offset ?? listed.highWatermark;
      }
      case 'offset':
      case 'offsets':
      case 'shift': {
        let wanted: number;
        if (target.to === 'offset') wanted = target.offset;
        else if (target.to === 'offsets') wanted = target.offsets.get(partition) ?? 0;
        else {
          if (committed === undefined || committed === null) {
            throw new EventLogError(
              'INVALID_REQUEST',
              `Cannot shift the offset of ${topic}/${partition}: the group has no committed offset there`,
              { details: { topic, partition } },
            );
          }
          wanted = committed + target.by;
        }
        // Clamped to the log, as Kafka's tool does (it warns and uses the nearest end).
        const listed = await this.offsets.listOffsets(topic, partition, 'latest');
        return Math.min(listed.highWatermark, Math.max(listed.logStartOffset, wanted));
      }
    }
  }

  /**
   * Kafka's OffsetDelete (kafka-consumer-groups --delete-offsets): forgets the group's
   * committed offsets of a topic (all partitions, or those given), so the group starts there
   * by its auto.offset.reset again. Refused while a live member holds one of those
   * partitions, as Kafka refuses while the group is subscribed to the topic.
   */
  async deleteOffsets(
    group: string,
    request: { topic: string; partitions?: readonly number[] },
  ): Promise<TopicPartition[]> {
    checkName('group', group);
    const snapshot = await this.store.load(group);
    const now = this.clock.now();
    const wanted = (p: number) =>
      request.partitions === undefined || request.partitions.includes(p);
    const leases = snapshot.leases.filter(
      (l) => l.topic === request.topic && wanted(l.partition) && l.committed !== undefined,
    );
    const live = new Set(snapshot.members.filter((m) => m.expires > now).map((m) => m.memberId));
    const held = leases.filter((l) => l.owner !== undefined && live.has(l.owner));
    if (held.length > 0) {
      throw new EventLogError(
        'GROUP_NOT_EMPTY',
        `Group "${group}" is consuming ${request.topic} (partitions ${held.map((l) => l.partition).join(', ')} are held by live members): stop them first`,
        { details: { group, topic: request.topic } },
      );
    }
    await mapLimited(leases, PARALLEL, (l) => this.store.forgetOffset(group, l.topic, l.partition));
    return leases
      .map((l) => ({ topic: l.topic, partition: l.partition }))
      .sort(compareTopicPartitions);
  }

  private checkEmpty(group: string, snapshot: GroupSnapshot, force: boolean): void {
    const now = this.clock.now();
    const live = snapshot.members.filter((m) => m.expires > now).map((m) => m.memberId);
    if (live.length > 0 && !force) {
      throw new EventLogError(
        'GROUP_NOT_EMPTY',
        `Group "${group}" has ${live.length} live member(s) (${live.slice(0, 5).join(', ')}${live.length > 5 ? ', …' : ''}); stop them or pass force=true`,
        { details: { group, members: live } },
      );
    }
  }

  private sessionTimeout(value: number | undefined): number {
    if (value === undefined) return this.defaultSessionTimeoutMs;
    const { min, max } = SESSION_TIMEOUT_LIMITS;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `sessionTimeoutMs must be an integer from ${min} to ${max}, got ${String(value)}`,
        { details: { min, max } },
      );
    }
    return value;
  }

  private async resolveTopics(
    names: readonly string[],
    options: { strict?: boolean } = {},
  ): Promise<{ resolved: Map<string, TopicRecord>; unknown: string[] }> {
    const unique = [...new Set(names)];
    const resolved = new Map<string, TopicRecord>();
    const unknown: string[] = [];
    await mapLimited(unique, PARALLEL, async (name) => {
      try {
        resolved.set(name, await this.topics.resolve(name));
      } catch (error) {
        if (options.strict === true) throw error;
        if (error instanceof EventLogError && error.code === 'UNKNOWN_TOPIC') unknown.push(name);
        else throw error;
      }
    });
    return { resolved, unknown: unknown.sort() };
  }
}

export function checkName(what: string, name: unknown): asserts name is string {
  if (!isResourceName(name)) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `The ${what} must be ${RESOURCE_NAME_RULE}, got ${JSON.stringify(name)}`,
    );
  }
}

export function unknownGroup(group: string): EventLogError {
  return new EventLogError('UNKNOWN_GROUP', `Group "${group}" does not exist`, {
    details: { group },
  });
}

function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new EventLogError('INVALID_REQUEST', `${name} must be an integer, got ${String(value)}`);
  }
}

function checkNonNegative(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `${name} must be a non-negative integer below 2^53, got ${String(value)}`,
    );
  }
}

function uniqueTopics(topics: readonly string[]): string[] {
  if (!Array.isArray(topics)) {
    throw new EventLogError('INVALID_REQUEST', 'topics must be an array of topic names');
  }
  return [...new Set(topics.map((t) => validateTopicName(t)))].sort();
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...a].sort();
  return sorted.every((t, i) => t === b[i]);
}

/** The committed offset, unless it belongs to an earlier topic of the same name. */
function committedOf(lease: LeaseItem, topic: TopicRecord | undefined): number | null {
  if (lease.committed === undefined) return null;
  if (topic !== undefined && lease.topicId !== undefined && lease.topicId !== topic.topicId) {
    return null;
  }
  return lease.committed;
}

function commitResult(o: CommitOffset, outcome: Exclude<CommitOutcome, { status: 'fenced' }>) {
  return {
    topic: o.topic,
    partition: o.partition,
    committed: outcome.committed,
    applied: outcome.status === 'committed',
  };
}
