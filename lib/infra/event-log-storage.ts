/**
 * The event log's storage: the segment bucket, the DynamoDB tables of lib/store/resources.ts,
 * and each function role's least-privilege rights on them.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { SEGMENT_PREFIX, type TableDefinition } from '../store/resources.js';
import { acknowledge } from './acknowledge.js';
import type { EventLogFunctionName, FunctionDefinition } from './event-log-functions.js';
import type { EventLogProps } from './event-log-props.js';

/** The segment bucket: private, TLS only, encrypted, unversioned. */
export function createSegmentBucket(
  scope: Construct,
  props: EventLogProps,
  removalPolicy: RemovalPolicy,
): Bucket {
  const destroy = removalPolicy === RemovalPolicy.DESTROY;
  const bucket = new Bucket(scope, 'Segments', {
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

/** One table of lib/store/resources.ts: on demand, with point-in-time recovery. */
export function createTable(
  scope: Construct,
  definition: TableDefinition,
  props: EventLogProps,
  removalPolicy: RemovalPolicy,
): Table {
  return new Table(scope, `${definition.id}Table`, {
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

/**
 * A function role's rights on the storage: its object actions on the segment prefix only, its
 * item actions on the event log's tables only, and the KMS actions S3 and DynamoDB need.
 */
export function grantStorage(
  role: Role,
  name: EventLogFunctionName,
  definition: FunctionDefinition,
  bucket: Bucket,
  tables: Record<TableDefinition['id'], Table>,
): void {
  const segments = bucket.arnForObjects(`${SEGMENT_PREFIX}*`);
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
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${SEGMENT_PREFIX}*`] } },
      }),
    );
  }
  role.addToPrincipalPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: [...definition.tableActions],
      resources: Object.values(tables).map((table) => table.tableArn),
    }),
  );
  const keys = new Set(
    [bucket.encryptionKey, ...Object.values(tables).map((t) => t.encryptionKey)].filter(
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
    `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${SEGMENT_PREFIX}*]`,
    `Segment objects are created per produce request under ULID keys, so the ${name} function's object actions name the ${SEGMENT_PREFIX} prefix, not single objects.`,
  );
}

function logicalIdOf(construct: Construct): string {
  const child = construct.node.defaultChild;
  if (child === undefined) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(child as never);
}

function attributeType(type: 'S' | 'N'): AttributeType {
  return type === 'S' ? AttributeType.STRING : AttributeType.NUMBER;
}
