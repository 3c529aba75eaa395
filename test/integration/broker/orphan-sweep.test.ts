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

/**
 * A broker on its own clients whose calls of `command` (e.g. 'UpdateItemCommand') wait until
 * `release()`: a live writer held at that step.
 */
function heldWriter(clock: ManualClock, command: string): { broker: Broker; release: () => void } {
  const clients = newTestClients();
  cleanups.push(() => destroyAwsClients(clients));
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  (clients.dynamo as ClientWithMiddleware).middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input?: Record<string, unknown> }) => {
        if (context.commandName === command && args.input?.['TableName'] === testNames().logTable) {
          await gate;
        }
        return next(args);
      },
    { step: 'initialize', name: 'holdWriter' },
  );
  return { broker: createBroker(createStores(clients, testNames()), { clock }), release };
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

    // Later runs look only at newer objects and keep what is published.
    clock.advance(24 * 3600_000);
    report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 0, orphansDeleted: 0 });
    expect(report.topics[0]?.sweep?.sweptUntil).toBe(clock.now() - SWEEP_AGE);
    expect(await values(broker, name, 0)).toEqual(['before', 'after']);
  });

  it('a reserved, never published commit: healed, then its object goes', async () => {
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
    expect(await countSegmentObjects(topic.topicId)).toBe(3);

    // The first run finds the hole inside its writer's time; the second heals it and sweeps.
    let report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.partitions[0]?.abortedRanges).toBe(0);
    clock.advance(SWEEP_AGE + 1_000);
    report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.partitions[0]?.abortedRanges).toBe(1);
    expect(report.topics[0]?.orphansDeleted).toBe(1);
    expect(await countSegmentObjects(topic.topicId)).toBe(2);
    expect(await values(broker, name, 0)).toEqual(['a', 'b']);
  });

  it('a dead writer’s reservation at the tail: retention heals it, then the sweep deletes its object', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-tail');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    });
    await broker.produce.produce({ topic: name, records: [{ value: text('a') }] });
    // Nothing is published after it: no reader ever meets it as a hole.
    const died = await dyingWriter(clock, 'PutItem', isIndexPut).produce.produce({
      topic: name,
      records: [{ value: text('lost') }],
    });
    expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
    expect(await countSegmentObjects(topic.topicId)).toBe(2);

    clock.advance(SWEEP_AGE + 1_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.partitions[0]?.abortedRanges).toBe(1);
    expect(report.topics[0]?.orphansDeleted).toBe(1);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    await broker.produce.produce({ topic: name, records: [{ value: text('b') }] });
    expect((await readAll(broker, name, 0)).map((r) => [r.offset, r.value?.toString()])).toEqual([
      [0, 'a'],
      [2, 'b'],
    ]);
  });

  it('sweeps each commit sequence against its own commits', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-sequences');
    const topic = await broker.topics.create({
      name,
      partitions: 4,
      configs: { 'retention.ms': '-1', 'commit.sequences': '2' },
    });
    // One request over both sequences: two objects, two commits.
    await broker.produce.produce({
      topic: name,
      records: [0, 1, 2, 3].map((partition) => ({ partition, value: text(`p${partition}`) })),
    });
    // A writer whose publish in sequence 1 fails every time (and so does its own marker):
    // sequence 0's commit is published, sequence 1's object is an orphan and its commit a
    // hole, healed later.
    const { broker: half, faults, close } = faultyBroker({ clock });
    cleanups.push(close);
    faults.add({
      command: 'PutItem',
      action: 'serverError',
      times: Number.POSITIVE_INFINITY,
      when: (input) =>
        isIndexPut(input) &&
        (input['Item'] as { pk?: { S?: string } } | undefined)?.pk?.S === `${topic.topicId}/1`,
    });
    const failed = await half.produce.produce({
      topic: name,
      records: [0, 1].map((partition) => ({ partition, value: text(`half${partition}`) })),
    });
    expect(failed.records[0]?.offset).toBe(1);
    expect(failed.records[1]?.error).toBeDefined();
    await broker.produce.produce({ topic: name, records: [{ partition: 3, value: text('p3b') }] });
    expect(await countSegmentObjects(topic.topicId)).toBe(5);

    await broker.retention.runOnce({ topics: [name] });
    clock.advance(SWEEP_AGE + 1_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 0, orphansDeleted: 1 });
    expect(report.topics[0]?.partitions[1]?.abortedRanges).toBe(1);
    expect(await countSegmentObjects(topic.topicId)).toBe(4);
    expect(await values(broker, name, 0)).toEqual(['p0', 'half0']);
    expect(await values(broker, name, 1)).toEqual(['p1']);
    expect(await values(broker, name, 3)).toEqual(['p3', 'p3b']);
  });

  it('never deletes the object of a writer that is still between its upload and its reservation', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('orphan-slow');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    });
    const slow = heldWriter(clock, 'UpdateItemCommand');
    const pending = slow.broker.produce.produce({
      topic: name,
      records: [{ value: text('slow') }],
    });
    while ((await countSegmentObjects(topic.topicId)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    clock.advance(20_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.orphansDeleted).toBe(0);
    slow.release();
    expect((await pending).records[0]?.offset).toBe(0);

    clock.advance(SWEEP_AGE);
    await broker.retention.runOnce({ topics: [name] });
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    expect(await values(broker, name, 0)).toEqual(['slow']);
  });

  it('keeps the object of a reserved commit still unpublished, even once its window is swept', async () => {
    const clock = new ManualClock();
    // Healing waits longer than the sweep's window lags: the sweep must not rely on it.
    const broker = brokerForTest({ clock, healMarginMs: 10 * 60_000 });
    const name = uniqueName('orphan-late');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '-1' },
    });
    // Held after its reservation, at the publish: past every bound the sweep assumes, its
    // commit is neither published nor healed, so it may still land.
    const slow = heldWriter(clock, 'PutItemCommand');
    const pending = slow.broker.produce.produce({
      topic: name,
      records: [{ value: text('late') }],
    });
    while ((await broker.stores.commits.reservedCommits(topic.topicId, 0)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    clock.advance(SWEEP_AGE + 1_000);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.topics[0]?.orphansDeleted).toBe(0);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);

    slow.release();
    const late = await pending;
    expect(late.records[0]?.offset).toBe(0);
    expect(await values(broker, name, 0)).toEqual(['late']);
    clock.advance(SWEEP_AGE);
    await broker.retention.runOnce({ topics: [name] });
    expect(await values(broker, name, 0)).toEqual(['late']);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
  });

  it('sweeps many objects over capped runs, deleting every orphan and nothing else', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock, retention: { maxSweptObjects: 40 } });
    const name = uniqueName('orphan-many');
    const topic = await broker.topics.create({
      name,
      partitions: 3,
      configs: { 'retention.ms': '-1', 'commit.sequences': '3' },
    });
    const expected: string[][] = [[], [], []];
    let orphans = 0;
    // 100 requests, several per millisecond at times, over three sequences; every 7th dies.
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
      expect(mine?.sweep?.examined).toBeLessThanOrEqual(45);
      deleted += mine?.orphansDeleted ?? 0;
      if ((mine?.sweep?.sweptUntil ?? 0) >= clock.now() - SWEEP_AGE) break;
      expect(runs).toBeLessThan(10);
    }
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(deleted).toBe(orphans);
    expect(await countSegmentObjects(topic.topicId)).toBe(100 - orphans);
    for (let p = 0; p < 3; p++) expect(await values(broker, name, p)).toEqual(expected[p]);
  });

  it('in steady state each run reads only the commits near its window', async () => {
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
    const commitsRead: number[] = [];
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
      commitsRead.push(report.topics[0]?.sweep?.commitsRead ?? -1);
    }
    clock.advance(SWEEP_AGE);
    const last = await broker.retention.runOnce({ topics: [name] });
    commitsRead.push(last.topics[0]?.sweep?.commitsRead ?? -1);

    expect(await countSegmentObjects(topic.topicId)).toBe(300);
    for (let p = 0; p < 2; p++) expect(await values(broker, name, p)).toEqual(expected[p]);
    expect(orphans).toBe(30);
    // A window of one minute plus maxProduceMs and 4 x skew of slack spans about 6.5 minutes
    // of commits (65); without checkpoints a run would read all 300.
    const steady = commitsRead.slice(10);
    expect(Math.max(...steady)).toBeLessThanOrEqual(80);
    expect(Math.max(...steady)).toBeGreaterThan(0);
  });
});
