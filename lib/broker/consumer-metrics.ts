import type { DispatchReport, PartitionReport } from './dispatcher.js';
import type { MetricsEmitter } from './metrics.js';

/**
 * A dispatcher run's per-subscription metrics (docs/metrics.md): one EMF line per subscription
 * that did something in the run, its partitions summed. A run that found nothing to do writes
 * nothing: no data point is what an alarm on these counts should see then (missing data is
 * "not breaching"), and idle minutes cost no log bytes.
 *
 * Lag is not measured here: the maintenance function measures it every minute for every
 * subscription and group (lib/broker/lag-metrics.ts), so a dispatcher that is itself stuck,
 * or not running at all, still shows as lag.
 */
export function emitDispatchMetrics(report: DispatchReport, metrics: MetricsEmitter): void {
  const bySubscription = new Map<string, PartitionReport[]>();
  for (const partition of report.partitions) {
    const list = bySubscription.get(partition.subscription) ?? [];
    list.push(partition);
    bySubscription.set(partition.subscription, list);
  }
  for (const [subscription, partitions] of bySubscription) {
    const sum = (field: keyof typeof COUNTS) =>
      partitions.reduce((total, p) => total + p[COUNTS[field]], 0);
    const values = {
      Invocations: sum('Invocations'),
      FunctionErrors: sum('FunctionErrors'),
      Retries: sum('Retries'),
      OnFailureRecords: sum('OnFailureRecords'),
      DroppedRecords: sum('DroppedRecords'),
      ExpiredRecords: sum('ExpiredRecords'),
    };
    if (Object.values(values).every((value) => value === 0)) continue;
    metrics.emit({ Subscription: subscription }, values);
  }
}

/** Which field of a partition's report each metric sums. */
const COUNTS = {
  Invocations: 'invocations',
  FunctionErrors: 'functionErrors',
  Retries: 'retries',
  OnFailureRecords: 'deadLettered',
  DroppedRecords: 'dropped',
  ExpiredRecords: 'expired',
} as const satisfies Record<string, keyof PartitionReport>;
