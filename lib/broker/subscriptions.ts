import { EventLogError } from '../log/errors.js';
import {
  applyUpdate,
  normalizeSubscription,
  parseDestination,
  type SubscriptionConfig,
  type SubscriptionInput,
  type SubscriptionUpdate,
  type SubscriptionView,
} from '../log/subscription-config.js';
import {
  type RetryState,
  type StoredSubscription,
  type SubscriptionStore,
  unknownSubscription,
} from '../store/subscription-store.js';
import { type Clock, systemClock } from './clock.js';
import type { GroupService, ResetTarget } from './groups.js';
import { subscriptionId } from './s3-destination.js';
import type { TopicService } from './topics.js';

/**
 * Lambda consumers' subscriptions (docs/lambda-consumers.md): created, changed, listed and
 * deleted here, read by the dispatcher at the start of each run.
 *
 * A subscription's position is its group's committed offsets, so it survives the subscription:
 * created again with the same group, it resumes where it stopped, as a Lambda event source
 * mapping with an existing consumer group id does. The starting position applies only to
 * partitions the group has no offset for. LATEST and AT_TIMESTAMP are resolved when the
 * subscription is created, not at the first dispatch, or the records written in between
 * (among them the very produce that triggered that dispatch) would be skipped.
 */

export class SubscriptionService {
  private readonly clock: Clock;

  constructor(
    private readonly store: SubscriptionStore,
    private readonly topics: TopicService,
    private readonly groups: GroupService,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async create(input: SubscriptionInput): Promise<SubscriptionView> {
    const config = normalizeSubscription(input);
    const topic = await this.topics.get(config.topic);
    await this.checkDestination(config);
    const existing = await this.store.list();
    if (existing.some((s) => s.config.name === config.name)) {
      throw new EventLogError(
        'SUBSCRIPTION_ALREADY_EXISTS',
        `A subscription named "${config.name}" already exists`,
        { details: { subscription: config.name } },
      );
    }
    // Two subscriptions on one group would take each other's partitions and commits.
    const sharing = existing.find((s) => s.config.group === config.group);
    if (sharing !== undefined) {
      throw new EventLogError(
        'SUBSCRIPTION_ALREADY_EXISTS',
        `Group "${config.group}" is already used by subscription "${sharing.config.name}"; each subscription needs its own group`,
        { details: { group: config.group, subscription: sharing.config.name } },
      );
    }
    await this.initializeOffsets(config, topic.partitions);
    return view(await this.store.create(config, this.clock.now()));
  }

  async get(name: string): Promise<SubscriptionView> {
    const stored = await this.store.get(name);
    if (stored === undefined) throw unknownSubscription(name);
    return view(stored);
  }

  async list(options: { topic?: string } = {}): Promise<SubscriptionView[]> {
    return (await this.store.list())
      .filter((s) => options.topic === undefined || s.config.topic === options.topic)
      .map(view)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Changes the settings Lambda lets an event source mapping change; the rest is refused. */
  async update(name: string, update: SubscriptionUpdate): Promise<SubscriptionView> {
    const stored = await this.store.get(name);
    if (stored === undefined) throw unknownSubscription(name);
    const config = applyUpdate(
      stored.config,
      update as SubscriptionUpdate & Record<string, unknown>,
    );
    await this.checkDestination(config);
    return view(await this.store.update(config, stored.version, this.clock.now()));
  }

  /** Deletes the subscription; its group and committed offsets stay, as Lambda leaves a Kafka group. */
  async delete(name: string): Promise<SubscriptionView> {
    return view(await this.store.delete(name));
  }

  /** What the dispatcher works from: every subscription, fresh (no cache: runs are seconds apart). */
  async forDispatch(): Promise<StoredSubscription[]> {
    return this.store.list();
  }

  /** A partition's failing state, kept across dispatcher runs (undefined clears it). */
  saveRetryState(name: string, partition: number, state: RetryState | undefined): Promise<void> {
    return this.store.saveRetryState(name, partition, state);
  }

  private async checkDestination(config: SubscriptionConfig): Promise<void> {
    const destination = config.destinationConfig?.onFailure.destination;
    if (destination === undefined) return;
    const parsed = parseDestination(destination);
    if (parsed.kind !== 'topic') return;
    try {
      await this.topics.get(parsed.topic);
    } catch (error) {
      if (error instanceof EventLogError && error.code === 'UNKNOWN_TOPIC') {
        throw new EventLogError(
          'INVALID_CONFIG',
          `The on-failure topic "${parsed.topic}" does not exist; create it first`,
          {
            details: {
              problems: [
                {
                  field: 'destinationConfig.onFailure.destination',
                  message: `topic "${parsed.topic}" does not exist`,
                },
              ],
            },
          },
        );
      }
      throw error;
    }
  }

  /** Sets the starting offset of each partition the group has none for (LATEST, AT_TIMESTAMP). */
  private async initializeOffsets(config: SubscriptionConfig, partitions: number): Promise<void> {
    if (config.startingPosition === 'TRIM_HORIZON') return;
    const committed = new Set(
      (await this.groups.committed(config.group))
        .filter((c) => c.topic === config.topic)
        .map((c) => c.partition),
    );
    const missing = Array.from({ length: partitions }, (_, p) => p).filter(
      (p) => !committed.has(p),
    );
    if (missing.length === 0) return;
    const target: ResetTarget =
      config.startingPosition === 'LATEST'
        ? { to: 'latest' }
        : // Lambda's startingPositionTimestamp is in seconds; offsets for times are in ms.
          {
            to: 'timestamp',
            timestamp: Math.round((config.startingPositionTimestamp ?? 0) * 1000),
          };
    await this.groups.reset(config.group, { topic: config.topic, partitions: missing, target });
  }
}

function view(stored: StoredSubscription): SubscriptionView {
  const c = stored.config;
  // A fixed member order: DynamoDB keeps none in a map.
  return {
    name: c.name,
    topic: c.topic,
    group: c.group,
    functionName: c.functionName,
    state: c.enabled ? 'Enabled' : 'Disabled',
    batchSize: c.batchSize,
    maximumBatchingWindowInSeconds: c.maximumBatchingWindowInSeconds,
    startingPosition: c.startingPosition,
    ...(c.startingPositionTimestamp === undefined
      ? {}
      : { startingPositionTimestamp: c.startingPositionTimestamp }),
    maximumRetryAttempts: c.maximumRetryAttempts,
    maximumRecordAgeInSeconds: c.maximumRecordAgeInSeconds,
    bisectBatchOnFunctionError: c.bisectBatchOnFunctionError,
    functionResponseTypes: c.functionResponseTypes,
    ...(c.destinationConfig === undefined ? {} : { destinationConfig: c.destinationConfig }),
    ...(c.filterCriteria === undefined ? {} : { filterCriteria: c.filterCriteria }),
    uuid: subscriptionId(c.name, stored.createdAt),
    enabled: c.enabled,
    version: stored.version,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    failing: Object.entries(stored.retries)
      .map(([partition, state]) => ({ partition: Number(partition), ...state }))
      .sort((a, b) => a.partition - b.partition),
  };
}
