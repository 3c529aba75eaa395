import { compareTopicPartitions, type TopicPartition } from '../log/consumer-group.js';
import { EventLogError } from '../log/errors.js';
import type { GroupSnapshot } from '../store/group-store.js';
import {
  checkInteger,
  checkName,
  checkNonNegative,
  committedOf,
  type GroupContext,
  PARALLEL,
  resolveTopics,
  unknownGroup,
} from './group-context.js';
import type {
  GroupDescription,
  GroupSummary,
  ResetRequest,
  ResetResult,
  ResetTarget,
} from './group-types.js';
import { leaseKey } from './lease-balancer.js';
import { mapLimited } from './map-limited.js';
import { TopicService } from './topics.js';

/** The group as an operator sees it: describe, list, delete, and resetting its offsets. */

/** Members, owners, committed offsets, high watermarks and lag per partition. */
export async function describe(ctx: GroupContext, group: string): Promise<GroupDescription> {
  checkName('group', group);
  const now = ctx.clock.now();
  const snapshot = await ctx.store.load(group);
  if (snapshot.members.length === 0 && snapshot.leases.length === 0) throw unknownGroup(group);
  const live = snapshot.members.filter((m) => m.expires > now);
  const liveIds = new Set(live.map((m) => m.memberId));
  const topicNames = new Set([
    ...snapshot.leases.map((l) => l.topic),
    ...live.flatMap((m) => m.topics),
  ]);
  const { resolved } = await resolveTopics(ctx, [...topicNames]);
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
    const listed = await ctx.offsets.listOffsets(topic, partition, 'latest');
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

export async function list(ctx: GroupContext): Promise<GroupSummary[]> {
  const now = ctx.clock.now();
  const names = (await ctx.store.listGroups()).sort();
  return mapLimited(names, PARALLEL, async (group) => {
    const members = (await ctx.store.load(group)).members.filter((m) => m.expires > now).length;
    return { group, state: members > 0 ? ('Stable' as const) : ('Empty' as const), members };
  });
}

/** Deletes the group's offsets, leases and members; refused while members are alive unless forced. */
export async function deleteGroup(
  ctx: GroupContext,
  group: string,
  options: { force?: boolean } = {},
): Promise<{ deleted: number }> {
  checkName('group', group);
  const snapshot = await ctx.store.load(group);
  checkEmpty(ctx, group, snapshot, options.force === true);
  const deleted = await ctx.store.deleteGroup(group);
  if (deleted === 0) throw unknownGroup(group);
  return { deleted };
}

/**
 * Sets committed offsets of one topic to the earliest or latest offset, the first offset at
 * or after a time, or a given offset (clamped to the log, as Kafka's reset tool does). Only
 * while the group has no live members, unless forced.
 */
export async function reset(
  ctx: GroupContext,
  group: string,
  request: ResetRequest,
): Promise<ResetResult[]> {
  checkName('group', group);
  const snapshot = await ctx.store.load(group);
  checkEmpty(ctx, group, snapshot, request.force === true);
  const topic = await ctx.topics.get(request.topic);
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
  const now = ctx.clock.now();
  const plan = await mapLimited(partitions, PARALLEL, async (partition) => ({
    partition,
    offset: await resetOffsetOf(ctx, topic.name, partition, target, current.get(partition)),
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
    const { previous } = await ctx.store.resetOffset(
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
  await ctx.store.registerGroup(group, now);
  return results.sort(compareTopicPartitions);
}

/** Where a partition starts for auto.offset.reset earliest|latest. */
export async function resetPosition(
  ctx: GroupContext,
  topic: string,
  partition: number,
  to: 'earliest' | 'latest',
): Promise<number> {
  return resetOffsetOf(ctx, topic, partition, { to });
}

export async function resetOffsetOf(
  ctx: GroupContext,
  topic: string,
  partition: number,
  target: ResetTarget,
  committed?: number | null,
): Promise<number> {
  switch (target.to) {
    case 'earliest':
      return (await ctx.offsets.listOffsets(topic, partition, 'earliest')).logStartOffset;
    case 'latest':
      return (await ctx.offsets.listOffsets(topic, partition, 'latest')).highWatermark;
    case 'timestamp': {
      const listed = await ctx.offsets.listOffsets(topic, partition, {
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
      const listed = await ctx.offsets.listOffsets(topic, partition, 'latest');
      return Math.min(listed.highWatermark, Math.max(listed.logStartOffset, wanted));
    }
  }
}

export function checkEmpty(
  ctx: GroupContext,
  group: string,
  snapshot: GroupSnapshot,
  force: boolean,
): void {
  const now = ctx.clock.now();
  const live = snapshot.members.filter((m) => m.expires > now).map((m) => m.memberId);
  if (live.length > 0 && !force) {
    throw new EventLogError(
      'GROUP_NOT_EMPTY',
      `Group "${group}" has ${live.length} live member(s) (${live.slice(0, 5).join(', ')}${live.length > 5 ? ', …' : ''}); stop them or pass force=true`,
      { details: { group, members: live } },
    );
  }
}
