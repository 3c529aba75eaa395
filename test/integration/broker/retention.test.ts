import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/broker/clock.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, countSegmentObjects, readAll, text } from './helpers.js';

const MINUTE = 60_000;

async function produceBatches(
  broker: ReturnType<typeof brokerForTest>,
  topic: string,
  batches: number,
  recordsPerBatch: number,
  valueBytes = 10,
): Promise<void> {
  for (let b = 0; b < batches; b++) {
    await broker.produce.produce({
      topic,
      records: Array.from({ length: recordsPerBatch }, () => ({
        partition: 0,
        value: Buffer.alloc(valueBytes, 97),
      })),
    });
  }
}

describe('retention', () => {
  it('removes batches past retention.ms, advances the log start and always keeps the newest batch', async () => {
    const clock = new ManualClock(Date.now() - 60 * MINUTE);
    const broker = brokerForTest({ clock });
    const name = uniqueName('time');
    const topic = await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.ms': String(10 * MINUTE) },
    });
    await produceBatches(broker, name, 5, 2);
    clock.advance(20 * MINUTE);
    await produceBatches(broker, name, 1, 3);
    expect(await countSegmentObjects(topic.topicId)).toBe(6);

    const report = await broker.retention.runOnce({ topics: [name] });
    const mine = report.topics.find((t) => t.topic === name)!;
    expect(mine.partitions[0]).toMatchObject({
      logStartOffset: 10,
      highWatermark: 13,
      entriesDeleted: 5,
    });
    expect(mine.objectsDeleted).toBe(5);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);

    const below = await broker.fetch
      .fetch({ topic: name, partition: 0, offset: 0 })
      .catch((e) => e);
    expect(isEventLogError(below, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect((await broker.offsets.listOffsets(name, 0, 'earliest')).offset).toBe(10);
    expect((await readAll(broker, name, 0, 10)).map((r) => r.offset)).toEqual([10, 11, 12]);

    // Everything is past retention now, yet the last batch stays readable.
    clock.advance(60 * MINUTE);
    await broker.retention.runOnce({ topics: [name] });
    expect((await readAll(broker, name, 0, 10)).map((r) => r.offset)).toEqual([10, 11, 12]);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
  });

  it('keeps a partition under retention.bytes plus one batch', async () => {
    const broker = brokerForTest();
    const name = uniqueName('bytes');
    // retention.bytes counts stored bytes; uncompressed, they follow the payload measured below
    // (the default codec, zstd, would shrink these runs of 'a' to almost nothing).
    await broker.topics.create({
      name,
      partitions: 1,
      configs: { 'retention.bytes': '5000', 'compression.type': 'none' },
    });
    await produceBatches(broker, name, 12, 10, 100); // ~1210 payload bytes a batch
    await broker.retention.runOnce({ topics: [name] });
    const records = await readAll(
      broker,
      name,
      0,
      (await broker.offsets.listOffsets(name, 0, 'earliest')).offset!,
    );
    const kept = records.reduce((sum, r) => sum + (r.value?.byteLength ?? 0) + 21, 0);
    expect(kept).toBeLessThanOrEqual(5000 + 1210);
    expect(kept).toBeGreaterThanOrEqual(5000 - 1210);
    expect(records.at(-1)?.offset).toBe(119);
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
    const entries = runs
      .flatMap((run) => run.partitions)
      .reduce((sum, p) => sum + p.entriesDeleted, 0);
    expect(entries).toBe(12);
    expect(runs.reduce((sum, run) => sum + run.objectsDeleted, 0)).toBe(6);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    for (const partition of [0, 1]) {
      const records = await readAll(first, name, partition, 6);
      expect(records.map((r) => r.value?.toString())).toEqual([`keep${partition}`]);
    }
  });

  it('removes a deleted topic’s objects and items in the background', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const name = uniqueName('gone');
    const topic = await broker.topics.create({ name, partitions: 3 });
    await broker.produce.produce({
      topic: name,
      records: [0, 1, 2].map((partition) => ({ partition, value: text('x') })),
    });
    await broker.topics.delete(name);
    await broker.retention.runOnce({ topics: [name] });
    expect(await countSegmentObjects(topic.topicId)).toBe(1); // not before in-flight writers are done
    clock.advance(10 * MINUTE);
    const report = await broker.retention.runOnce({ topics: [name] });
    expect(report.deletedTopicsCleaned).toContain(name);
    expect(await countSegmentObjects(topic.topicId)).toBe(0);
    expect(await broker.stores.index.entriesFrom(topic.topicId, 0, 0, 10)).toEqual([]);
  });
});

describe('healing holes', () => {
  it('fills a dead writer’s hole after the grace period and not before; the late publish fails', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock, produceLimits: { maxProduceMs: 30_000 } });
    const name = uniqueName('hole');
    const topic = await broker.topics.create({ name, partitions: 1 });
    await broker.produce.produce({ topic: name, records: [{ value: text('before') }] });
    // A writer that reserved offsets 1-3 and died before publishing.
    const deadBase = await broker.stores.index.reserve(topic.topicId, 0, 3);
    expect(deadBase).toBe(1);
    const after = await broker.produce.produce({
      topic: name,
      records: [{ value: text('after') }],
    });
    expect(after.records[0]?.offset).toBe(4);

    // Readable up to the hole; the acknowledged record after it waits.
    expect((await readAll(broker, name, 0)).map((r) => r.value?.toString())).toEqual(['before']);
    expect((await broker.offsets.listOffsets(name, 0, 'latest')).offset).toBe(1);

    await broker.healer.healPartition(topic.topicId, 0); // first sighting
    clock.advance(29_000);
    const early = await broker.healer.healPartition(topic.topicId, 0);
    expect(early.aborted).toEqual([]);
    expect(early.pendingHole).toMatchObject({ at: 1 });
    clock.advance(2_000);
    const healed = await broker.healer.healPartition(topic.topicId, 0);
    expect(healed.aborted).toEqual([{ from: 1, to: 4 }]);
    expect(healed.highWatermark).toBe(5);

    expect((await readAll(broker, name, 0)).map((r) => [r.offset, r.value?.toString()])).toEqual([
      [0, 'before'],
      [4, 'after'],
    ]);
    const page = await broker.fetch.fetch({ topic: name, partition: 0, offset: 2 });
    expect(page.records.map((r) => r.offset)).toEqual([4]);

    const late = await broker.stores.index
      .publish(topic.topicId, 0, {
        baseOffset: deadBase,
        count: 3,
        object: 'segments/late',
        position: 0,
        length: 10,
        minTimestamp: 0,
        maxTimestamp: 0,
        appendTime: 0,
        bytes: 3,
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
