import {
  type AssignedPartition,
  compareTopicPartitions,
  type TopicPartition,
} from '../log/consumer-group.js';
import type { GroupSnapshot, LeaseItem, MemberItem } from '../store/group-store.js';
import { committedOf, type GroupContext, PARALLEL, resolveTopics } from './group-context.js';
import { leaseKey, planBalance } from './lease-balancer.js';
import { mapLimited } from './map-limited.js';

/** Leases in the group's rebalance: a member's share taken and given back. */

/** Releases every lease the member holds, keeping the member. */
export async function releaseAll(
  ctx: GroupContext,
  group: string,
  memberId: string,
  snapshot?: GroupSnapshot,
): Promise<TopicPartition[]> {
  const leases = (snapshot ?? (await ctx.store.load(group))).leases.filter(
    (l) => l.owner === memberId,
  );
  const released: TopicPartition[] = [];
  await mapLimited(leases, PARALLEL, async (lease) => {
    const ok = await ctx.store.releaseLease(group, {
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
 * The heartbeat's rebalance from the member's point of view: releases leases of topics it
 * dropped, takes free leases up to its share, or steals one from the most loaded member.
 * Returns the live members it counted, its assignment, and the topics that do not exist.
 */
export async function balance(
  ctx: GroupContext,
  group: string,
  self: MemberItem,
  snapshot: GroupSnapshot,
  now: number,
): Promise<{ live: MemberItem[]; assignment: AssignedPartition[]; unknown: string[] }> {
  const { memberId, topics } = self;
  const { resolved, unknown } = await resolveTopics(ctx, topics);
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
      random: ctx.random,
    });
    const released = new Set<string>();
    const attempts = [...plan.take, ...(plan.steal === undefined ? [] : [plan.steal])];
    taken = [];
    await Promise.all([
      ...plan.release.map(async (lease) => {
        await ctx.store.releaseLease(group, {
          topic: lease.topic,
          partition: lease.partition,
          owner: memberId,
          counter: lease.counter ?? 0,
        });
        released.add(leaseKey(lease.topic, lease.partition));
      }),
      ...attempts.map(async (lease) => {
        const topicId = resolved.get(lease.topic)?.topicId;
        const won = await ctx.store.takeLease(
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
        const again = await ctx.store.takeLease(
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
    const reread = await ctx.store.load(group);
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
  return { live, assignment, unknown };
}
