import { toEventLogError } from '../log/errors.js';
import type { MetricDimension } from '../log/metrics.js';
import type { GroupService } from './groups.js';
import type { GroupLag, LagService } from './lag.js';
import { mapLimited } from './map-limited.js';
import type { MetricsEmitter } from './metrics.js';
import type { SubscriptionService } from './subscriptions.js';

/** The maintenance function's event on its every-minute schedule: `{ "task": "lag" }`. */
export const MAINTENANCE_TASK_LAG = 'lag';

/** What one pass measured, for the maintenance function's log line and the tests. */
export interface LagMetricsReport {
  /** Lambda subscriptions measured (their groups are not counted again below). */
  subscriptions: number;
  /** Consumer groups no subscription owns (SDK, Confluent, v1 consumers). */
  groups: number;
  /** Groups or subscriptions whose lag could not be read (topic deleted, throttled, ...). */
  errors: { name: string; error: string }[];
}

/** Groups measured at once: each is a Query and a few reads per partition, mostly cached. */
const PARALLEL = 4;

/**
 * The lag metrics (docs/metrics.md), measured by the maintenance function every minute:
 * OffsetLag (summed over partitions) and TimeLag (the largest over partitions) per Lambda
 * subscription, and per consumer group for the groups no subscription owns, whose consumers
 * run outside this stack. With `perPartition`, each partition gets its own line as well.
 *
 * A subscription's group is measured over its topic, from the log start where it has not
 * committed yet (where the dispatcher starts), so a function failing from its very first
 * batch shows lag instead of nothing.
 */
export class LagMetrics {
  constructor(
    private readonly lag: LagService,
    private readonly groups: GroupService,
    private readonly subscriptions: SubscriptionService,
    private readonly metrics: MetricsEmitter,
  ) {}

  async runOnce(): Promise<LagMetricsReport> {
    const [subscriptions, groups] = await Promise.all([
      this.subscriptions.forDispatch(),
      this.groups.list(),
    ]);
    const owned = new Set(subscriptions.map((s) => s.config.group));
    const others = groups.map((g) => g.group).filter((group) => !owned.has(group));
    const errors: LagMetricsReport['errors'] = [];
    const measure = async (
      name: string,
      dimension: MetricDimension,
      read: () => Promise<GroupLag>,
    ): Promise<void> => {
      try {
        this.emit(dimension, name, await read());
      } catch (error) {
        errors.push({ name, error: toEventLogError(error).message });
      }
    };
    await mapLimited(subscriptions, PARALLEL, ({ config }) =>
      measure(config.name, 'Subscription', () =>
        this.lag.group(config.group, { topics: [config.topic], fromLogStart: true }),
      ),
    );
    await mapLimited(others, PARALLEL, (group) =>
      measure(group, 'Group', () => this.lag.group(group)),
    );
    return { subscriptions: subscriptions.length, groups: others.length, errors };
  }

  private emit(dimension: MetricDimension, name: string, lag: GroupLag): void {
    const measured = lag.partitions.filter((p) => p.offsetLag !== null);
    // A group that committed nothing on any partition has no lag to speak of yet.
    if (measured.length === 0) return;
    this.metrics.emit(
      { [dimension]: name },
      { OffsetLag: lag.totalOffsetLag, TimeLag: lag.maxTimeLagMs ?? undefined },
    );
    if (!this.metrics.perPartition) return;
    for (const p of measured) {
      this.metrics.emit(
        { [dimension]: name, Topic: p.topic, Partition: String(p.partition) },
        { OffsetLag: p.offsetLag ?? undefined, TimeLag: p.timeLagMs ?? undefined },
      );
    }
  }
}
