import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/broker/clock.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, text } from '../broker/helpers.js';

/**
 * Issue 15, item 11: a reader racing retention gets OFFSET_OUT_OF_RANGE (or the records, if
 * it won), never a 5xx. Retention and readers run concurrently against the emulators; each
 * round's records are expired already, so retention deletes their object while readers ask
 * for it from the offset they last saw as the log start.
 */

const DAY = 86_400_000;

describe('11: fetch racing retention', () => {
  it('answers records or OFFSET_OUT_OF_RANGE over 15 racing rounds, nothing else', async () => {
    const clock = new ManualClock(Date.now());
    const broker = brokerForTest({ clock });
    const name = uniqueName('race');
    await broker.topics.create({ name, partitions: 1, configs: { 'retention.ms': String(DAY) } });
    const outcomes = { records: 0, outOfRange: 0 };
    for (let round = 0; round < 15; round++) {
      const produced = await broker.produce.produce({
        topic: name,
        records: [{ partition: 0, value: text(`old-${round}`), timestamp: clock.now() - 2 * DAY }],
      });
      const offset = produced.records[0]?.offset ?? 0;
      const readers = Array.from({ length: 4 }, async () => {
        try {
          const page = await broker.fetch.fetch({ topic: name, partition: 0, offset });
          outcomes.records += page.records.length > 0 ? 1 : 0;
        } catch (error) {
          // Anything but OFFSET_OUT_OF_RANGE here would be a 5xx at the API.
          expect(isEventLogError(error, 'OFFSET_OUT_OF_RANGE'), String(error)).toBe(true);
          outcomes.outOfRange++;
        }
      });
      await Promise.all([broker.retention.runOnce({ topics: [name] }), ...readers]);
    }
    // After the last retention run the reader is out of range, every time.
    const last = await broker.fetch.fetch({ topic: name, partition: 0, offset: 0 }).catch((e) => e);
    expect(isEventLogError(last, 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect(outcomes.records + outcomes.outOfRange).toBe(60);
  }, 60_000);
});
