import { EventLogError } from '../log/errors.js';
import { isResourceName, RESOURCE_NAME_RULE } from '../log/resource-name.js';
import type { GroupStore, LeaseItem } from '../store/group-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import { mapLimited } from './map-limited.js';
import type { OffsetService } from './offsets.js';
import type { TopicService } from './topics.js';

/**
 * What the parts of GroupService (lib/broker/groups.ts) share: its stores and settings, and
 * the checks and lookups more than one part makes.
 */
export interface GroupContext {
  store: GroupStore;
  topics: TopicService;
  offsets: OffsetService;
  clock: Clock;
  defaultSessionTimeoutMs: number;
  random: () => number;
}

/** Store calls in flight at once for one request. */
export const PARALLEL = 16;

export async function resolveTopics(
  ctx: GroupContext,
  names: readonly string[],
  options: { strict?: boolean } = {},
): Promise<{ resolved: Map<string, TopicRecord>; unknown: string[] }> {
  const unique = [...new Set(names)];
  const resolved = new Map<string, TopicRecord>();
  const unknown: string[] = [];
  await mapLimited(unique, PARALLEL, async (name) => {
    try {
      resolved.set(name, await ctx.topics.resolve(name));
    } catch (error) {
      if (options.strict === true) throw error;
      if (error instanceof EventLogError && error.code === 'UNKNOWN_TOPIC') unknown.push(name);
      else throw error;
    }
  });
  return { resolved, unknown: unknown.sort() };
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

export function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new EventLogError('INVALID_REQUEST', `${name} must be an integer, got ${String(value)}`);
  }
}

export function checkNonNegative(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `${name} must be a non-negative integer below 2^53, got ${String(value)}`,
    );
  }
}

/** The committed offset, unless it belongs to an earlier topic of the same name. */
export function committedOf(lease: LeaseItem, topic: TopicRecord | undefined): number | null {
  if (lease.committed === undefined) return null;
  if (topic !== undefined && lease.topicId !== undefined && lease.topicId !== topic.topicId) {
    return null;
  }
  return lease.committed;
}
