/** The event log's Lambda functions: what each one runs, may do and is sized to. */
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Lambda functions of the event log, by the name used in ids, outputs and options. */
export type EventLogFunctionName = 'api' | 'retention' | 'dispatch';

export interface FunctionDefinition {
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

/** The construct-id stem of a function's resources: `api` gives ApiFunction, ApiRole, ApiLogs... */
export function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
