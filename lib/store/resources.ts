/**
 * The AWS resources the event log needs, described once. The CDK construct (lib/infra) and
 * the local environment (lib/local) both build their tables, bucket and function
 * environments from these definitions, so what the tests run against is what deploys.
 *
 * This file must stay free of aws-cdk-lib and the AWS SDK: plain data only.
 */
import { createHash } from 'node:crypto';
import { SEGMENT_ROOT } from '../log/commit.js';

export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}

export interface TableDefinition {
  /** Logical id (CDK) and the suffix of the local table name. */
  id: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** Attribute holding an epoch-seconds expiry, enabled as DynamoDB TTL. */
  timeToLiveAttribute?: string;
  /** The environment variable through which functions learn the table's name. */
  envVar: string;
}

// The three tables are written out in full, alike as they look: each is read as the one place
// that says what its table is, and the CDK stack and the local emulator both build from them.

/** Topics: one item per topic name (topic id, partition count, configs, state). */
export const TOPICS_TABLE: TableDefinition = {
  id: 'Topics',
  partitionKey: { name: 'name', type: 'S' },
  envVar: 'EVENTLOG_TOPICS_TABLE',
};

/**
 * The log (storage engine v2): per commit sequence of a topic, its head, its meta and one item
 * per commit; lib/store/commit-log-store.ts lays the keys out.
 */
export const LOG_TABLE: TableDefinition = {
  id: 'Log',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'N' },
  timeToLiveAttribute: 'expiresAt',
  envVar: 'EVENTLOG_LOG_TABLE',
};

/** Consumer groups: commits and leases per (group, topic, partition), members, instances. */
export const GROUPS_TABLE: TableDefinition = {
  id: 'Groups',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  envVar: 'EVENTLOG_GROUPS_TABLE',
};

export const TABLES = [TOPICS_TABLE, LOG_TABLE, GROUPS_TABLE] as const;

export const BUCKET_ENV_VAR = 'EVENTLOG_BUCKET';

/** The dispatcher of Lambda consumers' function name, for the API function to notify it. */
export const DISPATCH_FUNCTION_ENV_VAR = 'EVENTLOG_DISPATCH_FUNCTION';
/** What the dispatcher puts in the events' `bootstrapServers`: the API's host:port. */
export const BOOTSTRAP_SERVERS_ENV_VAR = 'EVENTLOG_BOOTSTRAP_SERVERS';

/** S3 key prefix of a topic's segment objects; the topic id keeps re-created topics apart. */
export const SEGMENT_PREFIX = SEGMENT_ROOT;

/** Table and bucket names, as the functions read them from their environment. */
export interface ResourceNames {
  bucket: string;
  topicsTable: string;
  logTable: string;
  groupsTable: string;
}

export function resourceNamesFromEnv(env: NodeJS.ProcessEnv = process.env): ResourceNames {
  const read = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new Error(`The environment variable ${name} is not set`);
    }
    return value;
  };
  return {
    bucket: read(BUCKET_ENV_VAR),
    topicsTable: read(TOPICS_TABLE.envVar),
    logTable: read(LOG_TABLE.envVar),
    groupsTable: read(GROUPS_TABLE.envVar),
  };
}

/**
 * The cluster id the Confluent v3 routes answer to: 22 base64url characters like a Kafka
 * cluster id, derived from the resource names so every function of a deployment (and every
 * restart of the local server on the same data) agrees without storing it anywhere.
 */
export function clusterIdFor(names: ResourceNames): string {
  return createHash('sha256')
    .update(`${names.bucket}|${names.topicsTable}|${names.logTable}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

export function resourceNamesToEnv(names: ResourceNames): Record<string, string> {
  return {
    [BUCKET_ENV_VAR]: names.bucket,
    [TOPICS_TABLE.envVar]: names.topicsTable,
    [LOG_TABLE.envVar]: names.logTable,
    [GROUPS_TABLE.envVar]: names.groupsTable,
  };
}
