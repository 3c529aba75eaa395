import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PROJECT_ROOT } from '../../lib/infra/event-log.js';
import { resourceNamesFromEnv } from '../../lib/store/resources.js';
import { LOCALSTACK_ENDPOINT, localStackApiUrl, localStackTestEnv } from '../helpers/localstack.js';
import { testContext } from './synth.js';

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

/**
 * `npm run localstack:deploy` cannot run here (LocalStack needs Docker): everything up to the
 * deploy is checked instead. The script's context, the app it deploys (bin/app.ts, as cdklocal
 * runs it, without bundling) and the compose file's services must agree on a stack that
 * LocalStack's free plan deploys: a function URL front door, no API Gateway.
 */
describe('localstack:deploy on the free plan', () => {
  const scripts = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const commands = (scripts['localstack:deploy'] ?? '').split(' && ');
  const contextOf = (command: string): Record<string, string> =>
    Object.fromEntries(
      [...command.matchAll(/-c (\S+)=(\S+)/g)].map(([, key, value]) => [key!, value!]),
    );

  it('bootstraps and deploys with the same context: a function URL, open, destroyable', () => {
    expect(commands.map((command) => command.split(' ').slice(0, 2).join(' '))).toEqual([
      'cdklocal bootstrap',
      'cdklocal deploy',
    ]);
    const [bootstrap, deploy] = commands.map(contextOf);
    expect(deploy).toEqual({
      'eventlog:removalPolicy': 'destroy',
      'eventlog:authorization': 'none',
      'eventlog:frontDoor': 'functionUrl',
    });
    expect(bootstrap).toEqual(deploy);
    expect(commands[1]).toContain('--outputs-file cdk-outputs.json');
    expect(scripts['test:localstack']).toBe('tsx test/helpers/localstack.ts');
  });

  it('synthesizes a stack of free-plan services only, all of them in the compose file', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'eventlog-localstack-'));
    onTestFinished(() => rmSync(outdir, { recursive: true, force: true }));
    const context = { ...testContext(), ...contextOf(commands[1] ?? '') };
    // What the CDK CLI hands the app: the context and the output directory.
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'bin/app.ts')],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        timeout: 110_000,
      },
    );
    const template = JSON.parse(
      readFileSync(join(outdir, 'EventLogStack.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string }>; Outputs: Record<string, unknown> };
    const types = new Set(Object.values(template.Resources).map((resource) => resource.Type));
    expect(types).toContain('AWS::Lambda::Url');
    expect([...types].filter((type) => type.startsWith('AWS::ApiGateway'))).toEqual([]);
    expect(JSON.stringify(template.Outputs['ApiUrl'])).toContain('FunctionUrl');

    const compose = readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
    const services = new Set(/^\s+SERVICES: (\S+)$/m.exec(compose)?.[1]?.split(','));
    expect(services.has('apigatewayv2')).toBe(false);
    // A custom resource is a Lambda function CloudFormation invokes.
    const needed = [...types].map((type) =>
      type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource'
        ? 'lambda'
        : type.split('::')[1]!.toLowerCase(),
    );
    expect(needed.filter((service) => !services.has(service))).toEqual([]);
  }, 120_000);

  it('points the suites at the function URL on LocalStack’s host', () => {
    const outputs = {
      EventLogStack: {
        ApiUrl: 'https://abcdef123456.lambda-url.us-east-1.on.aws/',
        Region: 'us-east-1',
        BucketName: 'b',
        TopicsTableName: 't',
        LogTableName: 'l',
        GroupsTableName: 'g',
      },
    };
    expect(localStackTestEnv(outputs)['EVENTLOG_API_URL']).toBe(
      'http://abcdef123456.lambda-url.us-east-1.localhost.localstack.cloud:4566/',
    );
    expect(
      localStackApiUrl(
        'http://abcdef123456.lambda-url.us-east-1.localhost.localstack.cloud:4566/',
        new URL('http://127.0.0.1:4566'),
      ),
    ).toBe('http://abcdef123456.lambda-url.us-east-1.localhost.localstack.cloud:4566/');
    expect(() => localStackApiUrl('https://example.com/', new URL(LOCALSTACK_ENDPOINT))).toThrow(
      /Cannot read a function URL or an API id/,
    );
  });
});
