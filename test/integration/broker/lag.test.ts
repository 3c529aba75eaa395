import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/broker/clock.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, text } from './helpers.js';

describe('consumer lag (offset and time) from the log alone', () => {
  it('offset lag is the high watermark less the committed offset; time lag the age of the oldest uncommitted batch', async () => {
    const clock = new ManualClock();
    const broker = brokerForTest({ clock });
    const topic = uniqueName('lag');
    const group = uniqueName('lag-group');
    await broker.topics.create({ name: topic, partitions: 3 });
    const start = clock.now();
    // Partition 0: batches appended at start, +1 s, +2 s. Partition 1: one at +2 s.
    for (let i = 0; i < 3; i++) {
      await broker.produce.produce({
        topic,
        records: [
          { partition: 0, value: text(`a${i}`) },
          { partition: 0, value: text(`b${i}`) },
        ],
      });
      clock.advance(1_000);
    }
    clock.set(start + 2_000);
    await broker.produce.produce({ topic, records: [{ partition: 1, value: text('c') }] });

    // Nothing committed: no lag figures, but every partition is listed when asked for the topic.
    const none = await broker.lag.group(group, { topics: [topic] });
    expect(none.partitions.map((p) => [p.partition, p.offsetLag, p.timeLagMs])).toEqual([
      [0, null, null],
      [1, null, null],
      [2, null, null],
    ]);
    expect(none.maxTimeLagMs).toBeNull();

    // Committed: p0 at 3 (inside the second batch, appended at +1 s), p1 caught up, p2 at 0.
    await broker.groups.reset(group, {
      topic,
      partitions: [0],
      target: { to: 'offset', offset: 3 },
    });
    await broker.groups.reset(group, { topic, partitions: [1, 2], target: { to: 'latest' } });
    clock.set(start + 10_000);
    const lag = await broker.lag.group(group);
    expect(lag.at).toBe(start + 10_000);
    expect(
      lag.partitions.map((p) => [
        p.partition,
        p.committed,
        p.highWatermark,
        p.offsetLag,
        p.timeLagMs,
      ]),
    ).toEqual([
      [0, 3, 6, 3, 9_000],
      [1, 1, 1, 0, 0],
      [2, 0, 0, 0, 0],
    ]);
    expect(lag.totalOffsetLag).toBe(3);
    expect(lag.maxTimeLagMs).toBe(9_000);

    // A process that never saw the topic (a maintenance run) computes the same figures.
    const fresh = brokerForTest({ clock });
    expect(await fresh.lag.group(group)).toEqual(lag);
  });
});
