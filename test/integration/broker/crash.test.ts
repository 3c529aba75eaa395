import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/broker/clock.js';
import { uniqueName } from '../../helpers/aws.js';
import { isInjectedCrash } from '../../helpers/faults.js';
import {
  brokerForTest,
  countSegmentObjects,
  crashingBroker,
  faultyBroker,
  isIndexPut,
  readAll,
  text,
} from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('a writer that dies mid-produce', () => {
  it('between reserving and publishing: readable up to the hole, no acknowledged record lost', async () => {
    const clock = new ManualClock();
    const healthy = brokerForTest({ clock });
    const name = uniqueName('dies');
    const topic = await healthy.topics.create({ name, partitions: 2 });
    await healthy.produce.produce({ topic: name, records: [{ partition: 0, value: text('a') }] });

    const dying = crashingBroker('PutItem', { clock, when: isIndexPut });
    cleanups.push(dying.close);
    const died = await dying.broker.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('lost-1') },
        { partition: 0, value: text('lost-2') },
      ],
    });
    expect(died.records.every((r) => r.error !== undefined && isInjectedCrash(r.error.cause))).toBe(
      true,
    );
    expect(dying.faults.crashedAt).toBe('PutItem');

    // Other writers go on and are acknowledged; readers of every partition of the commit
    // sequence stop at the hole (the dead writer's commit number), for at most the grace.
    const acked = await healthy.produce.produce({
      topic: name,
      records: [
        { partition: 0, value: text('b') },
        { partition: 1, value: text('other') },
      ],
    });
    expect(acked.records.map((r) => r.offset)).toEqual([3, 0]);
    expect((await readAll(healthy, name, 0)).map((r) => r.value?.toString())).toEqual(['a']);
    expect((await readAll(healthy, name, 1)).map((r) => r.value?.toString())).toEqual([]);

    // Healing after the grace period makes every acknowledged record readable.
    await healthy.reader.advance(topic.topicId, 0);
    clock.advance(46_000);
    await healthy.reader.advance(topic.topicId, 0);
    const records = await readAll(healthy, name, 0);
    expect(records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [0, 'a'],
      [3, 'b'],
    ]);
    expect((await readAll(healthy, name, 1)).map((r) => r.value?.toString())).toEqual(['other']);
  });

  it('after the upload, before reserving: no hole; retention removes the orphan object', async () => {
    const clock = new ManualClock();
    const healthy = brokerForTest({ clock });
    const name = uniqueName('orphan');
    const topic = await healthy.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': '60000' },
    });
    const dying = crashingBroker('UpdateItem', { clock });
    cleanups.push(dying.close);
    const died = await dying.broker.produce.produce({
      topic: name,
      records: [{ value: text('never') }],
    });
    expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);

    const acked = await healthy.produce.produce({
      topic: name,
      records: [{ value: text('next') }],
    });
    expect(acked.records[0]?.offset).toBe(0);
    expect((await readAll(healthy, name, 0)).map((r) => r.value?.toString())).toEqual(['next']);

    clock.advance(5 * 60_000);
    await healthy.produce.produce({ topic: name, records: [{ value: text('later') }] });
    const report = await healthy.retention.runOnce({ topics: [name] });
    // The orphan and the expired batch's object go; the newest batch's object stays.
    expect(report.topics[0]).toMatchObject({ objectsDeleted: 1, orphansDeleted: 1 });
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    expect((await readAll(healthy, name, 0, 1)).map((r) => r.value?.toString())).toEqual(['later']);
  });

  it('a produce that fails before any publish removes its own object', async () => {
    const { broker: failing, faults, close } = faultyBroker();
    cleanups.push(close);
    faults.add({ command: 'UpdateItem', action: 'serverError', times: Number.POSITIVE_INFINITY });
    const name = uniqueName('cleanup');
    const topic = await brokerForTest().topics.create({ name, partitions: 1 });
    const result = await failing.produce.produce({ topic: name, records: [{ value: text('x') }] });
    expect(result.records[0]?.error).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      retriable: true,
    });
    expect(await countSegmentObjects(topic.topicId)).toBe(0);
  });
});
