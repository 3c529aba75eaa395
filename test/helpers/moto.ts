/**
 * moto's server as the SQS and SNS of a test file: the real AWS wire protocols (SQS's JSON
 * protocol, SNS's query protocol, SNS-to-SQS delivery), reached through the real AWS SDK v3
 * clients with an endpoint override and dummy credentials. Nothing of the SDK is mocked.
 *
 * Started by the test files that need it, in their beforeAll (not by the global setup, so the
 * rest of the suite does not pay for a Python process), on a free port; stopped in afterAll.
 * It runs under a small Node guard that holds a pipe to the test worker: when the worker
 * ends in any way (even SIGKILL), the kernel closes the pipe and the guard kills moto's
 * whole process group, so no server outlives the run (lib/local/dynamodb-local.ts does the
 * same for Java).
 *
 *   let moto: MotoServer;
 *   beforeAll(async () => { moto = await startMoto(); });
 *   afterAll(() => moto?.stop());
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/store/aws-clients.js';
import type { FailureDestinationClients } from '../../lib/store/failure-destination-store.js';

/** The account moto gives every resource. */
export const MOTO_ACCOUNT = '123456789012';

const READY_TIMEOUT_MS = 30_000;

/**
 * Runs moto in its own process group and kills the group when the parent's pipe closes or
 * on SIGTERM (a pyenv shim is a shell that starts Python: the group takes both).
 */
const GUARD_SCRIPT = `
const { spawn } = require('node:child_process');
const { command, args } = JSON.parse(process.argv[1]);
const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
const kill = (signal) => { try { process.kill(-child.pid, signal); } catch {} };
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  kill('SIGTERM');
  setTimeout(() => kill('SIGKILL'), 5000).unref();
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('error', (error) => { process.stderr.write(String(error.message) + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => { kill('SIGKILL'); process.exit(code ?? (signal === 'SIGTERM' ? 0 : 1)); });
`;

export interface MotoServer {
  endpoint: string;
  /** A client of the server in `region` (default us-east-1); destroyed by stop(). */
  sqs(region?: string): SQSClient;
  sns(region?: string): SNSClient;
  /** Clients by region, as AwsFailureDestinationStore takes them; each call makes fresh ones. */
  destinationClients(options?: { maxAttempts?: number }): FailureDestinationClients & {
    destroy(): void;
  };
  stop(): Promise<void>;
}

/** How to run moto here: `moto_server`, or `python3 -m moto.server`; undefined when neither works. */
export function motoCommand(): { command: string; args: string[] } | undefined {
  const candidates = [
    { command: 'moto_server', args: [] as string[] },
    { command: 'python3', args: ['-m', 'moto.server'] },
  ];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate.command, [...candidate.args, '--help'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

export async function startMoto(): Promise<MotoServer> {
  const command = motoCommand();
  if (command === undefined) {
    throw new Error(
      "moto's server is needed by this test (the SQS and SNS emulator) and neither `moto_server` nor `python3 -m moto.server` runs here. Install it with `pip install 'moto[server]'` (Debian 12 has no package of it), then run the tests again.",
    );
  }
  const port = await freePort();
  const guarded = {
    command: command.command,
    args: [...command.args, '-H', '127.0.0.1', '-p', String(port)],
  };
  const env = { ...process.env };
  // A debugger or loader meant for the worker must not attach to the guard.
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, ['-e', GUARD_SCRIPT, JSON.stringify(guarded)], {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, () => stderr);
  } catch (error) {
    child.stdin?.end();
    throw error;
  }
  // Once up, the guard must not keep the worker alive; the pipe's closing is what stops it.
  const streams = [child.stdin, child.stderr] as unknown as ({
    ref?: () => void;
    unref?: () => void;
  } | null)[];
  child.unref();
  for (const stream of streams) stream?.unref?.();

  const made: { destroy(): void }[] = [];
  const sqsClients = new Map<string, SQSClient>();
  const snsClients = new Map<string, SNSClient>();
  const config = (region: string, maxAttempts?: number) => ({
    endpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
  const server: MotoServer = {
    endpoint,
    sqs(region = LOCAL_REGION) {
      let client = sqsClients.get(region);
      if (client === undefined) {
        client = new SQSClient(config(region));
        sqsClients.set(region, client);
        made.push(client);
      }
      return client;
    },
    sns(region = LOCAL_REGION) {
      let client = snsClients.get(region);
      if (client === undefined) {
        client = new SNSClient(config(region));
        snsClients.set(region, client);
        made.push(client);
      }
      return client;
    },
    destinationClients(options = {}) {
      const sqs = new Map<string, SQSClient>();
      const sns = new Map<string, SNSClient>();
      const own: { destroy(): void }[] = [];
      const keep = <T extends { destroy(): void }>(client: T): T => {
        own.push(client);
        made.push(client);
        return client;
      };
      return {
        sqs(region) {
          const client =
            sqs.get(region) ?? keep(new SQSClient(config(region, options.maxAttempts)));
          sqs.set(region, client);
          return client;
        },
        sns(region) {
          const client =
            sns.get(region) ?? keep(new SNSClient(config(region, options.maxAttempts)));
          sns.set(region, client);
          return client;
        },
        destroy() {
          for (const client of own) client.destroy();
        },
      };
    },
    async stop() {
      for (const client of made) client.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // Waited for: the guard takes moto's process group down and exits after it.
      child.ref();
      for (const stream of streams) stream?.ref?.();
      child.stdin?.end();
      await exited;
    },
  };
  return server;
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto's server exited before it answered:\n${stderr()}`);
    }
    try {
      // moto's own API: answers once the server serves requests.
      const response = await fetch(`${endpoint}/moto-api/data.json`, {
        signal: AbortSignal.timeout(1_000),
      });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`moto's server did not answer within ${READY_TIMEOUT_MS} ms:\n${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
