import type { AssignedPartition, TopicPartition } from '../log/consumer-group.js';
import type { GroupSnapshot, GroupStore } from '../store/group-store.js';
import { systemClock } from './clock.js';
import * as admin from './group-admin.js';
import type { GroupContext } from './group-context.js';
import * as leases from './group-leases.js';
import * as membership from './group-membership.js';
import * as offsetsOf from './group-offsets.js';
import * as partitionLease from './group-partition-lease.js';
import {
  type CommitOffset,
  type CommitResult,
  type CommittedOffset,
  type GroupDescription,
  type GroupServiceOptions,
  type GroupSummary,
  type Heartbeat,
  type HeartbeatRequest,
  type ResetRequest,
  type ResetResult,
  SESSION_TIMEOUT_LIMITS,
} from './group-types.js';
import type { OffsetService } from './offsets.js';
import type { TopicService } from './topics.js';

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
 *
 * The work is in files of their own, one per concern: group-membership.ts (heartbeat, leave),
 * group-leases.ts (assignment), group-partition-lease.ts (one partition taken alone),
 * group-offsets.ts (commits and committed offsets) and group-admin.ts (describe, list,
 * delete, reset); this class is their one entry point.
 */

// Their names stay importable from here, where the broker, the API and the tests found them.
export { checkName, unknownGroup } from './group-context.js';

// Every request and answer type, and the session limits, importable from the service's module.
export * from './group-types.js';

export class GroupService {
  private readonly ctx: GroupContext;

  constructor(
    store: GroupStore,
    topics: TopicService,
    offsetService: OffsetService,
    options: GroupServiceOptions = {},
  ) {
    this.ctx = {
      store,
      topics,
      offsets: offsetService,
      clock: options.clock ?? systemClock,
      defaultSessionTimeoutMs: options.defaultSessionTimeoutMs ?? SESSION_TIMEOUT_LIMITS.default,
      random: options.random ?? Math.random,
    };
  }

  get now(): number {
    return this.ctx.clock.now();
  }

  /** Joins or renews a member and rebalances from its point of view (membership.heartbeat). */
  heartbeat(
    group: string,
    memberId: string,
    request: HeartbeatRequest = {},
    options: { instance?: boolean } = {},
  ): Promise<Heartbeat> {
    return membership.heartbeat(this.ctx, group, memberId, request, options);
  }

  /** Leaves the group: releases the member's leases (others take them at once) and forgets it. */
  leave(group: string, memberId: string): Promise<TopicPartition[]> {
    return membership.leave(this.ctx, group, memberId);
  }

  /** Releases every lease the member holds, keeping the member. */
  releaseAll(group: string, memberId: string, snapshot?: GroupSnapshot): Promise<TopicPartition[]> {
    return leases.releaseAll(this.ctx, group, memberId, snapshot);
  }

  /** Takes one partition's lease without rebalancing (group-partition-lease.ts says when). */
  takePartition(
    group: string,
    memberId: string,
    partition: TopicPartition,
    options: { sessionTimeoutMs: number; stale?: boolean; seen?: { counter: number } },
  ): Promise<AssignedPartition | undefined> {
    return partitionLease.takePartition(this.ctx, group, memberId, partition, options);
  }

  /** Renews a member's session without rebalancing (its leases stay valid this much longer). */
  keepAlive(
    group: string,
    memberId: string,
    topics: string[],
    sessionTimeoutMs: number,
  ): Promise<{ created: boolean }> {
    return membership.keepAlive(this.ctx, group, memberId, topics, sessionTimeoutMs);
  }

  /** Gives one lease back under its counter; false when the member no longer held it. */
  releasePartition(
    group: string,
    memberId: string,
    lease: TopicPartition & { counter: number },
  ): Promise<boolean> {
    return partitionLease.releasePartition(this.ctx, group, memberId, lease);
  }

  /** Commits offsets under the member's leases; lost leases are refused with FENCED. */
  commit(
    group: string,
    memberId: string,
    offsets: readonly CommitOffset[],
  ): Promise<CommitResult[]> {
    return offsetsOf.commit(this.ctx, group, memberId, offsets);
  }

  /** The committed offsets of the group (partitions never committed are left out). */
  committed(group: string): Promise<CommittedOffset[]> {
    return offsetsOf.committed(this.ctx, group);
  }

  /** Members, owners, committed offsets, high watermarks and lag per partition. */
  describe(group: string): Promise<GroupDescription> {
    return admin.describe(this.ctx, group);
  }

  list(): Promise<GroupSummary[]> {
    return admin.list(this.ctx);
  }

  /** Deletes the group's offsets, leases and members; refused while members are alive unless forced. */
  delete(group: string, options: { force?: boolean } = {}): Promise<{ deleted: number }> {
    return admin.deleteGroup(this.ctx, group, options);
  }

  /** Sets committed offsets of one topic (admin.reset says to what, and when). */
  reset(group: string, request: ResetRequest): Promise<ResetResult[]> {
    return admin.reset(this.ctx, group, request);
  }

  /** Where a partition starts for auto.offset.reset earliest|latest. */
  resetPosition(topic: string, partition: number, to: 'earliest' | 'latest'): Promise<number> {
    return admin.resetPosition(this.ctx, topic, partition, to);
  }

  /** Kafka's OffsetDelete: forgets the group's committed offsets of a topic (offsets.deleteOffsets). */
  deleteOffsets(
    group: string,
    request: { topic: string; partitions?: readonly number[] },
  ): Promise<TopicPartition[]> {
    return offsetsOf.deleteOffsets(this.ctx, group, request);
  }
}
