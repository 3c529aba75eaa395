import { compareTopicPartitions, type TopicPartition } from '../log/consumer-group.js';
import { EventLogError } from '../log/errors.js';
import type { CommitOutcome } from '../store/group-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import {
  checkName,
  checkNonNegative,
  committedOf,
  type GroupContext,
  PARALLEL,
  resolveTopics,
} from './group-context.js';
import type { CommitOffset, CommitResult, CommittedOffset } from './group-types.js';
import { mapLimited } from './map-limited.js';
import { TopicService } from './topics.js';

/** Committed offsets: commits under a lease, the group's offsets, and forgetting them. */

/**
 * Commits offsets under the member's leases. Partitions whose lease the member lost are
 * refused with FENCED (and their offsets stay as they were); the others are written.
 */
export async function commit(
  ctx: GroupContext,
  group: string,
  memberId: string,
  offsets: readonly CommitOffset[],
): Promise<CommitResult[]> {
  checkName('group', group);
  checkName('member id', memberId);
  const { resolved } = await resolveTopics(
    ctx,
    offsets.map((o) => o.topic),
    { strict: true },
  );
  for (const o of offsets) {
    TopicService.checkPartition(resolved.get(o.topic) as TopicRecord, o.partition);
    checkNonNegative('offset', o.offset);
    checkNonNegative('counter', o.counter);
  }
  const now = ctx.clock.now();
  const outcomes = await mapLimited(offsets, PARALLEL, async (o) => ({
    offset: o,
    outcome: await ctx.store.commit(group, {
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
export async function committed(ctx: GroupContext, group: string): Promise<CommittedOffset[]> {
  checkName('group', group);
  const snapshot = await ctx.store.load(group);
  const { resolved } = await resolveTopics(
    ctx,
    snapshot.leases.map((l) => l.topic),
  );
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

/**
 * Kafka's OffsetDelete (kafka-consumer-groups --delete-offsets): forgets the group's
 * committed offsets of a topic (all partitions, or those given), so the group starts there
 * by its auto.offset.reset again. Refused while a live member holds one of those
 * partitions, as Kafka refuses while the group is subscribed to the topic.
 */
export async function deleteOffsets(
  ctx: GroupContext,
  group: string,
  request: { topic: string; partitions?: readonly number[] },
): Promise<TopicPartition[]> {
  checkName('group', group);
  const snapshot = await ctx.store.load(group);
  const now = ctx.clock.now();
  const wanted = (p: number) => request.partitions === undefined || request.partitions.includes(p);
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
  await mapLimited(leases, PARALLEL, (l) => ctx.store.forgetOffset(group, l.topic, l.partition));
  return leases
    .map((l) => ({ topic: l.topic, partition: l.partition }))
    .sort(compareTopicPartitions);
}

function commitResult(o: CommitOffset, outcome: Exclude<CommitOutcome, { status: 'fenced' }>) {
  return {
    topic: o.topic,
    partition: o.partition,
    committed: outcome.committed,
    applied: outcome.status === 'committed',
  };
}
