import { describe, expect, it } from 'vitest';
import { resourceNamesFromEnv } from '../../lib/store/resources.js';
import { localStackTestEnv } from '../helpers/localstack.js';

describe('test:localstack environment from cdk-outputs.json', () => {
  const outputs = {
    EventLogStack: {
      ApiUrl: 'https://k3x9q2.execute-api.us-east-1.amazonaws.com/',
      Region: 'us-east-1',
      BucketName: 'eventlogstack-eventlogsegments-abc',
      TopicsTableName: 'EventLogStack-EventLogTopicsTable-1',
      LogTableName: 'EventLogStack-EventLogLogTable-2',
      GroupsTableName: 'EventLogStack-EventLogGroupsTable-3',
    },
  };

  it('gives the suites the deployed names, as the functions read them', () => {
    const env = localStackTestEnv(outputs);
    expect(resourceNamesFromEnv(env)).toEqual({
      bucket: 'eventlogstack-eventlogsegments-abc',
      topicsTable: 'EventLogStack-EventLogTopicsTable-1',
      logTable: 'EventLogStack-EventLogLogTable-2',
      groupsTable: 'EventLogStack-EventLogGroupsTable-3',
    });
    expect(env['AWS_ENDPOINT_URL_S3']).toBe('http://localhost.localstack.cloud:4566');
    expect(env['AWS_ENDPOINT_URL_DYNAMODB']).toBe('http://localhost.localstack.cloud:4566');
  });

  it('serves the API at LocalStack’s execute-api host', () => {
    expect(localStackTestEnv(outputs, 'http://127.0.0.1:4566')['EVENTLOG_API_URL']).toBe(
      'http://k3x9q2.execute-api.localhost.localstack.cloud:4566/',
    );
  });

  it('says which output is missing', () => {
    const { GroupsTableName: _, ...partial } = outputs.EventLogStack;
    expect(() => localStackTestEnv({ EventLogStack: partial })).toThrow(
      /no output GroupsTableName/,
    );
    expect(() => localStackTestEnv({})).toThrow(/No outputs of EventLogStack/);
  });
});
