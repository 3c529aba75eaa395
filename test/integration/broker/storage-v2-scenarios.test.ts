import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../lib/api/app.js';
import { type Broker, createBroker, createStores } from '../../../lib/broker/broker.js';
import { type Clock, ManualClock } from '../../../lib/broker/clock.js';
import type { FetchedRecord } from '../../../lib/broker/fetch.js';
import { type AwsClients, destroyAwsClients } from '../../../lib/store/aws-clients.js';
import {
  CallCounter,
  type CallCounts,
  DYNAMODB_WRITE_COMMANDS,
  total,
} from '../../../lib/store/call-counter.js';
import { newTestClients, testNames, uniqueName } from '../../helpers/aws.js';
import type { ClientWithMiddleware } from '../../helpers/faults.js';
import { seededRandom } from '../../helpers/random.js';
import { brokerForTest, crashingBroker, faultyBroker, readAll, text } from './helpers.js';

/**
 * Issue 13's scenarios 4, 5, 6 and 8, and the cost of a produce request, as tests whose checks
 * catch what storage engine 0.1 got wrong (see each test). Scenarios 1-3 are in retention.test.ts,
 * scenario 7 in ../server-kill.test.ts.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** maxProduceMs 30 s + the heal margin 15 s: the defaults. */
const GRACE_MS = 45_000;

/** A commit's put (not an aborted marker's): the item names its object. */
function isCommitPut(input: Record<string, unknown>): boolean {
  const item = input['Item'] as Record<string, unknown> | undefined;
  return input['TableName'] === testNames().logTable && item?.['o'] !== undefined;
}

/** The idempotent path's publish: a transaction holding a commit's put. */
function holdsCommitPut(input: Record<string, unknown>): boolean {
  const items = (input['TransactItems'] ?? []) as { Put?: Record<string, unknown> }[];
  return items.some((item) => item.Put !== undefined && isCommitPut(item.Put));
}

/** Own clients (closed after the test) for a broker that is a process of its own. */
function ownClients(maxAttempts?: number): AwsClients {
  const clients = newTestClients(maxAttempts === undefined ? {} : { maxAttempts });
  cleanups.push(() => destroyAwsClients(clients));
  return clients;
}

/** A broker on its own clients with a call counter (consumed capacity asked for) on them. */
function countedBroker(clock?: Clock): { broker: Broker; counter: CallCounter } {
  const clients = ownClients();
  const counter = new CallCounter({ consumedCapacity: true });
  counter.attach(clients.s3, clients.dynamo);
  const broker = createBroker(
    createStores(clients, testNames()),
    clock === undefined ? {} : { clock },
  );
  return { broker, counter };
}

let holdIds = 0;

/**
 * A writer process that stops right before its commit's put reaches DynamoDB and waits there
 * until released: a writer slower than its deadline (a long GC pause, a frozen Lambda).
 */
function heldWriter(clock: Clock): {
  broker: Broker;
  /** Resolves once the writer has reserved and is waiting to publish. */
  held: Promise<void>;
  release: () => void;
} {
  const clients = ownClients(1);
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached = () => {};
  const held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  (clients.dynamo as ClientWithMiddleware).middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const publish =
          (context.commandName === 'PutItemCommand' && isCommitPut(args.input)) ||
          (context.commandName === 'TransactWriteItemsCommand' && holdsCommitPut(args.input));
        if (publish) {
          reached();
          await released;
        }
        return next(args);
      },
    // Innermost, like the fault injector: after marshalling, right before the wire.
    { step: 'deserialize', priority: 'low', name: `holdCommitPut${++holdIds}` },
  );
  return { broker: createBroker(createStores(clients, testNames()), { clock }), held, release };
}

const writes = (counts: CallCounts): number => total(counts, 'calls', [...DYNAMODB_WRITE_COMMANDS]);

/** Fails with a message instead of hanging until the test's timeout. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const values = (records: FetchedRecord[]): [number, string][] =>
  records.map((r) => [r.offset, r.value?.toString() ?? '']);

/** What a process that never saw the topic before reads: high watermarks and every record. */
async function freshView(
  topic: string,
  partitions: number,
): Promise<{ highWatermarks: number[]; records: [number, string][][] }> {
  const broker = createBroker(createStores(ownClients(), testNames()));
  const described = await broker.topics.describe(topic);
  const records: [number, string][][] = [];
  for (let p = 0; p < partitions; p++) records.push(values(await readAll(broker, topic, p)));
  return {
    highWatermarks: described.partitionOffsets.map((o) => o.highWatermark),
    records,
  };
}

describe('scenario 4: a late publish is never acknowledged inside a healed range', () => {
  it('four writers (one idempotent) held between reserve and publish, a later commit, a heal after the grace: every late publish fails, fresh readers agree', async () => {
    const clock = new ManualClock();
    const reader = brokerForTest({ clock });
    const name = uniqueName('late');
    await reader.topics.create({ name, partitions: 2 });
    const producer = await reader.producers.init();
    const idempotentBody = JSON.stringify({
      ...producer,
      baseSequences: { '0': 0 },
      records: [{ partition: 0, value: 'late-idempotent' }],
    });

    // Four writers reserve commits 1-4 (offsets 0-3 of partition 0) and stall before
    // publishing. 0.1 healed such a gap with one marker keyed by its first offset, so the
    // later writers could still publish into it afterwards and be acknowledged.
    const late = [heldWriter(clock), heldWriter(clock), heldWriter(clock), heldWriter(clock)];
    const post = (broker: Broker, body: string) =>
      createApp({ broker, clusterId: 'late', logError: () => {}, validateResponses: true }).request(
        `/v1/topics/${name}/records`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body },
      );
    const answers: (Response | Promise<Response>)[] = [];
    for (const [i, writer] of late.entries()) {
      answers.push(
        post(
          writer.broker,
          i === 2
            ? idempotentBody
            : JSON.stringify({ records: [{ partition: 0, value: `late-${i}` }] }),
        ),
      );
      await within(writer.held, 10_000, `writer ${i} to reserve and reach its publish`);
    }

    // A later writer publishes commit 5 and is acknowledged past the reserved offsets.
    const acked = await reader.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('b') },
        { partition: 1, value: text('c') },
      ],
    });
    expect(acked.records.map((r) => [r.partition, r.offset])).toEqual([
      [0, 4],
      [1, 0],
    ]);

    // Within the grace the readers stop at the hole; past it, a fetch heals it (no maintenance).
    expect(values(await readAll(reader, name, 0))).toEqual([]);
    clock.advance(GRACE_MS + 1);
    expect(values(await readAll(reader, name, 0))).toEqual([[4, 'b']]);
    expect(values(await readAll(reader, name, 1))).toEqual([[0, 'c']]);
    const before = await reader.topics.describe(name);

    // The held writers wake up and publish: each one's put meets the marker at its own number,
    // and each request is answered as failed, not acknowledged.
    for (const writer of late) writer.release();
    for (const answer of answers) {
      const response = await answer;
      const body = (await response.json()) as { code?: string; records?: unknown };
      expect(response.status, JSON.stringify(body)).toBe(409);
      expect(body.records).toBeUndefined();
    }

    // Two processes that never saw the topic and the one that healed it see the same log.
    const first = await freshView(name, 2);
    const second = await freshView(name, 2);
    const healer = await reader.topics.describe(name);
    expect(first).toEqual(second);
    expect(first.highWatermarks).toEqual([5, 1]);
    expect(first.records).toEqual([[[4, 'b']], [[0, 'c']]]);
    expect(healer.partitionOffsets.map((o) => o.highWatermark)).toEqual(first.highWatermarks);
    expect(before.partitionOffsets.map((o) => o.highWatermark)).toEqual(first.highWatermarks);

    // The idempotent producer's retry is not answered from the aborted commit: it is written
    // anew, past the healed range, and every process reads it there.
    const retry = await post(reader, idempotentBody);
    const retried = (await retry.json()) as { records: { partition: number; offset: number }[] };
    expect(retry.status, JSON.stringify(retried)).toBe(200);
    expect(retried.records).toMatchObject([{ partition: 0, offset: 5 }]);
    expect((await freshView(name, 2)).records[0]).toEqual([
      [4, 'b'],
      [5, 'late-idempotent'],
    ]);
  });
});

describe('scenario 5: a hole holds readers back for at most maxProduceMs + margin', () => {
  it('a fetch stops at the hole until the grace ends and heals it itself just after, with one write', async () => {
    const clock = new ManualClock();
    const writer = brokerForTest({ clock });
    const { broker: reader, counter } = countedBroker(clock);
    const name = uniqueName('stall');
    await writer.topics.create({ name, partitions: 1 });
    await writer.produce.produce({ topic: name, records: [{ value: text('a') }] });

    const reservedAt = clock.now();
    const dead = crashingBroker('PutItem', { clock, when: isCommitPut });
    cleanups.push(dead.close);
    const died = await dead.broker.produce.produce({
      topic: name,
      records: [{ value: text('dead') }],
    });
    expect(died.records[0]?.error).toBeDefined();
    clock.advance(1_000);
    const acked = await writer.produce.produce({ topic: name, records: [{ value: text('b') }] });
    expect(acked.records[0]?.offset).toBe(2);

    // Up to the deadline (the dead writer's reservation + 45 s), a fetch stops at the hole and
    // writes nothing. 0.1 waited for the scheduled maintenance run: 5 to 10 minutes on AWS.
    clock.set(reservedAt + GRACE_MS);
    let snapshot = counter.snapshot();
    const stopped = await reader.fetch.fetch({ topic: name, partition: 0, offset: 0 });
    expect(values(stopped.records)).toEqual([[0, 'a']]);
    expect(stopped.highWatermark).toBe(1);
    expect(writes(counter.since(snapshot))).toBe(0);

    // Just past it, the next fetch heals the hole with one marker and reads on.
    clock.set(reservedAt + GRACE_MS + 1);
    snapshot = counter.snapshot();
    const healed = await reader.fetch.fetch({ topic: name, partition: 0, offset: 1 });
    expect(values(healed.records)).toEqual([[2, 'b']]);
    expect(healed.highWatermark).toBe(3);
    const spent = counter.since(snapshot);
    expect(spent['PutItem']?.calls).toBe(1);
    expect(writes(spent)).toBe(1);
    expect(GRACE_MS).toBeLessThanOrEqual(60_000);
  });

  it('two dead writers leave two holes: one fetch heals both, at the later writer’s deadline', async () => {
    const clock = new ManualClock();
    const writer = brokerForTest({ clock });
    const { broker: reader, counter } = countedBroker(clock);
    const name = uniqueName('holes');
    await writer.topics.create({ name, partitions: 2 });

    const die = async (value: string) => {
      const dead = crashingBroker('PutItem', { clock, when: isCommitPut });
      cleanups.push(dead.close);
      const result = await dead.broker.produce.produce({
        topic: name,
        records: [{ partition: 0, value: text(value) }],
      });
      expect(result.records[0]?.error).toBeDefined();
    };
    // commit 1 dead, 2 published, 3 dead, 4 published: holes at 1 and at 3.
    const start = clock.now();
    await die('dead-1');
    clock.advance(5_000);
    await writer.produce.produce({ topic: name, records: [{ partition: 0, value: text('b') }] });
    clock.advance(5_000);
    await die('dead-2');
    const secondReservedAt = clock.now();
    clock.advance(5_000);
    await writer.produce.produce({ topic: name, records: [{ partition: 1, value: text('c') }] });

    // Before either deadline: nothing readable, nothing written.
    clock.set(start + GRACE_MS);
    let snapshot = counter.snapshot();
    expect((await reader.fetch.fetch({ topic: name, partition: 0, offset: 0 })).records).toEqual(
      [],
    );
    expect(writes(counter.since(snapshot))).toBe(0);

    // Past the second writer's deadline one fetch settles both holes and returns both
    // acknowledged records, not one grace period (or one fetch) per hole.
    clock.set(secondReservedAt + GRACE_MS + 1);
    snapshot = counter.snapshot();
    const page = await reader.fetch.fetch({ topic: name, partition: 0, offset: 0 });
    expect(values(page.records)).toEqual([[1, 'b']]);
    expect(page.highWatermark).toBe(3);
    expect(counter.since(snapshot)['PutItem']?.calls).toBe(2);
    const other = await reader.fetch.fetch({ topic: name, partition: 1, offset: 0 });
    expect(values(other.records)).toEqual([[0, 'c']]);
  });

  it.each(['advanceAll', 'retention'] as const)(
    'a dead writer followed only by a writer that aborted its own commit: %s settles the tail',
    async (settler) => {
      // Found by the history test: commit 1 dead, commit 2 an aborted marker (its writer failed
      // to publish and settled its own number), nothing published after. No published commit
      // says when the hole was reserved, so only the head can: advanceAll and retention left it
      // pending and saw "more to come" forever.
      const clock = new ManualClock();
      const writer = brokerForTest({ clock });
      const name = uniqueName('deadtail');
      await writer.topics.create({ name, partitions: 1 });
      await writer.produce.produce({ topic: name, records: [{ value: text('a') }] });
      const dead = crashingBroker('PutItem', { clock, when: isCommitPut });
      cleanups.push(dead.close);
      expect(
        (await dead.broker.produce.produce({ topic: name, records: [{ value: text('dead') }] }))
          .records[0]?.error,
      ).toBeDefined();
      const failing = faultyBroker({ clock });
      cleanups.push(failing.close);
      failing.faults.add({ command: 'PutItem', action: 'serverError', when: isCommitPut });
      const refused = await failing.broker.produce.produce({
        topic: name,
        records: [{ value: text('refused') }],
      });
      expect(refused.records[0]?.error).toBeDefined();
      const commits = await writer.stores.commits.commitsFrom(
        (await writer.topics.get(name)).topicId,
        0,
        1,
        10,
      );
      expect(commits.map((c) => [c.commit, c.kind])).toEqual([
        [1, 'published'],
        [3, 'aborted'],
      ]);

      clock.advance(GRACE_MS + 1);
      const reader = brokerForTest({ clock });
      const topic = await reader.topics.get(name);
      if (settler === 'advanceAll') {
        const [settled] = await reader.reader.advanceAll(topic);
        expect(settled?.pendingHole).toBeUndefined();
        expect(settled?.prefix.next).toBe(4);
      } else {
        await reader.retention.runOnce({ topics: [name] });
      }
      expect(await reader.reader.mayHaveMore(topic, 0)).toBe(false);
      expect(values(await readAll(reader, name, 0))).toEqual([[0, 'a']]);
    },
  );

  it('a fetch writes nothing when there is no hole, whatever the clock says', async () => {
    const clock = new ManualClock();
    const writer = brokerForTest({ clock });
    const { broker: reader, counter } = countedBroker(clock);
    const name = uniqueName('nohole');
    await writer.topics.create({ name, partitions: 4 });
    for (let i = 0; i < 10; i++) {
      await writer.produce.produce({
        topic: name,
        records: [0, 1, 2, 3].map((partition) => ({ partition, value: text(`v${i}`) })),
      });
    }
    const snapshot = counter.snapshot();
    for (const advance of [0, GRACE_MS + 1, 3_600_000]) {
      clock.advance(advance);
      for (let partition = 0; partition < 4; partition++) {
        expect(await readAll(reader, name, partition)).toHaveLength(10);
      }
    }
    const spent = counter.since(snapshot);
    expect(spent['PutItem']?.calls ?? 0).toBe(0);
    expect(writes(spent)).toBe(0);
    expect(total(spent, 'calls')).toBeGreaterThan(0);
  });
});

describe('scenario 6: fetch answers stay under the 6 MB Lambda response limit', () => {
  it('a gzip topic holding 13 MB of JSON: default fetches answer at most maxBytes (or one record), and page through all of it', async () => {
    const broker = brokerForTest();
    const app = createApp({
      broker,
      clusterId: 'big',
      logError: () => {},
      validateResponses: true,
    });
    const name = uniqueName('gzip');
    await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'compression.type': 'gzip' },
    });
    // 3 requests x 5 records of 880 KB: 13.2 MB as JSON, a few KB stored. 0.1 budgeted on
    // the stored bytes and returned the first batches whole: 13.4 MB, past Lambda's 6 MB.
    const recordBytes = 880 * 1024;
    const expected: string[] = [];
    for (let request = 0; request < 3; request++) {
      const records = Array.from({ length: 5 }, (_, i) => {
        const value = `${request}-${i}-`.padEnd(recordBytes, String.fromCharCode(97 + i));
        expected.push(value);
        return { partition: 0, value };
      });
      const response = await app.request(`/v1/topics/${name}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records }),
      });
      expect(response.status).toBe(200);
    }
    const limit = 6 * 1024 * 1024;
    const fetchAt = async (offset: number, query = '') => {
      const response = await app.request(
        `/v1/topics/${name}/partitions/0/records?offset=${offset}${query}`,
      );
      const body = await response.text();
      expect(response.status, body.slice(0, 300)).toBe(200);
      return {
        size: Buffer.byteLength(body),
        json: JSON.parse(body) as {
          records: { offset: number; value: string }[];
          nextOffset: number;
          highWatermark: number;
        },
      };
    };

    // The default budget (1 MB) holds one 880 KB record per answer: the first batch is split.
    const first = await fetchAt(0);
    expect(first.size).toBeLessThan(limit);
    expect(first.json.records.map((r) => r.offset)).toEqual([0]);
    expect(first.json.highWatermark).toBe(15);

    // The largest budget allowed (4 MB) stays under the limit too.
    const largest = await fetchAt(0, '&maxBytes=4194304');
    expect(largest.size).toBeLessThan(limit);
    expect(largest.json.records.length).toBe(4);

    // Default fetches read everything, each one moving on: no error loop at an offset.
    const read: string[] = [];
    let offset = 0;
    let answers = 0;
    while (offset < 15) {
      const page = await fetchAt(offset);
      answers++;
      expect(page.size).toBeLessThan(limit);
      const sizes = page.json.records.map((r) => Buffer.byteLength(JSON.stringify(r)));
      // At most maxBytes of encoded records, or a single record.
      expect(sizes.length === 1 || sizes.reduce((a, b) => a + b, 0) <= 1024 * 1024).toBe(true);
      expect(page.json.nextOffset).toBeGreaterThan(offset);
      read.push(...page.json.records.map((r) => r.value));
      offset = page.json.nextOffset;
      expect(answers).toBeLessThanOrEqual(15);
    }
    expect(read).toEqual(expected);
  });
});

describe('scenario 8: every fetch answer carries the partition’s high watermark', () => {
  it('maxRecords=1 at offset 0 answers the same high watermark as the offsets API, in this process and a fresh one', async () => {
    const broker = brokerForTest();
    const app = createApp({ broker, clusterId: 'hw', logError: () => {}, validateResponses: true });
    const name = uniqueName('hw');
    await broker.topics.create({ name, partitions: 3 });
    // 40 requests over the three partitions: 0.1 answered how far its own walk went (11 where
    // the partition's was 308).
    for (let i = 0; i < 40; i++) {
      await broker.produce.produce({
        topic: name,
        records: Array.from({ length: 8 }, (_, j) => ({
          partition: j % 3,
          value: text(`${i}-${j}`),
        })),
      });
    }
    for (const view of [
      app,
      createApp({
        broker: brokerForTest(),
        clusterId: 'hw',
        logError: () => {},
        validateResponses: true,
      }),
    ]) {
      for (let partition = 0; partition < 3; partition++) {
        const offsets = (await (
          await view.request(`/v1/topics/${name}/partitions/${partition}/offsets`)
        ).json()) as { offset: number; highWatermark: number };
        const page = (await (
          await view.request(
            `/v1/topics/${name}/partitions/${partition}/records?offset=0&maxRecords=1`,
          )
        ).json()) as { records: unknown[]; highWatermark: number; nextOffset: number };
        expect(page.records).toHaveLength(1);
        expect(page.nextOffset).toBe(1);
        expect(offsets.offset).toBe(partition === 2 ? 80 : 120);
        expect(page.highWatermark).toBe(offsets.offset);
      }
    }
    // fetchMany answers each partition's too, whatever the shared budget left it.
    const many = await broker.fetch.fetchMany({
      topic: name,
      partitions: [0, 1, 2].map((partition) => ({ partition, offset: 0 })),
      maxRecords: 1,
    });
    expect(many.map((p) => ('error' in p ? p.error.code : p.highWatermark))).toEqual([
      120, 120, 80,
    ]);
  });
});

describe('writes per produce request are constant in the partitions it touches', () => {
  const plainProduce = (broker: Broker, topic: string, partitions: number[], tag: string) =>
    broker.produce.produce({
      topic,
      records: partitions.map((partition) => ({ partition, value: text(`${tag}-${partition}`) })),
    });

  it('1, 4 and 16 partitions of a 16-partition topic: 1 PutObject, 1 UpdateItem, 1 PutItem, at most 4 write units', async () => {
    const { broker, counter } = countedBroker();
    const name = uniqueName('cost16');
    await broker.topics.create({ name, partitions: 16 });
    await plainProduce(broker, name, [0], 'warm'); // the topic is cached from now on
    const units: number[] = [];
    for (const touched of [1, 4, 16]) {
      const partitions = Array.from({ length: touched }, (_, i) => i);
      const snapshot = counter.snapshot();
      const result = await plainProduce(broker, name, partitions, `t${touched}`);
      expect(result.records.every((r) => r.error === undefined)).toBe(true);
      const spent = counter.since(snapshot);
      expect(spent['PutObject']?.calls).toBe(1);
      expect(spent['UpdateItem']?.calls).toBe(1);
      expect(spent['PutItem']?.calls).toBe(1);
      expect(writes(spent)).toBe(2);
      const writeUnits = total(spent, 'writeUnits');
      expect(writeUnits).toBeGreaterThan(0);
      expect(writeUnits, `${touched} partitions`).toBeLessThanOrEqual(4);
      units.push(writeUnits);
    }
    process.stderr.write(`[cost] write units at 1/4/16 partitions of 16: ${units.join(', ')}\n`);
  });

  it('all 64 partitions of a 64-partition topic: at most 8 write units; idempotent at most 3x the plain path', async () => {
    const { broker, counter } = countedBroker();
    const name = uniqueName('cost64');
    await broker.topics.create({ name, partitions: 64 });
    const all = Array.from({ length: 64 }, (_, i) => i);
    await plainProduce(broker, name, [0], 'warm');

    let snapshot = counter.snapshot();
    await plainProduce(broker, name, all, 'plain');
    const plain = counter.since(snapshot);
    expect(plain['PutObject']?.calls).toBe(1);
    expect(writes(plain)).toBe(2);
    const plainUnits = total(plain, 'writeUnits');
    expect(plainUnits).toBeGreaterThan(0);
    expect(plainUnits).toBeLessThanOrEqual(8);

    const producer = await broker.producers.init();
    const idempotent = async (round: number) => {
      snapshot = counter.snapshot();
      const result = await broker.produce.produce({
        topic: name,
        producer: {
          ...producer,
          baseSequences: Object.fromEntries(all.map((p) => [p, round])),
        },
        records: all.map((partition) => ({ partition, value: text(`idem-${round}-${partition}`) })),
      });
      expect(result.records.every((r) => r.error === undefined)).toBe(true);
      return counter.since(snapshot);
    };
    // The first request of a producer and a later one (which reads and replaces its state).
    for (const round of [0, 1]) {
      const spent = await idempotent(round);
      expect(spent['PutObject']?.calls).toBe(1);
      const units = total(spent, 'writeUnits');
      expect(
        units,
        `idempotent round ${round}: ${units} vs plain ${plainUnits}`,
      ).toBeLessThanOrEqual(3 * plainUnits);
      process.stderr.write(
        `[cost] 64 of 64 partitions: plain ${plainUnits} write units, idempotent round ${round} ${units}\n`,
      );
    }
  });

  it('32 concurrent producers x 20 requests on a 16-partition topic: under 0.05 failed conditional writes per commit, every offset exactly once', async () => {
    const clients = ownClients();
    const counter = new CallCounter();
    counter.attach(clients.s3, clients.dynamo);
    const stores = createStores(clients, testNames());
    const name = uniqueName('contend');
    await createBroker(stores).topics.create({ name, partitions: 16 });
    const random = seededRandom(13);
    const acks = new Map<string, string>();
    const before = counter.snapshot();
    // Each producer is a process of its own (its own broker over shared sockets).
    await Promise.all(
      Array.from({ length: 32 }, async (_, producer) => {
        const broker = createBroker(stores);
        for (let request = 0; request < 20; request++) {
          const count = 1 + Math.floor(random() * 6);
          const records = Array.from({ length: count }, (_, i) => ({
            partition: Math.floor(random() * 16),
            value: text(`p${producer}-r${request}-${i}`),
          }));
          const result = await broker.produce.produce({ topic: name, records });
          result.records.forEach((r, i) => {
            expect(r.error).toBeUndefined();
            acks.set(`${r.partition}/${r.offset}`, records[i]?.value.toString() ?? '');
          });
        }
      }),
    );
    const spent = counter.since(before);
    const commits = spent['PutItem']?.calls ?? 0;
    expect(commits).toBe(32 * 20);
    const failed = total(spent, 'failedConditions');
    expect(failed / commits).toBeLessThan(0.05);

    const reader = brokerForTest();
    let records = 0;
    for (let partition = 0; partition < 16; partition++) {
      const read = await readAll(reader, name, partition);
      expect(read.map((r) => r.offset)).toEqual(read.map((_, i) => i));
      for (const r of read) expect(acks.get(`${partition}/${r.offset}`)).toBe(r.value?.toString());
      records += read.length;
    }
    expect(records).toBe(acks.size);
  }, 120_000);
});
