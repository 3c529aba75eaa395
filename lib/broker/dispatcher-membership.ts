import { toEventLogError } from '../log/errors.js';
import type { DispatchContext } from './dispatch-types.js';
import type { AssignedPartition } from './groups.js';

/**
 * The dispatcher as a member of its subscriptions' groups: its session in each group (renewed
 * by a heartbeat while it holds leases), the leases it takes and gives back, and whether it can
 * still trust a lease it holds.
 */
export class DispatcherMembership {
  /** Groups this dispatcher holds leases in (with the subscription's topic), for heartbeats. */
  private readonly holding = new Map<string, { topic: string; count: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** When this dispatcher's member expires in each group, as it last renewed it. */
  private readonly sessions = new Map<string, number>();
  /** When a renewal found this dispatcher's member gone from a group (its leases with it). */
  private readonly lapsedAt = new Map<string, number>();
  /** When (wall time) this dispatcher's member was last renewed in each group. */
  private readonly renewedAt = new Map<string, number>();
  /** Lease counters as this dispatcher left them (group#topic#partition), to take them back blind. */
  private readonly released = new Map<string, number>();

  constructor(private readonly ctx: DispatchContext) {}

  /**
   * Takes the group's lease of the partition (renewing the member first when its session runs
   * low), and holds it for the heartbeat; undefined when someone else holds it.
   */
  async take(
    group: string,
    topic: string,
    partition: number,
  ): Promise<AssignedPartition | undefined> {
    await this.ensureMember(group, topic);
    const key = `${group}#${topic}#${partition}`;
    const seen = this.released.get(key);
    this.released.delete(key);
    const lease = await this.ctx.deps.groups.takePartition(
      group,
      this.ctx.memberId,
      { topic, partition },
      {
        sessionTimeoutMs: this.ctx.options.sessionTimeoutMs,
        // With no run of ours on it, a lease in our name is a leftover of an earlier run.
        stale: true,
        ...(seen === undefined ? {} : { seen: { counter: seen } }),
      },
    );
    if (lease !== undefined) this.hold(group, topic);
    return lease;
  }

  /** Gives a lease back; a failure is logged (the lease frees when the session ends). */
  async release(group: string, lease: AssignedPartition): Promise<void> {
    this.unhold(group);
    await this.ctx.deps.groups
      .releasePartition(group, this.ctx.memberId, lease)
      .then((released) => {
        // A release moves the counter one on; the next run takes it back from there.
        if (released)
          this.released.set(`${group}#${lease.topic}#${lease.partition}`, lease.counter + 1);
      })
      .catch((error: unknown) =>
        this.ctx.log(
          `dispatcher: releasing ${lease.topic}/${lease.partition} of group ${group} failed (it frees when this dispatcher's session ends): ${toEventLogError(error).message}`,
        ),
      );
  }

  /**
   * Why this dispatcher can no longer trust a lease it took at `leasedAt` (clock time), or
   * undefined while it can: its session ran out without a renewal (heartbeats failing), or a
   * renewal found the member gone (so the group may have given the partition to someone else).
   */
  leaseLapse(group: string, leasedAt: number): string | undefined {
    const lapsedAt = this.lapsedAt.get(group);
    if (lapsedAt !== undefined && lapsedAt >= leasedAt) {
      return `the dispatcher's session in group ${group} lapsed while it held the lease; stopping the batch (the next owner goes on from the committed offset)`;
    }
    // Wall time, like the heartbeat's timer: the injectable clock ages records in tests and may
    // jump by days, which says nothing about whether renewals are getting through.
    const renewed = this.renewedAt.get(group);
    if (renewed !== undefined && Date.now() - renewed >= this.ctx.options.sessionTimeoutMs) {
      return `the dispatcher's session in group ${group} ran out without a renewal; stopping the batch (the next owner goes on from the committed offset)`;
    }
    return undefined;
  }

  /** Stops the heartbeat. */
  close(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Registers or renews this dispatcher's member in the group when its session runs low. */
  private async ensureMember(group: string, topic: string): Promise<void> {
    const now = this.ctx.clock.now();
    const session = this.ctx.options.sessionTimeoutMs;
    if ((this.sessions.get(group) ?? 0) - now >= session / 2) return;
    const wall = Date.now();
    await this.ctx.deps.groups.keepAlive(group, this.ctx.memberId, [topic], session);
    this.sessions.set(group, now + session);
    this.renewedAt.set(group, wall);
  }

  private hold(group: string, topic: string): void {
    const held = this.holding.get(group) ?? { topic, count: 0 };
    held.count++;
    this.holding.set(group, held);
    if (this.heartbeat !== undefined) return;
    const every = Math.max(100, Math.floor(this.ctx.options.sessionTimeoutMs / 3));
    this.heartbeat = setInterval(() => {
      for (const [g, h] of this.holding) {
        const renewedAt = this.ctx.clock.now();
        const wall = Date.now();
        this.ctx.deps.groups
          .keepAlive(g, this.ctx.memberId, [h.topic], this.ctx.options.sessionTimeoutMs)
          .then(({ created }) => {
            // Created anew: the member had expired, and the group may have given its
            // partitions to another dispatcher; work under the old leases stops (leaseLapse).
            if (created) this.lapsedAt.set(g, renewedAt);
            this.sessions.set(g, renewedAt + this.ctx.options.sessionTimeoutMs);
            this.renewedAt.set(g, wall);
          })
          .catch((error: unknown) =>
            this.ctx.log(
              `dispatcher: heartbeat in group ${g} failed: ${toEventLogError(error).message}`,
            ),
          );
      }
    }, every);
    this.heartbeat.unref();
  }

  private unhold(group: string): void {
    const held = this.holding.get(group);
    if (held === undefined) return;
    held.count--;
    if (held.count <= 0) this.holding.delete(group);
    if (this.holding.size === 0 && this.heartbeat !== undefined) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}
