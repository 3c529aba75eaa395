import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
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
  /**
   * Run DynamoDB Local in a network namespace of its own, reached through a Unix socket, so
   * that it listens on no address of this machine (it has no option to bind one address; see
   * {@link isolationAvailable}). Default: when `unshare` can make one.
   */
  isolate?: boolean;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** Whether the emulator runs in its own network namespace (reachable from loopback only). */
  isolated: boolean;
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

  const isolate = options.isolate ?? (await isolationAvailable());
  if (isolate) return launchIsolated(java, files, options);
  process.stderr.write(
    'Warning: DynamoDB Local listens on every interface here (it cannot bind one address, and `unshare` could not make it a network namespace of its own).\n',
  );
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

/** DynamoDB Local (not isolated) binds every interface, so the probe does too. */
function freePort(host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
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
const { spawn, execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { command, args, removeDir, forward } = JSON.parse(process.argv[1]);
if (forward) {
  // In a fresh network namespace only loopback exists, and it is down.
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  // The one way in: a Unix socket (a file, which crosses namespaces) to the emulator's port.
  require('node:net').createServer((socket) => {
    const upstream = require('node:net').connect(forward.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  }).listen(forward.socket);
}
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
  isolation?: { unshare: string[]; socket: string; outerPort: number; close: () => Promise<void> },
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
    ...(isolation === undefined ? {} : { forward: { port, socket: isolation.socket } }),
  };
  const guardArgs = ['-e', GUARD_SCRIPT, JSON.stringify(guarded)];
  const child =
    isolation === undefined
      ? spawn(process.execPath, guardArgs, { cwd: workDir, env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('unshare', [...isolation.unshare, process.execPath, ...guardArgs], {
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

  const endpoint = `http://127.0.0.1:${isolation?.outerPort ?? port}`;
  try {
    await waitUntilAnswering(endpoint, child, options.startTimeoutMs ?? 30_000, () => output);
  } catch (error) {
    // SIGTERM, not SIGKILL: the guard must live to take Java down with it.
    child.stdin?.end();
    child.kill('SIGTERM');
    await exited;
    await removeWorkDir();
    await isolation?.close();
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
    port: isolation?.outerPort ?? port,
    isolated: isolation !== undefined,
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
        await isolation?.close();
      })();
      return stopped;
    },
  };
}

const PORT_IN_USE = /BindException|address already in use/i;

/** The emulator's port inside its own namespace: nothing else listens there. */
const ISOLATED_PORT = 8000;

let unshareFlags: Promise<string[] | undefined> | undefined;

/**
 * Whether this machine can give DynamoDB Local a network namespace of its own: `unshare`
 * (util-linux) with unprivileged user namespaces (`--user --map-root-user --net`), or as
 * root `--net`, and `ip` (iproute2) to bring its loopback up. Linux only.
 */
export async function isolationAvailable(): Promise<boolean> {
  return (await isolationFlags()) !== undefined;
}

function isolationFlags(): Promise<string[] | undefined> {
  unshareFlags ??= (async () => {
    if (process.platform !== 'linux') return undefined;
    for (const flags of [['--user', '--map-root-user', '--net'], ['--net']]) {
      try {
        await execFileAsync('unshare', [...flags, 'ip', 'link', 'set', 'lo', 'up'], {
          timeout: 5000,
        });
        return flags;
      } catch {
        // Not allowed here (no user namespaces, not root) or not installed: try the next.
      }
    }
    return undefined;
  })();
  return unshareFlags;
}

/**
 * DynamoDB Local in a network namespace of its own: it listens on 127.0.0.1:8000 *there*,
 * which no address of this machine reaches; the guard in the namespace forwards a Unix
 * socket to it, and a TCP listener on this machine's 127.0.0.1 forwards to that socket.
 */
async function launchIsolated(
  java: string,
  files: DynamoDbLocalFiles,
  options: StartDynamoDbLocalOptions,
): Promise<DynamoDbLocal> {
  const flags = (await isolationFlags()) as string[];
  // Short: a Unix socket path is at most 107 bytes.
  const socketDir = await mkdtemp(join(tmpdir(), 'eventlog-ddb-'));
  const socket = join(socketDir, 'ddb.sock');
  const sockets = new Set<Socket>();
  const outer: Server = createServer((client) => {
    const upstream = connect(socket);
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const outerPort = (outer.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      for (const client of sockets) client.destroy();
      await new Promise<void>((resolve) => outer.close(() => resolve()));
      await rm(socketDir, { recursive: true, force: true });
    })();
    return closed;
  };
  try {
    return await launch(java, files, ISOLATED_PORT, options, {
      unshare: flags,
      socket,
      outerPort,
      close,
    });
  } catch (error) {
    await close();
    throw error;
  }
}

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
