import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TABLES } from '../store/resources.js';
import { EventLog, type EventLogFunctionName, type EventLogProps } from './event-log.js';

export interface EventLogStackProps extends StackProps {
  readonly eventLog?: EventLogProps;
}

/**
 * The deployable unit: one EventLog and the outputs clients and scripts read (the CLI's
 * `--url`, `cdk-outputs.json` for the LocalStack test run). Output ids are fixed here, at
 * the stack's root, so that they do not carry a construct-path hash.
 */
export class EventLogStack extends Stack {
  readonly eventLog: EventLog;

  constructor(scope: Construct, id: string, props: EventLogStackProps = {}) {
    super(scope, id, {
      description: 'Serverless event log with Kafka semantics (S3 segments, DynamoDB index)',
      ...props,
    });
    this.eventLog = new EventLog(this, 'EventLog', props.eventLog);

    new CfnOutput(this, 'ApiUrl', {
      value: this.eventLog.apiUrl,
      description: 'Base URL of the API for SigV4 callers (eventlog --url <ApiUrl>)',
    });
    if (this.eventLog.bearerUrl !== undefined) {
      new CfnOutput(this, 'BearerUrl', {
        value: this.eventLog.bearerUrl,
        description: 'Base URL of the API for API keys and JWT (Authorization: Bearer)',
      });
    }
    // Clients sign with SigV4 for this region.
    new CfnOutput(this, 'Region', { value: this.region });
    new CfnOutput(this, 'BucketName', {
      value: this.eventLog.bucket.bucketName,
      description: 'Segment bucket',
    });
    for (const definition of TABLES) {
      new CfnOutput(this, `${definition.id}TableName`, {
        value: this.eventLog.table(definition.id).tableName,
        description: `${definition.id} table (functions read it from ${definition.envVar})`,
      });
    }
    for (const [name, fn] of Object.entries(this.eventLog.functions)) {
      new CfnOutput(this, `${outputName(name as EventLogFunctionName)}FunctionName`, {
        value: fn.functionName,
      });
    }
  }
}

function outputName(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
