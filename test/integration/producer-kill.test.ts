import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../lib/broker/broker.js';
import { ManualClock } from '../../lib/broker/clock.js';
import { testEnvironment, uniqueName } from '../helpers/aws.js';
import { seededRandom } from '../helpers/random.js';
import { brokerForTest, readAll } from './broker/helpers.js';

/**
 * A producing process is killed outright (SIGKILL) at a random moment, mid-request or not;
 * the log must then be consistent (after healing past the grace period), and a retry of the
 * request that was in flight, from a new process with the same producer id, epoch and
 * sequences (or the same Idempotency-Key), must leave every record exactly once.
 */

const FIXTURE = fileURLToPath(new URL('../fixtures/produce-loop.ts', import.meta.url));
/** The child's produce deadline, which is also how long it holds an Idempotency-Key. */
const CHILD_MAX_PRODUCE_MS = 2_000;
const ROUNDS = Number(process.env['KILL_ROUNDS'] ?? 2);

interface SendLine {
  event: 'send';
  batch: number;
  path: string;
  body: string;
  headers: Record<string, string>;
}
interface AckLine {
  event: 'ack';
  batch: number;
  status: number;
  body: string;
}
type Line = SendLine | AckLine;

function startChild(env: Record<string, string>): {
  child: ChildProcess;
  lines: Line[];
  onLine: (listener: (line: Line) => void) => void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, ...testEnvironment().env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  const listeners: ((line: Line) => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as Line;
    lines.push(line);
    for (const listener of listeners) listener(line);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, lines, onLine: (listener) => listeners.push(listener), exited };
}

interface Written {
  value: string;
  partition: number;
  offset: number;
}

async function readLog(broker: Broker, topic: string): Promise<Written[]> {
  const all: Written[] = [];
  for (const partition of [0, 1]) {
    for (const record of await readAll(broker, topic, partition)) {
      all.push({ value: record.value?.toString() ?? '', partition, offset: record.offset });
    }
  }
  return all;
}

async function heal(broker: Broker, clock: ManualClock, topic: string): Promise<void> {
  const described = await broker.topics.get(topic);
  await broker.reader.advanceAll(described);
  clock.advance(46_000);
  await broker.reader.advanceAll(described);
}

/** Every batch's three records where its answer says, each value at most once. */
function expectAcked(log: Written[], acks: AckLine[]): void {
  const byValue = new Map<string, Written>();
  for (const written of log) {
    expect(byValue.has(written.value), `${written.value} is in the log twice`).toBe(false);
    byValue.set(written.value, written);
  }
  for (const ack of acks) {
    expect(ack.status, ack.body).toBe(200);
    const answer = JSON.parse(ack.body) as { records: { partition: number; offset: number }[] };
    answer.records.forEach((record, i) => {
      expect(byValue.get(`b${ack.batch}-r${i}`)).toEqual({
        value: `b${ack.batch}-r${i}`,
        partition: record.partition,
        offset: record.offset,
      });
    });
  }
}

describe.each(['producer', 'key'] as const)('SIGKILL of a producing process (%s)', (mode) => {
  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round}: consistent after healing; the retry from a new process writes each record once`, async () => {
      const random = seededRandom(1000 * round + (mode === 'key' ? 7 : 3));
      const clock = new ManualClock();
      const broker = brokerForTest({ clock });
      const topic = uniqueName(`kill-${mode}`);
      await broker.topics.create({ name: topic, partitions: 2 });
      const producer = mode === 'producer' ? await broker.producers.init() : undefined;
      const env = {
        EVENTLOG_TOPIC: topic,
        EVENTLOG_MODE: mode,
        EVENTLOG_MAX_PRODUCE_MS: String(CHILD_MAX_PRODUCE_MS),
        ...(producer === undefined ? {} : { EVENTLOG_PRODUCER: JSON.stringify(producer) }),
      };

      // Kill after a few acknowledged requests, at a random moment within the next ones.
      const loop = startChild(env);
      const killAfterAcks = 3 + Math.floor(random() * 6);
      const fraction = random();
      const ackTimes: number[] = [];
      loop.onLine((line) => {
        if (line.event !== 'ack') return;
        ackTimes.push(Date.now());
        if (ackTimes.length === killAfterAcks) {
          // Somewhere inside the next request: a fraction of a request's observed duration.
          const mean =
            ((ackTimes.at(-1) as number) - (ackTimes[0] as number)) / (ackTimes.length - 1);
          setTimeout(() => loop.child.kill('SIGKILL'), Math.floor(fraction * mean));
        }
      });
      const exit = await loop.exited;
      expect(exit.signal, exit.stderr).toBe('SIGKILL');

      const sends = loop.lines.filter((l): l is SendLine => l.event === 'send');
      const acked = loop.lines.filter((l): l is AckLine => l.event === 'ack');
      const last = sends.at(-1) as SendLine;
      const inFlight = acked.some((a) => a.batch === last.batch) ? undefined : last;

      // The log is consistent once the dead writer's holes are healed: every acknowledged
      // record at its offset, nothing twice, and no hole left (everything readable).
      await heal(broker, clock, topic);
      const afterKill = await readLog(broker, topic);
      expectAcked(afterKill, acked);
      const described = await broker.topics.describe(topic);
      // Every commit reserved is settled: nothing is left for a reader to wait on.
      expect(await broker.reader.mayHaveMore(described, 0)).toBe(false);

      // The retry of the request in flight (or, if none was, of the last one) from a new
      // process: the same body, so the same producer id, epoch and sequences, or the same key.
      const retry = startChild({ ...env, EVENTLOG_RESEND: JSON.stringify(inFlight ?? last) });
      const retryExit = await retry.exited;
      expect(retryExit.code, retryExit.stderr).toBe(0);
      const retryAck = retry.lines.find((l): l is AckLine => l.event === 'ack') as AckLine;
      await heal(broker, clock, topic);
      const final = await readLog(broker, topic);
      expectAcked(final, [...acked, retryAck]);
      // Exactly the batches sent, each record once, in batch order on each partition.
      expect(final.length).toBe(3 * (last.batch + 1));
      for (const partition of [0, 1]) {
        const batches = final
          .filter((w) => w.partition === partition)
          .sort((a, b) => a.offset - b.offset)
          .map((w) => Number(/^b(\d+)-/.exec(w.value)?.[1]));
        expect(batches).toEqual([...batches].sort((a, b) => a - b));
      }
      process.stderr.write(
        `[kill ${mode} ${round}] killed after ${acked.length} acks, ${inFlight === undefined ? 'between requests' : `batch ${inFlight.batch} in flight (${afterKill.filter((w) => w.value.startsWith(`b${inFlight.batch}-`)).length}/3 of its records written before the retry)`}\n`,
      );
    }, 60_000);
  }
});
