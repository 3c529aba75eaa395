import type { AssignedPartition, HeartbeatAnswer, TopicPartition } from '../log/consumer-group.js';
import type {
  CommitOffset,
  CommittedOffset,
  GroupDescription,
  GroupSummary,
  ResetResult,
} from '../log/group-description.js';
import { HttpClient, type HttpClientOptions } from './http.js';

/**
 * Consumer groups over `/v1/groups`: the member side (heartbeat, commit, leave), which the
 * Consumer drives, and the admin side (list, describe, committed offsets, reset, delete).
 */

// The answers the broker gives, defined once in lib/log for both sides.
export type * from '../log/group-description.js';
export type { AssignedPartition, HeartbeatAnswer, TopicPartition };

export type ResetTo =
  | 'earliest'
  | 'latest'
  | { timestamp: number | Date }
  | { offset: number }
  /** Kafka's --shift-by: each committed offset moved by this (negative: back). */
  | { shift: number }
  /** Kafka's --from-file: these partitions to these offsets. */
  | { offsets: { partition: number; offset: number }[] };

export class Groups {
  readonly http: HttpClient;

  constructor(http: HttpClient | HttpClientOptions) {
    this.http = http instanceof HttpClient ? http : new HttpClient(http);
  }

  heartbeat(
    group: string,
    memberId: string,
    request: { topics?: readonly string[]; sessionTimeoutMs?: number },
    signal?: AbortSignal,
  ): Promise<HeartbeatAnswer> {
    return this.http.request<HeartbeatAnswer>(
      'POST',
      `${groupPath(group)}/members/${encodeURIComponent(memberId)}/heartbeat`,
      {
        body: request,
        // A heartbeat sent twice is one renewal: safe to retry after a lost answer.
        retry: 'idempotent',
        ...(signal === undefined ? {} : { signal }),
      },
    );
  }

  async commit(
    group: string,
    memberId: string,
    offsets: readonly CommitOffset[],
  ): Promise<(TopicPartition & { committed: number; applied: boolean })[]> {
    const answer = await this.http.request<{
      offsets: (TopicPartition & { committed: number; applied: boolean })[];
    }>('POST', `${groupPath(group)}/commits`, {
      body: { memberId, offsets },
      // Conditional on the lease and never backwards: a commit sent twice changes nothing.
      retry: 'idempotent',
    });
    return answer.offsets;
  }

  async leave(group: string, memberId: string): Promise<TopicPartition[]> {
    const answer = await this.http.request<{ released: TopicPartition[] }>(
      'DELETE',
      `${groupPath(group)}/members/${encodeURIComponent(memberId)}`,
    );
    return answer.released;
  }

  async list(): Promise<GroupSummary[]> {
    return (await this.http.request<{ groups: GroupSummary[] }>('GET', '/v1/groups')).groups;
  }

  describe(group: string): Promise<GroupDescription> {
    return this.http.request<GroupDescription>('GET', groupPath(group));
  }

  async committed(group: string): Promise<CommittedOffset[]> {
    return (
      await this.http.request<{ offsets: CommittedOffset[] }>('GET', `${groupPath(group)}/offsets`)
    ).offsets;
  }

  /** Resets one topic's committed offsets (all partitions, or those given). */
  async reset(
    group: string,
    request: {
      topic: string;
      to: ResetTo;
      partitions?: number[];
      force?: boolean;
      /** Answer the new offsets, write nothing. */
      dryRun?: boolean;
    },
  ): Promise<ResetResult[]> {
    const to = request.to;
    const target =
      to === 'earliest' || to === 'latest'
        ? { to }
        : 'offset' in to
          ? { to: 'offset', offset: to.offset }
          : 'shift' in to
            ? { to: 'shift', shift: to.shift }
            : 'offsets' in to
              ? { to: 'offsets', offsets: to.offsets }
              : {
                  to: 'timestamp',
                  timestamp: to.timestamp instanceof Date ? to.timestamp.getTime() : to.timestamp,
                };
    const answer = await this.http.request<{ offsets: ResetResult[] }>(
      'POST',
      `${groupPath(group)}/offsets/reset`,
      {
        body: {
          topic: request.topic,
          ...target,
          ...(request.partitions === undefined ? {} : { partitions: request.partitions }),
          ...(request.force === true ? { force: true } : {}),
          ...(request.dryRun === true ? { dryRun: true } : {}),
        },
        // Setting the same offsets again gives the same state.
        retry: 'idempotent',
      },
    );
    return answer.offsets;
  }

  /** Kafka's OffsetDelete: forgets the group's offsets of a topic (all partitions, or those given). */
  async deleteOffsets(
    group: string,
    request: { topic: string; partitions?: number[] },
  ): Promise<TopicPartition[]> {
    const answer = await this.http.request<{ deleted: TopicPartition[] }>(
      'DELETE',
      `${groupPath(group)}/offsets`,
      {
        query: {
          topic: request.topic,
          partitions: request.partitions === undefined ? undefined : request.partitions.join(','),
        },
      },
    );
    return answer.deleted;
  }

  async delete(group: string, options: { force?: boolean } = {}): Promise<number> {
    const answer = await this.http.request<{ deleted: number }>('DELETE', groupPath(group), {
      query: { force: options.force === true ? 'true' : undefined },
    });
    return answer.deleted;
  }
}

export function groupPath(group: string): string {
  return `/v1/groups/${encodeURIComponent(group)}`;
}
