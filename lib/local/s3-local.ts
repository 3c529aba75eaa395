import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventLogError } from '../log/errors.js';

export interface StartS3LocalOptions {
  /** Where s3rver keeps buckets and objects; a fresh temporary directory when omitted. */
  directory?: string;
  /** How long to wait for s3rver to listen (default 15 s). */
  startTimeoutMs?: number;
}

export interface S3Local {
  endpoint: string;
  port: number;
  directory: string;
  stop(): Promise<void>;
}

const RUNNER = fileURLToPath(new URL('./s3rver-runner.mjs', import.meta.url));

/**
 * Starts s3rver on 127.0.0.1 and a free port, in a child process run with
 * `--openssl-legacy-provider` (see s3rver-runner.mjs for why). The child exits when this
 * process does. A temporary directory made here is removed by stop().
 */
export async function startS3Local(options: StartS3LocalOptions = {}): Promise<S3Local> {
  const ownDirectory = options.directory === undefined;
  const directory =
    options.directory === undefined
      ? await mkdtemp(join(tmpdir(), 'eventlog-s3-'))
      : resolve(options.directory);
  await mkdir(directory, { recursive: true });

  const env = { ...process.env };
  // A debugger or loader meant for the parent must not attach to s3rver.
  delete env['NODE_OPTIONS'];
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      RUNNER,
      JSON.stringify({ directory, removeOnExit: ownDirectory }),
    ],
    { env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let port: number;
  try {
    port = await readPort(child, options.startTimeoutMs ?? 15_000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw new EventLogError(
      'INTERNAL',
      `s3rver did not start: ${error instanceof Error ? error.message : String(error)}\n--- its stderr ---\n${stderr}`,
      { cause: error },
    );
  }
  // Drained so that anything s3rver prints can never fill the pipe and block it.
  child.stdout?.resume();
  // s3rver must not keep this process alive; it goes away when its stdin pipe closes.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    stop: () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.ref();
          child.stdin?.end();
          await exited;
        }
        if (ownDirectory) await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function readPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const stdout = child.stdout;
    if (stdout === null) {
      reject(new Error('no stdout'));
      return;
    }
    const lines = createInterface({ input: stdout });
    const timer = setTimeout(() => fail(new Error(`no port within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => fail(new Error(`the process exited with code ${code}`));
    const done = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
    };
    function fail(error: Error) {
      done();
      reject(error);
    }
    child.once('exit', onExit);
    lines.on('line', (line) => {
      try {
        const { port } = JSON.parse(line) as { port?: unknown };
        if (typeof port === 'number') {
          done();
          resolve(port);
        }
      } catch {
        // Not our line: s3rver's own output.
      }
    });
  });
}
