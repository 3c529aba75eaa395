import type { AssignedPartition, TopicPartition } from '../log/consumer-group.js';
import type { LeaseItem } from '../store/group-store.js';
import { checkName, committedOf, type GroupContext } from './group-context.js';
import { keepAlive } from './group-membership.js';
import { TopicService } from './topics.js';

/**
 * One partition's lease taken alone, without rebalancing, and given back: how the dispatcher
 * of Lambda consumers works a partition.
 */

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
export async function takePartition(
  ctx: GroupContext,
  group: string,
  memberId: string,
  partition: TopicPartition,
  options: { sessionTimeoutMs: number; stale?: boolean; seen?: { counter: number } },
): Promise<AssignedPartition | undefined> {
  checkName('group', group);
  checkName('member id', memberId);
  const topic = await ctx.topics.resolve(partition.topic, [partition.partition]);
  TopicService.checkPartition(topic, partition.partition);
  const now = ctx.clock.now();
  const assigned = (won: LeaseItem): AssignedPartition => ({
    topic: won.topic,
    partition: won.partition,
    counter: won.counter,
    committed: committedOf(won, topic),
  });
  if (options.seen !== undefined) {
    const won = await ctx.store.takeLease(
      group,
      { ...partition, counter: options.seen.counter, topicId: topic.topicId },
      memberId,
      now,
    );
    if (won !== undefined) return assigned(won);
  }
  const snapshot = await ctx.store.load(group);
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
    await keepAlive(ctx, group, memberId, [partition.topic], options.sessionTimeoutMs);
  }
  const won = await ctx.store.takeLease(
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

/** Gives one lease back under its counter; false when the member no longer held it. */
export function releasePartition(
  ctx: GroupContext,
  group: string,
  memberId: string,
  lease: TopicPartition & { counter: number },
): Promise<boolean> {
  return ctx.store.releaseLease(group, {
    topic: lease.topic,
    partition: lease.partition,
    owner: memberId,
    counter: lease.counter,
  });
}
