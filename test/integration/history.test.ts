import { describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { type Broker, createBroker, createStores } from '../../lib/broker/broker.js';
import { ManualClock } from '../../lib/broker/clock.js';
import { HttpClient } from '../../lib/client/http.js';
import { Producer } from '../../lib/client/producer.js';
import type { ProducerRecord } from '../../lib/client/records.js';
import { EventLogError, isEventLogError } from '../../lib/log/errors.js';
import { destroyAwsClients } from '../../lib/store/aws-clients.js';
import { CLUSTER_ID } from '../helpers/api.js';
import { newTestClients, testNames, uniqueName } from '../helpers/aws.js';
import { type FaultAction, FaultInjector } from '../helpers/faults.js';
import {
  type CheckResult,
  checkHistory,
  type FinalLog,
  History,
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
 * that loses HTTP answers. Every operation is recorded with its outcome; afterwards the
 * log is healed, read whole and checked (test/helpers/history-checker.ts).
 *
 * HISTORY_SECONDS (default 30) sets how long the load runs, HISTORY_SEED the seed.
 */

const SECONDS = Number(process.env['HISTORY_SECONDS'] ?? 30);
const SEED = Number(process.env['HISTORY_SEED'] ?? 20261125);
const PARTITIONS = 4;
/** Short, so that holes left by lost reservations heal during the run and readers move on. */
const MAX_PRODUCE_MS = 2_000;

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
}

async function startRun(
  seed: number,
  seconds: number,
  faultRate: number,
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
  const options = { produceLimits: { maxProduceMs: MAX_PRODUCE_MS } };
  const faulty = createBroker(createStores(clients, testNames()), options);
  const healthy = brokerForTest(options);
  const topic = uniqueName('history');
  const created = await healthy.topics.create({ name: topic, partitions: PARTITIONS });
  const app = createApp({ broker: faulty, clusterId: CLUSTER_ID, logError: () => {} });
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
    const withValues = produced.map((p, i) => ({ ...p, value: String(records[i]?.value) }));
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
          records?: { partition: number; offset?: number }[];
          code?: string;
        };
        const complete =
          response.status === 200 && answer.records?.every((r) => r.offset !== undefined);
        if (complete) {
          produced = (answer.records ?? []).map((r, i) => ({
            value: String(records[i]?.value),
            outcome: 'ok' as Outcome,
            partition: r.partition,
            offset: r.offset as number,
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
        produced ?? records.map((r) => ({ value: String(r.value), outcome: 'unknown' as Outcome })),
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

/** The maintenance function's healing, on a timer, with grace = the producers' deadline. */
async function healer(run: Run): Promise<void> {
  while (running(run)) {
    for (let p = 0; p < PARTITIONS; p++) {
      await run.healthy.healer.healPartition(run.topicId, p).catch(() => {});
    }
    await sleep(250);
  }
}

/** Heals what is left (a ManualClock past grace), then reads every partition whole. */
async function finalLog(run: Run): Promise<FinalLog> {
  const clock = new ManualClock();
  const healing = brokerForTest({ clock, produceLimits: { maxProduceMs: MAX_PRODUCE_MS } });
  // A hole the background healer first saw mid-run was recorded with the reservations made
  // up to then; holes above those need a sighting of their own, then the grace period.
  for (let round = 0; round < 3; round++) {
    for (let p = 0; p < PARTITIONS; p++) await healing.healer.healPartition(run.topicId, p);
    clock.advance(MAX_PRODUCE_MS + 1000);
    for (let p = 0; p < PARTITIONS; p++) await healing.healer.healPartition(run.topicId, p);
  }
  const partitions: FinalLog['partitions'] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const records = (await readAll(run.healthy, run.topic, partition)).map((r) => ({
      offset: r.offset,
      value: String(r.value),
    }));
    const entries = await run.healthy.stores.index.entriesFrom(run.topicId, partition, 0, 100_000);
    const head = await run.healthy.stores.index.head(run.topicId, partition);
    const readable = await run.healthy.topics.describe(run.topic);
    const hw = readable.partitionOffsets[partition]?.highWatermark;
    // Healing leaves nothing unreadable: the whole log is below the high watermark.
    expect(hw, `partition ${partition} has a hole left`).toBe(head.nextOffset);
    partitions.push({
      partition,
      records,
      aborted: entries
        .filter((e) => e.aborted === true)
        .map((e) => ({ from: e.baseOffset, to: e.baseOffset + e.count })),
    });
  }
  return { partitions };
}

async function check(run: Run, faults: FaultInjector, label: string): Promise<CheckResult> {
  const log = await finalLog(run);
  const result = checkHistory(run.history.ops, log);
  process.stderr.write(
    `\n[history ${label}, seed ${SEED}]\n${summarize(run.history.ops, log, result, faults.log, {
      'lost HTTP answers': run.lostAnswers.count,
    })}\n`,
  );
  return result;
}

describe('history under random faults (Jepsen-style)', () => {
  it(
    `producers and a consumer group for ${SECONDS} s: no anomaly`,
    async () => {
      const { run, faults, close } = await startRun(SEED, SECONDS, 0.02);
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
          groupMember(run, 'member-0', () => memberZeroAlive),
          groupMember(run, 'member-1', () => true),
          groupMember(run, 'member-2', () => true),
          lateJoin,
          committedObserver(run),
          healer(run),
        ]);
        expect(lateMemberJoined).toBe(true);
        expect(run.history.now() - started).toBeGreaterThanOrEqual(SECONDS * 1000);
        faults.detachAll();
        const result = await check(run, faults, 'faults');
        expect(faults.log.length).toBeGreaterThan(0);
        expect(run.history.ops.some((op) => op.kind === 'read' && op.records.length > 0)).toBe(
          true,
        );
        expect(result.anomalies).toEqual([]);
      } finally {
        close();
      }
    },
    SECONDS * 1000 + 120_000,
  );

  it('catches duplicates from a client that resends without idempotence after lost answers', async () => {
    const seconds = Math.min(5, SECONDS);
    const { run, faults, close } = await startRun(SEED + 1, seconds, 0);
    try {
      await Promise.all([
        sdkProducer(run, 'naive-retry', { idempotent: false, loss: 0.3, rawRetries: 3 }),
        healer(run),
      ]);
      const result = await check(run, faults, 'broken client');
      expect(result.byKind.duplicate ?? 0).toBeGreaterThan(0);
    } finally {
      close();
    }
  }, 60_000);
});
