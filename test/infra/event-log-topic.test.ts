import { App, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  Code,
  FilterCriteria,
  FilterRule,
  Function as LambdaFunction,
  Runtime,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../lib/infra/event-log.js';
import {
  EventLogConsumer,
  S3OnFailure,
  SqsOnFailure,
  TopicOnFailure,
} from '../../lib/infra/event-log-consumer.js';
import { EventLogEventSource } from '../../lib/infra/event-log-event-source.js';
import { EventLogTopic } from '../../lib/infra/event-log-topic.js';
import { runNag, testContext } from './synth.js';

/** EventLogTopic, consumers that depend on topics, CDK-style consumer props, EventLogEventSource. */

describe('EventLogTopic and CDK-style consumers', () => {
  let stack: Stack;
  let eventLog: EventLog;
  let orders: EventLogTopic;
  let audit: EventLogTopic;
  let handler: LambdaFunction;
  let sourced: LambdaFunction;
  let queue: Queue;
  let consumer: EventLogConsumer;
  let template: Template;

  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);

  beforeAll(() => {
    const app = new App({ context: testContext() });
    stack = new Stack(app, 'Topics');
    eventLog = new EventLog(stack, 'EventLog');
    orders = new EventLogTopic(stack, 'Orders', {
      eventLog,
      name: 'orders',
      partitions: 6,
      configs: { 'retention.ms': 86_400_000, 'compression.type': 'zstd' },
    });
    audit = new EventLogTopic(stack, 'Audit', {
      eventLog,
      name: 'audit',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const code = Code.fromInline('exports.handler = async () => ({})');
    handler = new LambdaFunction(stack, 'Handler', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code,
    });
    sourced = new LambdaFunction(stack, 'Sourced', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code,
    });
    queue = new Queue(stack, 'Failures', { enforceSSL: true });
    consumer = new EventLogConsumer(stack, 'OrdersConsumer', {
      eventLog,
      topic: orders,
      function: handler,
      startingPosition: StartingPosition.LATEST,
      batchSize: 50,
      maxBatchingWindow: Duration.seconds(5),
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new SqsOnFailure(queue),
    });
    sourced.addEventSource(
      new EventLogEventSource(audit, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        onFailure: new TopicOnFailure(orders),
      }),
    );
    template = Template.fromStack(stack);
  });

  it('declares each topic as a custom resource whose properties are the topic', () => {
    const topics = template.findResources('Custom::EventLogTopic');
    expect(Object.keys(topics)).toHaveLength(2);
    template.hasResource('Custom::EventLogTopic', {
      Properties: {
        TopicName: 'orders',
        Partitions: 6,
        Configs: { 'retention.ms': '86400000', 'compression.type': 'zstd' },
        RemovalPolicy: 'retain',
      },
      DeletionPolicy: 'Delete',
    });
    template.hasResourceProperties('Custom::EventLogTopic', {
      TopicName: 'audit',
      Partitions: 1,
      RemovalPolicy: 'destroy',
    });
    expect(orders.topicName).toBe('orders');
    expect(stack.resolve(orders.topicId)).toEqual({
      'Fn::GetAtt': [logicalId(orders.resource), 'TopicId'],
    });
  });

  it('uses one provider for all topics, whose handler may touch the topics table only', () => {
    const handlers = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      ([, r]) =>
        (r as { Properties: { Description?: string } }).Properties.Description ===
        'Creates, alters and deletes EventLogTopic topics at deploy time',
    );
    expect(handlers).toHaveLength(1);
    const [, fn] = handlers[0] as [string, { Properties: { Role: { 'Fn::GetAtt': string[] } } }];
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.some(
        (r) => r.Ref === roleId,
      ),
    ) as {
      Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
    }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const tableStatement = statements.find((s) => JSON.stringify(s.Action).includes('dynamodb'));
    expect([...((tableStatement?.Action ?? []) as string[])].sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    const topicsTable = stack.getLogicalId(eventLog.table('Topics').node.defaultChild as never);
    expect(tableStatement?.Resource).toEqual({ 'Fn::GetAtt': [topicsTable, 'Arn'] });
    const everything = JSON.stringify(statements);
    expect(everything).not.toContain('s3:');
    expect(everything).not.toContain('dynamodb:Query');
  });

  it('deploys a consumer after its topic, and after the topic of its on-failure destination', () => {
    const subscriptions = template.findResources('Custom::AWS');
    const dependsOn = (path: string) => {
      const entry = Object.entries(subscriptions).find(([id]) => id.startsWith(path));
      return ((entry?.[1] as { DependsOn?: string[] } | undefined)?.DependsOn ?? []) as string[];
    };
    expect(dependsOn('OrdersConsumerSubscription')).toContain(logicalId(orders.resource));
    const sourcedIds = Object.keys(subscriptions).filter((id) => id.startsWith('Sourced'));
    expect(sourcedIds).toHaveLength(1);
    const sourcedDeps = dependsOn(sourcedIds[0] as string);
    expect(sourcedDeps).toContain(logicalId(audit.resource));
    expect(sourcedDeps).toContain(logicalId(orders.resource));
  });

  it('maps the CDK-style props onto the subscription settings', () => {
    expect(consumer.subscription).toMatchObject({
      topic: 'orders',
      batchSize: 50,
      maximumBatchingWindowInSeconds: 5,
      startingPosition: 'LATEST',
      maximumRetryAttempts: 3,
      maximumRecordAgeInSeconds: 3600,
      bisectBatchOnFunctionError: true,
      functionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(stack.resolve(consumer.subscription.destinationConfig?.onFailure.destination)).toEqual({
      'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as never), 'Arn'],
    });
    expect(consumer.destinationGrant).toBeDefined();
    const dispatcherPolicy = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(dispatcherPolicy).toContain('sqs:SendMessage');
  });

  it('binds EventLogEventSource as a consumer of that function, with a kafka:// destination', () => {
    const source = new EventLogEventSource('payments', {
      eventLog,
      startingPosition: StartingPosition.TRIM_HORIZON,
      maxBatchingWindow: Duration.millis(250),
    });
    expect(() => source.consumer).toThrow(/not yet bound/);
    handler.addEventSource(source);
    expect(source.consumer.node.scope).toBe(handler);
    expect(source.consumer.subscription).toMatchObject({
      topic: 'payments',
      maximumBatchingWindowInSeconds: 0.25,
      startingPosition: 'TRIM_HORIZON',
    });
    expect(stack.resolve(source.consumer.subscription.functionName)).toEqual({
      'Fn::GetAtt': [stack.getLogicalId(handler.node.defaultChild as never), 'Arn'],
    });
    expect(() => handler.addEventSource(source)).toThrow(/already bound/);
    expect(
      () => new EventLogEventSource('x', { startingPosition: StartingPosition.LATEST }),
    ).toThrow(/needs props.eventLog/);
  });

  it('takes an S3 bucket destination and CDK filters, granting PutObject under aws/lambda/ only', () => {
    const own = new Stack(new App({ context: testContext() }), 'S3Destination');
    const log = new EventLog(own, 'EventLog');
    const bucket = new Bucket(own, 'Failures', { enforceSSL: true });
    const fn = new LambdaFunction(own, 'Handler', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({})'),
    });
    const filtered = new EventLogConsumer(own, 'Filtered', {
      eventLog: log,
      topic: 'orders',
      function: fn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      filters: [
        FilterCriteria.filter({ value: { type: FilterRule.isEqual('order') } }),
        { pattern: '{"value":{"amount":[{"numeric":[">",100]}]}}' },
      ],
      // aws-cdk-lib's classes do not meet their own interfaces under exactOptionalPropertyTypes.
      onFailure: new S3OnFailure(bucket as IBucket),
    });
    expect(filtered.subscription.filterCriteria).toEqual({
      filters: [
        { pattern: '{"value":{"type":["order"]}}' },
        { pattern: '{"value":{"amount":[{"numeric":[">",100]}]}}' },
      ],
    });
    expect(own.resolve(filtered.subscription.destinationConfig?.onFailure.destination)).toEqual({
      'Fn::GetAtt': [own.getLogicalId(bucket.node.defaultChild as never), 'Arn'],
    });
    const policies = JSON.stringify(Template.fromStack(own).findResources('AWS::IAM::Policy'));
    expect(policies).toContain('s3:PutObject');
    expect(policies).toContain('/aws/lambda/*');
    // An invalid pattern is refused at synth, with the reason.
    expect(
      () =>
        new EventLogConsumer(own, 'Bad', {
          eventLog: log,
          topic: 'orders',
          function: fn,
          startingPosition: StartingPosition.LATEST,
          filters: [{ pattern: '{"value":{"type":[{"begins":"x"}]}}' }],
        }),
    ).toThrow(/begins/);
  });

  it('keeps the 0.x prop names working and refuses both names of one setting', () => {
    const old = new EventLogConsumer(stack, 'OldNames', {
      eventLog,
      topic: 'orders',
      function: handler,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: 1_700_000_000,
      maximumBatchingWindowInSeconds: 2,
      maximumRetryAttempts: 1,
      maximumRecordAgeInSeconds: 120,
      bisectBatchOnFunctionError: true,
      onFailure: { topic: 'dead-letters' },
    });
    expect(old.subscription).toMatchObject({
      maximumBatchingWindowInSeconds: 2,
      maximumRetryAttempts: 1,
      maximumRecordAgeInSeconds: 120,
      bisectBatchOnFunctionError: true,
      destinationConfig: { onFailure: { destination: 'kafka://dead-letters' } },
    });
    expect(
      () =>
        new EventLogConsumer(stack, 'Both', {
          eventLog,
          topic: 'orders',
          function: handler,
          startingPosition: StartingPosition.LATEST,
          retryAttempts: 2,
          maximumRetryAttempts: 2,
        }),
    ).toThrow('give retryAttempts or the deprecated maximumRetryAttempts, not both');
    expect(
      () =>
        new EventLogConsumer(stack, 'TooOld', {
          eventLog,
          topic: 'orders',
          function: handler,
          startingPosition: StartingPosition.LATEST,
          maxRecordAge: Duration.seconds(10),
        }),
    ).toThrow(/maximumRecordAgeInSeconds/);
  });

  it('checks names, counts and configs at synth time, and leaves tokens to the deploy', () => {
    const bad =
      (props: Partial<ConstructorParameters<typeof EventLogTopic>[2]>, id: string) => () =>
        new EventLogTopic(stack, id, { eventLog, name: 'fine', ...props });
    expect(bad({ name: 'no spaces' }, 'BadName')).toThrow(/Topic names|topic name/i);
    expect(bad({ partitions: 0 }, 'BadCount')).toThrow(/1-1000|1 to 1000|partition/i);
    expect(bad({ configs: { 'retention.ms': 'soon' } }, 'BadValue')).toThrow('retention.ms');
    expect(bad({ configs: { 'segment.ms': '1' } }, 'Unknown')).toThrow('Unknown topic config');
    expect(bad({ partitions: 2, configs: { 'commit.sequences': 3 } }, 'Seq')).toThrow(
      'commit.sequences',
    );
    // A value known only at deploy (a parameter, an import) is the handler's to check.
    const tokened = new EventLogTopic(stack, 'Tokened', {
      eventLog,
      name: 'tokened',
      configs: { 'retention.ms': Lazy.string({ produce: () => 'not-a-number' }) },
    });
    expect(tokened.partitions).toBe(1);
  });

  it('leaves cdk-nag nothing to report on the topics, their provider and the consumers', () => {
    const ours = runNag(stack).violations.filter((v) =>
      v.paths.some((path) =>
        /^Topics\/(EventLog|Orders|Audit|OrdersConsumer|Sourced\/EventLogEventSource)/.test(path),
      ),
    );
    expect(ours, JSON.stringify(ours, null, 1)).toEqual([]);
  });
});
