import { afterEach, describe, expect, it } from 'vitest';
import { type BrokerOptions, createBroker, createStores } from '../../../lib/broker/broker.js';
import { ManualClock } from '../../../lib/broker/clock.js';
import type { FetchResult, PartitionFetch } from '../../../lib/broker/fetch.js';
import { destroyAwsClients } from '../../../lib/store/aws-clients.js';
import {
  CallCounter,
  type CallCounts,
  DYNAMODB_READ_COMMANDS,
  DYNAMODB_WRITE_COMMANDS,
  total,
} from '../../../lib/store/call-counter.js';
import { newTestClients, testNames, uniqueName } from '../../helpers/aws.js';
import { isInjectedCrash } from '../../helpers/faults.js';
import { brokerForTest, crashingBroker, isIndexPut, text } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A reading process of its own (its own reader memory and segment cache) on clients of its
 * own, whose every AWS call is counted with the read units DynamoDB reports for it.
 */
function countedReader(options: BrokerOptions = {}) {
  const clients = newTestClients();
  const counter = new CallCounter({ consumedCapacity: true });
  counter.attach(clients.s3, clients.dynamo);
  cleanups.push(() => destroyAwsClients(clients));
  // The topic stays cached for the whole test: its lookup is not what is measured.
  const broker = createBroker(createStores(clients, testNames()), {
    topicCacheTtlMs: 600_000,
    ...options,
  });
  return { broker, counter };
}

/** What a piece of work cost: S3 GETs, DynamoDB calls and read units, and any writes. */
function cost(counts: CallCounts) {
  return {
    gets: counts['GetObject']?.calls ?? 0,
    dynamoReads: total(counts, 'calls', DYNAMODB_READ_COMMANDS),
    readUnits: total(counts, 'readUnits', DYNAMODB_READ_COMMANDS),
    writes: total(counts, 'calls', [...DYNAMODB_WRITE_COMMANDS, 'PutObject']),
  };
}

function fetched(results: PartitionFetch[]): FetchResult[] {
  return results.map((r) => {
    if ('error' in r) throw r.error;
    return r;
  });
}

describe('reads at the tail', () => {
  it('a tail fetch finding one new commit costs one GET and at most 2 read units', async () => {
    const writer = brokerForTest();
    const { broker, counter } = countedReader();
    const name = uniqueName('tail');
    await writer.topics.create({ name, partitions: 1 });
    await writer.produce.produce({ topic: name, records: [{ value: text('v0') }] });
    let offset = (await broker.fetch.fetch({ topic: name, partition: 0, offset: 0 })).nextOffset;
    expect(offset).toBe(1);

    const costs: ReturnType<typeof cost>[] = [];
    for (let i = 1; i <= 5; i++) {
      await writer.produce.produce({ topic: name, records: [{ value: text(`v${i}`) }] });
      const before = counter.snapshot();
      const page = await broker.fetch.fetch({ topic: name, partition: 0, offset });
      costs.push(cost(counter.since(before)));
      expect(page.records.map((r) => r.value?.toString())).toEqual([`v${i}`]);
      expect(page.highWatermark).toBe(i + 1);
      offset = page.nextOffset;
    }
    for (const c of costs) {
      expect(c.gets).toBe(1);
      // The sequence's meta and one Query for the new commit.
      expect(c.dynamoReads).toBe(2);
      expect(c.readUnits).toBeGreaterThan(0); // the emulator does report capacity
      expect(c.readUnits).toBeLessThanOrEqual(2);
      expect(c.writes).toBe(0);
    }
  });

  it('a consumer of all 16 partitions reads one produce that touched them all with 1 GET and at most 2 read units', async () => {
    const writer = brokerForTest();
    const { broker, counter } = countedReader();
    const name = uniqueName('tail-16');
    await writer.topics.create({ name, partitions: 16 });
    const all = Array.from({ length: 16 }, (_, p) => p);
    let offsets = all.map(() => 0);
    // At the tail of an empty log: nothing to read, and the reader knows the topic.
    const empty = fetched(
      await broker.fetch.fetchMany({
        topic: name,
        partitions: all.map((p) => ({ partition: p, offset: 0 })),
      }),
    );
    expect(empty.every((r) => r.records.length === 0 && r.highWatermark === 0)).toBe(true);

    for (let round = 0; round < 3; round++) {
      await writer.produce.produce({
        topic: name,
        records: all.map((p) => ({ partition: p, value: text(`r${round}-p${p}`) })),
      });
      const before = counter.snapshot();
      const results = fetched(
        await broker.fetch.fetchMany({
          topic: name,
          partitions: all.map((p) => ({ partition: p, offset: offsets[p] as number })),
        }),
      );
      const spent = cost(counter.since(before));
      expect(results.map((r) => r.records.map((x) => x.value?.toString()))).toEqual(
        all.map((p) => [`r${round}-p${p}`]),
      );
      expect(results.map((r) => r.nextOffset)).toEqual(all.map(() => round + 1));
      expect(spent.gets).toBe(1);
      expect(spent.dynamoReads).toBe(2);
      expect(spent.readUnits).toBeGreaterThan(0);
      expect(spent.readUnits).toBeLessThanOrEqual(2);
      expect(spent.writes).toBe(0);
      offsets = results.map((r) => r.nextOffset);
    }

    // Another group served by the same process reads the same commit: the object comes from
    // the process's cache, no second GET.
    const before = counter.snapshot();
    const again = fetched(
      await broker.fetch.fetchMany({
        topic: name,
        partitions: all.map((p) => ({ partition: p, offset: 2 })),
      }),
    );
    expect(again.map((r) => r.records.length)).toEqual(all.map(() => 1));
    expect(cost(counter.since(before)).gets).toBe(0);
  });

  it("stops at a dead writer's hole, without writing, until the hole is healed", async () => {
    const clock = new ManualClock();
    const writer = brokerForTest({ clock });
    const { broker, counter } = countedReader({ clock });
    const name = uniqueName('tail-hole');
    await writer.topics.create({ name, partitions: 2 });
    await writer.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('a') },
        { partition: 1, value: text('x') },
      ],
    });
    const wants = [
      { partition: 0, offset: 1 },
      { partition: 1, offset: 1 },
    ];
    expect(fetched(await broker.fetch.fetchMany({ topic: name, partitions: wants }))).toEqual([
      expect.objectContaining({ records: [], highWatermark: 1, nextOffset: 1 }),
      expect.objectContaining({ records: [], highWatermark: 1, nextOffset: 1 }),
    ]);

    // A writer reserves commit 2 (offset 1 of partition 0) and dies before publishing it.
    const dying = crashingBroker('PutItem', { clock, when: isIndexPut });
    cleanups.push(dying.close);
    const died = await dying.broker.produce.produce({
      topic: name,
      records: [{ partition: 0, value: text('lost') }],
    });
    expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
    // Commit 3 is published after the hole, on both partitions of the sequence.
    const acked = await writer.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('b') },
        { partition: 1, value: text('y') },
      ],
    });
    expect(acked.records.map((r) => r.offset)).toEqual([2, 1]);

    // Within the writer's grace, every fetch stops at the hole and writes nothing.
    for (const wait of [0, 20_000, 20_000]) {
      clock.advance(wait);
      const before = counter.snapshot();
      const stopped = fetched(await broker.fetch.fetchMany({ topic: name, partitions: wants }));
      expect(stopped.map((r) => [r.records.length, r.highWatermark, r.nextOffset])).toEqual([
        [0, 1, 1],
        [0, 1, 1],
      ]);
      const spent = cost(counter.since(before));
      expect(spent.writes).toBe(0);
      expect(spent.gets).toBe(0);
    }

    // Past it (45 s after the next commit's reservation), the next fetch heals the hole with
    // one aborted marker and reads past it: the dead writer's offset is skipped.
    clock.advance(6_000);
    const before = counter.snapshot();
    const healed = fetched(await broker.fetch.fetchMany({ topic: name, partitions: wants }));
    expect(healed.map((r) => r.records.map((x) => [x.offset, x.value?.toString()]))).toEqual([
      [[2, 'b']],
      [[1, 'y']],
    ]);
    expect(healed.map((r) => [r.highWatermark, r.nextOffset])).toEqual([
      [3, 3],
      [2, 2],
    ]);
    const spent = counter.since(before);
    expect(spent['PutItem']?.calls).toBe(1);
    expect(cost(spent).gets).toBe(1);
  });
});
