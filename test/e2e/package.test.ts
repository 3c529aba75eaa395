/**
 * The package as a user installs it: `npm pack` (its prepare script builds dist/), the tarball
 * installed into a fresh CDK app outside the repository next to aws-cdk-lib and constructs
 * alone, a stack synthesized there with the constructs, the README's SDK example and that app
 * type-checked against the shipped declarations, and the tarball's CLI and SDK run against
 * `npm start`'s entry.
 *
 * Time bound: 5 minutes for packing and installing (PACK_TIMEOUT_MS): the build (tsc and three
 * esbuild bundles) takes one to two minutes on a loaded 2-core machine, the install from npm's
 * cache about one (2.5 minutes for both at a load average of 10); the synth takes about 15 s,
 * the type check about 30 s, each CLI and SDK run a few seconds. The whole file: under 6 minutes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { readmeSdkExample } from '../helpers/readme.js';

const PACK_TIMEOUT_MS = 5 * 60_000;
const REPO = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const run = promisify(execFile);

const repoPackage = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/** The user's CDK app: plain JavaScript here, and type-checked as TypeScript below. */
const CDK_APP = `
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Code, Function, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { EventLog, EventLogConsumer, EventLogTopic, TopicOnFailure } from 'eventlog/cdk';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'UserStack');
const eventLog = new EventLog(stack, 'EventLog', { removalPolicy: RemovalPolicy.DESTROY });

const orders = new EventLogTopic(stack, 'Orders', {
  eventLog,
  name: 'orders',
  partitions: 3,
  configs: { 'retention.ms': 86400000 },
});
const payments = new EventLogTopic(stack, 'Payments', { eventLog, name: 'payments' });

const billing = new Function(stack, 'Billing', {
  runtime: Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
});
new EventLogConsumer(stack, 'BillingConsumer', {
  eventLog,
  topic: orders,
  function: billing,
  startingPosition: StartingPosition.TRIM_HORIZON,
  onFailure: new TopicOnFailure(payments),
});
eventLog.grantProduce(billing, 'payments');
eventLog.grantConsume(billing, 'orders', 'billing');
app.synth();
`;

let work: string;
let appDir: string;
let packedFiles: string[];

/** The environment of a user's shell: node on PATH, nothing of the test run's own. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
    ...extra,
  };
  for (const name of ['NODE_OPTIONS', 'EVENTLOG_URL', 'EVENTLOG_DATA_DIR', 'VITEST']) {
    delete env[name];
  }
  return env;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'eventlog-package-'));
  // npm 10 prints the prepare script's output before the JSON: the JSON is the last array.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: REPO,
    env: userEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (packed === undefined) throw new Error(`npm pack printed no result:\n${stdout}`);
  packedFiles = packed.files.map((file) => file.path);

  appDir = join(work, 'app');
  await mkdir(appDir);
  await writeFile(
    join(appDir, 'package.json'),
    JSON.stringify({ name: 'user-app', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, packed.filename),
      `aws-cdk-lib@${repoPackage.devDependencies['aws-cdk-lib']}`,
      `constructs@${repoPackage.devDependencies['constructs']}`,
    ],
    { cwd: appDir, env: userEnv(), maxBuffer: 64 * 1024 * 1024 },
  );
}, PACK_TIMEOUT_MS);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the compiled code, declarations and prebuilt bundles, and no sources', () => {
    for (const file of [
      'package.json',
      'dist/lib/client/index.js',
      'dist/lib/client/index.d.ts',
      'dist/lib/infra/index.js',
      'dist/lib/infra/index.d.ts',
      'dist/bin/eventlog.js',
      'dist/lambda/api/index.mjs',
      'dist/lambda/retention/index.mjs',
      'dist/lambda/dispatch/index.mjs',
    ]) {
      expect(packedFiles).toContain(file);
    }
    const sources = packedFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
    expect(sources).toEqual([]);
    expect(packedFiles.filter((file) => /^(test|functions|bench)\//.test(file))).toEqual([]);
  });

  it('installs without esbuild, tsx or the repository: only what the app asked for', () => {
    const modules = join(appDir, 'node_modules');
    expect(existsSync(join(modules, 'eventlog/dist/lib/client/index.js'))).toBe(true);
    expect(existsSync(join(modules, 'esbuild'))).toBe(false);
    expect(existsSync(join(modules, 'tsx'))).toBe(false);
  });
});

describe('a CDK app outside the repository', () => {
  it('synthesizes EventLog, two EventLogTopics and an EventLogConsumer with grants, from the prebuilt bundles', async () => {
    await writeFile(join(appDir, 'app.mjs'), CDK_APP);
    const outdir = join(appDir, 'cdk.out');
    await run(process.execPath, ['app.mjs', outdir], { cwd: appDir, env: userEnv() });

    const template = JSON.parse(readFileSync(join(outdir, 'UserStack.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    // Every function with an asset (ours and CDK's custom-resource providers) has it staged;
    // the user's inline function has none.
    const staged = (resource: (typeof functions)[number]): string | undefined => {
      const key = (resource.Properties?.['Code'] as { S3Key?: string } | undefined)?.S3Key;
      return key === undefined ? undefined : join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    };
    for (const resource of functions) {
      const dir = staged(resource);
      if (dir !== undefined) expect(existsSync(dir), dir).toBe(true);
    }
    // The event log's three functions (their descriptions, FUNCTIONS in lib/infra/event-log.ts)
    // are the package's prebuilt bundles, as built.
    const ours = functions.filter((resource) =>
      String(resource.Properties?.['Description']).startsWith('Event log '),
    );
    expect(ours).toHaveLength(3);
    // ...and so is the topics' custom-resource handler; the api function serves the console.
    const topicHandler = functions.filter((resource) =>
      String(resource.Properties?.['Description']).startsWith('Creates, alters and deletes'),
    );
    expect(topicHandler).toHaveLength(1);
    for (const resource of [...ours, ...topicHandler]) {
      const dir = staged(resource)!;
      const files = readdirSync(dir).filter((name) => name !== 'console');
      expect(files.sort(), dir).toEqual(['index.mjs', 'index.mjs.map']);
    }
    // The two topics are custom resources, and the consumer's subscription deploys after orders.
    const topics = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === 'Custom::EventLogTopic',
    );
    expect(topics.map(([, r]) => r.Properties?.['TopicName']).sort()).toEqual([
      'orders',
      'payments',
    ]);
    const ordersId = topics.find(([, r]) => r.Properties?.['TopicName'] === 'orders')?.[0];
    const dependents = Object.values(template.Resources).filter((resource) =>
      ((resource as { DependsOn?: string[] }).DependsOn ?? []).includes(ordersId as string),
    );
    expect(dependents.length).toBeGreaterThan(0);
    // The grants' ACLs and the consumer's subscription are written at deploy.
    expect(JSON.stringify(template)).toContain('billing');

    // Nothing the assembly says points back into this repository.
    for (const file of readdirSync(outdir).filter((name) => name.endsWith('.json'))) {
      expect(readFileSync(join(outdir, file), 'utf8'), file).not.toContain(REPO);
    }
  });
});

describe('the shipped declarations', () => {
  it("type-check the README's SDK example and the CDK app as a strict TypeScript user's code", async () => {
    await writeFile(join(appDir, 'sdk.ts'), readmeSdkExample(REPO));
    await writeFile(join(appDir, 'cdk-app.ts'), CDK_APP);
    // skipLibCheck off: the package's .d.ts files are checked too, not only their use. Node's
    // types come from the repository's @types (a user's app would install its own).
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [join(REPO, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['sdk.ts', 'cdk-app.ts'],
    };
    await writeFile(join(appDir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const checked = await run(
      process.execPath,
      [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', appDir],
      { cwd: appDir, env: userEnv() },
    ).catch((error: { stdout: string; stderr: string }) => error);
    expect(checked.stdout + checked.stderr).toBe('');
  }, 120_000);
});

describe("the tarball's CLI and SDK against npm start", () => {
  let server: { child: ChildProcess; api: string; exited: Promise<unknown> } | undefined;

  beforeAll(async () => {
    const dataDir = join(work, 'local');
    await mkdir(dataDir);
    // `npm start`'s entry, on the test run's emulators (as it runs on LocalStack's).
    const { endpoints } = inject('eventlog');
    const child = spawn(
      process.execPath,
      ['--import', TSX_LOADER, join(REPO, 'lib/local/main.ts')],
      {
        cwd: dataDir,
        env: userEnv({
          PORT: '0',
          AWS_ENDPOINT_URL_S3: endpoints.s3,
          AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise((done) => child.once('exit', done));
    let output = '';
    const api = await new Promise<string>((ready, fail) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const url = /^ {2}API +(\S+)$/m.exec(output)?.[1];
        if (output.includes('Ready.') && url !== undefined) ready(url);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      exited.then(() => fail(new Error(`npm start's entry exited:\n${output}`)));
    });
    server = { child, api, exited };
  }, 120_000);

  afterAll(async () => {
    server?.child.kill('SIGINT');
    await server?.exited;
  });

  /** The bin as npm linked it: the shebang and the file mode are part of what is tested. */
  async function eventlog(args: string[], input = ''): Promise<{ code: number; stdout: string }> {
    const running = run(
      join(appDir, 'node_modules/.bin/eventlog'),
      ['--url', server!.api, ...args],
      {
        cwd: appDir,
        env: userEnv(),
      },
    );
    running.child.stdin?.end(input);
    try {
      return { code: 0, stdout: (await running).stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout + failed.stderr };
    }
  }

  it('the CLI creates a topic, produces to it and consumes it back', async () => {
    const topic = uniqueName('pack-cli');
    expect(await eventlog(['topics', 'create', topic, '--partitions', '2'])).toMatchObject({
      code: 0,
    });
    const produced = await eventlog(['produce', topic, '--key', 'k1'], 'first\nsecond\n');
    expect(produced.code, produced.stdout).toBe(0);
    const consumed = await eventlog([
      'consume',
      topic,
      '--from-beginning',
      '--max',
      '2',
      '--format',
      'value',
    ]);
    expect(consumed.code, consumed.stdout).toBe(0);
    expect(consumed.stdout.trim().split('\n')).toEqual(['first', 'second']);
  });

  it("the README's SDK example runs as a plain .mjs script importing the package", async () => {
    const topic = uniqueName('orders');
    const group = uniqueName('billing');
    const script = readmeSdkExample(REPO)
      .replace("'http://127.0.0.1:8787'", `'${server!.api}'`)
      .replaceAll("'orders'", `'${topic}'`)
      .replaceAll("'billing'", `'${group}'`);
    expect(script).toContain("from 'eventlog'");
    await writeFile(join(appDir, 'sdk.mjs'), script);
    const { stdout } = await run(process.execPath, ['sdk.mjs'], {
      cwd: appDir,
      env: userEnv(),
      timeout: 60_000,
    });
    expect(stdout).toMatch(/partition: \d, offset: 0/);
    const consumed = stdout.split('\n').filter((line) => /^\d+ 0 /.test(line));
    expect(consumed).toHaveLength(2);
  });
});
