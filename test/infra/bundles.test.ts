/**
 * The bundles are what runs: each Lambda's asset, exactly as `cdk synth` leaves it, loaded in
 * a fresh Node process outside the project (no node_modules to fall back on), with the
 * environment variables its template gives it, and invoked with the events AWS sends. A
 * dependency left out of a bundle, an environment variable the code does not read, or a
 * handler that does not exist fails here, not after a deployment.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  BUNDLE_GOALS,
  constructPaths,
  type FunctionBundle,
  functionBundles,
  synthesize,
} from '../../bench/bundles.js';
import { createApp } from '../../lib/api/app.js';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import {
  createResources,
  deleteResources,
  localResourceNames,
} from '../../lib/local/create-resources.js';
import { createAwsClients, destroyAwsClients } from '../../lib/store/aws-clients.js';
import {
  clusterIdFor,
  type ResourceNames,
  resourceNamesToEnv,
  TABLES,
} from '../../lib/store/resources.js';
import { testEnvironment, uniqueName } from '../helpers/aws.js';

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface Invocation {
  ok: boolean;
  result?: unknown;
  error?: { name: string; message: string; stack?: string };
}

interface RunOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Present when the module loaded and the handler ran (each event in turn). */
  invocations?: Invocation[];
  loadError?: { name: string; message: string };
}

const RESULT_MARKER = '@@eventlog-bundle-result@@';

/**
 * A stand-in for the Node.js Lambda runtime: import the handler's module by file URL, then
 * call the named export with each event and a Lambda context, one after the other in the
 * same (warm) process. Prints one marked JSON line; the bundle may log anything around it.
 */
const RUNNER = `
const [file, exportName, functionName] = process.argv.slice(1);
const events = JSON.parse(await new Promise((resolve) => {
  let data = '';
  process.stdin.on('data', (chunk) => { data += chunk; });
  process.stdin.on('end', () => resolve(data));
}));
const serialize = (e) => ({ name: e?.name ?? 'Error', message: String(e?.message ?? e), stack: e?.stack });
let module;
try {
  module = await import(file);
} catch (error) {
  console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify({ loadError: serialize(error) }));
  process.exit(0);
}
const handler = module[exportName];
if (typeof handler !== 'function') {
  console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify({ loadError: { name: 'Runtime.HandlerNotFound', message: 'index.' + exportName + ' is undefined or not exported' } }));
  process.exit(0);
}
const invocations = [];
for (const [i, event] of events.entries()) {
  const deadline = Date.now() + 30000;
  const context = {
    functionName, functionVersion: '$LATEST', memoryLimitInMB: '1024',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + functionName,
    awsRequestId: 'request-' + i, logGroupName: '/aws/lambda/' + functionName, logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    invocations.push({ ok: true, result: await handler(event, context) });
  } catch (error) {
    invocations.push({ ok: false, error: serialize(error) });
  }
}
console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify({ invocations }));
process.exit(0);
`;

function runBundle(
  bundle: Pick<FunctionBundle, 'dir' | 'file' | 'exportName'>,
  env: Record<string, string>,
  events: unknown[],
): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        RUNNER,
        pathToFileURL(bundle.file).href,
        bundle.exportName,
        'eventlog-test',
      ],
      // Lambda's working directory is the unpacked asset (/var/task).
      { cwd: bundle.dir, env, timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
        const parsed = line === undefined ? {} : JSON.parse(line.slice(RESULT_MARKER.length));
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
          ...parsed,
        });
      },
    );
    child.stdin?.end(JSON.stringify(events));
  });
}

/** An API Gateway HTTP API (payload format 2.0) event for the catch-all route. */
function httpEvent(
  method: string,
  path: string,
  options: { query?: string; body?: unknown; headers?: Record<string, string> } = {},
): Record<string, unknown> {
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath: path,
    rawQueryString: options.query ?? '',
    ...(options.query
      ? { queryStringParameters: Object.fromEntries(new URLSearchParams(options.query)) }
      : {}),
    headers: {
      accept: 'application/json',
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'eventlog-bundle-test',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      ...(body === undefined
        ? {}
        : {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          }),
      ...options.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: {
        iam: {
          accessKey: 'AKIAEXAMPLE',
          accountId: '123456789012',
          callerId: 'AIDAEXAMPLE',
          principalOrgId: null,
          userArn: 'arn:aws:iam::123456789012:user/producer',
          userId: 'AIDAEXAMPLE',
        },
      },
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'eventlog-bundle-test',
      },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: 'ANY /{proxy+}',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    pathParameters: { proxy: path.slice(1) },
    ...(body === undefined ? {} : { body, isBase64Encoded: false }),
  };
}

/** EventBridge's payload for a schedule rule, as the retention function receives it. */
function scheduledEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/EventLogStack-RetentionSchedule'],
    detail: {},
  };
}

interface HttpResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read by the members each test asserts on
const json = (invocation: Invocation | undefined): { status: number; body: any } => {
  expect(invocation?.ok, JSON.stringify(invocation?.error)).toBe(true);
  const result = invocation!.result as HttpResult;
  const text = result.isBase64Encoded
    ? Buffer.from(result.body, 'base64').toString('utf8')
    : result.body;
  return { status: result.statusCode, body: JSON.parse(text) };
};

describe('Lambda bundles, loaded and invoked as Lambda would', () => {
  let outdir: string;
  let bundles: FunctionBundle[];
  let resources: Record<string, TemplateResource>;
  let paths: Map<string, string>;
  let names: ResourceNames;
  const clients = () =>
    createAwsClients({
      s3Endpoint: testEnvironment().endpoints.s3,
      dynamoEndpoint: testEnvironment().endpoints.dynamodb,
    });

  beforeAll(async () => {
    // Outside the repository: module resolution must not find the project's node_modules.
    ({ outdir } = await synthesize(mkdtempSync(join(tmpdir(), 'eventlog-bundle-test-'))));
    bundles = functionBundles(outdir);
    resources = (
      JSON.parse(readFileSync(join(outdir, 'EventLogStack.template.json'), 'utf8')) as {
        Resources: Record<string, TemplateResource>;
      }
    ).Resources;
    paths = constructPaths(outdir);

    // Tables and bucket of our own: retention sweeps every topic it finds, and must not
    // touch the topics other test files are working with.
    names = localResourceNames(uniqueName('bundles').toLowerCase().slice(0, 40));
    const own = clients();
    try {
      await createResources(own, names);
      // The api bundle runs with auth on, as deployed: the events' IAM user is an admin.
      await createBroker(createStores(own, names)).auth.addAcl({
        principal: 'iam:arn:aws:iam::123456789012:user/producer',
        resourceType: 'cluster',
        patternType: 'literal',
        resourceName: 'eventlog',
        operation: 'admin',
        permission: 'allow',
      });
    } finally {
      destroyAwsClients(own);
    }
  }, 180_000);

  afterAll(async () => {
    if (outdir !== undefined) rmSync(outdir, { recursive: true, force: true });
    if (names === undefined) return;
    const own = clients();
    try {
      await deleteResources(own, names);
    } finally {
      destroyAwsClients(own);
    }
  });

  const bundle = (name: string): FunctionBundle => {
    const found = bundles.find((b) => b.path.endsWith(`/${name}Function/Resource`));
    if (found === undefined)
      throw new Error(`no ${name} function in ${bundles.map((b) => b.path)}`);
    return found;
  };

  /**
   * The function's environment as the template defines it, each reference to the stack's
   * bucket or tables replaced by the name of the test's own bucket or table, plus what
   * Lambda itself sets and the emulators' endpoints. Nothing of this process's environment.
   */
  const lambdaEnvironment = (fn: FunctionBundle): Record<string, string> => {
    const ownNames = resourceNamesToEnv(names);
    const env: Record<string, string> = {};
    for (const [variable, value] of Object.entries(fn.environment)) {
      if (typeof value === 'string') {
        env[variable] = value;
        continue;
      }
      const ref = (value as { Ref?: string }).Ref;
      const resource = ref === undefined ? undefined : resources[ref];
      if (resource?.Type === 'AWS::S3::Bucket') {
        env[variable] = names.bucket;
      } else if (resource?.Type === 'AWS::DynamoDB::Table') {
        const path = paths.get(ref!) ?? '';
        const definition = TABLES.find((t) => path.endsWith(`/${t.id}Table/Resource`));
        if (definition === undefined)
          throw new Error(`${variable}: table ${ref} (${path}) is not in TABLES`);
        env[variable] = ownNames[definition.envVar]!;
      } else if (resource?.Type === 'AWS::Lambda::Function') {
        // The dispatcher's name, for the api's notifications (sent to a closed port below).
        env[variable] = `eventlog-test-${paths.get(ref!)?.split('/').at(-2) ?? 'function'}`;
      } else if (variable === 'EVENTLOG_BOOTSTRAP_SERVERS') {
        env[variable] = 'api.execute-api.us-east-1.amazonaws.com:443';
      } else {
        throw new Error(`${variable}: the test cannot map ${JSON.stringify(value)}`);
      }
    }
    const { endpoints } = testEnvironment();
    return {
      ...env,
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_LAMBDA_FUNCTION_NAME: 'eventlog-test',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: fn.dir,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      // No Lambda here: the api's produce notifications are refused at once (and only logged).
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
    };
  };

  it('finds one bundle per function, each outside any node_modules tree', () => {
    expect(bundles.map((b) => b.path.split('/').at(-2)).sort()).toEqual([
      'ApiFunction',
      'DispatchFunction',
      'RetentionFunction',
    ]);
    for (const fn of bundles) {
      expect(fn.file.endsWith('index.mjs')).toBe(true);
      for (let dir = fn.dir; dir !== dirname(dir); dir = dirname(dir)) {
        expect(
          existsSync(join(dir, 'node_modules')),
          `${dir}/node_modules would mask missing dependencies`,
        ).toBe(false);
      }
    }
  });

  it('imports nothing but Node built-ins', async () => {
    const builtins = new Set(builtinModules);
    for (const fn of bundles) {
      // esbuild parses the bundle and lists every import it makes (static, dynamic, require),
      // which a text search cannot tell from the same words inside strings.
      const { metafile } = await build({
        entryPoints: [fn.file],
        bundle: true,
        write: false,
        metafile: true,
        platform: 'node',
        format: 'esm',
        external: ['*'],
        logLevel: 'silent',
      });
      const imports = Object.values(metafile.inputs).flatMap((input) => input.imports);
      expect(imports.length, fn.path).toBeGreaterThan(0);
      const foreign = imports
        .map((i) => i.path)
        .filter((path) => !path.startsWith('node:') && !builtins.has(path));
      expect(foreign, fn.path).toEqual([]);
    }
  });

  it('api: creates a topic, produces and fetches through API Gateway v2 events', async () => {
    const topic = uniqueName('bundle');
    const outcome = await runBundle(bundle('Api'), lambdaEnvironment(bundle('Api')), [
      httpEvent('POST', '/v1/topics', { body: { name: topic, partitions: 2 } }),
      httpEvent('POST', `/v1/topics/${topic}/records`, {
        body: {
          valueFormat: 'json',
          records: [
            { key: 'k1', value: { n: 1 }, partition: 1, headers: [{ key: 'h', value: 'v' }] },
            { key: 'k2', value: { n: 2 }, partition: 1 },
          ],
        },
      }),
      httpEvent('GET', `/v1/topics/${topic}/partitions/1/records`, {
        query: 'offset=0&valueFormat=json',
      }),
      // A Confluent REST Proxy v2 producer through the same bundle.
      httpEvent('POST', `/topics/${topic}`, {
        body: { records: [{ value: { n: 3 }, partition: 0 }] },
        headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
      }),
      httpEvent('GET', '/v1/no-such-route'),
    ]);
    expect(outcome.loadError, outcome.stderr).toBeUndefined();
    const [created, produced, fetched, confluent, missing] = outcome.invocations ?? [];
    expect(json(created).status).toBe(201);
    expect(json(produced)).toMatchObject({
      status: 200,
      body: {
        topic,
        records: [
          { partition: 1, offset: 0 },
          { partition: 1, offset: 1 },
        ],
      },
    });
    const page = json(fetched);
    expect(page.status).toBe(200);
    expect(page.body.records).toMatchObject([
      { offset: 0, key: 'k1', value: { n: 1 }, headers: [{ key: 'h', value: 'v' }] },
      { offset: 1, key: 'k2', value: { n: 2 } },
    ]);
    expect(json(confluent)).toMatchObject({
      status: 200,
      body: { offsets: [{ partition: 0, offset: 0 }] },
    });
    expect(json(missing)).toMatchObject({ status: 404, body: { error_code: 404 } });
  });

  it('api: serves the web console from its own package (console/ beside index.mjs)', async () => {
    const api = bundle('Api');
    expect(existsSync(join(api.dir, 'console', 'app.js'))).toBe(true);
    const outcome = await runBundle(api, lambdaEnvironment(api), [
      httpEvent('GET', '/console'),
      httpEvent('GET', '/console/app.js'),
    ]);
    expect(outcome.loadError, outcome.stderr).toBeUndefined();
    const [page, script] = (outcome.invocations ?? []).map((invocation) => {
      const result = invocation.result as HttpResult;
      const text = result.isBase64Encoded
        ? Buffer.from(result.body, 'base64').toString('utf8')
        : result.body;
      return { status: result.statusCode, type: result.headers?.['content-type'], text };
    });
    expect(page).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(page?.text).toContain('<script type="module" src="/console/app.js">');
    expect(script).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(script?.text).toBe(readFileSync(join(api.dir, 'console', 'app.js'), 'utf8'));
  });

  it('api: snappy topics work without the native module (left out of the bundle)', async () => {
    const topic = uniqueName('snappy');
    const value = 'a snappy record '.repeat(64);
    const outcome = await runBundle(bundle('Api'), lambdaEnvironment(bundle('Api')), [
      httpEvent('POST', '/v1/topics', {
        body: { name: topic, partitions: 1, configs: { 'compression.type': 'snappy' } },
      }),
      httpEvent('POST', `/v1/topics/${topic}/records`, { body: { records: [{ value }] } }),
      httpEvent('GET', `/v1/topics/${topic}/partitions/0/records`, { query: 'offset=0' }),
    ]);
    expect(outcome.loadError, outcome.stderr).toBeUndefined();
    const [created, produced, fetched] = outcome.invocations ?? [];
    expect(json(created).status).toBe(201);
    expect(json(produced).status).toBe(200);
    expect(json(fetched).body.records).toMatchObject([{ offset: 0, value }]);
  });

  it('api: the bundle stays under 1 MB (10^6 bytes), and no bundle is over the goal', () => {
    // lib/infra/bundling.ts keeps it there (zod's English locale only, the SDK's unused
    // schemas left out); without its plugins the api bundle is about 1.28 MB.
    expect(statSync(bundle('Api').file).size).toBeLessThan(1_000_000);
    for (const fn of bundles) {
      expect(statSync(fn.file).size, fn.path).toBeLessThan(BUNDLE_GOALS.maxBytes);
    }
  });

  it("api: validation errors are zod's English messages, the same as the unbundled app's", async () => {
    const topic = uniqueName('invalid');
    const invalid: { method: string; path: string; query?: string; body?: unknown }[] = [
      { method: 'POST', path: `/v1/topics/${topic}/records`, body: { records: [{ vaule: 'a' }] } },
      {
        method: 'POST',
        path: `/v1/topics/${topic}/records`,
        body: { records: [{ value: 'a', timestamp: -5 }] },
      },
      {
        method: 'POST',
        path: '/v1/topics',
        body: { name: uniqueName('invalid'), partitions: 'two' },
      },
      { method: 'GET', path: `/v1/topics/${topic}/partitions/0/records`, query: 'maxRecords=1' },
    ];
    const outcome = await runBundle(bundle('Api'), lambdaEnvironment(bundle('Api')), [
      httpEvent('POST', '/v1/topics', { body: { name: topic, partitions: 1 } }),
      ...invalid.map(({ method, path, query, body }) =>
        httpEvent(method, path, {
          ...(query === undefined ? {} : { query }),
          ...(body === undefined ? {} : { body }),
        }),
      ),
    ]);
    expect(outcome.loadError, outcome.stderr).toBeUndefined();
    const [created, ...answers] = outcome.invocations ?? [];
    expect(json(created).status).toBe(201);

    // The same requests to the app built from the sources, with zod as installed (every locale).
    const own = clients();
    onTestFinished(() => destroyAwsClients(own));
    const app = createApp({
      broker: createBroker(createStores(own, names)),
      clusterId: clusterIdFor(names),
      logError: () => {},
      validateResponses: true,
    });
    for (const [i, { method, path, query, body }] of invalid.entries()) {
      const response = await app.request(query === undefined ? path : `${path}?${query}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const unbundled = { status: response.status, body: await response.json() };
      expect(unbundled.status, `${method} ${path}`).toBe(400);
      expect(json(answers[i]), `${method} ${path}`).toEqual(unbundled);
    }
    const messages = answers.map((answer) => String(json(answer).body.message));
    expect(messages[0]).toBe('Invalid produce request: records[0]: Unrecognized key: "vaule"');
    expect(messages[2]).toMatch(/expected number, received string/);
  });

  it('retention: runs on a scheduled EventBridge event', async () => {
    const outcome = await runBundle(bundle('Retention'), lambdaEnvironment(bundle('Retention')), [
      scheduledEvent(),
    ]);
    expect(outcome.loadError, outcome.stderr).toBeUndefined();
    const [run] = outcome.invocations ?? [];
    expect(run?.ok, JSON.stringify(run?.error)).toBe(true);
    // The api test's topic lives in the same (test-own) tables.
    expect(run?.result).toMatchObject({
      topics: expect.any(Array),
      deletedTopicsCleaned: expect.any(Array),
    });
  });

  it('dispatch: runs on a scheduled EventBridge event and on a produce notification', async () => {
    const outcome = await runBundle(bundle('Dispatch'), lambdaEnvironment(bundle('Dispatch')), [
      scheduledEvent(),
      { topic: 'no-such-topic', partitions: [0] },
    ]);
    expect(outcome.loadError, outcome.stderr).toBeUndefined();
    for (const run of outcome.invocations ?? []) {
      expect(run.ok, JSON.stringify(run.error)).toBe(true);
      // The test's own tables hold no subscription: nothing to dispatch, nothing failed.
      expect(run.result).toMatchObject({ partitions: 0, invocations: 0, errors: [] });
    }
    expect(outcome.invocations).toHaveLength(2);
  });

  describe('the harness catches what it is here to catch', () => {
    it('an environment variable the code does not read', async () => {
      const api = bundle('Api');
      const env = lambdaEnvironment(api);
      const [first] = TABLES;
      env[`${first!.envVar}_RENAMED`] = env[first!.envVar]!;
      delete env[first!.envVar];
      const outcome = await runBundle(api, env, [httpEvent('GET', '/v1/topics')]);
      expect(outcome.loadError?.message).toContain(first!.envVar);
    });

    it('a handler export that does not exist', async () => {
      const api = bundle('Api');
      const outcome = await runBundle({ ...api, exportName: 'main' }, lambdaEnvironment(api), [{}]);
      expect(outcome.loadError?.name).toBe('Runtime.HandlerNotFound');
    });

    it('a dependency left out of the bundle', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eventlog-bundle-missing-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'index.mjs');
      writeFileSync(
        file,
        "import '@aws-sdk/client-s3';\nexport const handler = async () => 'unreachable';\n",
      );
      const outcome = await runBundle(
        { dir, file, exportName: 'handler' },
        { PATH: process.env['PATH'] ?? '' },
        [{}],
      );
      expect(outcome.loadError?.message).toMatch(
        /Cannot find (package|module) '@aws-sdk\/client-s3'/,
      );
    });
  });
});
