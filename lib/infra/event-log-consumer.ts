import { Names, Token } from 'aws-cdk-lib';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  normalizeSubscription,
  type StartingPosition,
  type SubscriptionConfig,
} from '../log/subscription-config.js';
import type { EventLog } from './event-log.js';

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
 * Not yet done (issue "Lambda-triggered consumers"): the dispatcher function in the stack and
 * the custom resource that stores `subscription` (through the subscription store, or the API)
 * at deploy time.
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
    // The exact ARN, not `arn:*`: an alias or version passed in is its own qualified ARN.
    this.invokeGrant = Grant.addToPrincipal({
      grantee: props.eventLog.dispatcherRole,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [props.function.functionArn],
    });
  }
}
