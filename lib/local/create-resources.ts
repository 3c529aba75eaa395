import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { EventLogError } from '../log/errors.js';
import {
  GROUPS_TABLE,
  LOG_TABLE,
  type ResourceNames,
  resourceNamesToEnv,
  TABLES,
  type TableDefinition,
  TOPICS_TABLE,
} from '../store/resources.js';

export interface ResourceClients {
  s3: S3Client;
  dynamo: DynamoDBClient;
}

/**
 * Names for a local (or LocalStack) deployment: `{prefix}-Topics`, `{prefix}-Log`,
 * `{prefix}-Groups` and the bucket `{prefix}-segments`. The prefix must suit a bucket name.
 */
export function localResourceNames(prefix = 'eventlog'): ResourceNames {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(prefix)) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `Resource name prefix "${prefix}" must be 1-41 lowercase letters, digits or '-', starting with a letter or digit`,
    );
  }
  return {
    bucket: `${prefix}-segments`,
    topicsTable: `${prefix}-${TOPICS_TABLE.id}`,
    logTable: `${prefix}-${LOG_TABLE.id}`,
    groupsTable: `${prefix}-${GROUPS_TABLE.id}`,
  };
}

/** The name a definition's table has among `names` (looked up through its env variable). */
export function tableName(definition: TableDefinition, names: ResourceNames): string {
  const name = resourceNamesToEnv(names)[definition.envVar];
  if (name === undefined) {
    throw new EventLogError('INTERNAL', `No table name for ${definition.id}`);
  }
  return name;
}

/** CreateTable input for a definition: on-demand billing, as the CDK stack deploys it. */
export function createTableInput(
  definition: TableDefinition,
  name: string,
): CreateTableCommandInput {
  const keys = [definition.partitionKey, ...(definition.sortKey ? [definition.sortKey] : [])];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keys.map(
      (key): AttributeDefinition => ({ AttributeName: key.name, AttributeType: key.type }),
    ),
    KeySchema: keys.map(
      (key, index): KeySchemaElement => ({
        AttributeName: key.name,
        KeyType: index === 0 ? 'HASH' : 'RANGE',
      }),
    ),
  };
}

/**
 * Creates the tables (with TTL) and the bucket unless they exist, so it is safe to run on
 * every start, also over a persisted data directory and concurrently with itself.
 */
export async function createResources(
  clients: ResourceClients,
  names: ResourceNames,
): Promise<void> {
  await Promise.all([
    ...TABLES.map((definition) => createTable(clients.dynamo, definition, names)),
    createBucket(clients.s3, names.bucket),
  ]);
}

/**
 * Deletes what createResources made, objects included. For throw-away names only (tests
 * against a shared LocalStack); missing resources are fine.
 */
export async function deleteResources(
  clients: ResourceClients,
  names: ResourceNames,
): Promise<void> {
  await Promise.all([
    ...TABLES.map(async (definition) => {
      try {
        await clients.dynamo.send(
          new DeleteTableCommand({ TableName: tableName(definition, names) }),
        );
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }),
    deleteBucket(clients.s3, names.bucket),
  ]);
}

async function createTable(
  dynamo: DynamoDBClient,
  definition: TableDefinition,
  names: ResourceNames,
): Promise<void> {
  const name = tableName(definition, names);
  try {
    await dynamo.send(new CreateTableCommand(createTableInput(definition, name)));
  } catch (error) {
    // Exists already (a persisted data directory, or another process got there first).
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // Real DynamoDB and LocalStack create asynchronously; TTL can only be set on ACTIVE tables.
  await waitUntilTableExists(
    { client: dynamo, maxWaitTime: 120, minDelay: 1, maxDelay: 5 },
    { TableName: name },
  );
  const attribute = definition.timeToLiveAttribute;
  if (attribute === undefined) return;
  const { TimeToLiveDescription } = await dynamo.send(
    new DescribeTimeToLiveCommand({ TableName: name }),
  );
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  // Enabling TTL twice is a ValidationException, hence the look first.
  if (status === 'ENABLED' || status === 'ENABLING') return;
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
    }),
  );
}

async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  if (await bucketExists(s3, bucket)) return;
  const region = await s3.config.region();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // Outside us-east-1, S3 (and LocalStack) want the region repeated here.
        ...(region === 'us-east-1'
          ? {}
          : {
              CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
            }),
      }),
    );
  } catch (error) {
    // Lost a race with another creator. s3rver answers BucketAlreadyExists even to the
    // owner, where S3 says BucketAlreadyOwnedByYou; the check below tells them apart.
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    if (!(await bucketExists(s3, bucket))) throw error;
  }
}

async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw error;
  }
}

async function deleteBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    // Lists from the start each round instead of paging: s3rver pages in its directory-walk
    // order, which can skip keys that S3 would list (docs/local-emulators.md).
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
      if (keys.length === 0) break;
      const { Errors } = await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (Errors !== undefined && Errors.length > 0) {
        throw new EventLogError(
          'STORAGE_UNAVAILABLE',
          `Could not empty bucket ${bucket}: ${Errors[0]?.Code} ${Errors[0]?.Message} (${Errors[0]?.Key})`,
        );
      }
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchBucket') throw error;
  }
}
