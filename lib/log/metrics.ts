/**
 * The event log's metrics: their names, dimensions and units in one list (the functions emit
 * them, the CDK constructs graph and alarm on them, docs/metrics.md describes them), and the
 * CloudWatch embedded metric format (EMF) document that carries them in a log line.
 *
 * EMF (CloudWatch's specification, "Embedded metric format"): one JSON object per log event,
 *
 *   {
 *     "_aws": {
 *       "Timestamp": <epoch ms>,
 *       "CloudWatchMetrics": [{
 *         "Namespace": "EventLog",
 *         "Dimensions": [["Topic"]],                  // sets of member names, each <= 30
 *         "Metrics": [{ "Name": "ProducedRecords", "Unit": "Count" }, ...]   // <= 100
 *       }]
 *     },
 *     "Topic": "orders",                              // every dimension: a string member
 *     "ProducedRecords": 3, ...                       // every metric: a number member
 *   }
 *
 * CloudWatch Logs turns each such line into metric data points: no PutMetricData call, no
 * extra AWS request per produce. These few lines replace a library (aws-embedded-metrics
 * or Powertools' Metrics): we emit a fixed handful of documents, never buffer, and write them
 * with one `JSON.stringify`.
 */

export const METRIC_DIMENSIONS = {
  topic: 'Topic',
  subscription: 'Subscription',
  group: 'Group',
  partition: 'Partition',
} as const;

export type MetricDimension = (typeof METRIC_DIMENSIONS)[keyof typeof METRIC_DIMENSIONS];

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/** Every metric the log emits: its unit, its dimensions, what it counts. */
export const METRICS = {
  // Per topic, from the produce path (every function that produces: api, dispatcher).
  ProducedRecords: { unit: 'Count', dimensions: ['Topic'], about: 'Records written' },
  ProducedBytes: {
    unit: 'Bytes',
    dimensions: ['Topic'],
    about: 'Key, value and header bytes of the records written',
  },
  ProduceRequests: { unit: 'Count', dimensions: ['Topic'], about: 'Produce requests' },
  ProduceErrors: {
    unit: 'Count',
    dimensions: ['Topic'],
    about: 'Produce requests that failed, wholly or for some records',
  },
  // Per Lambda subscription, from the dispatcher's runs.
  Invocations: {
    unit: 'Count',
    dimensions: ['Subscription'],
    about: 'Invocations of the consumer function',
  },
  FunctionErrors: {
    unit: 'Count',
    dimensions: ['Subscription'],
    about: 'Invocations that ended in a function error (or an unreadable answer)',
  },
  Retries: {
    unit: 'Count',
    dimensions: ['Subscription'],
    about: 'Invocations that sent records again after a failed attempt',
  },
  OnFailureRecords: {
    unit: 'Count',
    dimensions: ['Subscription'],
    about: 'Records sent to the on-failure destination',
  },
  DroppedRecords: {
    unit: 'Count',
    dimensions: ['Subscription'],
    about: 'Records given up on without an on-failure destination (logged only)',
  },
  ExpiredRecords: {
    unit: 'Count',
    dimensions: ['Subscription'],
    about:
      'Records that expired before delivery: older than maximumRecordAgeInSeconds, or about to be (or already) deleted by retention',
  },
  // Lag, from the maintenance function every minute: per subscription, or per consumer group
  // for groups no subscription owns (SDK, Confluent and v1 consumers).
  OffsetLag: {
    unit: 'Count',
    dimensions: ['Subscription', 'Group'],
    about: 'High watermark minus committed offset, summed over the partitions',
  },
  TimeLag: {
    unit: 'Milliseconds',
    dimensions: ['Subscription', 'Group'],
    about:
      'Age (by append time) of the oldest record not yet committed: the largest over partitions',
  },
} as const satisfies Record<
  string,
  { unit: MetricUnit; dimensions: readonly MetricDimension[]; about: string }
>;

export type MetricName = keyof typeof METRICS;

/** The default namespace; the CDK construct may set another (two logs in one account). */
export const DEFAULT_METRICS_NAMESPACE = 'EventLog';

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: MetricUnit }[];
    }[];
  };
  [member: string]: unknown;
}

/**
 * One EMF document: the values under one set of dimensions. Metrics whose value is undefined
 * are left out (a time lag nobody can measure is no data point, not a zero).
 */
export function emfDocument(
  namespace: string,
  timestamp: number,
  dimensions: Partial<Record<MetricDimension, string>>,
  values: Partial<Record<MetricName, number | undefined>>,
): EmfDocument | undefined {
  const present = (Object.entries(values) as [MetricName, number | undefined][]).filter(
    (entry): entry is [MetricName, number] => entry[1] !== undefined && Number.isFinite(entry[1]),
  );
  if (present.length === 0) return undefined;
  const names = Object.keys(dimensions).filter(
    (name) => dimensions[name as MetricDimension] !== undefined,
  );
  return {
    _aws: {
      Timestamp: Math.round(timestamp),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [names],
          Metrics: present.map(([name]) => ({ Name: name, Unit: METRICS[name].unit })),
        },
      ],
    },
    ...dimensions,
    ...Object.fromEntries(present),
  };
}
