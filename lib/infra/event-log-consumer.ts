import { marshall } from '@aws-sdk/util-dynamodb';
import { type Duration, Names, Stack, Token } from 'aws-cdk-lib';
import type { Alarm, Metric, MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction, StartingPosition as LambdaStartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  type AwsSdkCall,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { omitUndefined } from '../log/omit-undefined.js';
import {
  normalizeSubscription,
  type StartingPosition,
  type SubscriptionConfig,
} from '../log/subscription-config.js';
import { acknowledge, type EventLog } from './event-log.js';
import type { EventLogTopic } from './event-log-topic.js';
import { createConsumerAlarms, type EventLogConsumerAlarmProps, logMetric } from './metrics.js';

/**
 * An on-failure destination of EventLogConsumer, as `onFailure` of CDK's event sources takes
 * one (`new SqsDlq(queue)`): `new SqsOnFailure(queue)`, `new SnsOnFailure(topic)` or
 * `new TopicOnFailure(topic)` (a topic of this log).
 */
export interface IEventLogFailureDestination {
  /** The subscription's destination, with the dispatcher's right to send there granted. */
  bind(consumer: Construct, dispatcher: IGrantable): { destination: string; grant?: Grant };
}

/**
 * Lambda's invocation record (metadata: offsets, condition, last error) to an SQS queue. The
 * dispatcher gets sqs:SendMessage on that queue (and the use of its KMS key).
 */
export class SqsOnFailure implements IEventLogFailureDestination {
  constructor(readonly queue: IQueue) {}

  bind(_consumer: Construct, dispatcher: IGrantable): { destination: string; grant: Grant } {
    return {
      destination: this.queue.queueArn,
      grant: grantDestination(dispatcher, { queue: this.queue }) as Grant,
    };
  }
}

/** Lambda's invocation record to an SNS topic; the dispatcher gets sns:Publish on it. */
export class SnsOnFailure implements IEventLogFailureDestination {
  constructor(readonly topic: ITopic) {}

  bind(_consumer: Construct, dispatcher: IGrantable): { destination: string; grant: Grant } {
    return {
      destination: this.topic.topicArn,
      grant: grantDestination(dispatcher, { snsTopic: this.topic }) as Grant,
    };
  }
}

/**
 * Lambda's invocation record with the whole batch (`payload`) as one object in an S3 bucket,
 * as CDK's `S3OnFailureDestination` for Kafka sources (docs/lambda-consumers.md). The
 * dispatcher gets s3:PutObject under `aws/lambda/` (and the use of the bucket's KMS key).
 */
export class S3OnFailure implements IEventLogFailureDestination {
  constructor(readonly bucket: IBucket) {}

  bind(_consumer: Construct, dispatcher: IGrantable): { destination: string; grant: Grant } {
    this.bucket.encryptionKey?.grant(dispatcher, 'kms:GenerateDataKey', 'kms:Encrypt');
    return {
      destination: this.bucket.bucketArn,
      grant: this.bucket.grantPut(dispatcher, 'aws/lambda/*'),
    };
  }
}

/**
 * The records themselves to a topic of this log (`kafka://{topic}`); with an EventLogTopic
 * the consumer deploys after it.
 */
export class TopicOnFailure implements IEventLogFailureDestination {
  constructor(readonly topic: EventLogTopic | string) {}

  bind(consumer: Construct): { destination: string } {
    if (typeof this.topic === 'string') return { destination: `kafka://${this.topic}` };
    consumer.node.addDependency(this.topic);
    return { destination: `kafka://${this.topic.topicName}` };
  }
}

/**
 * The object form of 0.x, kept working: exactly one of the three.
 * @deprecated use `new TopicOnFailure(topic)`, `new SqsOnFailure(queue)` or `new SnsOnFailure(topic)`
 */
export type EventLogConsumerOnFailure =
  | { readonly topic: string }
  | { readonly queue: IQueue }
  | { readonly snsTopic: ITopic };

/** Where a group without committed offsets starts: CDK's `lambda.StartingPosition` or its value. */
export type EventLogStartingPosition = LambdaStartingPosition | StartingPosition;

/**
 * A Lambda consumer's settings, named as on CDK's own Kafka and Kinesis event sources
 * (aws-lambda-event-sources): `Duration` for times, `StartingPosition`, `retryAttempts`,
 * `bisectBatchOnError`, `reportBatchItemFailures`, `onFailure` a destination object. Limits and
 * defaults are Lambda's, from lib/log/subscription-config.ts, which the API and the dispatcher
 * apply too. The names of 0.x (`maximumBatchingWindowInSeconds` and the like) still work,
 * deprecated; giving both names of one setting is an error.
 */
export interface EventLogConsumerOptions {
  /**
   * The subscription's name.
   * @default a name derived from this construct's path, stable across deployments
   */
  readonly name?: string;
  /** The consumer group whose committed offsets track the subscription. @default the name */
  readonly group?: string;
  /** Records per invocation, 1-10000. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking, 0-300 s. @default Duration.millis(500) */
  readonly maxBatchingWindow?: Duration;
  /** Where a group without committed offsets starts; required, as Lambda requires it. */
  readonly startingPosition: EventLogStartingPosition;
  /** Epoch seconds; with AT_TIMESTAMP only. */
  readonly startingPositionTimestamp?: number;
  /** Retries of a failing batch: -1 (until the records expire) or 0-10000. @default -1 */
  readonly retryAttempts?: number;
  /** Records older than this are given up on: 60 s to 7 days. @default no limit */
  readonly maxRecordAge?: Duration;
  /** Split a failing batch in two and retry each half. @default false */
  readonly bisectBatchOnError?: boolean;
  /** The handler answers `{ batchItemFailures: [...] }`. @default false */
  readonly reportBatchItemFailures?: boolean;
  /**
   * Where records given up on go (docs/lambda-consumers.md).
   * @default they are dropped (and logged)
   */
  readonly onFailure?: IEventLogFailureDestination | EventLogConsumerOnFailure;
  /** @default true */
  readonly enabled?: boolean;
  /**
   * Lambda's event filtering: records whose `value` matches none of the patterns are committed
   * without an invocation. CDK's form: `[lambda.FilterCriteria.filter({ value: {...} })]`, or
   * `{ pattern: '<JSON>' }` objects. At most 5 (docs/lambda-consumers.md). @default every record
   */
  readonly filters?: readonly { readonly [key: string]: unknown }[];
  /** Time lag and on-failure alarms (lib/infra/metrics.ts); `false` for none. @default on */
  readonly alarms?: EventLogConsumerAlarmProps | false;
  /** @deprecated use maxBatchingWindow */
  readonly maximumBatchingWindowInSeconds?: number;
  /** @deprecated use retryAttempts */
  readonly maximumRetryAttempts?: number;
  /** @deprecated use maxRecordAge */
  readonly maximumRecordAgeInSeconds?: number;
  /** @deprecated use bisectBatchOnError */
  readonly bisectBatchOnFunctionError?: boolean;
}

export interface EventLogConsumerProps extends EventLogConsumerOptions {
  readonly eventLog: EventLog;
  /** A topic name, or an EventLogTopic: the consumer then deploys after the topic. */
  readonly topic: string | EventLogTopic;
  /** The handler; it receives Lambda's self-managed Kafka event shape. */
  readonly function: IFunction;
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
    const topic = typeof props.topic === 'string' ? props.topic : props.topic.topicName;
    if (typeof props.topic !== 'string') this.node.addDependency(props.topic);
    const destination = bindDestination(this, props.eventLog.dispatcherRole, props.onFailure);
    this.subscription = normalizeSubscription(
      omitUndefined({
        name,
        topic,
        ...(props.group === undefined ? {} : { group: props.group }),
        functionName: props.function.functionArn,
        startingPosition: props.startingPosition as StartingPosition,
        batchSize: props.batchSize,
        maximumBatchingWindowInSeconds: either(
          'maxBatchingWindow',
          seconds(props.maxBatchingWindow),
          'maximumBatchingWindowInSeconds',
          props.maximumBatchingWindowInSeconds,
        ),
        startingPositionTimestamp: props.startingPositionTimestamp,
        maximumRetryAttempts: either(
          'retryAttempts',
          props.retryAttempts,
          'maximumRetryAttempts',
          props.maximumRetryAttempts,
        ),
        maximumRecordAgeInSeconds: either(
          'maxRecordAge',
          seconds(props.maxRecordAge),
          'maximumRecordAgeInSeconds',
          props.maximumRecordAgeInSeconds,
        ),
        bisectBatchOnFunctionError: either(
          'bisectBatchOnError',
          props.bisectBatchOnError,
          'bisectBatchOnFunctionError',
          props.bisectBatchOnFunctionError,
        ),
        enabled: props.enabled,
        functionResponseTypes: props.reportBatchItemFailures
          ? (['ReportBatchItemFailures'] as const)
          : [],
        ...(props.filters === undefined
          ? {}
          : { filterCriteria: { filters: props.filters.map(filterOf) } }),
        ...(destination === undefined
          ? {}
          : { destinationConfig: { onFailure: { destination: destination.destination } } }),
      }),
      { isUnresolved: (value) => Token.isUnresolved(value) },
    );
    this.storeAtDeploy(props.eventLog, name);
    // The exact ARN, not `arn:*`: an alias or version passed in is its own qualified ARN.
    this.invokeGrant = Grant.addToPrincipal({
      grantee: props.eventLog.dispatcherRole,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [props.function.functionArn],
    });
    this.destinationGrant = destination?.grant;
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

function bindDestination(
  consumer: Construct,
  dispatcher: IGrantable,
  onFailure: IEventLogFailureDestination | EventLogConsumerOnFailure | undefined,
): { destination: string; grant?: Grant } | undefined {
  if (onFailure === undefined) return undefined;
  if ('bind' in onFailure) return onFailure.bind(consumer, dispatcher);
  const given = ['topic', 'queue', 'snsTopic'].filter((key) => key in onFailure);
  if (given.length !== 1) {
    throw new Error(
      `onFailure takes exactly one of topic (a topic of this log), queue (SQS) or snsTopic (SNS), got ${given.join(', ') || 'none'}`,
    );
  }
  if ('queue' in onFailure) return new SqsOnFailure(onFailure.queue).bind(consumer, dispatcher);
  if ('snsTopic' in onFailure)
    return new SnsOnFailure(onFailure.snsTopic).bind(consumer, dispatcher);
  return new TopicOnFailure(onFailure.topic).bind(consumer);
}

/** A Duration in seconds, fractions kept (the batching window's default is 0.5 s). */
function seconds(duration: Duration | undefined): number | undefined {
  return duration === undefined ? undefined : duration.toMilliseconds() / 1000;
}

/** The value of a setting given under its CDK name or its deprecated 0.x name, not both. */
function either<T>(name: string, value: T | undefined, oldName: string, old: T | undefined) {
  if (value !== undefined && old !== undefined) {
    throw new Error(`EventLogConsumer: give ${name} or the deprecated ${oldName}, not both`);
  }
  return value ?? old;
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
  onFailure: { queue: IQueue } | { snsTopic: ITopic },
): Grant | undefined {
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

/** CDK's FilterCriteria.filter() gives `{ pattern: '<JSON>' }`; a bare pattern object is serialized. */
function filterOf(filter: { readonly [key: string]: unknown }): { pattern: string } {
  const keys = Object.keys(filter);
  if (keys.length === 1 && typeof filter['pattern'] === 'string') {
    return { pattern: filter['pattern'] };
  }
  return { pattern: JSON.stringify(filter) };
}
