import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnvironment, uniqueName } from '../helpers/aws.js';
import { seededRandom } from '../helpers/random.js';

/**
 * Issue 13, scenario 7, black-box: the local server (`npm start`'s entry) runs as a child
 * process against the test run's emulators, which outlive it as S3 and DynamoDB outlive a
 * Lambda. Producers write over HTTP while the server is SIGKILLed mid-traffic and restarted,
 * several times; maintenance runs every 1.5 s. After the last kill, every acknowledged record
 * must be readable at its offset within maxProduceMs + margin (the server's defaults, 30 s +
 * 15 s), from two server processes over the same stores, which agree on the whole log.
 *
 * On 0.1 a hole waited for the scheduled run to heal it, and a run's healing of one hole
 * could leave others: 75 s after the last kill most acknowledged records were still unread.
 */

const REPO = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(REPO, 'lib/local/main.ts');

/** Each restart costs a few seconds of startup; the grace after the last one is 45 s. */
const KILLS = 3;
const PRODUCERS = 5;
const PARTITIONS = 3;
/** The server's defaults: maxProduceMs 30 s and the heal margin 15 s (no env var sets them). */
const GRACE_MS = 45_000;
/**
 * Time for maintenance (every 1.5 s) or a reader to heal a hole once its grace is over, and
 * for both servers to page through the log: 60 s after the last kill in all, the issue's
 * bound for the defaults.
 */
const MARGIN_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  api: string;
  exited: Promise<void>;
  output: () => string;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Starts `lib/local/main.ts` on the run's emulators (AWS_ENDPOINT_URL_*), on a free port. */
async function startServer(dataDir: string, timeoutMs = 30_000): Promise<Server> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testEnvironment().env,
    PORT: '0',
    HOST: '127.0.0.1',
    EVENTLOG_DATA_DIR: dataDir,
    EVENTLOG_CLUSTER_ID: 'server-kill',
    EVENTLOG_MAINTENANCE_INTERVAL_MS: '1500',
    EVENTLOG_CHECK_RESPONSES: 'on',
  };
  delete env['NODE_OPTIONS'];
  delete env['EVENTLOG_CONFIG'];
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN], {
    cwd: dataDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`server not ready in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`server exited before it was ready:\n${output}`));
    });
    child.stdout?.on('data', () => {
      if (!output.includes('Ready. Press Ctrl-C to stop.')) return;
      clearTimeout(timer);
      const api = /^ {2}API +(\S+)$/m.exec(output)?.[1];
      if (api === undefined) fail(new Error(`no API URL in the banner:\n${output}`));
      else ready({ child, api, exited, output: () => output });
    });
  });
}

interface Ack {
  value: string;
  partition: number;
  offset: number;
}

async function post(api: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

/** A partition's records as one server reads them, paging from offset 0. */
async function readPartition(
  api: string,
  topic: string,
  partition: number,
): Promise<{ highWatermark: number; records: { offset: number; value: string }[] }> {
  const records: { offset: number; value: string }[] = [];
  let offset = 0;
  for (let page = 0; page < 1000; page++) {
    const response = await fetch(
      `${api}/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`,
      { signal: AbortSignal.timeout(20_000) },
    );
    const body = (await response.json()) as {
      records: { offset: number; value: string }[];
      nextOffset: number;
      highWatermark: number;
    };
    if (response.status !== 200)
      throw new Error(`fetch ${partition}@${offset}: ${JSON.stringify(body)}`);
    records.push(...body.records.map((r) => ({ offset: r.offset, value: r.value })));
    if (body.nextOffset >= body.highWatermark || body.nextOffset === offset) {
      return { highWatermark: body.highWatermark, records };
    }
    offset = body.nextOffset;
  }
  throw new Error(`partition ${partition} did not end`);
}

async function readLog(api: string, topic: string) {
  const partitions = [];
  for (let p = 0; p < PARTITIONS; p++) partitions.push(await readPartition(api, topic, p));
  return partitions;
}

/** Acknowledged records not (yet) readable at their offset from this server. */
function missing(log: Awaited<ReturnType<typeof readLog>>, acks: readonly Ack[]): Ack[] {
  const at = log.map((p) => new Map(p.records.map((r) => [r.offset, r.value])));
  return acks.filter((ack) => at[ack.partition]?.get(ack.offset) !== ack.value);
}

describe('SIGKILL of the server mid-traffic (issue 13, scenario 7)', () => {
  it(`${KILLS} kills and restarts under ${PRODUCERS} HTTP producers: every acknowledged record readable from two servers within the grace`, async () => {
    const started = Date.now();
    const random = seededRandom(7);
    const dataDir = await mkdtemp(join(tmpdir(), 'eventlog-kill-'));
    const readerDir = await mkdtemp(join(tmpdir(), 'eventlog-kill-reader-'));
    dirs.push(dataDir, readerDir);
    let server = await startServer(dataDir);
    const topic = uniqueName('server-kill');
    const created = await post(server.api, '/v1/topics', { name: topic, partitions: PARTITIONS });
    expect(created.status, await created.text()).toBe(201);

    const acks: Ack[] = [];
    let unanswered = 0;
    let refused = 0;
    let stop = false;
    const producer = async (id: number) => {
      for (let n = 0; !stop; n++) {
        // Three records over all three partitions: every request is one multi-partition commit.
        const records = Array.from({ length: PARTITIONS }, (_, p) => ({
          partition: p,
          value: `w${id}-${n}-${p}`,
        }));
        const api = server.api;
        let response: Response;
        try {
          response = await post(api, `/v1/topics/${topic}/records`, { records });
        } catch {
          // Killed mid-request, or not up yet: the outcome is unknown; go on with new records.
          unanswered++;
          await sleep(100);
          continue;
        }
        const body = (await response.json().catch(() => ({}))) as {
          records?: { partition: number; offset?: number }[];
        };
        if (response.status !== 200) {
          refused++;
          continue;
        }
        body.records?.forEach((r, i) => {
          if (typeof r.offset === 'number') {
            acks.push({
              value: records[i]?.value as string,
              partition: r.partition,
              offset: r.offset,
            });
          }
        });
      }
    };
    const producing = Promise.all(Array.from({ length: PRODUCERS }, (_, id) => producer(id)));

    // Kill at random moments of the traffic, restart at once on the same stores.
    let lastKill = 0;
    let ackedAtLastRestart = 0;
    let second: Promise<Server> | undefined;
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        // Mid-traffic: once the restarted server has acknowledged a few requests (or 5 s passed).
        const since = acks.length;
        const waitUntil = Date.now() + 5_000;
        while (acks.length < since + 3 * PARTITIONS && Date.now() < waitUntil) await sleep(20);
        await sleep(Math.floor(random() * 700));
        const ackedBefore = acks.length;
        server.child.kill('SIGKILL');
        lastKill = Date.now();
        await server.exited;
        expect(server.child.signalCode).toBe('SIGKILL');
        const restarting = Date.now();
        server = await startServer(dataDir);
        process.stderr.write(
          `[server-kill] kill ${kill + 1} after ${ackedBefore} acks, restarted in ${Date.now() - restarting} ms\n`,
        );
      }
      ackedAtLastRestart = acks.length;
      // More acknowledged writes after the last restart, past any hole the last kill left; the
      // second server (the other reader) starts meanwhile.
      second = startServer(readerDir);
      await sleep(2_000);
    } finally {
      stop = true;
      await producing;
    }
    const reader = await second;
    const ackedAfterLastRestart = acks.length - ackedAtLastRestart;

    expect(acks.length).toBeGreaterThan(30);
    expect(unanswered).toBeGreaterThan(0);

    // Poll both servers until every acknowledged record is readable at its offset.
    const deadline = lastKill + GRACE_MS + MARGIN_MS;
    let firstMissing: number | undefined;
    let left: { main: number; reader: number } = { main: acks.length, reader: acks.length };
    for (;;) {
      const [main, other] = await Promise.all([
        readLog(server.api, topic),
        readLog(reader.api, topic),
      ]);
      left = { main: missing(main, acks).length, reader: missing(other, acks).length };
      firstMissing ??= left.main;
      if (left.main === 0 && left.reader === 0) {
        // Two processes, one log: the same high watermarks and records.
        expect(other).toEqual(main);
        const values = main.flatMap((p) => p.records.map((r) => r.value));
        expect(new Set(values).size, 'a record is in the log twice').toBe(values.length);
        for (const p of main) {
          const offsets = p.records.map((r) => r.offset);
          expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
          expect(p.highWatermark).toBeGreaterThanOrEqual((offsets.at(-1) ?? -1) + 1);
        }
        break;
      }
      expect(
        Date.now(),
        `${left.main} (main) and ${left.reader} (second server) of ${acks.length} acknowledged records unreadable ${Date.now() - lastKill} ms after the last kill`,
      ).toBeLessThan(deadline);
      await sleep(1_000);
    }
    process.stderr.write(
      `[server-kill] ${acks.length} acks (${ackedAfterLastRestart} after the last restart), ${unanswered} unanswered, ${refused} refused; ${firstMissing} unreadable at first look, all readable ${Date.now() - lastKill} ms after the last kill; ${Date.now() - started} ms in all\n`,
    );
    server.child.kill('SIGKILL');
    reader.child.kill('SIGKILL');
  }, 150_000);
});
