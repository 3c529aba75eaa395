import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../lib/infra/event-log.js';
import {
  EventLogConsumer,
  type EventLogConsumerProps,
} from '../../lib/infra/event-log-consumer.js';
import { runNag, testContext } from './synth.js';

describe('EventLogConsumer', () => {
  let stack: Stack;
  let eventLog: EventLog;
  let handler: LambdaFunction;
  let other: LambdaFunction;

  beforeAll(() => {
    const app = new App({ context: testContext() });
    stack = new Stack(app, 'Consumers');
    eventLog = new EventLog(stack, 'EventLog');
    const code = Code.fromInline('exports.handler = async () => ({})');
    handler = new LambdaFunction(stack, 'Handler', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code,
    });
    other = new LambdaFunction(stack, 'Other', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code,
    });
  });

  const attach = (id: string, props: Partial<EventLogConsumerProps>) =>
    new EventLogConsumer(stack, id, {
      eventLog,
      topic: 'orders',
      function: handler,
      startingPosition: 'TRIM_HORIZON',
      ...props,
    });

  it('applies Lambda’s defaults and lets the dispatcher invoke that function only', () => {
    const consumer = attach('Defaults', {});
    expect(consumer.subscription).toMatchObject({
      topic: 'orders',
      batchSize: 100,
      maximumBatchingWindowInSeconds: 0.5,
      startingPosition: 'TRIM_HORIZON',
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      bisectBatchOnFunctionError: false,
      functionResponseTypes: [],
      enabled: true,
    });
    expect(consumer.subscription.name).toMatch(/^lambda-[\w.-]+$/);
    expect(consumer.subscription.group).toBe(consumer.subscription.name);

    const template = Template.fromStack(stack);
    const dispatcherPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter(
      (p) => JSON.stringify(p.Properties.Roles).includes('DispatcherRole'),
    );
    // The dispatcher's invoke rights (its storage rights are the EventLog's, tested there).
    const statements = dispatcherPolicies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('lambda:'));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(handler.node.defaultChild as never), 'Arn'] },
      },
    ]);
    expect(JSON.stringify(statements)).not.toContain(
      stack.getLogicalId(other.node.defaultChild as never),
    );
  });

  it('stores the subscription at deploy time in the subscription store’s item layout', () => {
    // A stack of its own: the shared one is synthesized by the test before.
    const own = new Stack(new App({ context: testContext() }), 'Stored');
    const consumer = new EventLogConsumer(own, 'Stored', {
      eventLog: new EventLog(own, 'EventLog'),
      topic: 'orders',
      function: new LambdaFunction(own, 'Handler', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => ({})'),
      }),
      startingPosition: 'TRIM_HORIZON',
      name: 'billing',
      batchSize: 250,
    });
    const template = Template.fromStack(own);
    const resources = Object.values(template.findResources('Custom::AWS')) as {
      Properties: { Create: unknown; Delete: unknown };
    }[];
    const stored = resources.find((r) => JSON.stringify(r.Properties.Create).includes('billing'));
    expect(stored).toBeDefined();
    const create = JSON.stringify(stored?.Properties.Create);
    // Written as lib/store/subscription-store.ts reads it: pk/sk, a `config` map, and kept
    // retry state and version on update.
    expect(create).toContain('updateItem');
    expect(create).toContain('\\"pk\\":{\\"S\\":\\"subscriptions\\"}');
    expect(create).toContain('\\"batchSize\\":{\\"N\\":\\"250\\"}');
    expect(create).toContain('if_not_exists(#retries');
    expect(JSON.stringify(stored?.Properties.Delete)).toContain('deleteItem');
    expect(consumer.subscription.name).toBe('billing');
  });

  it('keeps the settings it is given, in the shape the dispatcher stores', () => {
    const consumer = attach('Tuned', {
      name: 'billing-orders',
      group: 'billing',
      batchSize: 10_000,
      maximumBatchingWindowInSeconds: 300,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: 1_700_000_000,
      maximumRetryAttempts: 10_000,
      maximumRecordAgeInSeconds: 604_800,
      bisectBatchOnFunctionError: true,
      reportBatchItemFailures: true,
      onFailure: { topic: 'orders.dlq' },
      enabled: false,
    });
    expect(consumer.subscription).toMatchObject({
      name: 'billing-orders',
      group: 'billing',
      batchSize: 10_000,
      startingPositionTimestamp: 1_700_000_000,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destination: 'kafka://orders.dlq' } },
      enabled: false,
    });
  });

  it.each([
    [{ batchSize: 0 }, /batchSize must be an integer from 1 to 10000/],
    [{ batchSize: 10_001 }, /batchSize/],
    [{ batchSize: 1.5 }, /batchSize/],
    [{ maximumBatchingWindowInSeconds: 301 }, /maximumBatchingWindowInSeconds/],
    [{ maximumRetryAttempts: -2 }, /maximumRetryAttempts/],
    [{ maximumRetryAttempts: 10_001 }, /maximumRetryAttempts/],
    [{ maximumRecordAgeInSeconds: 59 }, /maximumRecordAgeInSeconds .*from 60 to 604800 or -1/],
    [{ maximumRecordAgeInSeconds: 604_801 }, /maximumRecordAgeInSeconds/],
    [{ startingPosition: 'AT_TIMESTAMP' as const }, /startingPositionTimestamp is required/],
    [{ startingPositionTimestamp: 1 }, /only allowed with startingPosition AT_TIMESTAMP/],
    [{ startingPosition: 'EARLIEST' as never }, /startingPosition must be one of/],
    [{ topic: 'no spaces' }, /no spaces/],
    [{ group: 'a/b' }, /group "a\/b"/],
    [{ onFailure: { topic: 'orders' } }, /must differ from the subscribed topic/],
  ])('rejects %j at synth time', (settings, message) => {
    expect(() => attach(`Bad${Math.random()}`, settings)).toThrow(message);
  });

  describe('SQS and SNS on-failure destinations', () => {
    interface Statement {
      Effect: string;
      Action: string | string[];
      Resource: unknown;
    }
    let own: Stack;
    let template: Template;
    let queue: Queue;
    let snsTopic: Topic;
    let key: Key;
    let toQueue: EventLogConsumer;
    let toTopic: EventLogConsumer;

    beforeAll(() => {
      own = new Stack(new App({ context: testContext() }), 'Destinations');
      const log = new EventLog(own, 'EventLog');
      const fn = new LambdaFunction(own, 'Handler', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => ({})'),
      });
      key = new Key(own, 'Key', { enableKeyRotation: true });
      queue = new Queue(own, 'Failures', {
        encryption: QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
      });
      snsTopic = new Topic(own, 'FailureTopic', { masterKey: key, enforceSSL: true });
      const props = { eventLog: log, topic: 'orders', function: fn } as const;
      toQueue = new EventLogConsumer(own, 'ToQueue', {
        ...props,
        startingPosition: 'LATEST',
        onFailure: { queue },
      });
      toTopic = new EventLogConsumer(own, 'ToTopic', {
        ...props,
        startingPosition: 'LATEST',
        onFailure: { snsTopic },
      });
      template = Template.fromStack(own);
    });

    /** The dispatcher role's statements about SQS, SNS and KMS. */
    const destinationStatements = (): Statement[] =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes('DispatcherRole'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => /"(sqs|sns|kms):/.test(JSON.stringify(s.Action)));

    it('grants the dispatcher sqs:SendMessage on that queue and sns:Publish on that topic, nothing more', () => {
      const id = (construct: { node: { defaultChild?: unknown } }) =>
        own.getLogicalId(construct.node.defaultChild as never);
      const statements = destinationStatements();
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [id(queue), 'Arn'] },
      });
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Resource: { Ref: id(snsTopic) },
      });
      // The customer key: what sending to an encrypted queue or topic needs, no wildcard.
      const kms = statements.filter((s) => JSON.stringify(s.Action).includes('kms:'));
      expect(kms.length).toBeGreaterThan(0);
      for (const statement of kms) {
        expect(statement.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
        expect(statement.Resource).toEqual({ 'Fn::GetAtt': [id(key), 'Arn'] });
      }
      expect(statements.flatMap((s) => s.Action)).not.toContain('sqs:GetQueueUrl');
      expect(JSON.stringify(statements)).not.toContain('*');
      expect(toQueue.destinationGrant?.success).toBe(true);
      expect(toTopic.destinationGrant?.success).toBe(true);
    });

    it('writes the queue or topic ARN into the stored subscription', () => {
      const stored = (name: string) =>
        JSON.stringify(
          (
            Object.values(template.findResources('Custom::AWS')) as {
              Properties: { Create: unknown };
            }[]
          ).find((r) => JSON.stringify(r.Properties.Create).includes(name))?.Properties.Create,
        );
      const queueId = own.getLogicalId(queue.node.defaultChild as never);
      const topicId = own.getLogicalId(snsTopic.node.defaultChild as never);
      expect(stored(toQueue.subscription.name)).toContain(queueId);
      expect(stored(toQueue.subscription.name)).toContain('destinationConfig');
      expect(stored(toTopic.subscription.name)).toContain(topicId);
      expect(toQueue.subscription.destinationConfig?.onFailure.destination).toBe(queue.queueArn);
      expect(toTopic.subscription.destinationConfig?.onFailure.destination).toBe(snsTopic.topicArn);
    });

    it('leaves cdk-nag nothing to report on the event log and the consumers', () => {
      const ours = runNag(own).violations.filter((v) =>
        v.paths.some((path) => /^Destinations\/(EventLog|ToQueue|ToTopic)\//.test(path)),
      );
      expect(ours).toEqual([]);
    });

    it('validates an imported queue ARN at synth time and grants nothing for a topic of the log', () => {
      const imported = Queue.fromQueueArn(
        own,
        'Imported',
        'arn:aws:sqs:eu-west-1:123456789012:billing-failures',
      );
      const consumer = new EventLogConsumer(own, 'ToImported', {
        eventLog: new EventLog(own, 'OtherLog'),
        topic: 'orders',
        function: handler,
        startingPosition: 'LATEST',
        onFailure: { queue: imported },
      });
      expect(consumer.subscription.destinationConfig?.onFailure.destination).toBe(
        'arn:aws:sqs:eu-west-1:123456789012:billing-failures',
      );
      expect(attach('ToDlqTopic', { onFailure: { topic: 'orders.dlq' } }).destinationGrant).toBe(
        undefined,
      );
      expect(() => attach('Both', { onFailure: { topic: 'orders.dlq', queue } as never })).toThrow(
        /exactly one of topic/,
      );
    });
  });

  it('names every problem at once', () => {
    expect(() => attach('Several', { batchSize: 0, maximumBatchingWindowInSeconds: -1 })).toThrow(
      /batchSize.*; maximumBatchingWindowInSeconds/,
    );
  });
});
