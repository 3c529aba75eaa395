import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import {
  type Broker,
  type BrokerOptions,
  createBroker,
  createStores,
} from '../../lib/broker/broker.js';
import { ManualClock } from '../../lib/broker/clock.js';
import { HttpClient } from '../../lib/client/http.js';
import { Producer } from '../../lib/client/producer.js';
import type { ProducerRecord } from '../../lib/client/records.js';
import { EventLogError, isEventLogError } from '../../lib/log/errors.js';
import { destroyAwsClients } from '../../lib/store/aws-clients.js';
import { CLUSTER_ID } from '../helpers/api.js';
import { newTestClients, testEnvironment, testNames, uniqueName } from '../helpers/aws.js';
import { type FaultAction, FaultInjector } from '../helpers/faults.js';
import {
  type CheckResult,
  checkHistory,
  type FinalLog,
  History,
  type Op,
  type Outcome,
  type ProducedRecord,
  summarize,
} from '../helpers/history-checker.js';
import { seededRandom } from '../helpers/random.js';
import { brokerForTest, readAll } from './broker/helpers.js';

/**
 * Jepsen-style: producers (idempotent SDK, plain SDK, plain HTTP with Idempotency-Key) and
 * consumer-group members run concurrently against one broker whose AWS clients fail at
 * random (seeded: throttles, 500s, timeouts before sending, answers lost after the write on
 * S3 PutObject and DynamoDB UpdateItem / PutItem / TransactWriteItems) and behind a network
 * that loses HTTP answers. The nemesis also runs, all the while: retention (a short
 * retention.ms and a retention.bytes limit) with its orphan sweep, writers that die at every
 * step of a commit (after the upload, before or after the reservation, before or after the
 * publish), writer processes SIGKILLed mid-traffic, and readers in other processes that heal the holes those leave and watch the
 * high watermarks. Every operation is recorded with its outcome; afterwards the log is
 * healed, read whole and checked (test/helpers/history-checker.ts).
 *
 * HISTORY_SECONDS (default 25) sets how long the load runs, HISTORY_SEED the seed.
 */

const SECONDS = Number(process.env['HISTORY_SECONDS'] ?? 25);
const SEED = Number(process.env['HISTORY_SEED'] ?? 20261125);
const PARTITIONS = 4;
/** Short, so that holes left by lost reservations heal during the run and readers move on. */
const MAX_PRODUCE_MS = 2_000;
/** One machine, one clock: a small margin keeps the holes' grace at 3 s. */
const HEAL_MARGIN_MS = 1_000;
/** Short enough that retention removes records (by time and by size) while the load runs. */
const RETENTION_MS = 8_000;
const RETENTION_BYTES = 12_000;
/** Every broker of the run: the same deadline, so that every reader heals at the same grace. */
const BROKER_OPTIONS: BrokerOptions = {
  produceLimits: { maxProduceMs: MAX_PRODUCE_MS },
  healMarginMs: HEAL_MARGIN_MS,
};
/** Kafka's framing per record on top of key, value and headers, as retention.bytes counts it. */
const RECORD_OVERHEAD = 21;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  topic: string;
  topicId: string;
  group: string;
  history: History;
  random: () => number;
  /** The broker whose AWS clients fail at random. */
  faulty: Broker;
  /** The same stores on clean clients: healing, the committed-offset observer, final reads. */
  healthy: Broker;
  /** fetch() to the app over `faulty`, losing answers with probability `loss`. */
  network: (loss: number) => typeof globalThis.fetch;
  lostAnswers: { count: number };
  stopAt: number;
  /** What maintenance and the dying writers did, for the summary and the checks. */
  stats: {
    retentionRuns: number;
    retentionErrors: number;
    /** Wall-clock ms when the last retention run ended: nothing newer expired by time. */
    lastRetentionAt: number;
    objectsDeleted: number;
    orphansDeleted: number;
    batchesExpired: number;
    healedByRetention: number;
    crashes: Record<string, number>;
    /** Writer processes SIGKILLed, and how many of their requests were in flight then. */
    kills: number;
    killedInFlight: number;
  };
}

async function startRun(
  seed: number,
  seconds: number,
  faultRate: number,
  configs: Record<string, string> = {},
): Promise<{ run: Run; faults: FaultInjector; close: () => void }> {
  const random = seededRandom(seed);
  const clients = newTestClients({ maxAttempts: 2 });
  const faults = new FaultInjector({ seed });
  faults.attach(clients.s3);
  faults.attach(clients.dynamo);
  if (faultRate > 0) {
    const actions: [FaultAction, number][] = [
      ['throttle', 1],
      ['serverError', 1],
      ['timeoutBefore', 0.7],
      ['loseResponse', 1],
    ];
    for (const command of ['PutObject', 'UpdateItem', 'PutItem', 'TransactWriteItems']) {
      for (const [action, weight] of actions) {
        faults.add({ command, action, probability: faultRate * weight, times: Infinity });
      }
    }
  }
  const faulty = createBroker(createStores(clients, testNames()), BROKER_OPTIONS);
  // Maintenance: orphans go once their writer's deadline and a small clock skew have passed.
  const healthy = brokerForTest({ ...BROKER_OPTIONS, retention: { clockSkewMs: 500 } });
  const topic = uniqueName('history');
  const created = await healthy.topics.create({ name: topic, partitions: PARTITIONS, configs });
  const app = createApp({
    broker: faulty,
    clusterId: CLUSTER_ID,
    logError: () => {},
    validateResponses: true,
  });
  const lostAnswers = { count: 0 };
  const network = (loss: number) =>
    (async (url: URL | string, init?: RequestInit) => {
      const response = await app.request(String(url), init);
      if (init?.method === 'POST' && random() < loss) {
        await response.arrayBuffer();
        lostAnswers.count++;
        throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
      return response;
    }) as typeof globalThis.fetch;
  const history = new History();
  return {
    run: {
      topic,
      topicId: created.topicId,
      group: uniqueName('history-group'),
      history,
      random,
      faulty,
      healthy,
      network,
      lostAnswers,
      stopAt: history.now() + seconds * 1000,
      stats: {
        retentionRuns: 0,
        retentionErrors: 0,
        lastRetentionAt: 0,
        objectsDeleted: 0,
        orphansDeleted: 0,
        batchesExpired: 0,
        healedByRetention: 0,
        crashes: {},
        kills: 0,
        killedInFlight: 0,
      },
    },
    faults,
    close: () => destroyAwsClients(clients),
  };
}

const running = (run: Run) => run.history.now() < run.stopAt;

function newRecords(run: Run, process: string, op: number, count: number): ProducerRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const value = `${process}:${op}:${i}`;
    // Keys spread records; an explicit partition now and then.
    return run.random() < 0.2
      ? { partition: Math.floor(run.random() * PARTITIONS), value }
      : { key: `k${Math.floor(run.random() * 16)}`, value };
  });
}

/** How a failed SDK send's records ended, from its per-record results when it has them. */
function outcomesOf(error: unknown, count: number, idempotent: boolean): ProducedRecord[] {
  const e = error instanceof EventLogError ? error : undefined;
  const results = e?.details?.['results'] as
    | ({ partition: number; offset?: number; error?: Record<string, unknown> } | undefined)[]
    | undefined;
  return Array.from({ length: count }, (_, i) => {
    const result = results?.[i];
    if (result !== undefined && typeof result.offset === 'number') {
      return { value: '', outcome: 'ok', partition: result.partition, offset: result.offset };
    }
    const failure = result?.error ?? {
      retriable: e?.retriable,
      outcome: e?.details?.['outcome'],
      network: e?.details?.['network'],
    };
    // Without idempotence the server's word is final: a retriable error wrote nothing, unless
    // it says the outcome is unknown. With it, the SDK retried and the last error is all we know.
    const definite =
      !idempotent &&
      failure['retriable'] === true &&
      failure['outcome'] !== 'unknown' &&
      failure['network'] !== true;
    return { value: '', outcome: definite ? 'failed' : 'unknown' };
  });
}

/** An SDK Producer, one send at a time (or sendBatch with requests in flight). */
async function sdkProducer(
  run: Run,
  process: string,
  options: { idempotent: boolean; inFlight?: number; loss: number; rawRetries?: number },
): Promise<void> {
  const http = new HttpClient({
    url: 'http://eventlog.test',
    fetch: run.network(options.loss),
    retry: { retries: 6, baseDelayMs: 5, maxDelayMs: 200 },
  });
  const producer = new Producer(http, {
    idempotence: options.idempotent ? { baseDelayMs: 5, maxDelayMs: 200 } : false,
    maxInFlight: options.inFlight ?? 1,
    batch: { maxRecords: 2 },
  });
  while (running(run)) {
    const index = run.history.nextIndex(process);
    const count = options.inFlight === undefined ? 1 + Math.floor(run.random() * 5) : 6;
    const records = newRecords(run, process, index, count);
    const start = run.history.now();
    let produced: ProducedRecord[];
    let error: string | undefined;
    try {
      const acks =
        options.inFlight === undefined
          ? await sendWithRawRetries(producer, run.topic, records, options.rawRetries ?? 0)
          : await producer.sendBatch({ topic: run.topic, records });
      produced = acks.map((ack) => ({
        value: '',
        outcome: 'ok' as Outcome,
        partition: ack.partition,
        offset: ack.offset,
        timestamp: ack.timestamp,
      }));
    } catch (e) {
      // A failed sendBatch's per-record results are those of its failed request only.
      produced =
        options.inFlight === undefined
          ? outcomesOf(e, records.length, options.idempotent)
          : records.map(() => ({ value: '', outcome: 'unknown' as Outcome }));
      error = e instanceof Error ? e.message : String(e);
      if (isEventLogError(e, 'PRODUCER_FENCED')) throw e;
    }
    const withValues = produced.map((p, i) => ({
      ...p,
      value: String(records[i]?.value),
      bytes: bytesOf(records[i] as ProducerRecord),
    }));
    run.history.add({
      kind: 'produce',
      process,
      ordered: true,
      idempotent: options.idempotent,
      index,
      records: withValues,
      outcome: withValues.every((r) => r.outcome === 'ok')
        ? 'ok'
        : withValues.every((r) => r.outcome === 'failed')
          ? 'failed'
          : 'unknown',
      ...(error === undefined ? {} : { error }),
      start,
      end: run.history.now(),
    });
  }
}

/**
 * The deliberately broken client of the negative test: no idempotence, yet it sends the same
 * records again after a lost answer, as a naive retry loop would.
 */
async function sendWithRawRetries(
  producer: Producer,
  topic: string,
  records: ProducerRecord[],
  rawRetries: number,
) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await producer.send({ topic, records });
    } catch (error) {
      const network = isEventLogError(error) && error.details?.['network'] === true;
      if (!network || attempt >= rawRetries) throw error;
    }
  }
}

/** A plain HTTP client with an Idempotency-Key per request, retrying until it is answered. */
async function keyProducer(run: Run, process: string, loss: number): Promise<void> {
  const fetch = run.network(loss);
  while (running(run)) {
    const index = run.history.nextIndex(process);
    const records = newRecords(run, process, index, 1 + Math.floor(run.random() * 4));
    const key = `${process}-${run.topic}-${index}`;
    const body = JSON.stringify({ records });
    const start = run.history.now();
    let produced: ProducedRecord[] | undefined;
    let error = 'gave up';
    for (let attempt = 0; attempt < 30 && produced === undefined; attempt++) {
      try {
        const response = await fetch(`http://eventlog.test/v1/topics/${run.topic}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
        });
        const answer = (await response.json()) as {
          records?: { partition: number; offset?: number; timestamp?: number }[];
          code?: string;
        };
        const complete =
          response.status === 200 && answer.records?.every((r) => r.offset !== undefined);
        if (complete) {
          produced = (answer.records ?? []).map((r, i) => ({
            value: String(records[i]?.value),
            bytes: bytesOf(records[i] as ProducerRecord),
            outcome: 'ok' as Outcome,
            partition: r.partition,
            offset: r.offset as number,
            ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
          }));
        } else {
          error = `${response.status} ${answer.code ?? ''}`;
        }
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      if (produced === undefined) await sleep(5 + Math.floor(run.random() * 100));
    }
    run.history.add({
      kind: 'produce',
      process,
      ordered: true,
      idempotent: true,
      index,
      records:
        produced ??
        records.map((r) => ({
          value: String(r.value),
          bytes: bytesOf(r),
          outcome: 'unknown' as Outcome,
        })),
      outcome: produced === undefined ? 'unknown' : 'ok',
      ...(produced === undefined ? { error } : {}),
      start,
      end: run.history.now(),
    });
  }
}

/**
 * A consumer-group member on the broker's GroupService: heartbeats, reads its partitions from
 * its position (the committed offset when it takes a lease) and commits what it read. A
 * consumer over the SDK (lib/client/consumer.ts) can take its place with the same recording.
 */
async function groupMember(run: Run, memberId: string, until: () => boolean): Promise<void> {
  const positions = new Map<string, number>();
  const { history } = run;
  while (running(run) && until()) {
    let start = history.now();
    let assignment: { partition: number; counter: number; committed: number | null }[];
    try {
      const beat = await run.faulty.groups.heartbeat(run.group, memberId, {
        topics: [run.topic],
        sessionTimeoutMs: 3000,
      });
      assignment = beat.assignment;
    } catch (error) {
      history.add({
        kind: 'error',
        process: memberId,
        what: 'heartbeat',
        error: String(error),
        start,
        end: history.now(),
      });
      await sleep(50);
      continue;
    }
    for (const lease of assignment) {
      const tenure = `${lease.partition}|${lease.counter}`;
      const from = positions.get(tenure) ?? lease.committed ?? 0;
      start = history.now();
      let nextOffset: number;
      try {
        const page = await run.faulty.fetch.fetch({
          topic: run.topic,
          partition: lease.partition,
          offset: from,
          maxRecords: 50,
        });
        nextOffset = page.nextOffset;
        history.add({
          kind: 'read',
          process: memberId,
          partition: lease.partition,
          tenure: String(lease.counter),
          from,
          records: page.records.map((r) => ({ offset: r.offset, value: String(r.value) })),
          nextOffset,
          start,
          end: history.now(),
        });
      } catch (error) {
        const logStart = isEventLogError(error, 'OFFSET_OUT_OF_RANGE')
          ? error.details?.['logStartOffset']
          : undefined;
        if (typeof logStart === 'number' && from < logStart) {
          // Retention passed this position: start over at the log start, as Kafka's
          // auto.offset.reset=earliest does. The checker allows skipping only offsets that are
          // below the final log start.
          history.add({
            kind: 'read',
            process: memberId,
            partition: lease.partition,
            tenure: String(lease.counter),
            from,
            records: [],
            nextOffset: logStart,
            start,
            end: history.now(),
          });
          positions.set(tenure, logStart);
          continue;
        }
        history.add({
          kind: 'error',
          process: memberId,
          what: `fetch ${lease.partition}@${from}`,
          error: String(error),
          start,
          end: history.now(),
        });
        continue;
      }
      positions.set(tenure, nextOffset);
      if (nextOffset === from) continue;
      start = history.now();
      try {
        const [result] = await run.faulty.groups.commit(run.group, memberId, [
          {
            topic: run.topic,
            partition: lease.partition,
            offset: nextOffset,
            counter: lease.counter,
          },
        ]);
        history.add({
          kind: 'commit',
          process: memberId,
          partition: lease.partition,
          offset: nextOffset,
          outcome: 'ok',
          ...(result === undefined ? {} : { committed: result.committed }),
          start,
          end: history.now(),
        });
      } catch (error) {
        history.add({
          kind: 'commit',
          process: memberId,
          partition: lease.partition,
          offset: nextOffset,
          outcome: isEventLogError(error, 'FENCED') ? 'failed' : 'unknown',
          error: String(error),
          start,
          end: history.now(),
        });
      }
    }
    await sleep(20 + Math.floor(run.random() * 30));
  }
  await run.faulty.groups.leave(run.group, memberId).catch(() => {});
}

/** Committed offsets, read one snapshot after another on clean clients. */
async function committedObserver(run: Run): Promise<void> {
  while (running(run)) {
    const start = run.history.now();
    try {
      const committed = await run.healthy.groups.committed(run.group);
      run.history.add({
        kind: 'committed',
        process: 'observer',
        offsets: Object.fromEntries(committed.map((c) => [c.partition, c.committed])),
        start,
        end: run.history.now(),
      });
    } catch {
      // An unknown group (nobody committed yet) or a read error: try again.
    }
    await sleep(150);
  }
}

/**
 * The maintenance function on a timer: retention of the topic (which heals expired holes
 * first, applies retention.ms and retention.bytes, deletes what no commit refers to any more
 * and sweeps orphans), and a pass of healing over every sequence, tail included.
 */
async function maintenance(run: Run): Promise<void> {
  const topic = await run.healthy.topics.get(run.topic);
  while (running(run)) {
    try {
      const report = await run.healthy.retention.runOnce({ topics: [run.topic] });
      for (const t of report.topics) {
        run.stats.objectsDeleted += t.objectsDeleted;
        run.stats.orphansDeleted += t.orphansDeleted;
        for (const p of t.partitions) {
          run.stats.batchesExpired += p.entriesDeleted;
          run.stats.healedByRetention += p.abortedRanges;
        }
      }
      run.stats.retentionRuns++;
      run.stats.lastRetentionAt = Date.now();
      await run.healthy.reader.advanceAll(topic);
    } catch (error) {
      run.stats.retentionErrors++;
      run.history.add({
        kind: 'error',
        process: 'maintenance',
        what: 'retention',
        error: String(error),
        start: run.history.now(),
        end: run.history.now(),
      });
    }
    await sleep(300 + Math.floor(run.random() * 400));
  }
}

/** A commit's put (not an aborted marker's): the item names its object. */
const isCommitPut = (input: Record<string, unknown>): boolean =>
  input['TableName'] === testNames().logTable &&
  (input['Item'] as Record<string, unknown> | undefined)?.['o'] !== undefined;

/** Where a writer dies: each step of a commit, before or after its call reached AWS. */
const CRASH_POINTS: {
  name: string;
  command: string;
  action: 'crash' | 'crashAfter';
  when?: (input: Record<string, unknown>) => boolean;
}[] = [
  { name: 'after-upload', command: 'PutObject', action: 'crashAfter' },
  { name: 'before-reserve', command: 'UpdateItem', action: 'crash' },
  { name: 'after-reserve', command: 'UpdateItem', action: 'crashAfter' },
  { name: 'before-publish', command: 'PutItem', action: 'crash', when: isCommitPut },
  { name: 'after-publish', command: 'PutItem', action: 'crashAfter', when: isCommitPut },
];

/**
 * Writers that die mid-commit, one after another, each a process of its own (its own clients,
 * which stop working at the crash point). Nobody hears back from them: their records are of
 * unknown outcome, and the holes and orphans they leave are for readers and maintenance.
 */
async function dyingWriters(run: Run, process: string): Promise<void> {
  for (let n = 0; running(run); n++) {
    // Every crash point in turn, so that each one is met within the first few writers.
    const point = CRASH_POINTS[n % CRASH_POINTS.length] as (typeof CRASH_POINTS)[number];
    const clients = newTestClients({ maxAttempts: 1 });
    const faults = new FaultInjector();
    faults.attach(clients.s3);
    faults.attach(clients.dynamo);
    faults.add({
      command: point.command,
      action: point.action,
      ...(point.when === undefined ? {} : { when: point.when }),
    });
    const broker = createBroker(createStores(clients, testNames()), BROKER_OPTIONS);
    const index = run.history.nextIndex(process);
    const records = newRecords(run, process, index, 1 + Math.floor(run.random() * 3));
    const start = run.history.now();
    let results: (
      | { partition: number; offset?: number | undefined; timestamp?: number | undefined }
      | undefined
    )[] = [];
    try {
      const answer = await broker.produce.produce({
        topic: run.topic,
        records: records.map((r) => ({
          value: Buffer.from(String(r.value)),
          ...(r.key === undefined ? {} : { key: Buffer.from(String(r.key)) }),
          ...(r.partition === undefined ? {} : { partition: r.partition }),
        })),
      });
      results = answer.records;
    } catch {
      // Died before anything could be answered.
    } finally {
      destroyAwsClients(clients);
    }
    const died = faults.crashedAt !== undefined;
    if (died) run.stats.crashes[point.name] = (run.stats.crashes[point.name] ?? 0) + 1;
    const produced: ProducedRecord[] = records.map((r, i) => {
      const result = results[i];
      // A dead process answers nobody: whatever it did is of unknown outcome.
      return !died && result?.offset !== undefined
        ? {
            value: String(r.value),
            bytes: bytesOf(r),
            outcome: 'ok' as Outcome,
            partition: result.partition,
            offset: result.offset,
            ...(result.timestamp === undefined ? {} : { timestamp: result.timestamp }),
          }
        : { value: String(r.value), bytes: bytesOf(r), outcome: 'unknown' as Outcome };
    });
    run.history.add({
      kind: 'produce',
      process,
      ordered: false,
      idempotent: false,
      index,
      records: produced,
      outcome: produced.every((r) => r.outcome === 'ok') ? 'ok' : 'unknown',
      ...(died ? { error: `died ${point.name}` } : {}),
      start,
      end: run.history.now(),
    });
    await sleep(200 + Math.floor(run.random() * 300));
  }
}

const REPO = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;

/**
 * The writer process the nemesis SIGKILLs: produces in a loop, one request at a time, and says
 * on stdout what it is about to send and what was answered, one JSON line each.
 */
const WRITER_SCRIPT = `
const root = process.env.EVENTLOG_REPO;
const { createBroker, createStores } = await import(root + '/lib/broker/broker.ts');
const { resourceNamesFromEnv } = await import(root + '/lib/store/resources.ts');
const { createAwsClients } = await import(root + '/lib/store/aws-clients.ts');
const broker = createBroker(createStores(createAwsClients(), resourceNamesFromEnv()), {
  produceLimits: { maxProduceMs: Number(process.env.EVENTLOG_MAX_PRODUCE_MS) },
});
const topic = process.env.EVENTLOG_TOPIC;
const tag = process.env.EVENTLOG_TAG;
const partitions = Number(process.env.EVENTLOG_PARTITIONS);
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
for (let n = 0; ; n++) {
  const records = Array.from({ length: 1 + (n % 3) }, (_, i) => ({
    partition: (n + i) % partitions,
    value: tag + ':' + n + ':' + i,
  }));
  say({ event: 'send', n, records });
  let results;
  try {
    const answer = await broker.produce.produce({
      topic,
      records: records.map((r) => ({ partition: r.partition, value: Buffer.from(r.value) })),
    });
    results = answer.records.map((r) =>
      r.error === undefined ? { partition: r.partition, offset: r.offset, timestamp: r.timestamp } : {},
    );
  } catch {
    results = records.map(() => ({}));
  }
  say({ event: 'ack', n, results });
}
`;

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface WriterLine {
  event: 'send' | 'ack';
  n: number;
  records?: { partition: number; value: string }[];
  results?: { partition?: number; offset?: number; timestamp?: number }[];
}

/**
 * Writer processes killed outright (SIGKILL) after a few acknowledged requests, at a random
 * moment (mid-request or not), one after another. The request in flight at the kill is of
 * unknown outcome; it may have left an object, a reservation without a commit, or a commit.
 */
async function killedWriters(run: Run, name: string): Promise<void> {
  for (let k = 0; running(run); k++) {
    const tag = `${name}-${k}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...testEnvironment().env,
      EVENTLOG_REPO: pathToFileURL(REPO).href,
      EVENTLOG_TOPIC: run.topic,
      EVENTLOG_TAG: tag,
      EVENTLOG_PARTITIONS: String(PARTITIONS),
      EVENTLOG_MAX_PRODUCE_MS: String(MAX_PRODUCE_MS),
    };
    delete env['NODE_OPTIONS'];
    const child = spawn(
      process.execPath,
      ['--import', TSX_LOADER, '--input-type=module', '-e', WRITER_SCRIPT],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.add(child);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const sent = new Map<number, { records: { partition: number; value: string }[]; at: number }>();
    let acked = 0;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      const line = JSON.parse(text) as WriterLine;
      if (line.event === 'send') {
        sent.set(line.n, { records: line.records ?? [], at: run.history.now() });
        return;
      }
      const request = sent.get(line.n);
      if (request === undefined) return;
      sent.delete(line.n);
      acked++;
      const records: ProducedRecord[] = request.records.map((r, i) => {
        const result = line.results?.[i];
        return result?.offset === undefined
          ? { value: r.value, bytes: RECORD_OVERHEAD + r.value.length, outcome: 'unknown' }
          : {
              value: r.value,
              bytes: RECORD_OVERHEAD + r.value.length,
              outcome: 'ok',
              partition: result.partition as number,
              offset: result.offset,
              ...(result.timestamp === undefined ? {} : { timestamp: result.timestamp }),
            };
      });
      run.history.add({
        kind: 'produce',
        process: tag,
        ordered: true,
        idempotent: false,
        index: line.n,
        records,
        outcome: records.every((r) => r.outcome === 'ok') ? 'ok' : 'unknown',
        start: request.at,
        end: run.history.now(),
      });
    });
    // Kill after a few answers, a random moment later: mid-request or between two.
    const target = 2 + Math.floor(run.random() * 5);
    while (running(run) && acked < target && child.exitCode === null) await sleep(10);
    await sleep(Math.floor(run.random() * 60));
    child.kill('SIGKILL');
    await exited;
    children.delete(child);
    run.stats.kills++;
    run.stats.killedInFlight += sent.size;
    // What was in flight: nobody heard back.
    for (const [n, request] of sent) {
      run.history.add({
        kind: 'produce',
        process: tag,
        ordered: true,
        idempotent: false,
        index: n,
        records: request.records.map((r) => ({
          value: r.value,
          bytes: RECORD_OVERHEAD + r.value.length,
          outcome: 'unknown' as Outcome,
        })),
        outcome: 'unknown',
        error: 'killed',
        start: request.at,
        end: run.history.now(),
      });
    }
  }
}

/**
 * Every partition's log start and high watermark, looked at again and again by a process of
 * its own (which heals what it meets, as every reader does). `fresh`: a new process each look,
 * which has seen nothing before, as a Lambda cold start.
 */
async function boundsObserver(run: Run, process: string, fresh: boolean): Promise<void> {
  const clients = newTestClients();
  const stores = createStores(clients, testNames());
  let broker = createBroker(stores, BROKER_OPTIONS);
  try {
    const topic = await broker.topics.get(run.topic);
    while (running(run)) {
      if (fresh) broker = createBroker(stores, BROKER_OPTIONS);
      const start = run.history.now();
      try {
        const bounds = await broker.reader.allBounds(topic);
        run.history.add({
          kind: 'bounds',
          process,
          highWatermarks: Object.fromEntries(bounds.map((b) => [b.partition, b.highWatermark])),
          logStarts: Object.fromEntries(bounds.map((b) => [b.partition, b.logStartOffset])),
          start,
          end: run.history.now(),
        });
      } catch (error) {
        run.history.add({
          kind: 'error',
          process,
          what: 'bounds',
          error: String(error),
          start,
          end: run.history.now(),
        });
      }
      await sleep(80 + Math.floor(run.random() * 80));
    }
  } finally {
    destroyAwsClients(clients);
  }
}

/**
 * Heals what is left (a clock far past every writer's deadline), checks that two fresh
 * processes see the same bounds, then reads every partition whole from its log start.
 */
async function finalLog(run: Run, withRetention: boolean): Promise<FinalLog> {
  const clock = new ManualClock(Date.now() + 3_600_000);
  const healing = brokerForTest({ ...BROKER_OPTIONS, clock });
  const topic = await healing.topics.get(run.topic);
  await healing.reader.advanceAll(topic);
  for (let p = 0; p < PARTITIONS; p++) {
    // Every reservation is settled: nothing is left for a reader to wait on.
    expect(await healing.reader.mayHaveMore(topic, p), `partition ${p} has a hole left`).toBe(
      false,
    );
  }
  const bounds = await healing.reader.allBounds(topic);
  expect(await brokerForTest(BROKER_OPTIONS).reader.allBounds(topic)).toEqual(bounds);
  const aborted = await abortedRanges(healing, topic.topicId, topic.sequences, bounds);
  const partitions: FinalLog['partitions'] = [];
  for (const { partition, logStartOffset, highWatermark } of bounds) {
    const records = (await readAll(run.healthy, run.topic, partition, logStartOffset)).map((r) => ({
      offset: r.offset,
      value: String(r.value),
    }));
    partitions.push({
      partition,
      records,
      aborted: aborted.get(partition) ?? [],
      logStartOffset,
      highWatermark,
    });
  }
  return {
    partitions,
    ...(withRetention
      ? {
          retention: {
            retentionMs: RETENTION_MS,
            retentionBytes: RETENTION_BYTES,
            lastRunAt: run.stats.lastRetentionAt,
          },
        }
      : {}),
  };
}

/**
 * The offsets that aborted commits reserved, per partition: between one published batch's end
 * and the next one's start. Before the first kept commit, retention may have removed the
 * markers too: from the log start to the first kept batch counts as aborted.
 */
async function abortedRanges(
  broker: Broker,
  topicId: string,
  sequences: number,
  bounds: { partition: number; logStartOffset: number }[],
): Promise<Map<number, { from: number; to: number }[]>> {
  const out = new Map<number, { from: number; to: number }[]>();
  const logStart = new Map(bounds.map((b) => [b.partition, b.logStartOffset]));
  for (let sequence = 0; sequence < sequences; sequence++) {
    const meta = await broker.stores.commits.meta(topicId, sequence);
    const ends = new Map<number, number>();
    for (let from = meta.startCommit; ; ) {
      const commits = await broker.stores.commits.commitsFrom(topicId, sequence, from, 100);
      for (const commit of commits) {
        from = commit.commit + 1;
        if (commit.kind !== 'published') continue;
        for (const [partition, end] of commit.vector) {
          const batch = commit.batches.find((b) => b.partition === partition);
          const base = batch === undefined ? end : batch.baseOffset;
          const previous = ends.get(partition) ?? Math.min(logStart.get(partition) ?? 0, base);
          if (base > previous) {
            out.set(partition, [...(out.get(partition) ?? []), { from: previous, to: base }]);
          }
          ends.set(partition, end);
        }
      }
      if (commits.length < 100) break;
    }
  }
  return out;
}

async function check(
  run: Run,
  faults: FaultInjector,
  label: string,
  withRetention = false,
): Promise<{ result: CheckResult; log: FinalLog }> {
  const log = await finalLog(run, withRetention);
  const result = checkHistory(run.history.ops, log);
  const { stats } = run;
  process.stderr.write(
    `\n[history ${label}, seed ${SEED}]\n${summarize(run.history.ops, log, result, faults.log, {
      'lost HTTP answers': run.lostAnswers.count,
      'retention runs': stats.retentionRuns,
      'retention errors': stats.retentionErrors,
      'batches expired': stats.batchesExpired,
      'objects deleted': stats.objectsDeleted,
      'orphans swept': stats.orphansDeleted,
      'holes healed by retention': stats.healedByRetention,
      ...Object.fromEntries(Object.entries(stats.crashes).map(([k, v]) => [`died ${k}`, v])),
      'writer processes killed': stats.kills,
      'requests in flight at a kill': stats.killedInFlight,
    })}\n`,
  );
  return { result, log };
}

/** What retention.bytes counts for a record: key and value bytes plus the framing. */
function bytesOf(record: ProducerRecord): number {
  const size = (v: unknown) => (v === undefined || v === null ? 0 : Buffer.byteLength(String(v)));
  return RECORD_OVERHEAD + size(record.key) + size(record.value);
}

describe('history under random faults (Jepsen-style)', () => {
  it(
    `producers, a consumer group, retention, dying and SIGKILLed writers, two watching processes for ${SECONDS} s: no anomaly`,
    async () => {
      const { run, faults, close } = await startRun(SEED, SECONDS, 0.02, {
        'retention.ms': String(RETENTION_MS),
        'retention.bytes': String(RETENTION_BYTES),
      });
      try {
        let memberZeroAlive = true;
        let lateMemberJoined = false;
        const started = run.history.now();
        const lateJoin = (async () => {
          // Churn: one member leaves at 40% of the run, a new one joins at 60%.
          await sleep(SECONDS * 400);
          memberZeroAlive = false;
          await sleep(SECONDS * 200);
          lateMemberJoined = true;
          await groupMember(run, 'member-3', () => true);
        })();
        await Promise.all([
          sdkProducer(run, 'idem-a', { idempotent: true, loss: 0.03 }),
          sdkProducer(run, 'idem-b', { idempotent: true, loss: 0.03 }),
          sdkProducer(run, 'idem-batch', { idempotent: true, inFlight: 3, loss: 0.03 }),
          sdkProducer(run, 'plain-a', { idempotent: false, loss: 0.03 }),
          sdkProducer(run, 'plain-b', { idempotent: false, loss: 0.03 }),
          keyProducer(run, 'key-a', 0.03),
          dyingWriters(run, 'dying'),
          killedWriters(run, 'killed'),
          groupMember(run, 'member-0', () => memberZeroAlive),
          groupMember(run, 'member-1', () => true),
          groupMember(run, 'member-2', () => true),
          lateJoin,
          committedObserver(run),
          boundsObserver(run, 'watcher-warm', false),
          boundsObserver(run, 'watcher-fresh', true),
          maintenance(run),
        ]);
        expect(lateMemberJoined).toBe(true);
        expect(run.history.now() - started).toBeGreaterThanOrEqual(SECONDS * 1000);
        faults.detachAll();
        const { result, log } = await check(run, faults, 'faults', true);
        expect(faults.log.length).toBeGreaterThan(0);
        expect(run.history.ops.some((op) => op.kind === 'read' && op.records.length > 0)).toBe(
          true,
        );
        // The nemesis did its part: retention removed batches (the log starts moved), writers
        // died mid-commit, their holes were healed (aborted ranges), and both watchers looked.
        expect(run.stats.batchesExpired).toBeGreaterThan(0);
        expect(log.partitions.some((p) => (p.logStartOffset ?? 0) > 0)).toBe(true);
        expect(run.stats.crashes['before-publish'] ?? 0).toBeGreaterThan(0);
        expect(run.stats.kills).toBeGreaterThan(0);
        expect(log.partitions.some((p) => p.aborted.length > 0)).toBe(true);
        for (const watcher of ['watcher-warm', 'watcher-fresh']) {
          expect(
            run.history.ops.filter((op) => op.kind === 'bounds' && op.process === watcher).length,
          ).toBeGreaterThan(10);
        }
        // No read ever met a batch whose object was gone or did not match its commit (0.1's
        // retention deleted acknowledged objects: NoSuchKey). Injected faults say otherwise.
        const unreadable = run.history.ops.filter(
          (op) => op.kind === 'error' && /NoSuchKey|CORRUPT_RECORD|Commit entry/.test(op.error),
        );
        expect(unreadable).toEqual([]);
        expect(result.anomalies).toEqual([]);
      } finally {
        close();
      }
    },
    SECONDS * 1000 + 35_000,
  );

  it('the checker catches what 0.1 got wrong: a record gone from the middle, one expired early, a high watermark going back', () => {
    const now = Date.now();
    const produce = (values: string[], first: number): ProducedRecord[] =>
      values.map((value, i) => ({
        value,
        bytes: 30,
        outcome: 'ok',
        partition: 0,
        offset: first + i,
        timestamp: now,
      }));
    const ops: Op[] = [
      {
        kind: 'produce',
        process: 'p',
        ordered: true,
        idempotent: true,
        index: 0,
        records: produce(['a', 'b', 'c', 'd', 'e'], 0),
        outcome: 'ok',
        start: 0,
        end: 1,
      },
      // A process saw 5; a fresh one, looking later, saw 3 (scenario 4's two views).
      {
        kind: 'bounds',
        process: 'old',
        highWatermarks: { 0: 5 },
        logStarts: { 0: 0 },
        start: 2,
        end: 3,
      },
      {
        kind: 'bounds',
        process: 'new',
        highWatermarks: { 0: 3 },
        logStarts: { 0: 0 },
        start: 4,
        end: 5,
      },
      // Overlapping looks may see either order: not an anomaly.
      {
        kind: 'bounds',
        process: 'slow',
        highWatermarks: { 0: 4 },
        logStarts: { 0: 0 },
        start: 2.5,
        end: 6,
      },
    ];
    // Retention moved the log start to 2 though nothing had expired (scenarios 1 and 2), and
    // offset 3 is missing from the middle of the log.
    const result = checkHistory(ops, {
      partitions: [
        {
          partition: 0,
          records: [
            { offset: 2, value: 'c' },
            { offset: 4, value: 'e' },
          ],
          aborted: [],
          logStartOffset: 2,
          highWatermark: 5,
        },
      ],
      retention: { retentionMs: 3_600_000, retentionBytes: 1_000, lastRunAt: now },
    });
    expect(result.byKind).toEqual({
      'expired-early': 2,
      lost: 1,
      'offset-gap': 1,
      'bounds-regressed': 1,
    });
    // The same log start is fine once retention.ms says a and b are old enough.
    const old = ops.map((op) =>
      op.kind === 'produce'
        ? { ...op, records: op.records.map((r) => ({ ...r, timestamp: now - 7_200_000 })) }
        : op,
    );
    const aged = checkHistory(old, {
      partitions: [
        {
          partition: 0,
          records: [2, 3, 4].map((offset) => ({ offset, value: 'cde'[offset - 2] as string })),
          aborted: [],
          logStartOffset: 2,
          highWatermark: 5,
        },
      ],
      retention: { retentionMs: 3_600_000, retentionBytes: -1, lastRunAt: now },
    });
    expect(aged.byKind).toEqual({ 'bounds-regressed': 1 });
  });

  it('catches duplicates from a client that resends without idempotence after lost answers', async () => {
    const seconds = Math.min(5, SECONDS);
    const { run, faults, close } = await startRun(SEED + 1, seconds, 0);
    try {
      await Promise.all([
        sdkProducer(run, 'naive-retry', { idempotent: false, loss: 0.3, rawRetries: 3 }),
        maintenance(run),
      ]);
      const { result } = await check(run, faults, 'broken client');
      expect(result.byKind.duplicate ?? 0).toBeGreaterThan(0);
    } finally {
      close();
    }
  }, 60_000);
});
