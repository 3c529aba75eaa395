/**
 * The consumers `npm start` runs: `EVENTLOG_CONFIG=examples/consumer/eventlog.config.ts npm start`
 * (or copy this file to the directory you start from). See docs/lambda-consumers.md.
 */
import type { EventLogConfig } from '../../lib/local/consumer-config.js';

export default {
  // Created when missing.
  topics: [
    { name: 'orders', partitions: 3 },
    { name: 'orders.dlq', partitions: 1 },
  ],
  consumers: [
    {
      name: 'print-orders',
      topic: 'orders',
      handler: './handler.ts',
      // Lambda's event source mapping settings, with Lambda's names and limits.
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      maximumBatchingWindowInSeconds: 0.1,
      functionResponseTypes: ['ReportBatchItemFailures'],
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: 'kafka://orders.dlq' } },
    },
  ],
} satisfies EventLogConfig;
