import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog, FUNCTIONS, PROJECT_ROOT } from '../../lib/infra/event-log.js';
import { BUCKET_ENV_VAR, SEGMENT_PREFIX, TABLES } from '../../lib/store/resources.js';
import { type SynthesizedStack, synthEventLogStack, testContext } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: template JSON, read by shape in each assertion
type Resources = Record<string, { Type: string; Properties?: any; DeletionPolicy?: string }>;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const resourcesOf = (statement: Statement): unknown[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];

function logicalId(resources: Resources, type: string, prefix: string): string {
  const ids = Object.keys(resources).filter(
    (id) => resources[id]?.Type === type && id.startsWith(prefix),
  );
  expect(ids, `${type} ${prefix}*`).toHaveLength(1);
  return ids[0]!;
}

/** Every IAM statement of a role's policies, found through the policies' Roles references. */
function statementsOfRole(resources: Resources, roleId: string): Statement[] {
  return Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        (resource.Properties.Roles as unknown[]).some(
          (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
        ),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

function allStatements(resources: Resources): Statement[] {
  return Object.values(resources).flatMap((resource) => {
    if (resource.Type === 'AWS::IAM::Policy') return resource.Properties.PolicyDocument.Statement;
    if (resource.Type === 'AWS::IAM::Role') {
      return (resource.Properties.Policies ?? []).flatMap(
        (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
      );
    }
    return [];
  });
}

/** The stack with frontDoor httpApi, synthesized once for the tests that need it. */
let httpApiSynth: SynthesizedStack | undefined;
function httpApiStack(): SynthesizedStack {
  httpApiSynth ??= synthEventLogStack({ eventLog: { frontDoor: 'httpApi' } }, 'Apigw');
  return httpApiSynth;
}

describe('EventLogStack (defaults)', () => {
  let synth: SynthesizedStack;
  let template: Template;
  let resources: Resources;

  beforeAll(() => {
    // The stack as deployed, bundles included; the option variants below skip bundling.
    synth = synthEventLogStack({}, 'EventLogStack', { bundle: true });
    template = synth.template;
    resources = template.toJSON().Resources as Resources;
  });

  const bucketId = () => logicalId(resources, 'AWS::S3::Bucket', 'EventLogSegments');
  const tableId = (id: string) =>
    logicalId(resources, 'AWS::DynamoDB::Table', `EventLog${id}Table`);
  const functionId = (name: string) =>
    logicalId(
      resources,
      'AWS::Lambda::Function',
      `EventLog${name[0]!.toUpperCase()}${name.slice(1)}Function`,
    );
  const roleIdOf = (name: string) =>
    (resources[functionId(name)]!.Properties.Role as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ][0];

  it('has the expected resources and nothing more expensive', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', TABLES.length);
    template.resourceCountIs('AWS::Lambda::Function', Object.keys(FUNCTIONS).length);
    // The front door is a function URL: no API Gateway (and its $1 per million requests).
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.resourceCountIs('AWS::Lambda::Url', 1);
    // The retention, dispatch and lag-metrics schedules; one dashboard (docs/metrics.md).
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    // No custom resources in the production stack (no autoDeleteObjects, no log retention Lambda).
    expect(Object.values(resources).filter((r) => r.Type.startsWith('Custom::'))).toEqual([]);
  });

  it('keeps the segment bucket private, encrypted, TLS-only and retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              Status: 'Enabled',
            }),
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId() },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it.each(TABLES.map((definition) => [definition.id, definition] as const))(
    'builds the %s table from its definition in resources.ts',
    (id, definition) => {
      const table = resources[tableId(id)]!;
      const keySchema = [
        { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
        ...(definition.sortKey
          ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }]
          : []),
      ];
      expect(table.Properties.KeySchema).toEqual(keySchema);
      expect(table.Properties.AttributeDefinitions).toEqual(
        [definition.partitionKey, ...(definition.sortKey ? [definition.sortKey] : [])].map(
          (key) => ({
            AttributeName: key.name,
            AttributeType: key.type,
          }),
        ),
      );
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
      // AWS-managed KMS key (aws/dynamodb), not the AWS-owned default.
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.Properties.TimeToLiveSpecification).toEqual(
        definition.timeToLiveAttribute === undefined
          ? undefined
          : { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      );
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    },
  );

  it.each(Object.keys(FUNCTIONS))(
    'runs the %s function on nodejs22.x arm64 with its environment',
    (name) => {
      const fn = resources[functionId(name)]!;
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: FUNCTIONS[name as keyof typeof FUNCTIONS].memorySize,
        Timeout: FUNCTIONS[name as keyof typeof FUNCTIONS].timeout.toSeconds(),
      });
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables[BUCKET_ENV_VAR]).toEqual({ Ref: bucketId() });
      for (const definition of TABLES) {
        expect(variables[definition.envVar]).toEqual({ Ref: tableId(definition.id) });
      }
      expect(variables['NODE_OPTIONS']).toBe('--enable-source-maps');
      // An explicit log group with a retention, instead of the never-expiring implicit one.
      const logGroupId = (fn.Properties.LoggingConfig.LogGroup as { Ref: string }).Ref;
      expect(resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    },
  );

  it('grants no wildcard action and no wildcard resource anywhere', () => {
    const statements = allStatements(resources);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      for (const action of actionsOf(statement)) {
        // s3:* is allowed only in the bucket policy's TLS Deny, which is not an IAM policy.
        expect(action, JSON.stringify(statement)).not.toContain('*');
      }
      for (const resource of resourcesOf(statement)) {
        expect(resource, JSON.stringify(statement)).not.toBe('*');
      }
    }
    // Our roles carry no managed policies (AWSLambdaBasicExecutionRole allows every log group).
    for (const resource of Object.values(resources)) {
      if (resource.Type === 'AWS::IAM::Role')
        expect(resource.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('gives the api function object read/write on segments/* only, and item access on its tables', () => {
    const statements = statementsOfRole(resources, roleIdOf('api'));
    const segments = {
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, `/${SEGMENT_PREFIX}*`]],
    };
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3).toHaveLength(1);
    expect(actionsOf(s3[0]!).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(s3[0]!.Resource).toEqual(segments);

    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo[0]!).sort()).toEqual(
      [
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ].sort(),
    );
    expect(new Set(resourcesOf(dynamo[0]!).map((r) => JSON.stringify(r)))).toEqual(
      new Set(TABLES.map((t) => JSON.stringify({ 'Fn::GetAtt': [tableId(t.id), 'Arn'] }))),
    );
    const logs = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
    expect(logs.flatMap(resourcesOf)).toEqual([
      { 'Fn::GetAtt': [logicalId(resources, 'AWS::Logs::LogGroup', 'EventLogApiLogs'), 'Arn'] },
    ]);
    // Nothing else: no S3 listing, no deletes, no other services but notifying the dispatcher.
    expect(statements.flatMap(actionsOf).filter((a) => !/^(s3|dynamodb|logs):/.test(a))).toEqual([
      'lambda:InvokeFunction',
    ]);
    // The dispatcher by its fixed name (no reference: its environment names the api's URL).
    const dispatchName = resources[functionId('dispatch')]!.Properties.FunctionName as string;
    expect(dispatchName).toMatch(/-dispatch$/);
    expect(
      JSON.stringify(
        statements.find((s) => actionsOf(s).includes('lambda:InvokeFunction'))?.Resource,
      ),
    ).toContain(`:function:${dispatchName}`);
  });

  it('lets the retention function list and delete segments, listing only under the prefix', () => {
    const statements = statementsOfRole(resources, roleIdOf('retention'));
    const list = statements.filter((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(list).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [bucketId(), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': [`${SEGMENT_PREFIX}*`] } },
      },
    ]);
    const objects = statements.filter((s) => actionsOf(s).includes('s3:DeleteObject'));
    expect(objects).toHaveLength(1);
    expect(actionsOf(objects[0]!).sort()).toEqual(['s3:DeleteObject', 's3:GetObject']);
    expect(JSON.stringify(objects[0]!.Resource)).toContain(`/${SEGMENT_PREFIX}*`);
    expect(statements.flatMap(actionsOf)).not.toContain('s3:PutObject');
  });

  it('puts IAM authorization on the function URL, on alias iam of the api function', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      Qualifier: 'iam',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId('api'), 'Arn'] },
    });
  });

  it('with frontDoor httpApi, puts IAM authorization on every route, payload format 2.0', () => {
    const { template } = httpApiStack();
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.keys(routes).length).toBeGreaterThan(0);
    for (const route of Object.values(routes)) {
      expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionId('api'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      },
    });
  });

  it('runs retention every 5 minutes with a scheduled event, without piling up retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId('retention'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 },
        }),
      ],
    });
  });

  it('runs the dispatcher every minute, on the role consumers grant invoke rights to, and tells the api its name', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId('dispatch'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
    expect(roleIdOf('dispatch')).toMatch(/^EventLogDispatcherRole/);
    const api = resources[functionId('api')]!.Properties.Environment.Variables;
    expect(api['EVENTLOG_DISPATCH_FUNCTION']).toBe(
      resources[functionId('dispatch')]!.Properties.FunctionName,
    );
    const dispatch = resources[functionId('dispatch')]!.Properties.Environment.Variables;
    expect(JSON.stringify(dispatch['EVENTLOG_BOOTSTRAP_SERVERS'])).toContain('FunctionUrl');
  });

  it('alarms on every function’s errors and throttles (API 5xx with the HTTP API)', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(name) } }],
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: 1,
          TreatMissingData: 'notBreaching',
        });
      }
    }
    synthEventLogStack(
      { eventLog: { frontDoor: 'httpApi' } },
      'Apigw5xx',
    ).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
    });
  });

  it('outputs the API URL, the bucket and every table', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs['ApiUrl']?.Value)).toContain('FunctionUrl');
    expect(outputs['BucketName']?.Value).toEqual({ Ref: bucketId() });
    for (const definition of TABLES) {
      expect(outputs[`${definition.id}TableName`]?.Value).toEqual({ Ref: tableId(definition.id) });
    }
  });

  it('is environment-agnostic (no account or region baked in)', () => {
    expect(synth.stack.account).toMatch(/^\$\{Token/);
    expect(synth.stack.region).toMatch(/^\$\{Token/);
  });
});

describe('EventLog options', () => {
  it('development stacks: DESTROY empties the bucket, authorization none, X-Ray the only * resource', () => {
    const { template } = synthEventLogStack(
      { eventLog: { removalPolicy: RemovalPolicy.DESTROY, authorization: 'none', tracing: true } },
      'EventLogDev',
    );
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENTLOG_AUTH: 'off' }) },
    });
    const starred = allStatements(template.toJSON().Resources as Resources).filter((statement) =>
      resourcesOf(statement).includes('*'),
    );
    expect(starred.length).toBeGreaterThan(0);
    for (const statement of starred) {
      // X-Ray has no resource-level permissions: the one case where AWS requires "*".
      expect(actionsOf(statement).sort()).toEqual([
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    }
  });

  it('encrypts bucket and tables with a customer key, granting only the named KMS actions', () => {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'WithKey');
    const key = new Key(stack, 'Key', { enableKeyRotation: true });
    const accessLogs = new Bucket(stack, 'AccessLogs', { enforceSSL: true });
    new EventLog(stack, 'EventLog', {
      encryptionKey: key,
      // aws-cdk-lib's classes do not meet their own interfaces under exactOptionalPropertyTypes.
      serverAccessLogs: { bucket: accessLogs as IBucket, prefix: 'segments/' },
    });
    const template = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as never), 'Arn'] };
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
          },
        ],
      },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'segments/' },
    });
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(TABLES.length);
    for (const table of Object.values(tables)) {
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: keyArn,
      });
    }
    const kms = allStatements(template.toJSON().Resources as Resources).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('kms:')),
    );
    // One statement per function role; the key policy itself lives on the key.
    expect(kms).toHaveLength(Object.keys(FUNCTIONS).length);
    for (const statement of kms) {
      expect(actionsOf(statement).sort()).toEqual(
        ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'].sort(),
      );
      expect(statement.Resource).toEqual(keyArn);
    }
  });

  it('runs retention on the schedule it is given', () => {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Schedule');
    new EventLog(stack, 'EventLog', { retentionSchedule: Duration.minutes(15) });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
    });
  });
});

/**
 * The stores are the only code that calls AWS. Every command they send needs an IAM action
 * in some function's role; a store that starts using a new command fails here until the map
 * and the grants in lib/infra/event-log.ts follow.
 */
describe('store commands are covered by the functions’ IAM actions', () => {
  const REQUIRED_ACTIONS: Record<string, string[]> = {
    GetCommand: ['dynamodb:GetItem'],
    PutCommand: ['dynamodb:PutItem'],
    UpdateCommand: ['dynamodb:UpdateItem'],
    DeleteCommand: ['dynamodb:DeleteItem'],
    QueryCommand: ['dynamodb:Query'],
    ScanCommand: ['dynamodb:Scan'],
    // No IAM action of its own: each item is authorized with its per-item action.
    TransactWriteCommand: [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
    ],
    BatchWriteCommand: ['dynamodb:BatchWriteItem'],
    // The dispatcher invoking consumers: granted per consumer function by EventLogConsumer.
    InvokeCommand: ['lambda:InvokeFunction'],
    // SQS and SNS on-failure destinations: granted per queue or topic by EventLogConsumer.
    SendMessageCommand: ['sqs:SendMessage'],
    PublishCommand: ['sns:Publish'],
    PutObjectCommand: ['s3:PutObject'],
    GetObjectCommand: ['s3:GetObject'],
    ListObjectsV2Command: ['s3:ListBucket'],
    DeleteObjectsCommand: ['s3:DeleteObject'],
    DeleteObjectCommand: ['s3:DeleteObject'],
  };

  const storeDir = join(PROJECT_ROOT, 'lib/store');
  const commands = new Set<string>();
  for (const file of readdirSync(storeDir).filter((f) => f.endsWith('.ts'))) {
    for (const match of readFileSync(join(storeDir, file), 'utf8').matchAll(
      /new (\w+Command)\(/g,
    )) {
      commands.add(match[1]!);
    }
  }

  it('finds the commands', () => {
    expect(commands.size).toBeGreaterThan(3);
  });

  it.each([...commands].sort())('%s', (command) => {
    const required = REQUIRED_ACTIONS[command];
    expect(
      required,
      `${command}: add its IAM actions to REQUIRED_ACTIONS and FUNCTIONS`,
    ).toBeDefined();
    const granted = new Set([
      ...Object.values(FUNCTIONS).flatMap((fn) => [
        ...fn.segmentActions,
        ...fn.tableActions,
        ...(fn.listsSegments ? ['s3:ListBucket'] : []),
      ]),
      // EventLogConsumer's grants to the dispatcher role (event-log-consumer.test.ts).
      'lambda:InvokeFunction',
      'sqs:SendMessage',
      'sns:Publish',
    ]);
    for (const action of required ?? []) expect(granted).toContain(action);
  });
});
