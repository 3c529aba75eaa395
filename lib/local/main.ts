/**
 * `npm start`: the whole event log on this machine, in one command. DynamoDB Local and
 * s3rver keep their data under `.eventlog/` in the working directory (so topics and records
 * survive a restart), the HTTP API listens on 127.0.0.1:8787, and retention and healing
 * run every minute, as the scheduled function does on AWS.
 *
 * Environment: PORT (8787; 0 picks a free one), HOST (127.0.0.1), EVENTLOG_DATA_DIR
 * (.eventlog), EVENTLOG_CLUSTER_ID (default: made once and kept in the data directory),
 * EVENTLOG_MAINTENANCE_INTERVAL_MS (60000). With AWS_ENDPOINT_URL_S3 and
 * AWS_ENDPOINT_URL_DYNAMODB set (LocalStack), no emulator starts and those are used.
 *
 * Lambda consumers: eventlog.config.ts in the working directory (or EVENTLOG_CONFIG) names
 * handlers; their subscriptions are created or updated at start, the local server serves
 * Lambda's Invoke API for them, and the dispatcher runs after each produce and every
 * EVENTLOG_DISPATCH_INTERVAL_MS (1000). See docs/lambda-consumers.md.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { type AuthSettings, authSettingsFromEnv } from '../api/auth-config.js';
import { checkResponsesFromEnv } from '../api/response-check.js';
import { type Broker, createBroker, createStores } from '../broker/broker.js';
import { LagMetrics } from '../broker/lag-metrics.js';
import { fileMetricsSink, MetricsEmitter } from '../broker/metrics.js';
import { buildConsole } from '../console/build.js';
import { isEventLogError } from '../log/errors.js';
import {
  AwsFailureDestinationStore,
  type ClosableFailureDestinationClients,
  createFailureDestinationClients,
} from '../store/failure-destination-store.js';
import { findConfig, type LoadedConfig, loadConfig } from './consumer-config.js';
import { type ConsumerLine, LocalConsumers } from './consumers.js';
import { type LocalEnvironment, startLocalEnvironment } from './environment.js';
import {
  clusterIdOf,
  DEFAULT_DATA_DIR,
  readInstance,
  removeInstance,
  summarizeRetention,
  writeInstance,
} from './instance.js';
import { type ApiServer, startApiServer } from './server.js';

const DEFAULT_PORT = 8787;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_MAINTENANCE_MS = 60_000;
/** EMF lines of the local server (docs/metrics.md), in the data directory. */
const METRICS_FILE = 'metrics.emf.jsonl';
/** A stop that hangs (an emulator that will not die) must not keep Ctrl-C from working. */
const STOP_TIMEOUT_MS = 15_000;

/** A failure whose message says everything: printed without a stack trace. */
class StartupError extends Error {}

/** What has been started so far, for the stop to take down (also halfway through startup). */
const running: { server?: ApiServer; maintenance?: Maintenance; consumers?: LocalConsumers } = {};
let environment: LocalEnvironment | undefined;
let destinationClients: ClosableFailureDestinationClients | undefined;
let stopping: Promise<void> | undefined;
let firstSignalAt: number | undefined;
/**
 * Under `npm start`, one Ctrl-C reaches this process more than once: from the terminal (to
 * the whole process group) and relayed by npm and tsx. Only a signal this long after the
 * first counts as the second Ctrl-C that forces the exit.
 */
const REPEAT_SIGNAL_MS = 1_000;

async function main(): Promise<void> {
  const port = portFromEnv();
  const host = process.env['HOST'] || DEFAULT_HOST;
  const auth = authFromEnv();
  const validateResponses = checkResponsesOrStop();
  // With auth off every caller may do anything: only this machine may be a caller.
  if (!auth.enabled && !isLoopbackHost(host)) {
    throw new StartupError(
      `HOST=${host} would open the event log to other machines with auth off. Keep HOST a loopback address (default ${DEFAULT_HOST}), or set EVENTLOG_AUTH=on (an admin API key is written to the data directory; see docs/security.md).`,
    );
  }
  const dataDir = resolve(process.env['EVENTLOG_DATA_DIR'] || DEFAULT_DATA_DIR);
  const intervalMs = intervalFromEnv();

  const other = await readInstance(dataDir);
  if (other !== undefined && other.pid !== process.pid) {
    throw new StartupError(
      `Another event log (pid ${other.pid}${other.api === '' ? ', `eventlog maintenance run`' : `, API ${other.api}`}) is running on ${dataDir}. Stop it first, or give this one its own directory with EVENTLOG_DATA_DIR.`,
    );
  }
  // Before the emulators' few seconds of startup, so a taken port fails at once.
  await checkPortFree(host, port);
  // So is a broken consumer config.
  const configPath = await findConfig();
  const config: LoadedConfig | undefined =
    configPath === undefined ? undefined : await loadConfig(configPath);

  const started = Date.now();
  // The web console's files (esbuild, ~100 ms), built while the emulators start.
  const consoleBuilt = buildConsole().catch((error: unknown) => {
    log(`console not built: ${error instanceof Error ? error.message : String(error)}`);
  });
  environment = await startLocalEnvironment({ dataDir, quiet: true, prefix: 'eventlog' });
  if (stopping !== undefined) return;

  const clusterId = process.env['EVENTLOG_CLUSTER_ID'] || (await clusterIdOf(dataDir));
  const consumers = new LocalConsumers({ log, intervalMs: dispatchIntervalFromEnv() });
  running.consumers = consumers;
  // SQS and SNS on-failure destinations work once AWS_ENDPOINT_URL_SQS / _SNS point at an
  // emulator (LocalStack); until then a send fails with a message saying so, records in place.
  destinationClients = createFailureDestinationClients({ requireEndpoint: true });
  const failureDestinations = new AwsFailureDestinationStore(destinationClients);
  const broker = createBroker(
    createStores(environment.clients, environment.names, { failureDestinations }),
    {
      onProduced: consumers.onProduced,
      // The same EMF lines as on AWS, in a file instead of CloudWatch Logs (docs/metrics.md).
      metrics: new MetricsEmitter(fileMetricsSink(join(dataDir, METRICS_FILE))),
      ...(auth.jwt === undefined ? {} : { auth: { jwt: auth.jwt } }),
    },
  );
  const adminKeyFile = auth.enabled ? await ensureAdminKey(broker, dataDir) : undefined;
  await consoleBuilt;
  try {
    running.server = await startApiServer({
      broker,
      clusterId,
      port,
      hostname: host,
      functions: consumers.functions,
      auth,
      log: (entry) => log(`auth: ${JSON.stringify(entry)}`),
      validateResponses,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(host, port);
    throw error;
  }
  if (stopping !== undefined) return;

  const api = running.server.url;
  const consumerLines = await consumers.start(broker, api, config);
  await writeInstance(dataDir, {
    pid: process.pid,
    api,
    clusterId,
    endpoints: environment.endpoints,
    names: environment.names,
    external: environment.external,
    dataDir,
    startedAt: new Date().toISOString(),
  });
  running.maintenance = new Maintenance(broker, intervalMs);
  running.maintenance.start();
  printBanner({
    api: reachableUrl(api),
    clusterId,
    dataDir,
    env: environment,
    ms: Date.now() - started,
    intervalMs,
    consumers: consumerLines,
    ...(configPath === undefined ? {} : { configPath }),
  });
  if (adminKeyFile !== undefined) {
    log(
      `Auth is on: every request needs credentials. An admin API key is in ${adminKeyFile} (eventlog --token "$(cat ${adminKeyFile})" ...).`,
    );
  }
}

function checkResponsesOrStop(): boolean {
  try {
    return checkResponsesFromEnv(process.env);
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

function authFromEnv(): AuthSettings {
  try {
    return authSettingsFromEnv(process.env, 'off');
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

/** 127.0.0.0/8, ::1 and localhost: what no other machine can reach. */
function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/**
 * With auth on, the first start writes an admin API key to `<data dir>/admin-key` (mode 0600):
 * the one way in until other keys and ACLs exist. Its secret is never printed or logged.
 */
async function ensureAdminKey(broker: Broker, dataDir: string): Promise<string> {
  const file = join(dataDir, 'admin-key');
  if (existsSync(file)) return file;
  const created = await broker.auth.createKey({
    createdBy: 'npm start',
    description: 'local admin (written to the data directory at first start)',
    acls: [
      {
        resourceType: 'cluster',
        patternType: 'literal',
        resourceName: 'eventlog',
        operation: 'admin',
        permission: 'allow',
      },
    ],
  });
  await writeFile(file, `${created.key}\n`, { mode: 0o600 });
  return file;
}

function printBanner(info: {
  api: string;
  clusterId: string;
  dataDir: string;
  env: LocalEnvironment;
  ms: number;
  intervalMs: number;
  consumers: ConsumerLine[];
  configPath?: string;
}): void {
  const { api, env } = info;
  const names = env.names;
  const data = env.external
    ? `external endpoints (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB); cluster id kept in ${info.dataDir}`
    : info.dataDir;
  const lines = [
    `eventlog started in ${(info.ms / 1000).toFixed(1)} s, data in ${data}`,
    '',
    `  API         ${api}`,
    `  OpenAPI     ${api}/openapi.json`,
    `  console     ${api}/console`,
    `  S3          ${env.endpoints.s3}  (bucket ${names.bucket})`,
    `  DynamoDB    ${env.endpoints.dynamodb}  (tables ${names.topicsTable}, ${names.logTable}, ${names.groupsTable})`,
    `  cluster id  ${info.clusterId}  (Confluent v3: ${api}/v3/clusters/${info.clusterId})`,
    `  maintenance every ${Math.round(info.intervalMs / 1000)} s (retention, healing, orphan sweep, lag metrics; EMF lines in ${METRICS_FILE})`,
    `  Lambda      ${api}/2015-03-31/functions/{name}/invocations  (AWS_ENDPOINT_URL_LAMBDA=${api})`,
    `  SQS, SNS    ${destinationEndpoints()}`,
    ...(info.configPath === undefined
      ? ['  consumers   none (add eventlog.config.ts: see docs/lambda-consumers.md)']
      : [
          `  consumers   from ${info.configPath}`,
          ...info.consumers.map(
            (c) => `    ${c.name}: ${c.topic} (group ${c.group}) -> ${c.handler}  [${c.action}]`,
          ),
        ]),
    '',
    'Try it:',
    '',
    `  curl -sX POST ${api}/v1/topics -H 'content-type: application/json' -d '{"name":"orders","partitions":3}'`,
    `  curl -sX POST ${api}/v1/topics/orders/records -H 'content-type: application/json' \\`,
    `    -d '{"valueFormat":"json","records":[{"key":"customer-42","value":{"item":"book","qty":1}}]}'`,
    `  curl -s "${api}/v1/topics/orders/partitions/0/records?offset=0&valueFormat=json"`,
    '',
    '  # or with the CLI:',
    `  echo '{"id":"customer-42","item":"pen"}' | npm run -s eventlog -- produce orders --key-field id`,
    '  npm run -s eventlog -- consume orders --from-beginning',
    '',
    'Ready. Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Runs retention and healing on a timer; never two passes at once. */
class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly broker: Broker,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.runOnce().finally(() => {
        this.current = undefined;
        this.schedule();
      });
    }, this.intervalMs);
  }

  private async runOnce(): Promise<void> {
    const started = Date.now();
    try {
      const report = await this.broker.retention.runOnce();
      const summary = summarizeRetention(report, Date.now() - started);
      if (summary !== undefined) log(summary);
      const { metrics } = this.broker;
      if (metrics !== undefined) {
        const { groups, lag, subscriptions } = this.broker;
        await new LagMetrics(lag, groups, subscriptions, metrics).runOnce();
      }
    } catch (error) {
      // A failed pass is retried by the next one; the server keeps serving.
      if (!this.stopped) log(`maintenance failed: ${messageOf(error)}`);
    }
  }

  /** Stops the timer and waits for a pass in progress, so the emulators are not pulled from under it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.current;
  }
}

function shutdown(signal: string): void {
  if (firstSignalAt !== undefined) {
    if (Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
    process.stderr.write(`\n${signal} again: exiting without a clean stop\n`);
    process.exit(130);
  }
  firstSignalAt = Date.now();
  process.stderr.write(
    `\n${signal}: stopping (${signal === 'SIGINT' ? 'Ctrl-C again to force' : 'again to force'})\n`,
  );
  stopping ??= stopAll();
  const timer = setTimeout(() => {
    process.stderr.write(`not stopped after ${STOP_TIMEOUT_MS / 1000} s: exiting\n`);
    process.exit(1);
  }, STOP_TIMEOUT_MS);
  timer.unref();
  stopping.then(
    () => {
      process.stderr.write('stopped\n');
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`error while stopping: ${messageOf(error)}\n`);
      process.exit(1);
    },
  );
}

async function stopAll(): Promise<void> {
  // Startup may still be under way: wait for what it started, then take it down.
  await startup.catch(() => {});
  await running.maintenance?.stop();
  await running.consumers?.stop();
  await running.server?.close();
  destinationClients?.destroy();
  await environment?.stop();
  const dataDir = resolve(process.env['EVENTLOG_DATA_DIR'] || DEFAULT_DATA_DIR);
  await removeInstance(dataDir);
}

function portFromEnv(): number {
  const text = process.env['PORT'];
  if (text === undefined || text === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new StartupError(
      `PORT must be a port number (0-65535; 0 picks a free one), got "${text}"`,
    );
  }
  return port;
}

function intervalFromEnv(): number {
  const text = process.env['EVENTLOG_MAINTENANCE_INTERVAL_MS'];
  if (text === undefined || text === '') return DEFAULT_MAINTENANCE_MS;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 100) {
    throw new StartupError(
      `EVENTLOG_MAINTENANCE_INTERVAL_MS must be an integer of at least 100, got "${text}"`,
    );
  }
  return ms;
}

function dispatchIntervalFromEnv(): number {
  const text = process.env['EVENTLOG_DISPATCH_INTERVAL_MS'];
  if (text === undefined || text === '') return 1000;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 100) {
    throw new StartupError(
      `EVENTLOG_DISPATCH_INTERVAL_MS must be an integer of at least 100, got "${text}"`,
    );
  }
  return ms;
}

function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(portInUse(host, port));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(
          new StartupError(
            `Cannot listen on ${host}: no such local address. Set HOST to one of this machine's addresses (default ${DEFAULT_HOST}).`,
          ),
        );
      } else reject(error);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function portInUse(host: string, port: number): StartupError {
  return new StartupError(
    `Port ${port} on ${host} is already in use (another eventlog, or another server). Pick another one: PORT=8788 npm start (PORT=0 takes any free port).`,
  );
}

/** A server bound to every interface is still reached through localhost. */
function reachableUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

const startup = main();
startup.catch(async (error: unknown) => {
  // Stopping already (Ctrl-C during startup): the stop reports and exits.
  if (stopping !== undefined) return;
  // The environment's own errors (Java missing, a port taken by an emulator) say what to
  // do; a stack trace would only bury that.
  const clear = error instanceof StartupError || isEventLogError(error);
  process.stderr.write(
    `error: ${clear ? messageOf(error) : error instanceof Error ? error.stack : String(error)}\n`,
  );
  await environment?.stop().catch(() => {});
  process.exit(1);
});

/** Where SQS and SNS on-failure destinations are sent from this server, as the banner says it. */
function destinationEndpoints(): string {
  const env = process.env;
  const sqs = env['AWS_ENDPOINT_URL_SQS'] || env['AWS_ENDPOINT_URL'];
  const sns = env['AWS_ENDPOINT_URL_SNS'] || env['AWS_ENDPOINT_URL'];
  if (!sqs && !sns) {
    return 'on-failure destinations off (set AWS_ENDPOINT_URL_SQS / _SNS, e.g. LocalStack)';
  }
  return `on-failure destinations via ${sqs || '(SQS not set)'}, ${sns || '(SNS not set)'}`;
}
