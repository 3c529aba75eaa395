import { describe, expect, it } from 'vitest';
import { Consumer } from '../../lib/client/consumer.js';
import { HttpClient } from '../../lib/client/http.js';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

/**
 * Retention moves the log start past what a consumer group committed: a member with
 * autoOffsetReset=earliest gets OFFSET_OUT_OF_RANGE at its committed offset and continues
 * from the new log start, as a Kafka consumer does.
 */
const api = apiHarness();
const HOUR = 3_600_000;

function consumer(group: string, topic: string, maxRecords = 500): Consumer {
  const http = new HttpClient({
    url: 'http://eventlog.test',
    fetch: async (input, init) =>
      api.app.request(input instanceof Request ? input : String(input), init),
  });
  return new Consumer(http, {
    group,
    topics: [topic],
    autoOffsetReset: 'earliest',
    sessionTimeoutMs: 3000,
    waitMs: 100,
    autoCommitIntervalMs: 50,
    maxRecords,
  });
}

async function drain(c: Consumer, until: (offsets: number[]) => boolean): Promise<number[]> {
  const offsets: number[] = [];
  for await (const batch of c) {
    offsets.push(...batch.records.map((r) => r.offset));
    if (until(offsets)) {
      await c.commit(); // this batch is processed: leaving the loop would not count it
      break;
    }
  }
  return offsets;
}

describe('retention and consumer groups', () => {
  it('a member with autoOffsetReset=earliest continues from the new log start', async () => {
    const topic = await api.topic(1, { 'retention.ms': String(HOUR) });
    const old = Date.now() - 2 * HOUR;
    for (let batch = 0; batch < 4; batch++) {
      await api.broker.produce.produce({
        topic,
        records: [0, 1].map((i) => ({ value: Buffer.from(`old-${batch}-${i}`), timestamp: old })),
      });
    }
    const group = uniqueName('ret');
    // The group reads and commits the first two records, then stops.
    const first = consumer(group, topic, 2);
    expect(await drain(first, (o) => o.length >= 2)).toEqual([0, 1]);
    const committed = await api.broker.groups.committed(group);
    expect(committed).toEqual([expect.objectContaining({ topic, partition: 0, committed: 2 })]);

    // New records arrive; retention then removes every old batch (the newest always stays).
    await api.broker.produce.produce({ topic, records: [{ value: Buffer.from('new-0') }] });
    const report = await api.broker.retention.runOnce({ topics: [topic] });
    expect(report.topics[0]?.partitions[0]?.logStartOffset).toBe(8);

    const second = consumer(group, topic);
    const seen = await drain(second, (o) => o.includes(8));
    expect(seen).toEqual([8]);
  });
});
