import { afterEach, describe, expect, it } from 'vitest';
import { type Broker, createBroker, createStores } from '../../../lib/broker/broker.js';
import { ManualClock } from '../../../lib/broker/clock.js';
import { destroyAwsClients } from '../../../lib/store/aws-clients.js';
import { newTestClients, testNames, uniqueName } from '../../helpers/aws.js';
import { type ClientWithMiddleware, isInjectedCrash } from '../../helpers/faults.js';
import {
  brokerForTest,
  countSegmentObjects,
  crashingBroker,
  faultyBroker,
  isIndexPut,
  readAll,
  text,
} from './helpers.js';

// The broker's defaults: maxProduceMs 30 s, clock skew 60 s. A sweep takes objects older than
// maxProduceMs + 2 * skew.
const SWEEP_AGE = 150_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A writer whose process dies at the first matching call (and every later one). */
function dyingWriter(
  clock: ManualClock,
  command: string,
  when?: (input: Record<string, unknown>) => boolean,
): Broker {
  const dying = crashingBroker(command, { clock, ...(when === undefined ? {} : { when }) });
  cleanups.push(dying.close);
  return dying.broker;
}

async function values(broker: Broker, topic: string, partition: number): Promise<string[]> {
  return (await readAll(broker, topic, partition)).map((r) => r.value?.toString() ?? '');
}

describe('orphan objects on a topic kept forever', () => {
  it('an upload whose writer died before reserving is deleted after the grace period, not before', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-forever');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    });
    await broker.produce.produce({ topic: name, records: [{ value: text('before') }] });
    clock.advance(1_000);
    const died = await dyingWriter(clock, 'UpdateItem').produce.produce({
      topic: name,
      records: [{ value: text('never') }],
    });
    expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
    clock.advance(1_000);
    await broker.produce.produce({ topic: name, records: [{ value: text('after') }] });
    expect(await countSegmentObjects(topic.topicId)).toBe(3);

    // Inside the grace period the writer might still be alive: nothing goes.
    clock.advance(SWEEP_AGE - 5_000);
    let report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 0, orphansDeleted: 0 });
    expect(await countSegmentObjects(topic.topicId)).toBe(3);

    clock.advance(10_000);
    report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 0, orphansDeleted: 1 });
    expect(await countSegmentObjects(topic.topicId)).toBe(2);
    expect(await values(broker, name, 0)).toEqual(['before', 'after']);

    // Later runs look only at newer objects and keep what is referenced.
    clock.advance(24 * 3600_000);
    report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 0, orphansDeleted: 0 });
    expect(report.topics[0]?.sweep?.sweptUntil).toBe(clock.now() - SWEEP_AGE);
    expect(await values(broker, name, 0)).toEqual(['before', 'after']);
  });

  it('a reserved, never published range: healed, then its object goes', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-hole');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    });
    await broker.produce.produce({ topic: name, records: [{ value: text('a') }] });
    const died = await dyingWriter(clock, 'PutItem', isIndexPut).produce.produce({
      topic: name,
      records: [{ value: text('lost') }],
    });
    expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
    await broker.produce.produce({ topic: name, records: [{ value: text('b') }] });

    // The first run sees the hole and starts its grace period; the second heals it.
    await broker.retention.runOnce({ topics: [name] });
    clock.advance(SWEEP_AGE + 1_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.partitions[0]?.abortedRanges).toBe(1);
    expect(report.topics[0]?.orphansDeleted).toBe(1);
    expect(await countSegmentObjects(topic.topicId)).toBe(2);
    expect(await values(broker, name, 0)).toEqual(['a', 'b']);
  });

  it('keeps an object that only one of its partitions published', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-half');
    const topic = await broker.topics.create({
      name,
      partitions: 2,
      configs: { 'retention.ms': '-1' },
    });
    // Partition 1's reservation always fails: the request's object holds partition 0's batch
    // (published) and partition 1's (never published).
    const { broker: half, faults, close } = faultyBroker({ clock });
    cleanups.push(close);
    faults.add({
      command: 'UpdateItem',
      action: 'serverError',
      times: Number.POSITIVE_INFINITY,
      when: (input) =>
        (input['Key'] as { pk?: { S?: string } } | undefined)?.pk?.S === `${topic.topicId}#1`,
    });
    const result = await half.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('kept') },
        { partition: 1, value: text('refused') },
      ],
    });
    expect(result.records[0]?.offset).toBe(0);
    expect(result.records[1]?.error?.code).toBe('STORAGE_UNAVAILABLE');
    await broker.produce.produce({ topic: name, records: [{ partition: 1, value: text('p1') }] });
    expect(await countSegmentObjects(topic.topicId)).toBe(2);

    clock.advance(SWEEP_AGE + 1_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 0, orphansDeleted: 0 });
    expect(await countSegmentObjects(topic.topicId)).toBe(2);
    expect(await values(broker, name, 0)).toEqual(['kept']);
    expect(await values(broker, name, 1)).toEqual(['p1']);
  });

  it('never deletes the object of a writer that is still between its upload and its publish', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-slow');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    });
    const clients = newTestClients();
    cleanups.push(() => destroyAwsClients(clients));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    (clients.dynamo as ClientWithMiddleware).middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: unknown) => {
          if (context.commandName === 'UpdateItemCommand') await gate;
          return next(args);
        },
      { step: 'initialize', name: 'holdReservation' },
    );
    const slow = createBroker(createStores(clients, testNames()), { clock });
    const pending = slow.produce.produce({ topic: name, records: [{ value: text('slow') }] });
    while ((await countSegmentObjects(topic.topicId)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    clock.advance(20_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.orphansDeleted).toBe(0);
    release();
    expect((await pending).records[0]?.offset).toBe(0);

    clock.advance(SWEEP_AGE);
    await broker.retention.runOnce({ topics: [name] });
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    expect(await values(broker, name, 0)).toEqual(['slow']);
  });

  it('sweeps many objects over capped runs, deleting every orphan and nothing else', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock, retention: { maxSweptObjects: 40 } });
    const name = uniqueName('orphan-many');
    const topic = await broker.topics.create({
      name,
      partitions: 3,
      configs: { 'retention.ms': '-1' },
    });
    const expected: string[][] = [[], [], []];
    let orphans = 0;
    // 100 requests, several per millisecond at times, over three partitions; every 7th dies.
    for (let i = 0; i < 100; i++) {
      if (i % 3 === 0) clock.advance(1);
      const partition = i % 3;
      if (i % 7 === 3) {
        const died = await dyingWriter(clock, 'UpdateItem').produce.produce({
          topic: name,
          records: [{ partition, value: text(`orphan-${i}`) }],
        });
        expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
        orphans++;
        continue;
      }
      await broker.produce.produce({ topic: name, records: [{ partition, value: text(`r${i}`) }] });
      expected[partition]?.push(`r${i}`);
    }
    expect(await countSegmentObjects(topic.topicId)).toBe(100);

    clock.advance(SWEEP_AGE + 1_000);
    let deleted = 0;
    let runs = 0;
    for (;;) {
      const report = await broker.retention.runOnce({ topics: [name] });
      runs++;
      const mine = report.topics[0];
      deleted += mine?.orphansDeleted ?? 0;
      if ((mine?.sweep?.sweptUntil ?? 0) >= clock.now() - SWEEP_AGE) break;
      expect(runs).toBeLessThan(10);
    }
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(deleted).toBe(orphans);
    expect(await countSegmentObjects(topic.topicId)).toBe(100 - orphans);
    for (let p = 0; p < 3; p++) expect(await values(broker, name, p)).toEqual(expected[p]);
  });

  it('in steady state each run reads only the index entries near its window', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-steady');
    const topic = await broker.topics.create({
      name,
      partitions: 2,
      configs: { 'retention.ms': '-1' },
    });
    const expected: string[][] = [[], []];
    let orphans = 0;
    const entriesRead: number[] = [];
    // A run a minute for half an hour; each minute 10 requests land and one writer dies.
    for (let minute = 0; minute < 30; minute++) {
      for (let i = 0; i < 10; i++) {
        clock.advance(5_000);
        const partition = i % 2;
        await broker.produce.produce({
          topic: name,
          records: [{ partition, value: text(`m${minute}-${i}`) }],
        });
        expected[partition]?.push(`m${minute}-${i}`);
      }
      const died = await dyingWriter(clock, 'UpdateItem').produce.produce({
        topic: name,
        records: [{ partition: minute % 2, value: text(`orphan-${minute}`) }],
      });
      expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
      orphans++;
      clock.advance(10_000);
      const report = await broker.retention.runOnce({ topics: [name] });
      entriesRead.push(report.topics[0]?.sweep?.entriesRead ?? -1);
    }
    clock.advance(SWEEP_AGE);
    const last = await broker.retention.runOnce({ topics: [name] });
    entriesRead.push(last.topics[0]?.sweep?.entriesRead ?? -1);

    expect(await countSegmentObjects(topic.topicId)).toBe(300);
    for (let p = 0; p < 2; p++) expect(await values(broker, name, p)).toEqual(expected[p]);
    expect(orphans).toBe(30);
    // A window of one minute plus maxProduceMs and 4 x skew of slack spans about 6.5 minutes
    // of appends (65 entries); without checkpoints a run would read all 300.
    const steady = entriesRead.slice(10);
    expect(Math.max(...steady)).toBeLessThanOrEqual(80);
    expect(Math.max(...steady)).toBeGreaterThan(0);
  });
});
