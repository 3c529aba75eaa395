import type { TopicPartition } from '../log/consumer-group.js';
import { EventLogError } from '../log/errors.js';
import { validateTopicName } from '../log/topic-config.js';
import { instanceNotFound, type MemberItem } from '../store/group-store.js';
import { checkName, type GroupContext } from './group-context.js';
import { balance, releaseAll } from './group-leases.js';
import { type Heartbeat, type HeartbeatRequest, SESSION_TIMEOUT_LIMITS } from './group-types.js';

/** Membership: joining and renewing a member (the heartbeat), keeping it alive, leaving. */

/**
 * Joins or renews a member and rebalances from its point of view: releases leases of topics
 * it dropped, takes free leases up to its share, or steals one from the most loaded member.
 * One Query; the member item is written only when it is new, its subscription changed or
 * a third of its session has passed since it was last written (so a member polling often,
 * as a Confluent v2 consumer does, costs at most ~3 writes per session timeout, while one
 * heartbeating every third of its session renews at every beat and lapses only after
 * missing about two); lease writes only when the assignment changes.
 */
export async function heartbeat(
  ctx: GroupContext,
  group: string,
  memberId: string,
  request: HeartbeatRequest = {},
  options: { instance?: boolean } = {},
): Promise<Heartbeat> {
  checkName('group', group);
  checkName('member id', memberId);
  const now = ctx.clock.now();
  const snapshot = await ctx.store.load(group);
  const existing = snapshot.members.find((m) => m.memberId === memberId);
  if (options.instance === true) {
    if (existing?.instance === undefined || existing.instance.instanceExpires <= now) {
      throw instanceNotFound(group, memberId);
    }
  }
  const topics =
    request.topics === undefined ? (existing?.topics ?? []) : uniqueTopics(request.topics);
  const stored = existing?.instance?.sessionTimeoutMs ?? existing?.sessionTimeoutMs ?? 0;
  const sessionTimeoutMs = sessionTimeout(
    ctx,
    request.sessionTimeoutMs ?? (stored > 0 ? stored : undefined),
  );

  const renew =
    existing === undefined ||
    existing.expires - now < (sessionTimeoutMs * 2) / 3 ||
    existing.sessionTimeoutMs !== sessionTimeoutMs ||
    !sameTopics(existing.topics, topics);
  if (renew) {
    const ttlFloor = existing?.instance?.instanceExpires;
    const { created } = await ctx.store.renewMember(
      group,
      { memberId, topics, sessionTimeoutMs },
      now,
      { mustExist: options.instance === true, ...(ttlFloor === undefined ? {} : { ttlFloor }) },
    );
    if (created) await ctx.store.registerGroup(group, now);
  }
  const self: MemberItem = {
    ...(existing ?? { joinedAt: now }),
    memberId,
    topics,
    sessionTimeoutMs,
    expires: renew ? now + sessionTimeoutMs : (existing as MemberItem).expires,
  };

  const { live, assignment, unknown } = await balance(ctx, group, self, snapshot, now);

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
export async function leave(
  ctx: GroupContext,
  group: string,
  memberId: string,
): Promise<TopicPartition[]> {
  checkName('group', group);
  checkName('member id', memberId);
  const snapshot = await ctx.store.load(group);
  const released = await releaseAll(ctx, group, memberId, snapshot);
  await ctx.store.deleteMember(group, memberId);
  return released;
}

/** Renews a member's session without rebalancing (its leases stay valid this much longer). */
export async function keepAlive(
  ctx: GroupContext,
  group: string,
  memberId: string,
  topics: string[],
  sessionTimeoutMs: number,
): Promise<{ created: boolean }> {
  const { created } = await ctx.store.renewMember(
    group,
    { memberId, topics, sessionTimeoutMs },
    ctx.clock.now(),
  );
  if (created) await ctx.store.registerGroup(group, ctx.clock.now());
  // Created: the member had expired (or never was), so any lease it held may be gone.
  return { created };
}

export function sessionTimeout(ctx: GroupContext, value: number | undefined): number {
  if (value === undefined) return ctx.defaultSessionTimeoutMs;
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
