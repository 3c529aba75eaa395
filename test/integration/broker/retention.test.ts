import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import { ManualClock } from '../../../lib/broker/clock.js';
import type { TopicRetention } from '../../../lib/broker/retention.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import { SEGMENT_PREFIX } from '../../../lib/store/resources.js';
import { testClients, testNames, uniqueName } from '../../helpers/aws.js';
import { isInjectedCrash } from '../../helpers/faults.js';
import {
  brokerForTest,
  countSegmentObjects,
  crashingBroker,
  faultyBroker,
  isIndexPut,
  produceValues,
  readAll,
  text,
} from './helpers.js';

const MINUTE = 60_000;
/** What a record counts toward retention.bytes beyond its key, value and headers (Kafka's framing). */
const FRAMING = 21;
const DAY = 24 * 60 * MINUTE;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Every object key under the topic's prefix. */
async function objectKeys(topicId: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await testClients().s3.send(
      new ListObjectsV2Command({
        Bucket: testNames().bucket,
        Prefix: `${SEGMENT_PREFIX}${topicId}/`,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return keys.sort();
}

/** The commits of sequence 0 still stored: [number, object or 'aborted']. */
async function storedCommits(broker: Broker, topicId: string): Promise<[number, string][]> {
  const commits = await broker.stores.commits.commitsFrom(topicId, 0, 1, 1000);
  return commits.map((c) => [c.commit, c.kind === 'published' ? c.object : 'aborted']);
}

/** The object each acknowledged commit of sequence 0 names. */
async function publishedObjects(broker: Broker, topicId: string): Promise<string[]> {
  return (await storedCommits(broker, topicId))
    .map(([, object]) => object)
    .filter((object) => object !== 'aborted')
    .sort();
}

async function run(broker: Broker, name: string): Promise<TopicRetention> {
  const report = await broker.retention.runOnce({ topics: [name] });
  const mine = report.topics.find((t) => t.topic === name);
  if (mine === undefined) throw new Error(`no report for ${name}`);
  return mine;
}

async function values(broker: Broker, topic: string, partition = 0): Promise<[number, string][]> {
  return (await readAll(broker, topic, partition)).map((r) => [
    r.offset,
    r.value?.toString() ?? '',
  ]);
}

/** A writer that uploads its object, reserves its commit, and dies before publishing it. */
async function diesBeforePublish(clock: ManualClock, topic: string): Promise<void> {
  const dying = crashingBroker('PutItem', { clock, when: isIndexPut });
  cleanups.push(dying.close);
  const died = await dying.broker.produce.produce({ topic, records: [{ value: text('lost') }] });
  expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
}

describe('retention never deletes what a dead writer’s hole sits in front of (issue 13)', () => {
  it('scenario 1: runs 10 s and 5 min after the crash keep every acknowledged record and its object', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('scenario1');
    const topic = await broker.topics.create({ name, partitions: 1 });
    await diesBeforePublish(clock, name);
    clock.advance(1_000);
    const a = await produceValues(broker, name, ['a']);
    const b = await produceValues(broker, name, ['b']);
    expect([a.records[0]?.offset, b.records[0]?.offset]).toEqual([1, 2]);
    const acknowledged = await publishedObjects(broker, topic.topicId);
    expect(acknowledged).toHaveLength(2);
    expect(await countSegmentObjects(topic.topicId)).toBe(3);

    clock.advance(10_000);
    let mine = await run(broker, name);
    expect(mine.objectsDeleted).toBe(0);
    expect(await objectKeys(topic.topicId)).toEqual(expect.arrayContaining(acknowledged));

    clock.advance(5 * MINUTE);
    mine = await run(broker, name);
    expect(mine.partitions[0]).toMatchObject({
      abortedRanges: 1,
      logStartOffset: 0,
      highWatermark: 3,
    });
    expect(mine.objectsDeleted).toBe(0);
    // The dead writer's upload is an orphan by now; the acknowledged objects stay.
    expect(mine.orphansDeleted).toBe(1);
    expect(await objectKeys(topic.topicId)).toEqual(acknowledged);
    expect(await values(broker, name)).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('scenario 2: a first run 2 minutes after the crash deletes nothing acknowledged', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('scenario2');
    const topic = await broker.topics.create({ name, partitions: 1 });
    await diesBeforePublish(clock, name);
    await produceValues(broker, name, ['a']);
    await produceValues(broker, name, ['b']);
    const acknowledged = await publishedObjects(broker, topic.topicId);

    clock.advance(2 * MINUTE);
    const mine = await run(broker, name);
    expect(mine.partitions[0]).toMatchObject({ abortedRanges: 1, entriesDeleted: 0 });
    expect(mine.objectsDeleted).toBe(0);
    expect(await objectKeys(topic.topicId)).toEqual(expect.arrayContaining(acknowledged));
    expect(await values(broker, name)).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('scenario 3: a produce that failed after its reservation is not counted in retention.bytes', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('scenario3');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.bytes': '50000' },
    });
    // The publish fails once (a 500, no retries): the writer marks its own commit aborted and
    // the client is told its 100 KB were not written.
    const { broker: failing, faults, close } = faultyBroker({ clock });
    cleanups.push(close);
    faults.add({ command: 'PutItem', action: 'serverError', when: isIndexPut });
    const failed = await failing.produce.produce({
      topic: name,
      records: [{ value: Buffer.alloc(100_000, 120) }],
    });
    expect(failed.records[0]?.error).toBeDefined();
    expect(faults.fired({ action: 'serverError' })).toBe(1);
    for (const v of ['x', 'y', 'z']) {
      await produceValues(broker, name, [v.repeat(1024)]);
    }

    const mine = await run(broker, name);
    expect(mine.partitions[0]).toMatchObject({ entriesDeleted: 0, logStartOffset: 0 });
    expect((await broker.stores.commits.meta(topic.topicId, 0)).bytes.get(0)).toBe(
      3 * (1024 + FRAMING),
    );
    expect((await values(broker, name)).map(([offset]) => offset)).toEqual([1, 2, 3]);
    expect(await countSegmentObjects(topic.topicId)).toBeGreaterThanOrEqual(3);
  });
});

describe('retention by reference', () => {
  it('deletes expired commits and their objects, advances the log start, and by time the newest batch too', async () => {
    const clock = new ManualClock(Date.now() - 60 * MINUTE);
    const broker = brokerForTest({ clock });
    const name = uniqueName('time');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': String(10 * MINUTE) },
    });
    for (let i = 0; i < 5; i++) await produceValues(broker, name, [`old${i}a`, `old${i}b`]);
    const expired = await publishedObjects(broker, topic.topicId);
    clock.advance(20 * MINUTE);
    await produceValues(broker, name, ['new0', 'new1', 'new2']);
    const kept = (await publishedObjects(broker, topic.topicId)).filter(
      (o) => !expired.includes(o),
    );
    expect(await countSegmentObjects(topic.topicId)).toBe(6);

    const mine = await run(broker, name);
    expect(mine.partitions[0]).toMatchObject({
      logStartOffset: 10,
      highWatermark: 13,
      entriesDeleted: 5,
    });
    expect(mine.objectsDeleted).toBe(5);
    expect(await objectKeys(topic.topicId)).toEqual(kept);
    expect((await storedCommits(broker, topic.topicId)).map(([n]) => n)).toEqual([6]);
    expect((await broker.stores.commits.meta(topic.topicId, 0)).startCommit).toBe(6);

    const below = await broker.fetch
      .fetch({ topic: name, partition: 0, offset: 0 })
      .catch((e) => e);
    expect(isEventLogError(below, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect((await broker.offsets.listOffsets(name, 0, 'earliest')).offset).toBe(10);
    expect((await readAll(broker, name, 0, 10)).map((r) => r.offset)).toEqual([10, 11, 12]);

    // Everything is past retention now: as Kafka deletes an expired active segment, the last
    // batch goes too, and the log is empty at its high watermark, which stays.
    clock.advance(60 * MINUTE);
    const again = await run(broker, name);
    expect(again.partitions[0]).toMatchObject({ logStartOffset: 13, entriesDeleted: 1 });
    expect(await readAll(broker, name, 0, 13)).toEqual([]);
    expect(await objectKeys(topic.topicId)).toEqual([]);
    // A fresh process sees the same bounds, and the next record gets the next offset.
    const fresh = brokerForTest({ clock });
    expect((await fresh.offsets.listOffsets(name, 0, 'earliest')).offset).toBe(13);
    expect((await fresh.offsets.listOffsets(name, 0, 'latest')).offset).toBe(13);
    await produceValues(broker, name, ['after']);
    expect((await readAll(fresh, name, 0, 13)).map((r) => [r.offset, r.value?.toString()])).toEqual(
      [[13, 'after']],
    );
    expect(kept).toHaveLength(1);
  });

  it('goes by the records’ timestamps, not by when they were appended', async () => {
    const clock = new ManualClock(Date.now() - 3 * DAY);
    const broker = brokerForTest({ clock });
    const name = uniqueName('timestamps');
    await broker.topics.create({ name, partitions: 1, configs: { 'retention.ms': String(DAY) } });
    const start = clock.now();
    // Appended first, but stamped a day later: inside retention for a while yet.
    await produceValues(broker, name, ['future'], { timestamp: start + DAY });
    // Appended later, but stamped long ago: expired already.
    await produceValues(broker, name, ['stale'], { timestamp: start - 5 * DAY });
    await produceValues(broker, name, ['now']);

    clock.advance(1.5 * DAY);
    let mine = await run(broker, name);
    // The first batch stays (its record is not a day old), so the log start cannot pass it.
    expect(mine.partitions[0]).toMatchObject({ logStartOffset: 0, entriesDeleted: 0 });

    await produceValues(broker, name, ['later']);
    clock.advance(DAY);
    mine = await run(broker, name);
    // Now the future-stamped record is over a day old too: both it and the stale one go.
    expect(mine.partitions[0]).toMatchObject({ logStartOffset: 3, entriesDeleted: 3 });
    expect((await readAll(broker, name, 0, 3)).map((r) => r.value?.toString())).toEqual(['later']);
  });

  it('keeps a partition at retention.bytes, the newest batches', async () => {
    const broker = brokerForTest();
    const name = uniqueName('bytes');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.bytes': '5000' },
    });
    // 12 batches of 10 records of 100 bytes: 1,210 bytes a batch with the framing.
    const batch = 10 * (100 + FRAMING);
    for (let b = 0; b < 12; b++) {
      await produceValues(
        broker,
        name,
        Array.from({ length: 10 }, (_, i) => `${b}-${i}`.padEnd(100, '.')),
      );
    }
    const mine = await run(broker, name);
    // Batches go while what is left without them is still at least 5,000 bytes: 7 of them.
    expect(mine.partitions[0]).toMatchObject({
      logStartOffset: 70,
      entriesDeleted: 7,
      bytesRemoved: 7 * batch,
    });
    expect(mine.objectsDeleted).toBe(7);
    expect(await countSegmentObjects(topic.topicId)).toBe(5);
    const records = await readAll(broker, name, 0, 70);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => 70 + i));
    expect((await broker.stores.commits.meta(topic.topicId, 0)).bytes.get(0)).toBe(5 * batch);

    // Counted once: a second run with nothing new removes nothing more.
    const again = await run(broker, name);
    expect(again.partitions[0]).toMatchObject({ logStartOffset: 70, entriesDeleted: 0 });
  });

  it('keeps a multi-partition object while any of its partitions’ batches is live', async () => {
    const clock = new ManualClock(Date.now() - 10 * DAY);
    const broker = brokerForTest({ clock });
    const name = uniqueName('shared');
    const topic = await broker.topics.create({
      name,
      partitions: 2,
      configs: { 'retention.ms': String(DAY) },
    });
    const old = clock.now() - 2 * DAY;
    // One request, one object: partition 0's batch is expired already, partition 1's is not.
    await broker.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('p0-old'), timestamp: old },
        { partition: 1, value: text('p1-live') },
      ],
    });
    const [shared] = await publishedObjects(broker, topic.topicId);
    await broker.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('p0-new') },
        { partition: 1, value: text('p1-new') },
      ],
    });

    let mine = await run(broker, name);
    expect(mine.partitions.map((p) => p.logStartOffset)).toEqual([1, 0]);
    expect(mine.objectsDeleted).toBe(0);
    expect(await objectKeys(topic.topicId)).toContain(shared);
    expect(await values(broker, name, 1)).toEqual([
      [0, 'p1-live'],
      [1, 'p1-new'],
    ]);
    const below = await broker.fetch
      .fetch({ topic: name, partition: 0, offset: 0 })
      .catch((e) => e);
    expect(isEventLogError(below, 'OFFSET_OUT_OF_RANGE')).toBe(true);

    // Two days on, with newer data, every batch of the shared object has expired: it goes.
    clock.advance(2 * DAY);
    await broker.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('p0-last') },
        { partition: 1, value: text('p1-last') },
      ],
    });
    mine = await run(broker, name);
    expect(mine.partitions.map((p) => p.logStartOffset)).toEqual([2, 2]);
    expect(mine.objectsDeleted).toBe(2);
    expect(await objectKeys(topic.topicId)).not.toContain(shared);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    expect((await readAll(broker, name, 1, 2)).map((r) => r.value?.toString())).toEqual([
      'p1-last',
    ]);
  });

  it('a run that dies between its steps leaves work the next run finishes', async () => {
    const clock = new ManualClock(Date.now() - 60 * MINUTE);
    const broker = brokerForTest({ clock });
    const name = uniqueName('crash-run');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      // Long enough for the newest batch to outlive the three runs below.
      configs: { 'retention.ms': String(25 * MINUTE) },
    });
    for (let i = 0; i < 4; i++) await produceValues(broker, name, [`old${i}`]);
    clock.advance(30 * MINUTE);
    await produceValues(broker, name, ['kept']);
    const kept = (await storedCommits(broker, topic.topicId)).slice(-1).map(([, o]) => o);

    // Dies at the object deletion: the log start is saved, nothing else happened.
    const first = crashingBroker('DeleteObjects', { clock });
    cleanups.push(first.close);
    await expect(first.broker.retention.runOnce({ topics: [name] })).rejects.toSatisfy(
      isInjectedCrash,
    );
    expect((await broker.stores.commits.meta(topic.topicId, 0)).logStarts.get(0)).toBe(4);
    expect(await countSegmentObjects(topic.topicId)).toBe(5);
    expect(await readAll(broker, name, 0, 4)).toHaveLength(1);

    // Dies at the commit deletion: objects gone, entries left.
    clock.advance(10 * MINUTE); // the dead run's lease runs out
    const second = crashingBroker('BatchWriteItem', { clock });
    cleanups.push(second.close);
    await expect(second.broker.retention.runOnce({ topics: [name] })).rejects.toSatisfy(
      isInjectedCrash,
    );
    expect(await objectKeys(topic.topicId)).toEqual(kept);
    expect(await storedCommits(broker, topic.topicId)).toHaveLength(5);

    clock.advance(10 * MINUTE);
    await run(broker, name);
    expect((await storedCommits(broker, topic.topicId)).map(([n]) => n)).toEqual([5]);
    expect((await broker.stores.commits.meta(topic.topicId, 0)).startCommit).toBe(5);
    expect((await brokerForTest({ clock }).offsets.listOffsets(name, 0, 'earliest')).offset).toBe(
      4,
    );
    expect((await readAll(broker, name, 0, 4)).map((r) => r.value?.toString())).toEqual(['kept']);
  });

  it('two runs at once delete nothing twice and lose nothing retained', async () => {
    const clock = new ManualClock(Date.now() - 60 * MINUTE);
    const first = brokerForTest({ clock });
    const second = brokerForTest({ clock });
    const name = uniqueName('race');
    const topic = await first.topics.create({
      name,
      partitions: 2,
      configs: { 'retention.ms': String(10 * MINUTE) },
    });
    for (let i = 0; i < 6; i++) {
      await first.produce.produce({
        topic: name,
        records: [
          { partition: 0, value: text(`a${i}`) },
          { partition: 1, value: text(`b${i}`) },
        ],
      });
    }
    clock.advance(30 * MINUTE);
    await first.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('keep0') },
        { partition: 1, value: text('keep1') },
      ],
    });

    const [a, b] = await Promise.all([
      first.retention.runOnce({ topics: [name] }),
      second.retention.runOnce({ topics: [name] }),
    ]);
    const runs = [a, b].map((report) => report.topics.find((t) => t.topic === name)!);
    const entries = runs.flatMap((r) => r.partitions).reduce((sum, p) => sum + p.entriesDeleted, 0);
    expect(entries).toBe(12);
    expect(runs.reduce((sum, r) => sum + r.objectsDeleted, 0)).toBe(6);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    for (const partition of [0, 1]) {
      const records = await readAll(first, name, partition, 6);
      expect(records.map((r) => r.value?.toString())).toEqual([`keep${partition}`]);
    }
  });

  it('removes a deleted topic’s objects and commits in the background', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('gone');
    const topic = await broker.topics.create({
      name,
      partitions: 3,
      configs: { 'commit.sequences': '3' },
    });
    await broker.produce.produce({
      topic: name,
      records: [0, 1, 2].map((partition) => ({ partition, value: text('x') })),
    });
    expect(await countSegmentObjects(topic.topicId)).toBe(3);
    await broker.topics.delete(name);
    await broker.retention.runOnce({ topics: [name] });
    expect(await countSegmentObjects(topic.topicId)).toBe(3); // not before in-flight writers are done
    clock.advance(10 * MINUTE);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.deletedTopicsCleaned).toContain(name);
    expect(await countSegmentObjects(topic.topicId)).toBe(0);
    for (const sequence of [0, 1, 2]) {
      expect(await broker.stores.commits.commitsFrom(topic.topicId, sequence, 1, 10)).toEqual([]);
      expect(await broker.stores.commits.reservedCommits(topic.topicId, sequence)).toBe(0);
    }
  });
});

describe('healing holes', () => {
  it('retention heals a dead writer’s commit after the grace period and not before; the late publish fails', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock, produceLimits: { maxProduceMs: 30_000 } });
    const name = uniqueName('hole');
    const topic = await broker.topics.create({ name, partitions: 1 });
    await produceValues(broker, name, ['before']);
    // A writer that reserved offsets 1-3 in commit 2 and died before publishing.
    const dead = await broker.stores.commits.reserve(
      topic.topicId,
      0,
      new Map([[0, 3]]),
      clock.now(),
    );
    expect(dead.commit).toBe(2);
    const after = await produceValues(broker, name, ['after']);
    expect(after.records[0]?.offset).toBe(4);

    // Readable up to the hole; the acknowledged record after it waits.
    expect(await values(broker, name)).toEqual([[0, 'before']]);
    expect((await broker.offsets.listOffsets(name, 0, 'latest')).offset).toBe(1);

    // The grace period is maxProduceMs plus the 15 s heal margin.
    clock.advance(44_000);
    let mine = await run(broker, name);
    expect(mine.partitions[0]).toMatchObject({ abortedRanges: 0, highWatermark: 1 });
    clock.advance(2_000);
    mine = await run(broker, name);
    expect(mine.partitions[0]).toMatchObject({ abortedRanges: 1, highWatermark: 5 });

    expect(await values(broker, name)).toEqual([
      [0, 'before'],
      [4, 'after'],
    ]);
    const page = await broker.fetch.fetch({ topic: name, partition: 0, offset: 2 });
    expect(page.records.map((r) => r.offset)).toEqual([4]);

    const late = await broker.stores.commits
      .publish(topic.topicId, 0, {
        kind: 'published',
        commit: dead.commit,
        object: 'segments/late',
        reservedAt: clock.now(),
        previousReservedAt: dead.previousReservedAt,
        batches: [],
        vector: dead.vector,
      })
      .catch((e) => e);
    expect(isEventLogError(late, 'CONFLICT')).toBe(true);
  });
});

describe('offsets by time', () => {
  it('finds the earliest offset at or after a timestamp, before, inside and after the log', async () => {
    const broker = brokerForTest();
    const name = uniqueName('bytime');
    await broker.topics.create({ name, partitions: 1 });
    const base = 1_700_000_000_000;
    for (let batch = 0; batch < 4; batch++) {
      await broker.produce.produce({
        topic: name,
        records: [0, 1, 2].map((i) => ({
          value: text(`${batch}.${i}`),
          timestamp: base + batch * 1000 + i * 100,
        })),
      });
    }
    const at = async (timestamp: number) =>
      (await broker.offsets.listOffsets(name, 0, { timestamp })).offset;
    expect(await at(base - 5000)).toBe(0);
    expect(await at(base)).toBe(0);
    expect(await at(base + 150)).toBe(2);
    expect(await at(base + 2000)).toBe(6);
    expect(await at(base + 2001)).toBe(7);
    expect(await at(base + 3200)).toBe(11);
    expect(await at(base + 3201)).toBeNull();
  });
});
