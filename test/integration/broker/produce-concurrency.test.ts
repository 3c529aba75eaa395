import { describe, expect, it } from 'vitest';
import { uniqueName } from '../../helpers/aws.js';
import { seededRandom } from '../../helpers/random.js';
import { brokerForTest, readAll, text } from './helpers.js';

describe('produce under concurrency (real DynamoDB Local and s3rver)', () => {
  it('32 producers x 200 requests on one partition: every offset exactly once, requests contiguous and ordered', async () => {
    const broker = brokerForTest();
    const topic = uniqueName('concurrent');
    await broker.topics.create({ name: topic, partitions: 1 });
    const PRODUCERS = 32;
    const REQUESTS = 200;
    const random = seededRandom(20261125);
    const sizes = Array.from({ length: PRODUCERS }, () =>
      Array.from({ length: REQUESTS }, () => 1 + Math.floor(random() * 20)),
    );

    const acks = await Promise.all(
      sizes.map(async (requests, producer) => {
        const offsets: { request: number; offsets: number[] }[] = [];
        for (let request = 0; request < REQUESTS; request++) {
          const count = requests[request] as number;
          const result = await broker.produce.produce({
            topic,
            records: Array.from({ length: count }, (_, i) => ({
              partition: 0,
              value: text(`${producer}/${request}/${i}`),
            })),
          });
          const failed = result.records.filter((r) => r.error !== undefined);
          expect(failed).toEqual([]);
          offsets.push({ request, offsets: result.records.map((r) => r.offset as number) });
        }
        return offsets;
      }),
    );

    const total = sizes.flat().reduce((a, b) => a + b, 0);
    const records = await readAll(broker, topic, 0);
    expect(records.length).toBe(total);
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));

    const byValue = new Map(records.map((r) => [r.value?.toString('utf8'), r.offset]));
    expect(byValue.size).toBe(total);
    acks.forEach((producerAcks, producer) => {
      let last = -1;
      for (const { request, offsets } of producerAcks) {
        // Contiguous and in the request's own order, at the acknowledged offsets.
        offsets.forEach((offset, i) => {
          expect(offset).toBe((offsets[0] as number) + i);
          expect(byValue.get(`${producer}/${request}/${i}`)).toBe(offset);
        });
        expect(offsets[0] as number).toBeGreaterThan(last);
        last = offsets.at(-1) as number;
      }
    });
  }, 300_000);
});
