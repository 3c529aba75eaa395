import {
  type CfnElement,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  Token,
} from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { validatePartitionCount, validateTopicName } from '../log/topic-config.js';
import {
  checkTopicConfigs,
  TOPIC_RESOURCE_PROPERTIES,
  type TopicRemovalPolicy,
} from '../log/topic-resource-properties.js';
import { resourceNamesToEnv } from '../store/resources.js';
import { acknowledge, type EventLog } from './event-log.js';
import { FUNCTION_HANDLER, functionCode } from './function-code.js';

export interface EventLogTopicProps {
  readonly eventLog: EventLog;
  /** The topic's name: 1-249 characters of [a-zA-Z0-9._-]. A new name replaces the topic. */
  readonly name: string;
  /** 1-1000; may grow in a later deployment, never shrink (Kafka's rule). @default 1 */
  readonly partitions?: number;
  /**
   * Kafka-named configs: retention.ms, retention.bytes, max.message.bytes,
   * message.timestamp.type, compression.type, and commit.sequences (fixed at creation).
   * Checked at synth where they are not tokens. A config removed later returns to its default.
   */
  readonly configs?: Record<string, string | number>;
  /**
   * What a deployment that removes the resource does to the topic: RETAIN keeps it and its
   * records, DESTROY deletes it (its records are then removed in the background).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The custom resource's function: bundled from source in the repo, prebuilt in the package. */
export const TOPIC_RESOURCE_FUNCTION = {
  name: 'topic-resource',
  entry: 'functions/topic-resource.ts',
} as const;
/**
 * A topic of an EventLog, created, updated (configs, partition count increased) and deleted
 * at deploy time by a custom resource (lib/broker/topic-resource.ts says what each event
 * does). Its physical id is the topic's name.
 */
export class EventLogTopic extends Construct {
  readonly eventLog: EventLog;
  /** The name, as given: a plain string (or the token given). */
  readonly topicName: string;
  /** The topic's immutable id, a token resolved at deploy. */
  readonly topicId: string;
  readonly partitions: number;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: EventLogTopicProps) {
    super(scope, id);
    const partitions = props.partitions ?? 1;
    const configs = Object.fromEntries(
      Object.entries(props.configs ?? {}).map(([k, v]) => [k, String(v)]),
    );
    if (!Token.isUnresolved(props.name)) validateTopicName(props.name);
    if (!Token.isUnresolved(partitions)) {
      validatePartitionCount(partitions);
      if (!Object.values(configs).some((v) => Token.isUnresolved(v))) {
        checkTopicConfigs(configs, partitions);
      }
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (removalPolicy !== RemovalPolicy.RETAIN && removalPolicy !== RemovalPolicy.DESTROY) {
      throw new Error('EventLogTopic: removalPolicy is RETAIN or DESTROY');
    }
    const policy: TopicRemovalPolicy =
      removalPolicy === RemovalPolicy.DESTROY ? 'destroy' : 'retain';
    this.eventLog = props.eventLog;
    this.topicName = props.name;
    this.partitions = partitions;
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: topicProvider(props.eventLog).serviceToken,
      resourceType: 'Custom::EventLogTopic',
      properties: {
        [TOPIC_RESOURCE_PROPERTIES.name]: props.name,
        [TOPIC_RESOURCE_PROPERTIES.partitions]: partitions,
        [TOPIC_RESOURCE_PROPERTIES.configs]: configs,
        [TOPIC_RESOURCE_PROPERTIES.removalPolicy]: policy,
      },
      // The handler decides what a delete does (the topic's policy); the resource itself
      // always goes, or a replaced topic's Delete would never reach the handler.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.topicId = this.resource.getAttString('TopicId');
  }
}

const PROVIDER_ID = 'TopicResourceProvider';

/**
 * One provider per EventLog for all its topics: a function that may read and write the
 * topics table and nothing else (creating, altering and deleting a topic touch no other
 * table and no object), behind aws-cdk-lib's provider framework, which answers CloudFormation.
 */
function topicProvider(eventLog: EventLog): Provider {
  const existing = eventLog.node.tryFindChild(PROVIDER_ID);
  if (existing !== undefined) return existing as Provider;
  const scope = new Construct(eventLog, `${PROVIDER_ID}Function`);
  const topics = eventLog.table('Topics');
  const role = new Role(scope, 'Role', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: 'Execution role of the event log topic resource handler',
  });
  const logGroup = new LogGroup(scope, 'Logs', {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  logGroup.grantWrite(role);
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ],
      resources: [topics.tableArn],
    }),
  );
  topics.encryptionKey?.grant(
    role,
    'kms:Decrypt',
    'kms:Encrypt',
    'kms:GenerateDataKey',
    'kms:DescribeKey',
  );
  const fn = new NodejsFunction(scope, 'Function', {
    code: functionCode(TOPIC_RESOURCE_FUNCTION.name, TOPIC_RESOURCE_FUNCTION.entry),
    handler: FUNCTION_HANDLER,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    description: 'Creates, alters and deletes EventLogTopic topics at deploy time',
    memorySize: 256,
    timeout: Duration.minutes(1),
    role,
    logGroup,
    environment: {
      ...resourceNamesToEnv({
        bucket: eventLog.bucket.bucketName,
        topicsTable: topics.tableName,
        logTable: eventLog.table('Log').tableName,
        groupsTable: eventLog.table('Groups').tableName,
      }),
      NODE_OPTIONS: '--enable-source-maps',
    },
  });
  acknowledge(
    fn,
    'AwsSolutions-L1',
    'nodejs22.x is the runtime this code is built (esbuild target node22) and tested for.',
  );
  const provider = new Provider(eventLog, PROVIDER_ID, {
    onEventHandler: fn,
    logGroup: new LogGroup(scope, 'ProviderLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
  acknowledge(
    provider,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "The provider framework function is aws-cdk-lib's; its role carries AWSLambdaBasicExecutionRole for its own logs.",
  );
  acknowledge(
    provider,
    `AwsSolutions-IAM5[Resource::<${Stack.of(eventLog).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
    "The provider framework may invoke the topic handler's versions and aliases (`<arn>:*`), as aws-cdk-lib grants it.",
  );
  acknowledge(
    provider,
    'AwsSolutions-L1',
    "The provider framework's runtime is chosen by aws-cdk-lib, not by this construct.",
  );
  return provider;
}
