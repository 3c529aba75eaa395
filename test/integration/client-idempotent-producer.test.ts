import { describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { type Broker, createBroker, createStores } from '../../lib/broker/broker.js';
import { HttpClient } from '../../lib/client/http.js';
import { Producer } from '../../lib/client/producer.js';
import { CLUSTER_ID } from '../helpers/api.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';
import { seededRandom } from '../helpers/random.js';
import { readAll } from './broker/helpers.js';

/**
 * The SDK talking to the app in process through a network that loses answers: the request
 * reaches the server and is handled, then the client sees a reset connection.
 */
function lossyClient(broker: Broker, loss: number, seed: number) {
  const app = createApp({
    broker,
    clusterId: CLUSTER_ID,
    logError: () => {},
    validateResponses: true,
  });
  const random = seededRandom(seed);
  const stats = { produces: 0, lost: 0 };
  const fetch = (async (url: URL | string, init?: RequestInit) => {
    const response = await app.request(String(url), init);
    const produce = init?.method === 'POST' && String(url).endsWith('/records');
    if (produce) stats.produces++;
    if (produce && random() < loss) {
      await response.arrayBuffer();
      stats.lost++;
      throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    }
    return response;
  }) as typeof globalThis.fetch;
  const http = new HttpClient({
    url: 'http://eventlog.test',
    fetch,
    retry: { retries: 8, baseDelayMs: 1, maxDelayMs: 5 },
  });
  return { http, stats };
}

describe('SDK Producer with idempotence (the default) over a network that loses answers', () => {
  it('retries lost answers with the same sequences: every record once, in order per partition', async () => {
    const broker = createBroker(createStores(testClients(), testNames()));
    const topic = uniqueName('sdk-idem');
    await broker.topics.create({ name: topic, partitions: 3 });
    const { http, stats } = lossyClient(broker, 0.3, 7);
    const producer = new Producer(http, { batch: { maxRecords: 7 }, maxInFlight: 3 });
    const records = Array.from({ length: 150 }, (_, i) => ({
      key: `k${i % 5}`,
      value: `v${i}`,
    }));
    const acks = await producer.sendBatch({ topic, records });
    expect(stats.lost).toBeGreaterThan(0);

    const log = new Map<string, { partition: number; offset: number }>();
    for (let partition = 0; partition < 3; partition++) {
      const read = await readAll(broker, topic, partition);
      for (const record of read) {
        const value = record.value?.toString() as string;
        expect(log.has(value), `${value} written twice`).toBe(false);
        log.set(value, { partition, offset: record.offset });
      }
      // Per partition (per key), the order given.
      const indexes = read.map((r) => Number(r.value?.toString().slice(1)));
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    }
    expect(log.size).toBe(150);
    acks.forEach((ack, i) => {
      expect(log.get(`v${i}`)).toEqual({ partition: ack.partition, offset: ack.offset });
    });
  });

  it('puts keyed records on the partition the server would pick (string, bytes and JSON keys)', async () => {
    const broker = createBroker(createStores(testClients(), testNames()));
    const topic = uniqueName('sdk-keys');
    await broker.topics.create({ name: topic, partitions: 7 });
    const keys = [
      'customer-42',
      '',
      'ünïcödé',
      Buffer.from([0, 1, 2, 255]),
      { id: 42, tags: ['a', 'b'] },
      12345678901234,
    ];
    const records = keys.map((key, i) => ({ key, value: `v${i}` }));
    const idempotent = new Producer(lossyClient(broker, 0, 1).http);
    const plain = new Producer(lossyClient(broker, 0, 1).http, { idempotence: false });
    const viaSdk = await idempotent.send({ topic, records });
    const viaServer = await plain.send({ topic, records });
    expect(viaSdk.map((r) => r.partition)).toEqual(viaServer.map((r) => r.partition));
    expect(new Set(viaSdk.map((r) => r.partition)).size).toBeGreaterThan(1);
  });

  it('bumps the epoch after a request failed for good, and goes on', async () => {
    const broker = createBroker(createStores(testClients(), testNames()));
    const topic = uniqueName('sdk-bump');
    await broker.topics.create({ name: topic, partitions: 1 });
    const { http } = lossyClient(broker, 0, 1);
    const producer = new Producer(http);
    await producer.send({ topic, records: [{ value: 'a' }] });
    const before = producer.idempotence?.producer;
    await expect(
      producer.send({ topic, records: [{ value: 'x', partition: 5 }] }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    await producer.send({ topic, records: [{ value: 'b' }] });
    const after = producer.idempotence?.producer;
    expect(after).toEqual({
      producerId: before?.producerId,
      producerEpoch: (before?.producerEpoch ?? 0) + 1,
    });
    expect((await readAll(broker, topic, 0)).map((r) => r.value?.toString())).toEqual(['a', 'b']);
  });

  it('a named producer fences the previous instance with the same name', async () => {
    const broker = createBroker(createStores(testClients(), testNames()));
    const topic = uniqueName('sdk-fence');
    await broker.topics.create({ name: topic, partitions: 1 });
    const name = uniqueName('app');
    const old = new Producer(lossyClient(broker, 0, 1).http, { idempotence: { name } });
    await old.send({ topic, records: [{ value: 'old' }] });
    const replacement = new Producer(lossyClient(broker, 0, 1).http, { idempotence: { name } });
    await replacement.send({ topic, records: [{ value: 'new' }] });
    await expect(old.send({ topic, records: [{ value: 'zombie' }] })).rejects.toMatchObject({
      code: 'PRODUCER_FENCED',
    });
    expect((await readAll(broker, topic, 0)).map((r) => r.value?.toString())).toEqual([
      'old',
      'new',
    ]);
  });

  it('without idempotence, a lost answer is not retried (it could write twice)', async () => {
    const broker = createBroker(createStores(testClients(), testNames()));
    const topic = uniqueName('sdk-plain');
    await broker.topics.create({ name: topic, partitions: 1 });
    const { http } = lossyClient(broker, 1, 1);
    const producer = new Producer(http, { idempotence: false });
    await expect(producer.send({ topic, records: [{ value: 'a' }] })).rejects.toMatchObject({
      details: { network: true },
    });
    expect((await readAll(broker, topic, 0)).map((r) => r.value?.toString())).toEqual(['a']);
  });
});
