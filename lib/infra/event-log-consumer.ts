import { marshall } from '@aws-sdk/util-dynamodb';
import { Names, Stack, Token } from 'aws-cdk-lib';
import type { Alarm, Metric, MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  type AwsSdkCall,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  normalizeSubscription,
  type StartingPosition,
  type SubscriptionConfig,
} from '../log/subscription-config.js';
import { acknowledge, type EventLog } from './event-log.js';
import { createConsumerAlarms, type EventLogConsumerAlarmProps, logMetric } from './metrics.js';

/** An on-failure destination of EventLogConsumer: exactly one of the three. */
export type EventLogConsumerOnFailure =
  | { readonly topic: string }
  | { readonly queue: IQueue }
  | { readonly snsTopic: ITopic };

/**
 * A Lambda consumer's settings, named as on CDK's own Kafka and Kinesis event sources
 * (`reportBatchItemFailures`, `onFailure`); limits and defaults are Lambda's, from
 * lib/log/subscription-config.ts, which the API and the dispatcher apply too.
 */
export interface EventLogConsumerProps {
  readonly eventLog: EventLog;
  readonly topic: string;
  /** The handler; it receives Lambda's self-managed Kafka event shape. */
  readonly function: IFunction;
  /**
   * The subscription's name.
   * @default a name derived from this construct's path, stable across deployments
   */
  readonly name?: string;
  /** The consumer group whose committed offsets track the subscription. @default the name */
  readonly group?: string;
  /** Records per invocation, 1-10000. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking, 0-300 s. @default 0.5 */
  readonly maximumBatchingWindowInSeconds?: number;
  /** Where a group without committed offsets starts; required, as Lambda requires it. */
  readonly startingPosition: StartingPosition;
  /** Epoch seconds; with AT_TIMESTAMP only. */
  readonly startingPositionTimestamp?: number;
  /** -1 (until the records expire) or 0-10000. @default -1 */
  readonly maximumRetryAttempts?: number;
  /** -1 (no limit) or 60-604800 s. @default -1 */
  readonly maximumRecordAgeInSeconds?: number;
  /** @default false */
  readonly bisectBatchOnFunctionError?: boolean;
  /** The handler answers `{ batchItemFailures: [...] }`. @default false */
  readonly reportBatchItemFailures?: boolean;
  /**
   * Where records given up on go, with why (docs/lambda-consumers.md):
   * - `{ topic }`: a topic of this log (`kafka://`), which receives the records themselves;
   * - `{ queue }`: an SQS queue, `{ snsTopic }`: an SNS topic, which receive Lambda's invocation
   *   record (metadata: offsets, condition, last error). The dispatcher is granted
   *   sqs:SendMessage on that queue or sns:Publish on that topic (and the use of its KMS key).
   * @default they are dropped (and logged)
   */
  readonly onFailure?: EventLogConsumerOnFailure;
  /** @default true */
  readonly enabled?: boolean;
  /** Time lag and on-failure alarms (lib/infra/metrics.ts); `false` for none. @default on */
  readonly alarms?: EventLogConsumerAlarmProps | false;
}

/**
 * Attaches a Lambda function to a topic, as an event source mapping attaches one to a Kafka
 * topic or a Kinesis stream: the settings are validated here, at synth time, and the
 * dispatcher may invoke this function and no other.
 *
 * The subscription is written at deploy time by a custom resource, in the item layout of
 * lib/store/subscription-store.ts (`pk = subscriptions`, `sk = name`): an update keeps the
 * group's offsets and the dispatcher's retry state, a delete removes the subscription only.
 */
export class EventLogConsumer extends Construct {
  /** The subscription as the dispatcher will read it; the function ARN is a token until deploy. */
  readonly subscription: SubscriptionConfig;
  readonly invokeGrant: Grant;
  /** The dispatcher's right to send to the SQS queue or SNS topic of `onFailure`, if one. */
  readonly destinationGrant: Grant | undefined;
  readonly alarms: Alarm[];
  private readonly eventLog: EventLog;

  constructor(scope: Construct, id: string, props: EventLogConsumerProps) {
    super(scope, id);
    const name =
      props.name ??
      `lambda-${Names.uniqueResourceName(this, { maxLength: 200, separator: '-', allowedSpecialCharacters: '-' })}`;
    this.subscription = normalizeSubscription(
      {
        name,
        topic: props.topic,
        ...(props.group === undefined ? {} : { group: props.group }),
        functionName: props.function.functionArn,
        startingPosition: props.startingPosition,
        batchSize: props.batchSize,
        maximumBatchingWindowInSeconds: props.maximumBatchingWindowInSeconds,
        startingPositionTimestamp: props.startingPositionTimestamp,
        maximumRetryAttempts: props.maximumRetryAttempts,
        maximumRecordAgeInSeconds: props.maximumRecordAgeInSeconds,
        bisectBatchOnFunctionError: props.bisectBatchOnFunctionError,
        enabled: props.enabled,
        functionResponseTypes: props.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
        ...(props.onFailure === undefined
          ? {}
          : { destinationConfig: { onFailure: { destination: destinationOf(props.onFailure) } } }),
      },
      { isUnresolved: (value) => Token.isUnresolved(value) },
    );
    this.storeAtDeploy(props.eventLog, name);
    // The exact ARN, not `arn:*`: an alias or version passed in is its own qualified ARN.
    this.invokeGrant = Grant.addToPrincipal({
      grantee: props.eventLog.dispatcherRole,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [props.function.functionArn],
    });
    this.destinationGrant = grantDestination(props.eventLog.dispatcherRole, props.onFailure);
    this.eventLog = props.eventLog;
    const setup = props.eventLog.metricsSetup;
    this.alarms =
      props.alarms === false ? [] : createConsumerAlarms(this, setup, name, props.alarms);
  }

  /** High watermark minus committed offset, summed over partitions (Maximum per minute). */
  metricOffsetLag(options: MetricOptions = {}): Metric {
    return this.metric('OffsetLag', options);
  }

  /** Age of the oldest record not yet processed, in ms (Maximum per minute). */
  metricTimeLag(options: MetricOptions = {}): Metric {
    return this.metric('TimeLag', options);
  }

  /** Invocations that ended in a function error or timeout (Sum per minute). */
  metricErrors(options: MetricOptions = {}): Metric {
    return this.metric('FunctionErrors', options);
  }

  private metric(name: 'OffsetLag' | 'TimeLag' | 'FunctionErrors', options: MetricOptions): Metric {
    const subscription = { Subscription: this.subscription.name };
    return logMetric(this.eventLog.metricsSetup.namespace, name, subscription, options);
  }

  private storeAtDeploy(eventLog: EventLog, name: string): void {
    const table = eventLog.table('Groups');
    const key = { pk: { S: 'subscriptions' }, sk: { S: name } };
    const write: AwsSdkCall = {
      service: 'DynamoDB',
      action: 'updateItem',
      parameters: {
        TableName: table.tableName,
        Key: key,
        UpdateExpression:
          'SET #config = :config, #version = if_not_exists(#version, :zero) + :one, #createdAt = if_not_exists(#createdAt, :zero), #updatedAt = :zero, #retries = if_not_exists(#retries, :none)',
        ExpressionAttributeNames: {
          '#config': 'config',
          '#version': 'version',
          '#createdAt': 'createdAt',
          '#updatedAt': 'updatedAt',
          '#retries': 'retries',
        },
        ExpressionAttributeValues: {
          ':config': { M: marshall(this.subscription, { removeUndefinedValues: true }) },
          ':zero': { N: '0' },
          ':one': { N: '1' },
          ':none': { M: {} },
        },
      },
      physicalResourceId: PhysicalResourceId.of(`eventlog-subscription-${name}`),
    };
    new AwsCustomResource(this, 'Subscription', {
      onCreate: write,
      onUpdate: write,
      onDelete: {
        service: 'DynamoDB',
        action: 'deleteItem',
        parameters: { TableName: table.tableName, Key: key },
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({
          actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [table.tableArn],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    const provider = Stack.of(this).node.tryFindChild(
      `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`,
    );
    if (provider !== undefined) {
      acknowledge(
        provider,
        'AwsSolutions-IAM4',
        "The custom resource provider that stores subscriptions at deploy time is CDK's AwsCustomResource singleton; its role carries AWSLambdaBasicExecutionRole for its own logs only.",
      );
      acknowledge(
        provider,
        'AwsSolutions-L1',
        "The AwsCustomResource provider's runtime is chosen by aws-cdk-lib, not by this construct.",
      );
    }
  }
}

function destinationOf(onFailure: EventLogConsumerOnFailure): string {
  const given = ['topic', 'queue', 'snsTopic'].filter((key) => key in onFailure);
  if (given.length !== 1) {
    throw new Error(
      `onFailure takes exactly one of topic (a topic of this log), queue (SQS) or snsTopic (SNS), got ${given.join(', ') || 'none'}`,
    );
  }
  if ('queue' in onFailure) return onFailure.queue.queueArn;
  if ('snsTopic' in onFailure) return onFailure.snsTopic.topicArn;
  return `kafka://${onFailure.topic}`;
}

/**
 * The dispatcher's right to send to an SQS or SNS destination: SendMessage or Publish on that
 * resource alone, and with a customer key the two KMS actions sending needs (Decrypt and
 * GenerateDataKey, as Lambda documents for its own destinations). Not grantSendMessages or
 * grantPublish: they add GetQueueAttributes and GetQueueUrl, which the dispatcher does not
 * call, and kms:ReEncrypt* / kms:GenerateDataKey*, wildcards cdk-nag (IAM5) refuses.
 */
function grantDestination(
  grantee: IGrantable,
  onFailure: EventLogConsumerOnFailure | undefined,
): Grant | undefined {
  if (onFailure === undefined) return undefined;
  if ('queue' in onFailure) {
    onFailure.queue.encryptionMasterKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sqs:SendMessage'],
      resourceArns: [onFailure.queue.queueArn],
      resource: onFailure.queue,
    });
  }
  if ('snsTopic' in onFailure) {
    onFailure.snsTopic.masterKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [onFailure.snsTopic.topicArn],
      resource: onFailure.snsTopic,
    });
  }
  return undefined;
}
