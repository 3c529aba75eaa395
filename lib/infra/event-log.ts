/**
 * The EventLog construct. Its parts live beside it: the functions' definitions in
 * event-log-functions.ts, the props in event-log-props.ts, the bucket and tables in
 * event-log-storage.ts, the front doors in event-log-front-doors.ts, the ACLs of its grants in
 * event-log-acls.ts and the schedules in event-log-schedules.ts. Every name this module
 * exported before that split is still exported here.
 */
import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type Grant, type IGrantable, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  type Alias,
  Architecture,
  type FunctionUrl,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { resourceNamesToEnv, TABLES, type TableDefinition } from '../store/resources.js';
import { acknowledge } from './acknowledge.js';
import { EventLogAclWriter } from './event-log-acls.js';
import {
  authEnvironment,
  createBearerFunctionUrl,
  createHttpApi,
  createIamFunctionUrl,
  grantFrontDoor,
} from './event-log-front-doors.js';
import {
  type EventLogFunctionName,
  FUNCTIONS,
  type FunctionDefinition,
  pascalCase,
} from './event-log-functions.js';
import type { EventLogAuthorization, EventLogProps, FrontDoor } from './event-log-props.js';
import { connectDispatcher, scheduleFor } from './event-log-schedules.js';
import { createSegmentBucket, createTable, grantStorage } from './event-log-storage.js';
import { FUNCTION_HANDLER, functionCode } from './function-code.js';
import { type EventLogMetricsSetup, logMetric, setUpEventLogMetrics } from './metrics.js';

export { acknowledge } from './acknowledge.js';
export { aclPattern } from './event-log-acls.js';
export { type EventLogFunctionName, FUNCTIONS, PROJECT_ROOT } from './event-log-functions.js';
export type {
  BearerAuthProps,
  EventLogAuthorization,
  EventLogProps,
  FrontDoor,
} from './event-log-props.js';

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
  private readonly acls: EventLogAclWriter;

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

    this.bucket = createSegmentBucket(this, props, removalPolicy);
    this.tables = Object.fromEntries(
      TABLES.map((definition) => [
        definition.id,
        createTable(this, definition, props, removalPolicy),
      ]),
    ) as Record<TableDefinition['id'], Table>;
    this.acls = new EventLogAclWriter(this, this.table('Groups'));

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
      const { httpApi, url } = createHttpApi(
        this,
        this.functions.api,
        this.authorization,
        props,
        logRetention,
        retain,
      );
      this.httpApi = httpApi;
      this.functionUrl = undefined;
      this.apiUrl = url;
    } else {
      this.httpApi = undefined;
      const { alias, functionUrl } = createIamFunctionUrl(
        this,
        this.functions.api,
        this.authorization,
      );
      this.iamAlias = alias;
      this.functionUrl = functionUrl;
      this.apiUrl = this.functionUrl.url;
    }
    this.bearerUrl =
      props.bearer === undefined || this.authorization === 'none'
        ? undefined
        : createBearerFunctionUrl(this, this.functions.api).url;

    scheduleFor(
      this,
      'retention',
      this.functions.retention,
      props.retentionSchedule ?? Duration.minutes(5),
    );
    connectDispatcher(
      this,
      {
        api: this.functions.api,
        dispatch: this.functions.dispatch,
        dispatchFunctionName: this.dispatchFunctionName,
        httpApi: this.httpApi,
        apiUrl: this.apiUrl,
      },
      props.dispatchSchedule ?? Duration.minutes(1),
    );
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
    this.acls.write(grantee, [
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
    this.acls.write(grantee, [
      ['topic', topic, 'consume'],
      ['group', group, 'consume'],
    ]);
    return this.grantFrontDoor(grantee);
  }

  /** Everything: topic, group, ACL and key administration (cluster admin). */
  grantAdmin(grantee: IGrantable): Grant {
    this.acls.write(grantee, [['cluster', 'eventlog', 'admin']]);
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
    return grantFrontDoor(
      grantee,
      this.httpApi !== undefined ? { httpApi: this.httpApi } : { iamAlias: this.iamAlias as Alias },
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
    grantStorage(role, name, definition, this.bucket, this.tables);

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
}
