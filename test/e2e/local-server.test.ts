import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The local event log as a user runs it: `npm start`'s entry in a fresh directory, driven by
 * the CLI and by plain HTTP requests as Confluent's REST Proxy documentation writes them,
 * stopped with Ctrl-C (SIGINT), started again on the same directory, and read back.
 */

const REPO = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(REPO, 'lib/local/main.ts');
const CLI = join(REPO, 'bin/eventlog.ts');

interface Started {
  child: ChildProcess;
  api: string;
  clusterId: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let workDir: string;
let server: Started | undefined;

/** Like a terminal: no emulator endpoints or data directory from the test run's environment. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Every 2xx JSON answer is checked against its route's schema (lib/api/response-check.ts).
  const env: NodeJS.ProcessEnv = { ...process.env, EVENTLOG_CHECK_RESPONSES: 'on', ...extra };
  for (const name of [
    'NODE_OPTIONS',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'EVENTLOG_DATA_DIR',
    'EVENTLOG_URL',
    'EVENTLOG_CLUSTER_ID',
  ]) {
    delete env[name];
  }
  return env;
}

function startMain(port: number, timeoutMs = 60_000): Promise<Started> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
    cwd: workDir,
    env: childEnv({ PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready\n${stdout}\n${stderr}`));
    });
    child.stdout?.on('data', () => {
      if (!stdout.includes('Ready. Press Ctrl-C to stop.')) return;
      clearTimeout(timer);
      const api = /^ {2}API +(\S+)$/m.exec(stdout)?.[1];
      const clusterId = /^ {2}cluster id +(\S+)/m.exec(stdout)?.[1];
      if (api === undefined || clusterId === undefined) {
        reject(new Error(`no API URL or cluster id in the banner:\n${stdout}`));
        return;
      }
      resolve({
        child,
        api,
        clusterId,
        stdout: () => stdout,
        stderr: () => stderr,
        exited,
      });
    });
  });
}

/** Sends SIGINT, as Ctrl-C does, and waits for the exit. */
async function stopMain(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  return started.exited;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input?: string): Promise<CliResult> {
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, CLI, '--url', server?.api ?? '', ...args],
    {
      cwd: workDir,
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Orders of 40 customers, numbered per customer, so order within a key can be checked. */
const ORDERS = Array.from({ length: 1200 }, (_, i) => ({
  id: `customer-${i % 40}`,
  seq: Math.floor(i / 40),
  amount: i % 7 === 0 ? 1.5 : i,
}));

let consumedBeforeRestart: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'eventlog-e2e-'));
  const started = Date.now();
  server = await startMain(await freePort());
  timings['first start'] = Date.now() - started;
}, 90_000);

afterAll(async () => {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await rm(workDir, { recursive: true, force: true });
  process.stderr.write(`[local-server e2e] ${JSON.stringify(timings)}\n`);
});

describe('npm start, the CLI and the HTTP API', () => {
  it('keeps its data under .eventlog in the working directory', () => {
    expect(existsSync(join(workDir, '.eventlog/dynamodb'))).toBe(true);
    expect(existsSync(join(workDir, '.eventlog/s3'))).toBe(true);
    expect(existsSync(join(workDir, '.eventlog/endpoints.json'))).toBe(true);
    expect(server?.stdout()).toContain(`curl -sX POST ${server?.api}/v1/topics`);
  });

  it('prints the web console’s URL, and serves the console there', async () => {
    const url = /^ {2}console +(\S+)$/m.exec(server?.stdout() ?? '')?.[1];
    expect(url).toBe(`${server?.api}/console`);
    const page = await fetch(url as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/console/app.js">');
    expect((await fetch(`${server?.api}/console/app.js`)).status).toBe(200);
  });

  it('creates topics with the CLI', async () => {
    const created = await cli([
      'topics',
      'create',
      'orders',
      '--partitions',
      '3',
      '--config',
      'retention.ms=86400000',
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/^created topic orders \(3 partitions, id [0-9a-f-]+\)\n$/);
    expect((await cli(['topics', 'create', 'jsontest'])).code).toBe(0);

    const again = await cli(['topics', 'create', 'orders']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: Topic "orders" already exists (TOPIC_ALREADY_EXISTS)\n');
  });

  it('produces a JSON lines file with --key-field, in batched requests', async () => {
    const file = join(workDir, 'orders.jsonl');
    await writeFile(file, `${ORDERS.map((o) => JSON.stringify(o)).join('\n')}\n`);
    const started = Date.now();
    const produced = await cli(['produce', 'orders', '--file', file, '--key-field', 'id']);
    timings['produce 1200'] = Date.now() - started;
    expect(produced.code).toBe(0);
    expect(produced.stdout).toBe('');
    // 500 records per request.
    expect(produced.stderr).toMatch(
      /^produced 1,200 records to orders in 3 requests, [\d.]+ m?s, [\d,]+ records\/s\n$/,
    );
  });

  it('writes the same EMF metric lines as on AWS to .eventlog/metrics.emf.jsonl', async () => {
    const lines = (await readFile(join(workDir, '.eventlog/metrics.emf.jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, number | string>);
    const orders = lines.filter((doc) => doc['Topic'] === 'orders');
    const sum = (name: string) => orders.reduce((n, doc) => n + Number(doc[name] ?? 0), 0);
    expect(sum('ProduceRequests')).toBe(3);
    expect(sum('ProducedRecords')).toBe(1200);
    expect(sum('ProduceErrors')).toBe(0);
    expect(orders[0]?.['_aws']).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'EventLog', Dimensions: [['Topic']] }],
    });
  });

  it('consumes them from the beginning as JSON: keys decide partitions, order kept per key', async () => {
    const consumed = await cli([
      'consume',
      'orders',
      '--from-beginning',
      '--format',
      'json',
      '--value-format',
      'json',
    ]);
    expect(consumed.code).toBe(0);
    expect(consumed.stderr).toBe('consumed 1200 records from 3 partitions of orders\n');
    const records = jsonLines(consumed.stdout) as {
      partition: number;
      offset: number;
      key: string;
      value: { id: string; seq: number; amount: number };
      headers: unknown[];
      timestamp: number;
    }[];
    expect(records).toHaveLength(1200);
    const partitionOf = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (const record of records) {
      expect(record.key).toBe(record.value.id);
      expect(record.headers).toEqual([]);
      expect(typeof record.timestamp).toBe('number');
      expect(partitionOf.get(record.key) ?? record.partition).toBe(record.partition);
      partitionOf.set(record.key, record.partition);
      expect(record.value.seq).toBe((lastSeq.get(record.key) ?? -1) + 1);
      lastSeq.set(record.key, record.value.seq);
    }
    expect(new Set(partitionOf.values()).size).toBe(3);
    // 1.5 and the other numbers come back as they were written.
    expect(consumed.stdout).toContain('"amount":1.5}');
    consumedBeforeRestart = consumed.stdout;
  });

  it('shows offsets per partition, and by time', async () => {
    const offsets = await cli(['offsets', 'orders', '--json']);
    expect(offsets.code).toBe(0);
    const { partitions } = JSON.parse(offsets.stdout) as {
      partitions: { partition: number; earliest: number; latest: number }[];
    };
    expect(partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(partitions.every((p) => p.earliest === 0)).toBe(true);
    expect(partitions.reduce((sum, p) => sum + p.latest, 0)).toBe(1200);

    const byTime = await cli(['offsets', 'orders', '--at', '2020-01-01T00:00:00Z', '--json']);
    expect(JSON.parse(byTime.stdout).partitions.map((p: { offset: number }) => p.offset)).toEqual([
      0, 0, 0,
    ]);
  });

  it('takes a Confluent REST Proxy v2 JSON produce', async () => {
    // From Confluent's REST Proxy quick start: produce a message using JSON with the value '{ "foo": "bar" }'.
    const response = await fetch(`${server?.api}/topics/jsontest`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/vnd.kafka.json.v2+json',
        Accept: 'application/vnd.kafka.v2+json',
      },
      body: '{"records":[{"value":{"foo":"bar"}}]}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/vnd.kafka.v2+json');
    expect(await response.json()).toEqual({
      offsets: [{ partition: 0, offset: 0, error_code: null, error: null }],
      key_schema_id: null,
      value_schema_id: null,
    });
  });

  it('takes a Confluent REST Proxy v3 produce, on the cluster id GET /v3/clusters names', async () => {
    const clusters = (await (await fetch(`${server?.api}/v3/clusters`)).json()) as {
      data: { cluster_id: string }[];
    };
    const clusterId = clusters.data[0]?.cluster_id;
    expect(clusterId).toBe(server?.clusterId);
    // From Confluent's v3 API documentation: "Produce records with JSON data".
    const response = await fetch(
      `${server?.api}/v3/clusters/${clusterId}/topics/jsontest/records`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"value": {"type": "JSON", "data": {"foo": "bar"}}}',
      },
    );
    expect(response.status).toBe(200);
    const report = JSON.parse((await response.text()).trim()) as Record<string, unknown>;
    expect(report).toMatchObject({
      error_code: 200,
      cluster_id: clusterId,
      topic_name: 'jsontest',
      partition_id: 0,
      offset: 1,
      value: { type: 'JSON', size: 13 },
    });
  });

  it('runs maintenance against the running server’s emulators', async () => {
    const run = await cli(['maintenance', 'run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('maintenance: nothing to do (2 topics checked)\n');
    expect(run.stderr).toContain(`using the event log running on ${join(workDir, '.eventlog')}`);
  });

  it('stops cleanly on Ctrl-C (SIGINT), exit code 0', async () => {
    if (server === undefined) throw new Error('not started');
    const started = Date.now();
    const code = await stopMain(server);
    timings['stop'] = Date.now() - started;
    expect(code).toBe(0);
    expect(server.stderr()).toMatch(/SIGINT: stopping.*\nstopped\n$/s);
    expect(existsSync(join(workDir, '.eventlog/endpoints.json'))).toBe(false);
  });

  it('starts again on the same directory with the same topics, records and cluster id', async () => {
    const clusterId = server?.clusterId;
    const started = Date.now();
    server = await startMain(await freePort());
    timings['restart'] = Date.now() - started;
    expect(server.clusterId).toBe(clusterId);

    const list = await cli(['topics', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((t) => t.name)).toEqual([
      'jsontest',
      'orders',
    ]);

    const consumed = await cli([
      'consume',
      'orders',
      '--from-beginning',
      '--format',
      'json',
      '--value-format',
      'json',
    ]);
    expect(consumed.code).toBe(0);
    // Partitions are read concurrently: compare per partition.
    const byPartition = (text: string) =>
      jsonLines(text).sort(
        (a, b) =>
          (a['partition'] as number) - (b['partition'] as number) ||
          (a['offset'] as number) - (b['offset'] as number),
      );
    expect(byPartition(consumed.stdout)).toEqual(byPartition(consumedBeforeRestart));

    const json = await cli(['consume', 'jsontest', '--from-beginning', '--format', 'value']);
    expect(json.stdout).toBe('{"foo":"bar"}\n{"foo":"bar"}\n');
  });

  it('refuses a second server on the same directory, and a taken port, with a clear message', async () => {
    const second = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
      cwd: workDir,
      env: childEnv({ PORT: String(await freePort()) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    expect(await new Promise((resolve) => second.once('close', resolve))).toBe(1);
    expect(stderr).toMatch(
      /^error: Another event log \(pid \d+, API http:\/\/127\.0\.0\.1:\d+\) is running on /m,
    );

    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const otherDir = await mkdtemp(join(tmpdir(), 'eventlog-e2e-port-'));
    try {
      const blocked = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
        cwd: otherDir,
        env: childEnv({ PORT: String(port) }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let blockedErr = '';
      blocked.stderr.on('data', (chunk: Buffer) => {
        blockedErr += chunk.toString('utf8');
      });
      expect(await new Promise((resolve) => blocked.once('close', resolve))).toBe(1);
      expect(blockedErr).toContain(`error: Port ${port} on 127.0.0.1 is already in use`);
      expect(blockedErr).toContain('PORT=8788 npm start');
      expect(blockedErr).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('stops again cleanly', async () => {
    if (server === undefined) throw new Error('not started');
    expect(await stopMain(server)).toBe(0);
  });
});
