import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  type MetricOptions,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { MAINTENANCE_TASK_LAG } from '../broker/lag-metrics.js';
import { METRICS_ENV } from '../broker/metrics.js';
import {
  DEFAULT_METRICS_NAMESPACE,
  type MetricDimension,
  type MetricName,
} from '../log/metrics.js';

/**
 * The CDK side of the log's metrics (docs/metrics.md): metric objects with the namespace,
 * dimensions and statistic the functions emit them with, a consumer's alarms, the maintenance
 * function's every-minute lag schedule, and one dashboard per EventLog. EventLog and
 * EventLogConsumer call these; their `metric*` methods are one line each.
 */

export interface EventLogMetricsProps {
  /**
   * The CloudWatch namespace. Give each event log its own when two share an account and a
   * region, or their topics' metrics add up.
   * @default 'EventLog'
   */
  readonly namespace?: string;
  /**
   * Lag per partition too (dimensions Topic and Partition), for every group and subscription:
   * 2 more custom metrics per partition, $0.60 a month each (docs/cost-model.md).
   * @default false: per group and per subscription only
   */
  readonly perPartition?: boolean;
  /** One CloudWatch dashboard for the event log ($3 a month beyond the free three). @default true */
  readonly dashboard?: boolean;
}

/** A consumer's alarms (each $0.10 a month). */
export interface EventLogConsumerAlarmProps {
  /**
   * Alarm when the oldest record not yet processed is older than this (TimeLag, measured
   * every minute).
   * @default Duration.minutes(5)
   */
  readonly maxTimeLag?: Duration;
  /** Alarm when records are sent to the on-failure destination or dropped. @default true */
  readonly onFailure?: boolean;
  /** Actions for both alarms. @default the EventLog's alarmActions */
  readonly actions?: IAlarmAction[];
}

/** What EventLog keeps of its metrics setup, for the metric methods and its consumers. */
export interface EventLogMetricsSetup {
  readonly namespace: string;
  readonly dashboard: Dashboard | undefined;
  readonly alarmActions: IAlarmAction[];
}

/** Lag is measured once a minute: a gauge, read as its largest value in a period. */
const GAUGES: readonly MetricName[] = ['OffsetLag', 'TimeLag'];

export function logMetric(
  namespace: string,
  name: MetricName,
  dimensions: Partial<Record<MetricDimension, string>>,
  options: MetricOptions = {},
): Metric {
  return new Metric({
    namespace,
    metricName: name,
    dimensionsMap: dimensions as Record<string, string>,
    statistic: GAUGES.includes(name) ? 'Maximum' : 'Sum',
    period: Duration.minutes(1),
    ...options,
  });
}

/**
 * Wires metrics into an EventLog: the functions learn the namespace (and whether to emit per
 * partition), the maintenance function gets its every-minute lag run, and the dashboard is
 * made with the log's own graphs; consumers add theirs to it.
 */
export function setUpEventLogMetrics(
  scope: Construct,
  functions: Record<'api' | 'retention' | 'dispatch', NodejsFunction>,
  props: EventLogMetricsProps = {},
  alarmActions: IAlarmAction[] = [],
): EventLogMetricsSetup {
  const namespace = props.namespace ?? DEFAULT_METRICS_NAMESPACE;
  for (const fn of Object.values(functions)) {
    fn.addEnvironment(METRICS_ENV.namespace, namespace);
    if (props.perPartition === true) fn.addEnvironment(METRICS_ENV.perPartition, 'true');
  }
  new Rule(scope, 'LagMetricsSchedule', {
    description: 'Measures the lag of every consumer group and Lambda subscription every minute',
    schedule: Schedule.rate(Duration.minutes(1)),
    targets: [
      new LambdaFunction(functions.retention, {
        event: RuleTargetInput.fromObject({ task: MAINTENANCE_TASK_LAG }),
        // A missed minute is measured again by the next one.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    ],
  });
  const dashboard =
    props.dashboard === false ? undefined : createDashboard(scope, namespace, functions);
  return { namespace, dashboard, alarmActions };
}

/** Every series of a metric across one dimension, found by CloudWatch's SEARCH. */
function search(
  namespace: string,
  dimension: MetricDimension,
  name: MetricName,
  label: string,
): IMetric {
  const statistic = GAUGES.includes(name) ? 'Maximum' : 'Sum';
  return new MathExpression({
    expression: `SEARCH('{"${namespace}",${dimension}} MetricName="${name}"', '${statistic}', 60)`,
    label,
    period: Duration.minutes(1),
    usingMetrics: {},
  });
}

function createDashboard(
  scope: Construct,
  namespace: string,
  functions: Record<string, NodejsFunction>,
): Dashboard {
  const dashboard = new Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.hours(3),
  });
  const graph = (title: string, left: IMetric[], leftUnit?: string) =>
    new GraphWidget({
      title,
      left,
      width: 8,
      height: 6,
      ...(leftUnit === undefined ? {} : { leftYAxis: { label: leftUnit, showUnits: false } }),
    });
  dashboard.addWidgets(
    new TextWidget({
      markdown: `# Event log\nMetrics in namespace \`${namespace}\` (docs/metrics.md): produce per topic, Lambda subscriptions, lag of every group.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    graph('Records produced per minute', [
      search(namespace, 'Topic', 'ProducedRecords', 'records'),
    ]),
    graph('Bytes produced per minute', [search(namespace, 'Topic', 'ProducedBytes', 'bytes')]),
    graph('Produce errors', [search(namespace, 'Topic', 'ProduceErrors', 'errors')]),
  );
  dashboard.addWidgets(
    graph(
      'Time lag of subscriptions and groups (ms)',
      [
        search(namespace, 'Subscription', 'TimeLag', 'subscription'),
        search(namespace, 'Group', 'TimeLag', 'group'),
      ],
      'ms',
    ),
    graph('Offset lag of subscriptions and groups (records)', [
      search(namespace, 'Subscription', 'OffsetLag', 'subscription'),
      search(namespace, 'Group', 'OffsetLag', 'group'),
    ]),
    graph('Lambda subscriptions: invocations, errors, records given up on', [
      search(namespace, 'Subscription', 'Invocations', 'invocations'),
      search(namespace, 'Subscription', 'FunctionErrors', 'function errors'),
      search(namespace, 'Subscription', 'OnFailureRecords', 'to on-failure'),
      search(namespace, 'Subscription', 'DroppedRecords', 'dropped'),
    ]),
  );
  dashboard.addWidgets(
    graph(
      'Event log functions: errors',
      Object.entries(functions).map(([name, fn]) => fn.metricErrors({ label: name })),
    ),
    graph(
      'Event log functions: duration p99 (ms)',
      Object.entries(functions).map(([name, fn]) =>
        fn.metricDuration({ label: name, statistic: 'p99' }),
      ),
    ),
    graph(
      'Event log functions: throttles',
      Object.entries(functions).map(([name, fn]) => fn.metricThrottles({ label: name })),
    ),
  );
  return dashboard;
}

/**
 * A consumer's two alarms: its time lag over `maxTimeLag`, and records given up on (sent to
 * the on-failure destination or dropped). Both also go on the dashboard.
 */
export function createConsumerAlarms(
  scope: Construct,
  setup: EventLogMetricsSetup,
  subscription: string,
  props: EventLogConsumerAlarmProps = {},
): Alarm[] {
  const metric = (name: MetricName, options: MetricOptions = {}) =>
    logMetric(setup.namespace, name, { Subscription: subscription }, options);
  const maxTimeLag = props.maxTimeLag ?? Duration.minutes(5);
  const actions = props.actions ?? setup.alarmActions;
  const alarms = [
    new Alarm(scope, 'TimeLagAlarm', {
      // No label: an alarm on a plain metric stays a plain (MetricName) alarm.
      metric: metric('TimeLag'),
      threshold: maxTimeLag.toMilliseconds(),
      // Two minutes in a row: one late measurement is not yet a stuck consumer.
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Lag is measured every minute for every subscription; no data means the maintenance
      // function did not run, which its own errors alarm reports.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Subscription ${subscription}: the oldest unprocessed record is older than ${maxTimeLag.toHumanString()}.`,
    }),
  ];
  if (props.onFailure !== false) {
    alarms.push(
      new Alarm(scope, 'OnFailureAlarm', {
        metric: new MathExpression({
          expression: 'FILL(sent, 0) + FILL(dropped, 0)',
          usingMetrics: {
            sent: metric('OnFailureRecords', { period: Duration.minutes(5) }),
            dropped: metric('DroppedRecords', { period: Duration.minutes(5) }),
          },
          label: 'records given up on',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Subscription ${subscription}: records were sent to the on-failure destination or dropped.`,
      }),
    );
  }
  for (const alarm of alarms) alarm.addAlarmAction(...actions);
  setup.dashboard?.addWidgets(
    new GraphWidget({
      title: `${subscription}: time lag (ms)`,
      left: [metric('TimeLag', { label: 'time lag (ms)' })],
      leftAnnotations: [
        {
          value: maxTimeLag.toMilliseconds(),
          label: 'alarm',
        } satisfies HorizontalAnnotation,
      ],
      width: 12,
      height: 6,
    }),
    new AlarmStatusWidget({ title: `${subscription}: alarms`, alarms, width: 12, height: 6 }),
  );
  return alarms;
}
