import { describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import { ManualClock } from '../../lib/broker/clock.js';
import { ThroughputService } from '../../lib/broker/throughput.js';
import { apiHarness, CLUSTER_ID, reply } from '../helpers/api.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';

/**
 * The console's figures: GET /v1/topics/{topic}/throughput (rates and sizes from the commits),
 * GET /v1/groups/{group}/lag and GET /v1/subscriptions/{name}/lag.
 */

interface Bucket {
  start: number;
  records: number;
  bytes: number;
  requests: number;
}

const sum = (buckets: Bucket[], pick: (b: Bucket) => number) =>
  buckets.reduce((total, b) => total + pick(b), 0);

describe('topic throughput', () => {
  // A clock moved by hand: produce stamps its commits with it, the window is measured with it.
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const broker = createBroker(createStores(testClients(), testNames()), { clock });
  const app = createApp({
    broker,
    clusterId: CLUSTER_ID,
    logError: () => {},
    validateResponses: true,
  });
  const call = async (method: string, path: string, body?: unknown) =>
    reply(
      await app.request(path, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      }),
    );
  const produce = (topic: string, records: { partition: number; value: string }[]) =>
    call('POST', `/v1/topics/${topic}/records`, { records });

  it('counts records, bytes and requests of the window per bucket, and sizes every commit once', async () => {
    const topic = uniqueName('tp');
    expect((await call('POST', '/v1/topics', { name: topic, partitions: 2 })).status).toBe(201);
    // Two minutes before the window: counted in the sizes, not in the rates.
    expect((await produce(topic, [{ partition: 0, value: 'old-record' }])).status).toBe(200);
    clock.advance(120_000);
    const inWindow = [
      [
        { partition: 0, value: 'a' },
        { partition: 0, value: 'bb' },
      ],
      [{ partition: 1, value: 'ccc' }],
      [
        { partition: 0, value: 'dddd' },
        { partition: 1, value: 'eeeee' },
        { partition: 1, value: 'ffffff' },
      ],
    ];
    for (const records of inWindow) {
      expect((await produce(topic, records)).status).toBe(200);
      clock.advance(1_500);
    }

    const answer = await call('GET', `/v1/topics/${topic}/throughput?windowMs=60000&bucketMs=1000`);
    expect(answer.status, answer.text).toBe(200);
    const t = answer.json;
    expect(t).toMatchObject({ topic, windowMs: 60_000, bucketMs: 1_000, at: clock.now() });
    expect(t.coveredFrom).toBe(clock.now() - 60_000);
    expect(sum(t.series, (b) => b.records)).toBe(6);
    expect(sum(t.series, (b) => b.requests)).toBe(3);
    // The three requests sit in three buckets 1.5 s apart.
    expect(t.series.filter((b: Bucket) => b.requests > 0).map((b: Bucket) => b.records)).toEqual([
      2, 1, 3,
    ]);
    expect(t.recordsPerSecond).toBe(0.1);
    expect(t.requestsPerSecond).toBe(0.05);
    expect(t.partitions.map((p: { records: number }) => p.records)).toEqual([4, 3]);
    expect(t.partitions.map((p: { highWatermark: number }) => p.highWatermark)).toEqual([4, 3]);
    expect(t.partitions.every((p: { bytesExact: boolean }) => p.bytesExact)).toBe(true);
    const windowBytes = sum(t.series, (b) => b.bytes);
    const sizes = t.partitions.map((p: { bytes: number }) => p.bytes);
    // The old record is in partition 0's size, not in the window's bytes.
    expect(sizes[0] + sizes[1]).toBeGreaterThan(windowBytes);
    expect(t.bytesPerSecond).toBe(Math.round((windowBytes / 60) * 1000) / 1000);

    // Retention counts the bytes into its meta: the sizes stay the same, nothing twice.
    await broker.retention.runOnce({ topics: [topic] });
    const { topicId } = await broker.topics.get(topic);
    expect((await broker.stores.commits.meta(topicId, 0)).countedThrough).toBe(5);
    const after = await call('GET', `/v1/topics/${topic}/throughput?windowMs=60000&bucketMs=1000`);
    expect(after.json.partitions.map((p: { bytes: number }) => p.bytes)).toEqual(sizes);
    expect(sum(after.json.series, (b) => b.records)).toBe(6);
  });

  it('reads at most maxCommits per sequence: a busier window is covered from the oldest commit read', async () => {
    const topic = uniqueName('tp');
    expect((await call('POST', '/v1/topics', { name: topic, partitions: 1 })).status).toBe(201);
    const times: number[] = [];
    for (const value of ['a', 'bb', 'ccc']) {
      times.push(clock.now());
      expect((await produce(topic, [{ partition: 0, value }])).status).toBe(200);
      clock.advance(1_000);
    }
    const capped = new ThroughputService(
      broker.topics,
      broker.stores.commits,
      broker.reader,
      clock,
      {
        maxCommits: 2,
      },
    );
    const t = await capped.topic(topic, { windowMs: 60_000, bucketMs: 1_000 });
    expect(t.coveredFrom).toBe(times[1]);
    expect(sum(t.series, (b) => b.records)).toBe(2);
    expect(t.series[0]?.start).toBe(Math.floor((times[1] ?? 0) / 1000) * 1000);
    // The first commit was neither read nor counted by retention: the size is a lower bound.
    expect(t.partitions[0]).toMatchObject({ records: 3, bytesExact: false });
    const full = await broker.throughput.topic(topic, { windowMs: 60_000, bucketMs: 1_000 });
    expect(full.partitions[0]?.bytesExact).toBe(true);
    expect(full.partitions[0]?.bytes).toBeGreaterThan(t.partitions[0]?.bytes ?? 0);
    expect(t.recordsPerSecond).toBe(
      Math.round((2 / ((clock.now() - (times[1] ?? 0)) / 1000)) * 1000) / 1000,
    );
  });

  it('refuses windows and buckets out of range, and unknown topics', async () => {
    const topic = uniqueName('tp');
    expect((await call('POST', '/v1/topics', { name: topic, partitions: 1 })).status).toBe(201);
    for (const query of [
      'windowMs=5',
      'windowMs=7200000',
      'bucketMs=10',
      'windowMs=3600000&bucketMs=1000',
      'windowMs=abc',
    ]) {
      const refused = await call('GET', `/v1/topics/${topic}/throughput?${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.json.code, query).toBe('INVALID_REQUEST');
    }
    const missing = await call('GET', `/v1/topics/${uniqueName('none')}/throughput`);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('UNKNOWN_TOPIC');
  });
});

describe('lag routes', () => {
  const api = apiHarness();

  it('answers a group’s offset and time lag per partition, and of topics it never committed on', async () => {
    const topic = await api.topic(2);
    const group = uniqueName('lag-g');
    const records = [0, 0, 0, 1].map((partition, n) => ({ partition, value: `r${n}` }));
    expect((await api.call('POST', `/v1/topics/${topic}/records`, { records })).status).toBe(200);
    const beat = await api.call('POST', `/v1/groups/${group}/members/m1/heartbeat`, {
      topics: [topic],
    });
    expect(beat.status, beat.text).toBe(200);
    const p0 = beat.json.assignment.find((a: { partition: number }) => a.partition === 0);
    const committed = await api.call('POST', `/v1/groups/${group}/commits`, {
      memberId: 'm1',
      offsets: [{ topic, partition: 0, offset: 1, counter: p0.counter }],
    });
    expect(committed.status, committed.text).toBe(200);

    const lag = await api.call('GET', `/v1/groups/${group}/lag`);
    expect(lag.status, lag.text).toBe(200);
    expect(lag.json).toMatchObject({ group, totalOffsetLag: 2 });
    const [first, second] = lag.json.partitions;
    expect(first).toMatchObject({
      topic,
      partition: 0,
      committed: 1,
      highWatermark: 3,
      offsetLag: 2,
    });
    expect(first.timeLagMs).toBeGreaterThanOrEqual(0);
    expect(second).toMatchObject({ topic, partition: 1, committed: null, offsetLag: null });

    const other = await api.topic(1);
    const named = await api.call('GET', `/v1/groups/${group}/lag?topics=${other}`);
    expect(named.json.partitions).toEqual([
      expect.objectContaining({ topic: other, partition: 0, committed: null, highWatermark: 0 }),
    ]);
    const unknown = await api.call('GET', `/v1/groups/${group}/lag?topics=${uniqueName('none')}`);
    expect(unknown.status).toBe(404);
  });

  it('answers a subscription’s lag on its topic, from its group', async () => {
    const topic = await api.topic(2);
    const name = uniqueName('lag-s');
    const created = await api.call('POST', '/v1/subscriptions', {
      name,
      topic,
      functionName: 'nobody',
      startingPosition: 'LATEST',
    });
    expect(created.status, created.text).toBe(201);
    const records = [
      { partition: 1, value: 'x' },
      { partition: 1, value: 'y' },
    ];
    expect((await api.call('POST', `/v1/topics/${topic}/records`, { records })).status).toBe(200);

    const lag = await api.call('GET', `/v1/subscriptions/${name}/lag`);
    expect(lag.status, lag.text).toBe(200);
    expect(lag.json).toMatchObject({ subscription: name, topic, group: name, totalOffsetLag: 2 });
    expect(lag.json.partitions.map((p: { offsetLag: number }) => p.offsetLag)).toEqual([0, 2]);
    expect(lag.json.maxTimeLagMs).toBeGreaterThanOrEqual(0);

    const missing = await api.call('GET', `/v1/subscriptions/${uniqueName('none')}/lag`);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('UNKNOWN_SUBSCRIPTION');
  });
});
