import { createBroker, createStores } from '../lib/broker/broker.js';
import {
  LagMetrics,
  type LagMetricsReport,
  MAINTENANCE_TASK_LAG,
} from '../lib/broker/lag-metrics.js';
import { metricsFromEnv } from '../lib/broker/metrics.js';
import type { RetentionReport } from '../lib/broker/retention.js';
import { createAwsClients } from '../lib/store/aws-clients.js';
import { resourceNamesFromEnv } from '../lib/store/resources.js';

/**
 * Scheduled maintenance: time and size retention, healing of holes left by dead writers,
 * deletion of unreferenced objects and of deleted topics' data. Safe to run twice at once:
 * each topic is worked on under a lease.
 *
 * A second schedule (every minute) sends `{ "task": "lag" }`: the lag metrics of every Lambda
 * subscription and consumer group, as EMF lines (docs/metrics.md), and nothing else.
 */

const metrics = metricsFromEnv();
const broker = createBroker(createStores(createAwsClients(), resourceNamesFromEnv()), {
  log: (message) => console.log(message),
  metrics,
});
const lagMetrics = new LagMetrics(broker.lag, broker.groups, broker.subscriptions, metrics);

export const handler = async (event: unknown): Promise<RetentionReport | LagMetricsReport> => {
  if ((event as { task?: unknown } | null)?.task === MAINTENANCE_TASK_LAG) {
    const report = await lagMetrics.runOnce();
    console.log(JSON.stringify({ lag: report }));
    return report;
  }
  const report = await broker.retention.runOnce();
  console.log(JSON.stringify({ retention: summarize(report) }));
  return report;
};

function summarize(report: RetentionReport): Record<string, number> {
  const partitions = report.topics.flatMap((topic) => topic.partitions);
  return {
    topics: report.topics.length,
    skipped: report.topics.filter((topic) => topic.skipped !== undefined).length,
    entriesDeleted: partitions.reduce((sum, p) => sum + p.entriesDeleted, 0),
    objectsDeleted: report.topics.reduce((sum, topic) => sum + topic.objectsDeleted, 0),
    orphansDeleted: report.topics.reduce((sum, topic) => sum + topic.orphansDeleted, 0),
    abortedRanges: partitions.reduce((sum, p) => sum + p.abortedRanges, 0),
    deletedTopicsCleaned: report.deletedTopicsCleaned.length,
  };
}
