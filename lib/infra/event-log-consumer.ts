import { marshall } from '@aws-sdk/util-dynamodb';
import { Names, Stack, Token } from 'aws-cdk-lib';
import { Grant, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
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
  /** A topic of this log that receives the records given up on. @default they are dropped */
  readonly onFailure?: { topic: string };
  /** @default true */
  readonly enabled?: boolean;
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
          : {
              destinationConfig: { onFailure: { destination: `kafka://${props.onFailure.topic}` } },
            }),
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
