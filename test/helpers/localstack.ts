/**
 * `npm run test:localstack`: the integration and e2e suites against the stack that
 * `npm run localstack:deploy` deployed to LocalStack.
 *
 * Reads the deployment's outputs (cdk-outputs.json, written by `cdklocal deploy
 * --outputs-file`), points the SDK at LocalStack (AWS_ENDPOINT_URL_S3 / _DYNAMODB, which
 * test/helpers/global-setup.ts honours instead of starting its emulators), and passes the
 * deployed API's URL and resource names on:
 *
 *   EVENTLOG_API_URL          the API's front door at LocalStack's host name: the function URL
 *                             (the default, in LocalStack's free plan) or the HTTP API
 *   EVENTLOG_BUCKET, EVENTLOG_*_TABLE   the deployed stack's resources (lib/store/resources.ts)
 *
 * Usage: tsx test/helpers/localstack.ts [cdk-outputs.json] [-- extra vitest arguments]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUCKET_ENV_VAR, TABLES } from '../../lib/store/resources.js';

export const LOCALSTACK_ENDPOINT = 'http://localhost.localstack.cloud:4566';

/** The stack's outputs, as `cdk deploy --outputs-file` writes them: { [stack]: { [output]: value } }. */
export type CdkOutputs = Record<string, Record<string, string>>;

/**
 * The environment the suites need to run against a deployed stack (the API's URL: see
 * localStackApiUrl).
 */
export function localStackTestEnv(
  outputs: CdkOutputs,
  endpoint = LOCALSTACK_ENDPOINT,
  stackName = 'EventLogStack',
): Record<string, string> {
  const stack = outputs[stackName];
  if (stack === undefined) {
    throw new Error(
      `No outputs of ${stackName} (found: ${Object.keys(outputs).join(', ') || 'none'})`,
    );
  }
  const output = (name: string): string => {
    const value = stack[name];
    if (value === undefined || value === '') throw new Error(`${stackName} has no output ${name}`);
    return value;
  };
  const gateway = new URL(endpoint);

  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ENDPOINT_URL_LAMBDA: endpoint,
    AWS_REGION: stack['Region'] ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    EVENTLOG_API_URL: localStackApiUrl(output('ApiUrl'), gateway),
    // EventLogStack names each table's output after its definition in resources.ts.
    [BUCKET_ENV_VAR]: output('BucketName'),
    ...Object.fromEntries(TABLES.map((table) => [table.envVar, output(`${table.id}TableName`)])),
  };
}

/**
 * The deployed API's URL as LocalStack serves it. The output names it by its AWS host name:
 * a function URL (`{urlId}.lambda-url.{region}.on.aws`, the default front door and the one
 * LocalStack's free plan has) is served at `{urlId}.lambda-url.{region}.localhost.localstack.cloud`,
 * an HTTP API (`{apiId}.execute-api.…`, frontDoor httpApi, paid plans) at
 * `{apiId}.execute-api.localhost.localstack.cloud`; one already on LocalStack's host keeps its id.
 */
export function localStackApiUrl(apiUrl: string, gateway: URL): string {
  const port = gateway.port || '4566';
  const host = new URL(apiUrl).hostname;
  const functionUrl =
    /^([a-z0-9]+)\.lambda-url\.([a-z0-9-]+)\.(?:on\.aws|localhost\.localstack\.cloud)$/.exec(host);
  if (functionUrl !== null) {
    return `${gateway.protocol}//${functionUrl[1]}.lambda-url.${functionUrl[2]}.localhost.localstack.cloud:${port}/`;
  }
  const httpApi = /^([a-z0-9]+)\.execute-api\./.exec(host);
  if (httpApi !== null) {
    return `${gateway.protocol}//${httpApi[1]}.execute-api.localhost.localstack.cloud:${port}/`;
  }
  throw new Error(`Cannot read a function URL or an API id from ApiUrl ${apiUrl}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const separator = args.indexOf('--');
  const own = separator === -1 ? args : args.slice(0, separator);
  const vitestArgs = separator === -1 ? [] : args.slice(separator + 1);
  const file = resolve(own[0] ?? 'cdk-outputs.json');
  if (!existsSync(file)) {
    throw new Error(`${file} not found: run \`npm run localstack:deploy\` first`);
  }
  const outputs = JSON.parse(readFileSync(file, 'utf8')) as CdkOutputs;
  const endpoint = process.env['LOCALSTACK_ENDPOINT'] ?? LOCALSTACK_ENDPOINT;
  const env = { ...process.env, ...localStackTestEnv(outputs, endpoint) };
  process.stderr.write(
    `LocalStack ${endpoint}; API ${env['EVENTLOG_API_URL']}; bucket ${env['EVENTLOG_BUCKET']}\n`,
  );
  const child = spawn(
    'npx',
    ['vitest', 'run', 'test/integration', 'test/e2e', '--passWithNoTests', ...vitestArgs],
    { stdio: 'inherit', env, cwd: join(import.meta.dirname, '../..') },
  );
  const code = await new Promise<number>((done) => child.on('exit', (c) => done(c ?? 1)));
  process.exitCode = code;
}

if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
