import { describe, expect, it } from 'vitest';
import { isEventLogError } from '../../../lib/log/errors.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, countSegmentObjects, readAll, text } from './helpers.js';

describe('produce and fetch', () => {
  it('writes exactly one S3 object for a request spanning many partitions', async () => {
    const broker = brokerForTest();
    const name = uniqueName('multi');
    const topic = await broker.topics.create({ name, partitions: 16 });
    const result = await broker.produce.produce({
      topic: name,
      records: Array.from({ length: 64 }, (_, i) => ({
        key: text(`key-${i}`),
        value: text(`v${i}`),
      })),
    });
    const partitions = new Set(result.records.map((r) => r.partition));
    expect(partitions.size).toBeGreaterThan(8);
    expect(await countSegmentObjects(topic.topicId)).toBe(1);
    for (const partition of partitions) {
      const records = await readAll(broker, name, partition);
      const expected = result.records
        .map((r, i) => ({ ...r, i }))
        .filter((r) => r.partition === partition);
      expect(records.map((r) => r.value?.toString())).toEqual(expected.map((r) => `v${r.i}`));
      expect(records.map((r) => r.offset)).toEqual(expected.map((r) => r.offset));
    }
  });

  it('sends the same key to the same partition, as the Kafka Java client would', async () => {
    const broker = brokerForTest();
    const name = uniqueName('keys');
    await broker.topics.create({ name, partitions: 12 });
    const first = await broker.produce.produce({
      topic: name,
      records: [{ key: text('user-42'), value: text('a') }],
    });
    const second = await broker.produce.produce({
      topic: name,
      records: [{ key: text('user-42'), value: text('b') }],
    });
    expect(first.records[0]?.partition).toBe(second.records[0]?.partition);
  });

  it('fetches from every offset of a batch, including its middle', async () => {
    const broker = brokerForTest();
    const name = uniqueName('middle');
    await broker.topics.create({ name, partitions: 1 });
    for (let batch = 0; batch < 3; batch++) {
      await broker.produce.produce({
        topic: name,
        records: Array.from({ length: 5 }, (_, i) => ({
          value: text(`b${batch}r${i}`),
          key: i % 2 === 0 ? null : text(`k${i}`),
          headers: [{ key: 'h', value: text(String(i)) }],
          timestamp: 1_700_000_000_000 + batch * 10 + i,
        })),
      });
    }
    for (let offset = 0; offset < 15; offset++) {
      const page = await broker.fetch.fetch({ topic: name, partition: 0, offset, maxRecords: 3 });
      const expected = Array.from({ length: Math.min(3, 15 - offset) }, (_, i) => offset + i);
      expect(page.records.map((r) => r.offset)).toEqual(expected);
      const first = page.records[0]!;
      expect(first.value?.toString()).toBe(`b${Math.floor(offset / 5)}r${offset % 5}`);
      expect(first.key?.toString() ?? null).toBe((offset % 5) % 2 === 0 ? null : `k${offset % 5}`);
      expect(first.headers).toEqual([{ key: 'h', value: text(String(offset % 5)) }]);
      expect(first.timestamp).toBe(1_700_000_000_000 + Math.floor(offset / 5) * 10 + (offset % 5));
      expect(page.nextOffset).toBe(expected.at(-1)! + 1);
    }
    const tail = await broker.fetch.fetch({ topic: name, partition: 0, offset: 15 });
    expect(tail.records).toEqual([]);
    expect(tail.nextOffset).toBe(15);
    expect(tail.highWatermark).toBe(15);
  });

  it('answers OFFSET_OUT_OF_RANGE above the high watermark and below the log start', async () => {
    const broker = brokerForTest();
    const name = uniqueName('range');
    const topic = await broker.topics.create({ name, partitions: 1 });
    for (let i = 0; i < 4; i++) {
      await broker.produce.produce({
        topic: name,
        records: [{ value: text(`r${i}`) }, { value: text(`s${i}`) }],
      });
    }
    const above = await broker.fetch
      .fetch({ topic: name, partition: 0, offset: 9 })
      .catch((e) => e);
    expect(isEventLogError(above, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect(above.details).toMatchObject({ logStartOffset: 0, highWatermark: 8 });

    // What retention does: the log start moves to a batch boundary.
    const meta = await broker.stores.commits.meta(topic.topicId, 0);
    await broker.stores.commits.saveRetention(topic.topicId, 0, meta.version, {
      logStarts: new Map([[0, 4]]),
      startCommit: meta.startCommit,
      bytes: meta.bytes,
      countedThrough: meta.countedThrough,
    });
    const below = await broker.fetch
      .fetch({ topic: name, partition: 0, offset: 3 })
      .catch((e) => e);
    expect(isEventLogError(below, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect(below.details).toMatchObject({ logStartOffset: 4, highWatermark: 8 });
    const atStart = await broker.fetch.fetch({ topic: name, partition: 0, offset: 4 });
    expect(atStart.records.map((r) => r.value?.toString())).toEqual(['r2', 's2', 'r3', 's3']);

    const earliest = await broker.offsets.listOffsets(name, 0, 'earliest');
    const latest = await broker.offsets.listOffsets(name, 0, 'latest');
    expect([earliest.offset, latest.offset]).toEqual([4, 8]);
  });

  it('validates the whole request before writing anything', async () => {
    const broker = brokerForTest();
    const name = uniqueName('invalid');
    const topic = await broker.topics.create({
      name,
      partitions: 2,
      configs: { 'max.message.bytes': '1000' },
    });
    const cases: [string, Parameters<typeof broker.produce.produce>[0]['records']][] = [
      ['INVALID_REQUEST', []],
      ['UNKNOWN_PARTITION', [{ value: text('ok') }, { value: text('x'), partition: 2 }]],
      ['RECORD_TOO_LARGE', [{ value: text('ok') }, { value: Buffer.alloc(1000) }]],
      ['INVALID_REQUEST', [{ value: text('ok'), timestamp: -5 }]],
    ];
    for (const [code, records] of cases) {
      const error = await broker.produce.produce({ topic: name, records }).catch((e) => e);
      expect(isEventLogError(error, code as never), `${code}: ${error}`).toBe(true);
    }
    expect(await countSegmentObjects(topic.topicId)).toBe(0);
    const missing = await broker.produce
      .produce({ topic: uniqueName('missing'), records: [{ value: text('x') }] })
      .catch((e) => e);
    expect(isEventLogError(missing, 'UNKNOWN_TOPIC')).toBe(true);
  });

  it('gives a re-created topic of the same name a fresh, empty log', async () => {
    const broker = brokerForTest();
    const name = uniqueName('recreate');
    await broker.topics.create({ name, partitions: 1 });
    await broker.produce.produce({ topic: name, records: [{ value: text('old') }] });
    await broker.topics.delete(name);
    await expect(
      broker.fetch.fetch({ topic: name, partition: 0, offset: 0 }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await broker.topics.create({ name, partitions: 1 });
    const result = await broker.produce.produce({ topic: name, records: [{ value: text('new') }] });
    expect(result.records[0]?.offset).toBe(0);
    const records = await readAll(broker, name, 0);
    expect(records.map((r) => r.value?.toString())).toEqual(['new']);
  });
});
