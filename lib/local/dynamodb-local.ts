import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EventLogError } from '../log/errors.js';

const execFileAsync = promisify(execFile);

/**
 * DynamoDB Local ships inside this npm package. Installing the package would pull ~350 MB
 * of unrelated dependencies, so only its tarball is fetched and only `package/emulator`
 * (DynamoDBLocal.jar 1.25.1 and DynamoDBLocal_lib) is extracted.
 */
const PACKAGE_SPEC = 'amplify-dynamodb-simulator@2.9.30';
const CACHE_ENTRY = 'amplify-dynamodb-simulator-2.9.30';
const MIN_JAVA_VERSION = 17;
const JAVA_INSTALL_HINT =
  'On Debian or Ubuntu: apt-get install -y openjdk-17-jre-headless (or any JDK/JRE 17+ on PATH or in JAVA_HOME).';

export interface DynamoDbLocalFiles {
  /** The directory holding the jar and its native libraries. */
  dir: string;
  jar: string;
  libDir: string;
}

export interface StartDynamoDbLocalOptions {
  /** Defaults to a free port. */
  port?: number;
  /** Persist tables here (`-dbPath`); without it the database lives in memory. */
  dataDir?: string;
  /** How long to wait for the first answer (default 30 s). */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** `EVENTLOG_CACHE_DIR`, else `node_modules/.cache/eventlog/dynamodb-local` of this project. */
export function dynamoDbLocalCacheDir(): string {
  const fromEnv = process.env['EVENTLOG_CACHE_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return fileURLToPath(
    new URL('../../node_modules/.cache/eventlog/dynamodb-local', import.meta.url),
  );
}

/**
 * Returns the DynamoDB Local files, fetching them on first use. Safe when several processes
 * do this at once: each extracts into its own temporary directory and renames it into
 * place; the first rename wins and the others throw their copy away.
 */
export async function ensureDynamoDbLocal(): Promise<DynamoDbLocalFiles> {
  const cacheDir = dynamoDbLocalCacheDir();
  const dir = join(cacheDir, CACHE_ENTRY);
  const files = filesIn(dir);
  // The directory only ever appears complete (by rename), so its jar existing means done.
  if (existsSync(files.jar)) return files;

  await mkdir(cacheDir, { recursive: true });
  await removeAbandonedFetches(cacheDir);
  const tmp = await mkdtemp(join(cacheDir, '.fetch-'));
  try {
    process.stderr.write('Fetching DynamoDB Local (first run only)...\n');
    const started = Date.now();
    const { stdout } = await execFileAsync(
      'npm',
      ['pack', PACKAGE_SPEC, '--json', '--silent', '--pack-destination', tmp],
      { cwd: tmp, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: unknown) => {
      throw new EventLogError('INTERNAL', `npm pack ${PACKAGE_SPEC} failed: ${stderrOf(error)}`, {
        cause: error,
      });
    });
    const tarball = join(tmp, packedFileName(stdout));
    await execFileAsync('tar', ['-xzf', tarball, '-C', tmp, 'package/emulator']).catch(
      (error: unknown) => {
        throw new EventLogError('INTERNAL', `Extracting ${tarball} failed: ${stderrOf(error)}`, {
          cause: error,
        });
      },
    );
    const extracted = join(tmp, 'package', 'emulator');
    if (!existsSync(filesIn(extracted).jar)) {
      throw new EventLogError('INTERNAL', `${PACKAGE_SPEC} holds no emulator/DynamoDBLocal.jar`);
    }
    try {
      await rename(extracted, dir);
    } catch (error) {
      // Another process renamed its copy first: theirs is as good as ours.
      if (!existsSync(files.jar)) throw error;
    }
    process.stderr.write(
      `Fetched DynamoDB Local into ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return files;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Starts DynamoDB Local (`-sharedDb`, so every region and access key sees the same tables)
 * and resolves once it answers requests. The emulator dies with this process, however this
 * process ends: it runs under a small Node guard that kills it when our end of the guard's
 * stdin pipe closes, which the kernel does even on SIGKILL.
 */
export async function startDynamoDbLocal(
  options: StartDynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  const [java, files] = await Promise.all([checkJava(), ensureDynamoDbLocal()]);
  if (options.dataDir !== undefined) {
    // Absolute, because the emulator runs in another working directory.
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true });
    options = { ...options, dataDir };
  }

  // A port found free can be taken before Java binds it; only then is another one tried.
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(java, files, port, options);
    } catch (error) {
      const portTaken = error instanceof EventLogError && error.details?.['portInUse'] === true;
      if (!portTaken || attempt >= attempts) throw error;
    }
  }
}

/** A process killed mid-fetch leaves its temporary directory (~60 MB) behind. */
async function removeAbandonedFetches(cacheDir: string): Promise<void> {
  const anHourAgo = Date.now() - 3_600_000;
  for (const entry of await readdir(cacheDir)) {
    if (!entry.startsWith('.fetch-')) continue;
    const path = join(cacheDir, entry);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && info.mtimeMs < anHourAgo) {
      await rm(path, { recursive: true, force: true });
    }
  }
}

function filesIn(dir: string): DynamoDbLocalFiles {
  return { dir, jar: join(dir, 'DynamoDBLocal.jar'), libDir: join(dir, 'DynamoDBLocal_lib') };
}

function packedFileName(npmPackJson: string): string {
  const parsed: unknown = JSON.parse(npmPackJson);
  const first = Array.isArray(parsed)
    ? (parsed[0] as { filename?: unknown } | undefined)
    : undefined;
  if (typeof first?.filename !== 'string') {
    throw new EventLogError('INTERNAL', `Unexpected npm pack output: ${npmPackJson.slice(0, 200)}`);
  }
  // npm names scoped tarballs `scope-name-version.tgz`, which is already a plain file name.
  return first.filename;
}

let javaCheck: Promise<string> | undefined;

/** Resolves to the java command to run, once Java 17+ is known to be there. */
function checkJava(): Promise<string> {
  javaCheck ??= (async () => {
    const javaHome = process.env['JAVA_HOME'];
    const java =
      javaHome !== undefined && javaHome !== '' && existsSync(join(javaHome, 'bin', 'java'))
        ? join(javaHome, 'bin', 'java')
        : 'java';
    let output: string;
    try {
      // `java -version` writes to stderr.
      const { stdout, stderr } = await execFileAsync(java, ['-version']);
      output = stderr + stdout;
    } catch (error) {
      throw new EventLogError(
        'INTERNAL',
        `DynamoDB Local needs Java ${MIN_JAVA_VERSION}+, but "${java} -version" failed (${errorMessage(error)}). ${JAVA_INSTALL_HINT}`,
        { cause: error },
      );
    }
    const major = javaMajorVersion(output);
    if (major === undefined || major < MIN_JAVA_VERSION) {
      throw new EventLogError(
        'INTERNAL',
        `DynamoDB Local needs Java ${MIN_JAVA_VERSION}+, found ${major === undefined ? 'an unknown version' : `Java ${major}`} ("${output.split('\n')[0]?.trim()}"). ${JAVA_INSTALL_HINT}`,
      );
    }
    return java;
  })();
  // A failed check is not cached: the developer may install Java and try again.
  javaCheck.catch(() => {
    javaCheck = undefined;
  });
  return javaCheck;
}

/** `1.8.0_392` is Java 8; `17.0.15` and `21` are what they say. */
export function javaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** DynamoDB Local binds every interface, so the probe does too. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs a command and kills it when the parent goes away (its stdin pipe closes) or when
 * asked to stop (SIGTERM); then removes the command's scratch directory, if it has one,
 * which the parent cannot do when it was killed. Inline, so the guard needs no file.
 */
const GUARD_SCRIPT = `
const { spawn } = require('node:child_process');
const { rmSync } = require('node:fs');
const { command, args, removeDir } = JSON.parse(process.argv[1]);
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 5000).unref();
};
const exit = (code) => {
  if (removeDir) rmSync(removeDir, { recursive: true, force: true });
  process.exit(code);
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('error', (error) => {
  process.stderr.write(String(error.message) + '\\n');
  exit(127);
});
child.on('exit', (code, signal) => exit(code ?? (signal === 'SIGTERM' ? 0 : 1)));
`;

async function launch(
  java: string,
  files: DynamoDbLocalFiles,
  port: number,
  options: StartDynamoDbLocalOptions,
): Promise<DynamoDbLocal> {
  const javaArgs = [
    `-Djava.library.path=${files.libDir}`,
    '-jar',
    files.jar,
    '-port',
    String(port),
    ...(options.dataDir === undefined ? ['-inMemory'] : ['-dbPath', options.dataDir]),
    '-sharedDb',
    // Telemetry would try to reach AWS, which CI machines cannot.
    '-disableTelemetry',
  ];
  // DynamoDB Local writes dynamodb-local-metadata.json into its working directory: keep
  // that out of the shared cache, beside a persistent database or in a directory of its own.
  const workDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'eventlog-dynamodb-')));
  const removeWorkDir = async () => {
    if (options.dataDir === undefined) await rm(workDir, { recursive: true, force: true });
  };
  const env: NodeJS.ProcessEnv = { ...process.env, DDB_LOCAL_TELEMETRY: '0' };
  // A debugger or loader meant for the parent must not attach to the guard.
  delete env['NODE_OPTIONS'];
  const guarded = {
    command: java,
    args: javaArgs,
    removeDir: options.dataDir === undefined ? workDir : undefined,
  };
  const child = spawn(process.execPath, ['-e', GUARD_SCRIPT, JSON.stringify(guarded)], {
    cwd: workDir,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    // Keep the start of the output (where startup errors are) and not unbounded logs.
    if (output.length < 64 * 1024) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, options.startTimeoutMs ?? 30_000, () => output);
  } catch (error) {
    // SIGTERM, not SIGKILL: the guard must live to take Java down with it.
    child.stdin?.end();
    child.kill('SIGTERM');
    await exited;
    await removeWorkDir();
    throw new EventLogError(
      'INTERNAL',
      `DynamoDB Local did not start on port ${port}: ${errorMessage(error)}\n--- its output ---\n${output}`,
      {
        cause: error,
        details: { portInUse: PORT_IN_USE.test(output) },
      },
    );
  }
  // The emulator must not keep this process alive: when this process ends, the guard sees
  // its stdin close and takes the emulator down.
  detachFromEventLoop(child);

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    stop: () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // Waiting for the exit must hold this process open, undoing detachFromEventLoop.
          child.ref();
          child.stdin?.end();
          child.kill('SIGTERM');
          await exited;
        }
        await removeWorkDir();
      })();
      return stopped;
    },
  };
}

const PORT_IN_USE = /BindException|address already in use/i;

/** Polls with a real (unsigned) DynamoDB request: any HTTP answer means the server is up. */
async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null = null;
  child.once('exit', (code) => {
    exitCode = code ?? -1;
  });
  for (;;) {
    if (exitCode !== null) throw new Error(`the process exited with code ${exitCode}`);
    // DynamoDB Local stays up, serving nothing, when its port is taken.
    if (PORT_IN_USE.test(output())) throw new Error('the port is in use');
    try {
      await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
        },
        body: '{}',
        signal: AbortSignal.timeout(1_000),
      });
      return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function detachFromEventLoop(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown } | undefined)?.stderr;
  return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : errorMessage(error);
}
