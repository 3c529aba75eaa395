import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../lib/infra/event-log.js';
import { EventLogConsumer } from '../../lib/infra/event-log-consumer.js';
import { runNag, testContext } from './synth.js';

/** The metrics side of the constructs: metric objects, the consumer alarms, the dashboard. */

function build(props: { perPartition?: boolean; namespace?: string } = {}) {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'Metrics');
  const eventLog = new EventLog(stack, 'EventLog', { metrics: props });
  const handler = new LambdaFunction(stack, 'Handler', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({})'),
  });
  const billing = new EventLogConsumer(stack, 'Billing', {
    eventLog,
    topic: 'orders',
    function: handler,
    name: 'billing',
    startingPosition: 'TRIM_HORIZON',
    onFailure: { topic: 'orders.dlq' },
  });
  const audit = new EventLogConsumer(stack, 'Audit', {
    eventLog,
    topic: 'orders',
    function: handler,
    name: 'audit',
    startingPosition: 'LATEST',
    alarms: { maxTimeLag: Duration.minutes(30), onFailure: false },
  });
  const quiet = new EventLogConsumer(stack, 'Quiet', {
    eventLog,
    topic: 'orders',
    function: handler,
    name: 'quiet',
    startingPosition: 'LATEST',
    alarms: false,
  });
  return { stack, eventLog, billing, audit, quiet, template: Template.fromStack(stack) };
}

describe('metrics, alarms and the dashboard', () => {
  let built: ReturnType<typeof build>;
  beforeAll(() => {
    built = build();
  });

  it('gives CDK metric objects with the namespace, dimensions and statistic the functions emit', () => {
    const { eventLog, billing, stack } = built;
    const bytes = eventLog.metricProducedBytes({ topic: 'orders' });
    expect(bytes.namespace).toBe('EventLog');
    expect(bytes.metricName).toBe('ProducedBytes');
    expect(bytes.dimensions).toEqual({ Topic: 'orders' });
    expect(bytes.statistic).toBe('Sum');
    expect(
      eventLog.metricProducedRecords({ topic: 'a', period: Duration.minutes(5) }),
    ).toMatchObject({ metricName: 'ProducedRecords', dimensions: { Topic: 'a' } });
    expect(
      eventLog.metricProducedRecords({ topic: 'a', period: Duration.minutes(5) }).period,
    ).toEqual(Duration.minutes(5));
    expect(eventLog.metricProduceErrors({ topic: 'a' }).metricName).toBe('ProduceErrors');
    expect(billing.metricTimeLag()).toMatchObject({
      namespace: 'EventLog',
      metricName: 'TimeLag',
      dimensions: { Subscription: 'billing' },
      statistic: 'Maximum',
    });
    expect(billing.metricOffsetLag().metricName).toBe('OffsetLag');
    expect(billing.metricOffsetLag().statistic).toBe('Maximum');
    expect(billing.metricErrors()).toMatchObject({
      metricName: 'FunctionErrors',
      statistic: 'Sum',
    });
    expect(stack.resolve(billing.metricErrors().dimensions)).toEqual({ Subscription: 'billing' });
  });

  it('tells every function the namespace, and runs the lag measurement every minute', () => {
    const { template } = built;
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Event log') },
    });
    expect(Object.keys(functions)).toHaveLength(3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Environment.Variables.EVENTLOG_METRICS_NAMESPACE).toBe('EventLog');
      expect(fn.Properties.Environment.Variables).not.toHaveProperty(
        'EVENTLOG_METRICS_PER_PARTITION',
      );
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Input: JSON.stringify({ task: 'lag' }),
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RetentionFunction'), 'Arn'] },
        }),
      ],
    });
  });

  it('alarms on each consumer’s time lag (5 minutes unless told) and on records given up on', () => {
    const { template } = built;
    const lagAlarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'TimeLag' },
    });
    const byThreshold = Object.values(lagAlarms)
      .map((a) => [a.Properties.Dimensions[0].Value, a.Properties.Threshold])
      .sort();
    expect(byThreshold).toEqual([
      ['audit', 1_800_000],
      ['billing', 300_000],
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'EventLog',
      MetricName: 'TimeLag',
      Dimensions: [{ Name: 'Subscription', Value: 'billing' }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 2,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    // Records given up on: the on-failure and dropped counts together, billing only.
    const failureAlarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Metrics: Match.anyValue() },
      }),
    );
    expect(failureAlarms).toHaveLength(1);
    const [failure] = failureAlarms;
    expect(failure?.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const queries = failure?.Properties.Metrics as {
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] }; Stat: string };
    }[];
    expect(queries.find((q) => q.Expression)?.Expression).toBe('FILL(sent, 0) + FILL(dropped, 0)');
    expect(
      queries
        .flatMap((q) => (q.MetricStat === undefined ? [] : [q.MetricStat]))
        .map((m) => [m.Metric.MetricName, m.Metric.Dimensions, m.Stat]),
    ).toEqual([
      ['OnFailureRecords', [{ Name: 'Subscription', Value: 'billing' }], 'Sum'],
      ['DroppedRecords', [{ Name: 'Subscription', Value: 'billing' }], 'Sum'],
    ]);
    // alarms: false makes none for that consumer.
    expect(built.quiet.alarms).toEqual([]);
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'))).not.toContain(
      '"quiet"',
    );
  });

  it('makes one dashboard with the log’s graphs and each alarmed consumer’s', () => {
    const { template, stack } = built;
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(stack.resolve(dashboards[0]?.Properties.DashboardBody));
    for (const expected of [
      'SEARCH(\'{\\\\\\"EventLog\\\\\\",Topic} MetricName=\\\\\\"ProducedRecords\\\\\\"\', \'Sum\', 60)',
      "Subscription} MetricName=\\\\\\\"TimeLag\\\\\\\"', 'Maximum', 60)",
      'Group} MetricName=\\\\\\"OffsetLag\\\\\\"',
      'billing: time lag (ms)',
      'audit: alarms',
    ]) {
      expect(body).toContain(expected);
    }
    expect(body).not.toContain('quiet');
  });

  it('passes cdk-nag', () => {
    // The test's own handler and CDK's custom-resource provider are not ours to judge.
    const ours = runNag(built.stack).violations.filter((v) =>
      v.paths.some((path) => /^Metrics\/(EventLog|Billing|Audit|Quiet)\//.test(path)),
    );
    expect(ours).toEqual([]);
  });

  it('emits per partition and in another namespace when asked', () => {
    const { template, eventLog } = build({ perPartition: true, namespace: 'EventLog/prod' });
    expect(eventLog.metricProducedBytes({ topic: 'orders' }).namespace).toBe('EventLog/prod');
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Event log') },
    });
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        EVENTLOG_METRICS_NAMESPACE: 'EventLog/prod',
        EVENTLOG_METRICS_PER_PARTITION: 'true',
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'EventLog/prod',
      MetricName: 'TimeLag',
    });
  });
});
