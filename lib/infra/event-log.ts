import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  ArnFormat,
  Aws,
  Duration,
  Fn,
  Names,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import {
  Effect,
  Grant,
  type IGrantable,
  type IRole,
  type IUser,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Alias,
  Architecture,
  type FunctionUrl,
  FunctionUrlAuthType,
  type IVersion,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { AUTH_ENV } from '../api/auth-config.js';
import type { Operation, PatternType, ResourceType } from '../log/acl.js';
import {
  BOOTSTRAP_SERVERS_ENV_VAR,
  DISPATCH_FUNCTION_ENV_VAR,
  resourceNamesToEnv,
  SEGMENT_PREFIX,
  TABLES,
  type TableDefinition,
} from '../store/resources.js';
import { FUNCTION_HANDLER, functionCode } from './function-code.js';
import {
  type EventLogMetricsProps,
  type EventLogMetricsSetup,
  logMetric,
  setUpEventLogMetrics,
} from './metrics.js';

/** The repository root: function entries and the lock file are found relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Lambda functions of the event log, by the name used in ids, outputs and options. */
export type EventLogFunctionName = 'api' | 'retention' | 'dispatch';

interface FunctionDefinition {
  /** Relative to the project root; the module must export `handler`. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  /** S3 object actions, granted on the segment prefix only. */
  segmentActions: readonly string[];
  /** Whether the function lists the segment prefix (s3:ListBucket with an s3:prefix condition). */
  listsSegments: boolean;
  /** DynamoDB item actions, granted on the event log's tables and nothing else. */
  tableActions: readonly string[];
}

/**
 * Item-level actions on our tables. There is no IAM action for TransactWriteItems: DynamoDB
 * authorizes each item of a transaction with its Put/Update/Delete/ConditionCheck action.
 */
const TABLE_READ_WRITE = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
  'dynamodb:Scan',
] as const;

/**
 * Every function of the stack, one entry each: the construct builds the function, its role,
 * log group, alarms and environment from the entry. The dispatcher of Lambda consumers
 * (functions/dispatch.ts) becomes one more entry here plus one in `scheduleFor`.
 */
export const FUNCTIONS: Record<EventLogFunctionName, FunctionDefinition> = {
  api: {
    entry: 'functions/api.ts',
    description: 'Event log HTTP API: topics, produce, fetch, offsets, groups',
    // arm64 at 1 GB: the codec and CRC-32C are CPU-bound, and cold starts shrink with CPU.
    memorySize: 1024,
    // API Gateway gives up at 30 s; ProduceService refuses to publish after maxProduceMs
    // (30 s), so a slower invocation can never land a batch inside a healed range.
    timeout: Duration.seconds(30),
    // No DeleteObject: the API never removes data; retention and topic cleanup do.
    segmentActions: ['s3:PutObject', 's3:GetObject'],
    listsSegments: false,
    tableActions: TABLE_READ_WRITE,
  },
  retention: {
    entry: 'functions/retention.ts',
    description: 'Event log maintenance: retention, hole healing, deleted-topic cleanup',
    memorySize: 512,
    // Runs may overlap the next schedule: retention works on each topic under a lease.
    timeout: Duration.minutes(5),
    segmentActions: ['s3:GetObject', 's3:DeleteObject'],
    listsSegments: true,
    // Expired index entries and deleted topics' items go in BatchWriteItem deletes of 25.
    tableActions: [...TABLE_READ_WRITE, 'dynamodb:BatchWriteItem'],
  },
  dispatch: {
    entry: 'functions/dispatch.ts',
    description: 'Event log dispatcher: invokes Lambda consumers with their topics’ records',
    memorySize: 512,
    // A run starts no batch after a minute, but a consumer may take up to its own timeout
    // (at most 15 minutes) on the last one: consumers' timeouts must stay below this.
    timeout: Duration.minutes(15),
    // PutObject: records given up on are written to the subscription's dead-letter topic.
    segmentActions: ['s3:GetObject', 's3:PutObject'],
    listsSegments: false,
    tableActions: TABLE_READ_WRITE,
  },
};

export type EventLogAuthorization = 'iam' | 'none';

/**
 * What carries requests to the api function. `functionUrl`: Lambda function URLs, free (no
 * charge beyond Lambda's); `httpApi`: API Gateway's HTTP API, $1.00 per million requests,
 * for its stage throttling, custom domains and access logs. See docs/cost-model.md.
 */
export type FrontDoor = 'functionUrl' | 'httpApi';

/**
 * Callers that send `Authorization: Bearer` instead of signing with SigV4: API keys created by
 * an admin (`eventlog keys create`) always, and JWT when an issuer is given.
 */
export interface BearerAuthProps {
  /** Accept JWT from this OIDC issuer. @default no JWT */
  readonly jwt?: {
    readonly issuer: string;
    readonly audience: string;
    /** The claim naming the principal (`jwt:<value>` in ACLs). @default 'sub' */
    readonly principalClaim?: string;
    /** @default the jwks_uri of the issuer's OIDC discovery document */
    readonly jwksUrl?: string;
  };
}

export interface EventLogProps {
  /**
   * What happens to the bucket and tables when the stack is deleted. `DESTROY` also empties
   * the bucket (autoDeleteObjects) so that development stacks delete cleanly.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy.RETAIN | RemovalPolicy.DESTROY;
  /**
   * A customer-managed KMS key for the bucket (with an S3 Bucket Key, so that not every
   * object costs a KMS call) and the tables.
   * @default S3-managed encryption for the bucket, the AWS-managed key for the tables
   */
  readonly encryptionKey?: IKey;
  /**
   * Where S3 server access logs of the segment bucket go. Every produce and fetch is an S3
   * request, so these logs are as large as the traffic: opt in when you need them.
   * @default no server access logs
   */
  readonly serverAccessLogs?: { bucket: IBucket; prefix?: string };
  /**
   * `iam`: the API authenticates every caller (SigV4 through the IAM front door, and bearer
   * credentials through the bearer door when `bearer` is set) and authorizes each request by
   * its ACLs (grantProduce / grantConsume / grantAdmin write them). `none` turns both off and
   * leaves the API open to anyone who knows the URL: development only.
   * @default 'iam'
   */
  readonly authorization?: EventLogAuthorization;
  /**
   * The front door of SigV4 callers: a function URL with AWS_IAM auth (on alias `iam`), or
   * API Gateway's HTTP API with IAM authorization.
   * @default 'functionUrl' (API Gateway would add $1.00 per million requests)
   */
  readonly frontDoor?: FrontDoor;
  /**
   * A second door for bearer callers: a function URL with auth NONE on alias `bearer` (an
   * IAM front door refuses `Authorization: Bearer`, which is its own SigV4 header). The API
   * still refuses every request without a valid key or JWT.
   * @default no bearer door: SigV4 callers only
   */
  readonly bearer?: BearerAuthProps;
  /**
   * Per-principal request rate, per execution environment (429 with Retry-After beyond it).
   * @default no limit
   */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst?: number };
  /** With frontDoor httpApi. @default no stage throttling beyond the account's limits */
  readonly throttle?: ThrottleSettings;
  /** @default every 5 minutes */
  readonly retentionSchedule?: Duration;
  /**
   * The dispatcher's safety-net run (every produce also notifies it).
   * @default every minute
   */
  readonly dispatchSchedule?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Per-function overrides; the defaults are sized for arm64 with the SDK bundled.
   * @default the memory sizes in FUNCTIONS
   */
  readonly functions?: Partial<
    Record<EventLogFunctionName, { memorySize?: number; reservedConcurrentExecutions?: number }>
  >;
  /**
   * Active X-Ray tracing for the functions. Off by default: at one trace per request it
   * would cost more than API Gateway itself.
   * @default false
   */
  readonly tracing?: boolean;
  /** Actions for every alarm (an SNS topic, typically). @default no actions */
  readonly alarmActions?: IAlarmAction[];
  /** Metrics namespace, per-partition lag, the dashboard (docs/metrics.md). */
  readonly metrics?: EventLogMetricsProps;
}

/**
 * The event log: a segment bucket, the DynamoDB tables from lib/store/resources.ts, the
 * functions, the HTTP API in front of the `api` function, schedules and alarms.
 */
export class EventLog extends Construct {
  readonly bucket: Bucket;
  /** The tables by their definition id (Topics, Log, Groups). */
  readonly tables: Record<TableDefinition['id'], Table>;
  readonly functions: Record<EventLogFunctionName, NodejsFunction>;
  readonly frontDoor: FrontDoor;
  /** With frontDoor httpApi. */
  readonly httpApi: HttpApi | undefined;
  /** With frontDoor functionUrl: the IAM door's function URL. */
  readonly functionUrl: FunctionUrl | undefined;
  /** The URL of SigV4 callers (the API's URL with authorization none), ending in a slash. */
  readonly apiUrl: string;
  /** The URL of bearer callers (API keys, JWT), when `bearer` is set; ends in a slash. */
  readonly bearerUrl: string | undefined;
  readonly alarms: Alarm[] = [];
  readonly authorization: EventLogAuthorization;
  /** Namespace, dashboard and alarm actions of the log's metrics (lib/infra/metrics.ts). */
  readonly metricsSetup: EventLogMetricsSetup;

  private dispatcherRoleCache: Role | undefined;
  private iamAlias: Alias | undefined;
  /** The dispatcher's fixed name with a function URL front door (see connectDispatcher). */
  private readonly dispatchFunctionName: string | undefined;
  private aclCount = 0;

  constructor(scope: Construct, id: string, props: EventLogProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retain = removalPolicy === RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.authorization = props.authorization ?? 'iam';
    this.frontDoor = props.frontDoor ?? 'functionUrl';
    this.dispatchFunctionName =
      this.frontDoor === 'functionUrl'
        ? Names.uniqueResourceName(this, { maxLength: 55, separator: '-' }) + '-dispatch'
        : undefined;

    this.bucket = this.createBucket(props, removalPolicy);
    this.tables = Object.fromEntries(
      TABLES.map((definition) => [
        definition.id,
        this.createTable(definition, props, removalPolicy),
      ]),
    ) as Record<TableDefinition['id'], Table>;

    const environment = {
      ...resourceNamesToEnv({
        bucket: this.bucket.bucketName,
        topicsTable: this.table('Topics').tableName,
        logTable: this.table('Log').tableName,
        groupsTable: this.table('Groups').tableName,
      }),
      // Stack traces point into the TypeScript sources instead of the minified bundle.
      NODE_OPTIONS: '--enable-source-maps',
    };
    const apiEnvironment = { ...environment, ...authEnvironment(this.authorization, props) };

    const names = Object.keys(FUNCTIONS) as EventLogFunctionName[];
    this.functions = Object.fromEntries(
      names.map((name) => [
        name,
        this.createFunction(
          name,
          FUNCTIONS[name],
          name === 'api' ? apiEnvironment : environment,
          props,
          logRetention,
          retain,
        ),
      ]),
    ) as Record<EventLogFunctionName, NodejsFunction>;

    if (this.frontDoor === 'httpApi') {
      const { httpApi, url } = this.createHttpApi(props, logRetention, retain);
      this.httpApi = httpApi;
      this.functionUrl = undefined;
      this.apiUrl = url;
    } else {
      this.httpApi = undefined;
      this.functionUrl = this.createIamFunctionUrl();
      this.apiUrl = this.functionUrl.url;
    }
    this.bearerUrl =
      props.bearer === undefined || this.authorization === 'none'
        ? undefined
        : this.createBearerFunctionUrl().url;

    this.scheduleFor('retention', props.retentionSchedule ?? Duration.minutes(5));
    this.connectDispatcher(props.dispatchSchedule ?? Duration.minutes(1));
    this.createAlarms(props.alarmActions ?? []);
    this.metricsSetup = setUpEventLogMetrics(
      this,
      this.functions,
      props.metrics,
      props.alarmActions,
    );
  }

  /** Records produced to `topic` (Sum per minute unless told otherwise). */
  metricProducedRecords(props: { topic: string } & MetricOptions): Metric {
    const { topic, ...options } = props;
    return logMetric(this.metricsSetup.namespace, 'ProducedRecords', { Topic: topic }, options);
  }

  /** Key, value and header bytes produced to `topic`. */
  metricProducedBytes(props: { topic: string } & MetricOptions): Metric {
    const { topic, ...options } = props;
    return logMetric(this.metricsSetup.namespace, 'ProducedBytes', { Topic: topic }, options);
  }

  /** Produce requests to `topic` that failed, wholly or for some records. */
  metricProduceErrors(props: { topic: string } & MetricOptions): Metric {
    const { topic, ...options } = props;
    return logMetric(this.metricsSetup.namespace, 'ProduceErrors', { Topic: topic }, options);
  }

  table(id: TableDefinition['id']): Table {
    const table = this.tables[id];
    if (table === undefined) throw new Error(`EventLog has no table ${id}`);
    return table;
  }

  /**
   * Produce to `topic` (a name, `*` for every topic, or a prefix ending in `*`): the right to
   * call the IAM front door, and the ACLs (produce on the topic, and on named idempotent
   * producers) written into the ACL table when the stack deploys.
   */
  grantProduce(grantee: IGrantable, topic = '*'): Grant {
    this.writeAcls(grantee, [
      ['topic', topic, 'produce'],
      ['producer', '*', 'produce'],
    ]);
    return this.grantFrontDoor(grantee);
  }

  /**
   * Consume `topic` (fetch, offsets, metadata) as a member of consumer group `group` (a name,
   * `*` or a prefix ending in `*`). `*` never reaches the groups of Lambda subscriptions.
   */
  grantConsume(grantee: IGrantable, topic = '*', group = '*'): Grant {
    this.writeAcls(grantee, [
      ['topic', topic, 'consume'],
      ['group', group, 'consume'],
    ]);
    return this.grantFrontDoor(grantee);
  }

  /** Everything: topic, group, ACL and key administration (cluster admin). */
  grantAdmin(grantee: IGrantable): Grant {
    this.writeAcls(grantee, [['cluster', 'eventlog', 'admin']]);
    return this.grantFrontDoor(grantee);
  }

  /**
   * The right to call the IAM front door at all (what a caller may do there is the ACLs'
   * business): execute-api:Invoke on the HTTP API, or lambda:InvokeFunctionUrl plus
   * lambda:InvokeFunction on the `iam` alias. InvokeFunction is conditioned on
   * lambda:InvokedViaFunctionUrl: a direct Invoke would let the caller write the request
   * context, its identity included, itself.
   */
  grantFrontDoor(grantee: IGrantable): Grant {
    if (this.httpApi !== undefined) {
      return Grant.addToPrincipal({
        grantee,
        actions: ['execute-api:Invoke'],
        resourceArns: [this.httpApi.arnForExecuteApi('*', '/*', '*')],
      });
    }
    const alias = this.iamAlias as Alias;
    const url = Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunctionUrl'],
      resourceArns: [alias.functionArn],
      conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
    });
    const invoke = Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [alias.functionArn],
      conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
    });
    return url.combine(invoke);
  }

  /**
   * One ACL item per binding in the groups table (pk `acls`), written by a custom resource
   * when the stack deploys and deleted with it (lib/store/auth-store.ts has the layout).
   */
  private writeAcls(grantee: IGrantable, bindings: [ResourceType, string, Operation][]): void {
    const principal = principalOfGrantee(grantee);
    // Every name checked before anything is written: a bad one leaves no half grant.
    const patterns = bindings.map(([type, name]) => aclPattern(type, name));
    for (const [i, [type, name, operation]] of bindings.entries()) {
      const { patternType, resourceName } = patterns[i] as ReturnType<typeof aclPattern>;
      const index = this.aclCount++;
      const id = `cdk-${createHash('sha256')
        .update(`${this.node.path}|${index}|${type}|${name}|${operation}`)
        .digest('hex')
        .slice(0, 24)}`;
      const table = this.table('Groups');
      const Item = {
        pk: { S: 'acls' },
        sk: { S: id },
        principal: { S: principal },
        resourceType: { S: type },
        patternType: { S: patternType },
        resourceName: { S: resourceName },
        operation: { S: operation },
        permission: { S: 'allow' },
        source: { S: 'cdk' },
        createdAt: { N: '0' },
      };
      const put = {
        service: 'DynamoDB',
        action: 'putItem',
        parameters: { TableName: table.tableName, Item },
        physicalResourceId: PhysicalResourceId.of(id),
      };
      const resource = new AwsCustomResource(this, `Acl${index}`, {
        onCreate: put,
        onUpdate: put,
        onDelete: {
          service: 'DynamoDB',
          action: 'deleteItem',
          parameters: { TableName: table.tableName, Key: { pk: { S: 'acls' }, sk: { S: id } } },
        },
        policy: AwsCustomResourcePolicy.fromStatements([
          new PolicyStatement({
            actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
            resources: [table.tableArn],
          }),
        ]),
        installLatestAwsSdk: false,
        logGroup: this.aclWriterLogs(),
      });
      table.encryptionKey?.grant(resource, 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey');
      this.acknowledgeAclWriter();
    }
  }

  private aclWriterLogGroup: LogGroup | undefined;

  private aclWriterLogs(): LogGroup {
    this.aclWriterLogGroup ??= new LogGroup(this, 'AclWriterLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return this.aclWriterLogGroup;
  }

  private acknowledgeAclWriter(): void {
    const provider = Stack.of(this).node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (provider === undefined || (provider as { acknowledged?: boolean }).acknowledged) return;
    (provider as { acknowledged?: boolean }).acknowledged = true;
    const role = provider.node.tryFindChild('ServiceRole');
    if (role !== undefined) {
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'The CDK AwsCustomResource provider that writes the ACLs of grantProduce/grantConsume/grantAdmin at deploy time runs only then; its basic execution role writes its own logs.',
      );
    }
    acknowledge(
      provider,
      'AwsSolutions-L1',
      'The runtime of the CDK AwsCustomResource provider is chosen by aws-cdk-lib (its latest tested Node.js); it runs only at deploy time to write ACL items.',
    );
  }

  /**
   * The execution role of the dispatcher of Lambda consumers (the `dispatch` function): every
   * consumer's invoke grant (EventLogConsumer) lands on it.
   */
  get dispatcherRole(): Role {
    this.dispatcherRoleCache ??= new Role(this, 'DispatcherRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Execution role of the event log dispatcher (Lambda consumers)',
    });
    return this.dispatcherRoleCache;
  }

  private createBucket(props: EventLogProps, removalPolicy: RemovalPolicy): Bucket {
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    const bucket = new Bucket(this, 'Segments', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      ...(props.encryptionKey === undefined
        ? { encryption: BucketEncryption.S3_MANAGED }
        : {
            encryption: BucketEncryption.KMS,
            encryptionKey: props.encryptionKey,
            bucketKeyEnabled: true,
          }),
      // Segments are written once under unique keys and deleted by retention: versions would
      // only keep deleted data (and its cost) around.
      versioned: false,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      ...(props.serverAccessLogs === undefined
        ? {}
        : {
            serverAccessLogsBucket: props.serverAccessLogs.bucket,
            serverAccessLogsPrefix: props.serverAccessLogs.prefix ?? 'eventlog-segments/',
          }),
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    if (props.serverAccessLogs === undefined) {
      acknowledge(
        bucket,
        'AwsSolutions-S1',
        'Server access logs are opt-in (serverAccessLogs): every produce and fetch is an S3 request, so the logs grow with the traffic; CloudTrail data events are the targeted alternative.',
      );
    }
    return bucket;
  }

  private createTable(
    definition: TableDefinition,
    props: EventLogProps,
    removalPolicy: RemovalPolicy,
  ): Table {
    return new Table(this, `${definition.id}Table`, {
      partitionKey: {
        name: definition.partitionKey.name,
        type: attributeType(definition.partitionKey.type),
      },
      ...(definition.sortKey === undefined
        ? {}
        : {
            sortKey: {
              name: definition.sortKey.name,
              type: attributeType(definition.sortKey.type),
            },
          }),
      ...(definition.timeToLiveAttribute === undefined
        ? {}
        : { timeToLiveAttribute: definition.timeToLiveAttribute }),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey === undefined
        ? { encryption: TableEncryption.AWS_MANAGED }
        : { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }),
      removalPolicy,
      // A retained table is production data: deleting it takes a deliberate second step.
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });
  }

  private createFunction(
    name: EventLogFunctionName,
    definition: FunctionDefinition,
    environment: Record<string, string>,
    props: EventLogProps,
    logRetention: RetentionDays,
    retain: boolean,
  ): NodejsFunction {
    const id = pascalCase(name);
    const logGroup = new LogGroup(this, `${id}Logs`, {
      retention: logRetention,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Our own role instead of the generated one: the generated role carries the managed
    // AWSLambdaBasicExecutionRole, which may write to any log group in the account. The
    // dispatcher's is the role EventLogConsumer grants each consumer's invocation to.
    const role =
      name === 'dispatch'
        ? this.dispatcherRole
        : new Role(this, `${id}Role`, {
            assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
            description: `Execution role of the event log ${name} function`,
          });
    logGroup.grantWrite(role);
    this.grantStorage(role, name, definition);

    const overrides = props.functions?.[name] ?? {};
    const fn = new NodejsFunction(this, `${id}Function`, {
      // Prebuilt in the package, or bundled by lib/infra/bundling.ts (esbuild with plugins,
      // which NodejsFunction's own bundling cannot load): see lib/infra/function-code.ts.
      code: functionCode(name, definition.entry),
      handler: FUNCTION_HANDLER,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      description: definition.description,
      memorySize: overrides.memorySize ?? definition.memorySize,
      timeout: definition.timeout,
      ...(overrides.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: overrides.reservedConcurrentExecutions }),
      role,
      ...(name === 'dispatch' && this.dispatchFunctionName !== undefined
        ? { functionName: this.dispatchFunctionName }
        : {}),
      logGroup,
      tracing: props.tracing === true ? Tracing.ACTIVE : Tracing.DISABLED,
      environment,
    });
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'nodejs22.x is the runtime this code is built (esbuild target node22) and tested for; nodejs24.x is a deliberate, tested upgrade, not an automatic one.',
    );
    if (props.tracing === true) {
      acknowledge(
        role.node.findChild('DefaultPolicy').node.defaultChild as Construct,
        'AwsSolutions-IAM5[Resource::*]',
        'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions; AWS requires Resource "*" for them.',
      );
    }
    return fn;
  }

  private grantStorage(
    role: Role,
    name: EventLogFunctionName,
    definition: FunctionDefinition,
  ): void {
    const segments = this.bucket.arnForObjects(`${SEGMENT_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...definition.segmentActions],
        resources: [segments],
      }),
    );
    if (definition.listsSegments) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${SEGMENT_PREFIX}*`] } },
        }),
      );
    }
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...definition.tableActions],
        resources: Object.values(this.tables).map((table) => table.tableArn),
      }),
    );
    const keys = new Set(
      [this.bucket.encryptionKey, ...Object.values(this.tables).map((t) => t.encryptionKey)].filter(
        (key) => key !== undefined,
      ),
    );
    for (const key of keys) {
      // Named actions rather than grantEncryptDecrypt's GenerateDataKey* / ReEncrypt*: S3 and
      // DynamoDB call only these on the caller's behalf.
      key.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
    }
    acknowledge(
      role.node.findChild('DefaultPolicy').node.defaultChild as Construct,
      `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(this.bucket)}.Arn>/${SEGMENT_PREFIX}*]`,
      `Segment objects are created per produce request under ULID keys, so the ${name} function's object actions name the ${SEGMENT_PREFIX} prefix, not single objects.`,
    );
  }

  private createHttpApi(
    props: EventLogProps,
    logRetention: RetentionDays,
    retain: boolean,
  ): { httpApi: HttpApi; url: string } {
    const iam = this.authorization === 'iam';
    const httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Event log HTTP API',
      defaultAuthorizer: iam ? new HttpIamAuthorizer() : new HttpNoneAuthorizer(),
      // The default stage is created below, with access logs.
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            caller: '$context.identity.caller',
            user: '$context.identity.userArn',
            requestTime: '$context.requestTime',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
      ...(props.throttle === undefined ? {} : { throttle: props.throttle }),
    });

    // One catch-all route: Hono routes and answers 404s in our JSON error format, and IAM
    // still authorizes per route because the execute-api ARN carries the request's path.
    const integration = new HttpLambdaIntegration('ApiIntegration', this.functions.api);
    const routes = httpApi.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration });
    if (!iam) {
      for (const route of routes) {
        acknowledge(
          route,
          'AwsSolutions-APIG4',
          'authorization: "none" was chosen explicitly for a development stack; the default is IAM (SigV4).',
        );
      }
    }
    return { httpApi, url: stage.url };
  }

  /** The IAM door as a function URL (AWS_IAM) on alias `iam`; NONE with authorization none. */
  private createIamFunctionUrl(): FunctionUrl {
    this.iamAlias = new Alias(this, 'ApiIamAlias', {
      aliasName: 'iam',
      version: currentVersion(this.functions.api),
      description: 'The api function behind the SigV4 function URL',
    });
    return this.iamAlias.addFunctionUrl({
      authType:
        this.authorization === 'iam' ? FunctionUrlAuthType.AWS_IAM : FunctionUrlAuthType.NONE,
    });
  }

  /**
   * The bearer door: a function URL with auth NONE, on its own alias (one function may have
   * one URL per qualifier). The API refuses every request on it that has no valid API key or
   * JWT; no SigV4 identity can appear there, since Lambda builds the request context.
   */
  private createBearerFunctionUrl(): FunctionUrl {
    const alias = new Alias(this, 'ApiBearerAlias', {
      aliasName: 'bearer',
      version: currentVersion(this.functions.api),
      description: 'The api function behind the bearer-token (API key, JWT) function URL',
    });
    return alias.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  }

  /**
   * The produce path notifies the dispatcher (an asynchronous invoke from the api function,
   * allowed on that one function only), and a schedule runs it as a safety net. The consumers'
   * own invoke rights come from EventLogConsumer.
   */
  private connectDispatcher(every: Duration): void {
    const api = this.functions.api;
    const dispatch = this.functions.dispatch;
    const stack = Stack.of(this);
    // With a function URL, the dispatcher's environment names the URL, which hangs on the api
    // function: the api side must then name the dispatcher without a reference to it (its
    // fixed name, in an ARN of pseudo parameters), or CloudFormation sees a cycle.
    const dispatchName = this.dispatchFunctionName ?? dispatch.functionName;
    const dispatchArn =
      this.dispatchFunctionName === undefined
        ? dispatch.functionArn
        : stack.formatArn({
            service: 'lambda',
            resource: 'function',
            resourceName: this.dispatchFunctionName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          });
    api.addEnvironment(DISPATCH_FUNCTION_ENV_VAR, dispatchName);
    api.role?.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['lambda:InvokeFunction'],
        resources: [dispatchArn],
      }),
    );
    dispatch.addEnvironment(
      BOOTSTRAP_SERVERS_ENV_VAR,
      this.httpApi !== undefined
        ? `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}:443`
        : `${Fn.select(2, Fn.split('/', this.apiUrl))}:443`,
    );
    this.scheduleFor('dispatch', every);
  }

  /** Runs a function on a schedule with EventBridge's "Scheduled Event" payload. */
  private scheduleFor(name: EventLogFunctionName, every: Duration): Rule {
    return new Rule(this, `${pascalCase(name)}Schedule`, {
      description: `Runs the event log ${name} function every ${every.toHumanString()}`,
      schedule: Schedule.rate(every),
      targets: [
        new LambdaFunction(this.functions[name], {
          // The next run does the same work; retries would only pile up behind it.
          retryAttempts: 0,
          maxEventAge: every,
        }),
      ],
    });
  }

  private createAlarms(actions: IAlarmAction[]): void {
    const add = (id: string, metric: Metric, description: string): void => {
      const alarm = new Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(...actions);
      this.alarms.push(alarm);
    };
    const period = Duration.minutes(5);
    for (const name of Object.keys(this.functions) as EventLogFunctionName[]) {
      const fn = this.functions[name];
      const id = pascalCase(name);
      add(
        `${id}ErrorsAlarm`,
        fn.metricErrors({ period }),
        `The event log ${name} function failed (uncaught error or timeout).`,
      );
      add(
        `${id}ThrottlesAlarm`,
        fn.metricThrottles({ period }),
        `The event log ${name} function was throttled: raise its concurrency or the account limit.`,
      );
    }
    if (this.httpApi !== undefined) {
      add(
        'ApiServerErrorsAlarm',
        this.httpApi.metricServerError({ period }),
        'The event log HTTP API answered 5xx (the api function maps failures to 5xx without throwing).',
      );
    }
  }

  private logicalIdOf(construct: Construct): string {
    const child = construct.node.defaultChild;
    if (child === undefined)
      throw new Error(`${construct.node.path} has no CloudFormation resource`);
    return Stack.of(this).getLogicalId(child as never);
  }
}

function attributeType(type: 'S' | 'N'): AttributeType {
  return type === 'S' ? AttributeType.STRING : AttributeType.NUMBER;
}

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * The ACL pattern of a grant's name: `*` every name, `orders*` every name starting with
 * `orders` (prefixed), anything else that name (literal).
 */
export function aclPattern(
  type: ResourceType,
  name: string,
): { patternType: PatternType; resourceName: string } {
  if (Token.isUnresolved(name)) return { patternType: 'literal', resourceName: name };
  if (name === '*') return { patternType: 'literal', resourceName: '*' };
  if (!/^[a-zA-Z0-9._-]{1,249}\*?$/.test(name)) {
    throw new Error(
      `"${name}" is not a ${type} name or pattern: use ASCII letters, digits, '.', '_', '-', '*' alone or one trailing '*' for a prefix`,
    );
  }
  return name.endsWith('*')
    ? { patternType: 'prefixed', resourceName: name.slice(0, -1) }
    : { patternType: 'literal', resourceName: name };
}

/**
 * The principal an ACL names for a grantee: a role as `iam:arn:PARTITION:iam::ACCOUNT:role/NAME`
 * (no path: its sessions arrive as assumed-role/NAME/SESSION, lib/log/acl.ts), a user by its ARN.
 */
function principalOfGrantee(grantee: IGrantable): string {
  const principal = grantee.grantPrincipal as unknown as Partial<IRole & IUser> & IConstruct;
  if (typeof principal.roleName === 'string') {
    const account = principal.env?.account ?? Aws.ACCOUNT_ID;
    return `iam:arn:${Aws.PARTITION}:iam::${account}:role/${principal.roleName}`;
  }
  if (typeof principal.userArn === 'string') return `iam:${principal.userArn}`;
  throw new Error(
    'EventLog grants name an IAM role or user (the ACL principal comes from it); grant other principals with ACLs through the API or the CLI',
  );
}

/** The api function's authorization settings (lib/api/auth-config.ts reads them). */
function authEnvironment(
  authorization: EventLogAuthorization,
  props: EventLogProps,
): Record<string, string> {
  if (authorization === 'none') return { [AUTH_ENV.mode]: 'off' };
  const jwt = props.bearer?.jwt;
  return {
    [AUTH_ENV.mode]: 'on',
    ...(jwt === undefined
      ? {}
      : {
          [AUTH_ENV.jwtIssuer]: jwt.issuer,
          [AUTH_ENV.jwtAudience]: jwt.audience,
          ...(jwt.principalClaim === undefined
            ? {}
            : { [AUTH_ENV.jwtPrincipalClaim]: jwt.principalClaim }),
          ...(jwt.jwksUrl === undefined ? {} : { [AUTH_ENV.jwtJwksUrl]: jwt.jwksUrl }),
        }),
    ...(props.rateLimit === undefined
      ? {}
      : {
          [AUTH_ENV.rateLimit]: String(props.rateLimit.requestsPerSecond),
          ...(props.rateLimit.burst === undefined
            ? {}
            : { [AUTH_ENV.rateBurst]: String(props.rateLimit.burst) }),
        }),
  };
}

/** A cdk-nag acknowledgment on exactly one construct, with the reason on record. */
export function acknowledge(construct: Construct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

/**
 * The function's current version as an IVersion. aws-cdk-lib's declarations are not written for
 * exactOptionalPropertyTypes (the Version class declares optional members as `T | undefined`,
 * its IVersion interface as `T`), so the class does not satisfy its own interface under it.
 */
function currentVersion(fn: NodejsFunction): IVersion {
  return fn.currentVersion as IVersion;
}
