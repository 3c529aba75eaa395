import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { MAX_RESPONSE_BYTES } from '../../lib/api/routes/records.js';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import { Consumer, type ConsumerBatch } from '../../lib/client/consumer.js';
import { HttpClient } from '../../lib/client/http.js';
import { destroyAwsClients } from '../../lib/store/aws-clients.js';
import { CallCounter, DYNAMODB_READ_COMMANDS, total } from '../../lib/store/call-counter.js';
import { apiHarness, reply } from '../helpers/api.js';
import { newTestClients, testNames, uniqueName } from '../helpers/aws.js';

const api = apiHarness();
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const LAMBDA_SAFE = 6_000_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function produce(topic: string, records: { partition: number; value: Buffer }[]) {
  const result = await api.broker.produce.produce({ topic, records });
  expect(result.records.every((r) => r.error === undefined)).toBe(true);
}

function fetchMany(topic: string, body: Record<string, unknown>) {
  return api.call('POST', `/v1/topics/${topic}/fetch`, body);
}

/** Every answer of fetching `partitions` from offset 0 until each reaches its high watermark. */
async function drain(
  topic: string,
  partitions: number[],
  options: Record<string, unknown> = {},
): Promise<{ bodies: number[]; records: Map<number, number[]> }> {
  const offsets = new Map(partitions.map((p) => [p, 0]));
  const records = new Map(partitions.map((p) => [p, [] as number[]]));
  const bodies: number[] = [];
  for (let round = 0; round < 100; round++) {
    const answer = await fetchMany(topic, {
      ...options,
      partitions: partitions.map((partition) => ({ partition, offset: offsets.get(partition) })),
    });
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
    bodies.push(Buffer.byteLength(answer.text));
    let moved = false;
    let done = true;
    for (const p of answer.json.partitions) {
      expect(p.error).toBeUndefined();
      const before = offsets.get(p.partition) as number;
      // No record is skipped or repeated: each answer continues where the last one ended.
      if (p.records.length > 0) expect(p.records[0].offset).toBe(before);
      records.get(p.partition)?.push(...p.records.map((r: { offset: number }) => r.offset));
      if (p.nextOffset > before) moved = true;
      offsets.set(p.partition, p.nextOffset);
      if (p.nextOffset < p.highWatermark) done = false;
    }
    if (done) return { bodies, records };
    expect(moved).toBe(true); // an answer that makes no progress would loop for ever
  }
  throw new Error('did not reach the high watermarks in 100 fetches');
}

describe('fetch several partitions: POST /v1/topics/{topic}/fetch', () => {
  it('answers every partition from its own offset, in request order, with per-partition errors', async () => {
    const topic = await api.topic(3);
    await produce(topic, [
      { partition: 0, value: utf8('a0') },
      { partition: 0, value: utf8('a1') },
      { partition: 1, value: utf8('b0') },
    ]);
    const answer = await fetchMany(topic, {
      partitions: [
        { partition: 2, offset: 0 },
        { partition: 0, offset: 1 },
        { partition: 1, offset: 0 },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      topic,
      partitions: [
        { partition: 2, records: [], nextOffset: 0, highWatermark: 0, logStartOffset: 0 },
        {
          partition: 0,
          records: [
            {
              offset: 1,
              timestamp: expect.any(Number),
              timestampType: 'CreateTime',
              key: null,
              value: 'a1',
              headers: [],
            },
          ],
          nextOffset: 2,
          highWatermark: 2,
          logStartOffset: 0,
        },
        {
          partition: 1,
          records: [expect.objectContaining({ offset: 0, value: 'b0' })],
          nextOffset: 1,
          highWatermark: 1,
          logStartOffset: 0,
        },
      ],
    });

    // An offset past the high watermark fails that partition only.
    const mixed = await fetchMany(topic, {
      format: 'base64',
      partitions: [
        { partition: 0, offset: 7 },
        { partition: 1, offset: 0 },
      ],
    });
    expect(mixed.status).toBe(200);
    expect(mixed.json.partitions[0]).toEqual({
      partition: 0,
      error: expect.objectContaining({
        code: 'OFFSET_OUT_OF_RANGE',
        error_code: 416,
        retriable: false,
        logStartOffset: 0,
        highWatermark: 2,
      }),
    });
    expect(mixed.json.partitions[1].records[0].value).toBe(utf8('b0').toString('base64'));
  });

  it('refuses a bad request as a whole', async () => {
    const topic = await api.topic(2);
    const cases: [unknown, number, string][] = [
      [{ partitions: [] }, 400, 'INVALID_REQUEST'],
      [
        {
          partitions: [
            { partition: 0, offset: 0 },
            { partition: 0, offset: 1 },
          ],
        },
        400,
        'INVALID_REQUEST',
      ],
      [{ partitions: [{ partition: 0, offset: -1 }] }, 400, 'INVALID_REQUEST'],
      [{ partitions: [{ partition: 0, offset: 0 }], waitMs: 20_001 }, 400, 'INVALID_REQUEST'],
      [{ partitions: [{ partition: 0, offset: 0 }], maxBytes: 0 }, 400, 'INVALID_REQUEST'],
      [{ partitions: [{ partition: 0, offset: 0 }], extra: 1 }, 400, 'INVALID_REQUEST'],
      [{ partitions: [{ partition: 2, offset: 0 }] }, 404, 'UNKNOWN_PARTITION'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await fetchMany(topic, body as Record<string, unknown>);
      expect([answer.status, answer.json.code], JSON.stringify(body)).toEqual([status, code]);
    }
    const unknown = await fetchMany(uniqueName('nope'), {
      partitions: [{ partition: 0, offset: 0 }],
    });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'UNKNOWN_TOPIC']);
  });

  it('shares maxRecords and maxBytes between the partitions, and continues from each nextOffset', async () => {
    const topic = await api.topic(2);
    await produce(topic, [
      ...Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: utf8(`p0-${i}`) })),
      ...Array.from({ length: 5 }, (_, i) => ({ partition: 1, value: utf8(`p1-${i}`) })),
    ]);
    const first = await fetchMany(topic, {
      maxRecords: 3,
      partitions: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
      ],
    });
    const counts = first.json.partitions.map((p: { records: unknown[] }) => p.records.length);
    expect(counts[0] + counts[1]).toBe(3);
    const { records } = await drain(topic, [0, 1], { maxRecords: 3 });
    expect(records.get(0)).toEqual([0, 1, 2, 3, 4]);
    expect(records.get(1)).toEqual([0, 1, 2, 3, 4]);
    // maxBytes is measured on the JSON sent: a record takes about 100 bytes of it here.
    const small = await drain(topic, [0, 1], { maxBytes: 250 });
    expect(small.bodies.length).toBeGreaterThanOrEqual(4);
    expect(small.records.get(1)).toEqual([0, 1, 2, 3, 4]);
  });

  it('long polls until any partition has records', async () => {
    const topic = await api.topic(3);
    const partitions = [0, 1, 2].map((partition) => ({ partition, offset: 0 }));
    const idleStart = performance.now();
    const idle = await fetchMany(topic, { partitions, waitMs: 300 });
    expect(performance.now() - idleStart).toBeGreaterThanOrEqual(250);
    expect(idle.json.partitions.every((p: { records: unknown[] }) => p.records.length === 0)).toBe(
      true,
    );

    const started = performance.now();
    const waiting = fetchMany(topic, { partitions, waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await produce(topic, [{ partition: 1, value: utf8('late') }]);
    const answer = await waiting;
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5000);
    expect(answer.json.partitions.map((p: { records: { value: string }[] }) => p.records)).toEqual([
      [],
      [expect.objectContaining({ value: 'late' })],
      [],
    ]);
  });

  it('keeps a gzip batch of compressible records within maxBytes of JSON per answer, split across answers', async () => {
    const topic = await api.topic(2, { 'compression.type': 'gzip' });
    // 3 MB of records per partition that gzip to a few KB: one small batch each.
    const value = (p: number, i: number) => utf8(`${p}-${i}-`.padEnd(10_000, 'x'));
    await produce(
      topic,
      [0, 1].flatMap((partition) =>
        Array.from({ length: 300 }, (_, i) => ({ partition, value: value(partition, i) })),
      ),
    );
    const oneRecord = 10_200; // a 10000-byte value with its JSON around it
    const byDefault = await drain(topic, [0, 1]);
    expect(byDefault.records.get(0)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(byDefault.records.get(1)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // A default answer holds at most 1 MiB of records (and the envelope around them).
    expect(byDefault.bodies.length).toBeGreaterThanOrEqual(6);
    for (const size of byDefault.bodies) {
      expect(size).toBeLessThanOrEqual(1_048_576 + oneRecord);
      expect(size).toBeLessThanOrEqual(LAMBDA_SAFE);
    }
    const biggest = await drain(topic, [0, 1], { maxBytes: 4_194_304 });
    for (const size of biggest.bodies) expect(size).toBeLessThanOrEqual(4_194_304 + oneRecord);
    expect(biggest.records.get(1)?.length).toBe(300);

    // The one-partition route keeps the same budget.
    const single = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/0/records?offset=0&maxRecords=10000`,
    );
    expect(Buffer.byteLength(single.text)).toBeLessThanOrEqual(1_048_576 + oneRecord);
    expect(single.json.nextOffset).toBeGreaterThan(90);
    expect(single.json.nextOffset).toBeLessThan(300);
  });

  it('answers a record of the largest max.message.bytes alone, under 6 MB, in any format that can show it', async () => {
    const topic = await api.topic(2, { 'max.message.bytes': '4194304' });
    const largest = 4_194_304 - 21; // the record framing counts toward max.message.bytes
    const binary = randomBytes(largest);
    const text = Buffer.alloc(largest, 'x');
    await produce(topic, [{ partition: 0, value: binary }]);
    await produce(topic, [{ partition: 1, value: text }]);
    await produce(topic, [{ partition: 0, value: utf8('after') }]);

    // Both partitions asked for, the smallest maxBytes: one record per answer, never more.
    const partitions = (o0: number, o1: number) => [
      { partition: 0, offset: o0 },
      { partition: 1, offset: o1 },
    ];
    const first = await fetchMany(topic, {
      partitions: partitions(0, 0),
      format: 'base64',
      maxBytes: 1,
    });
    expect(first.status).toBe(200);
    expect(Buffer.byteLength(first.text)).toBeGreaterThan(5_500_000);
    expect(Buffer.byteLength(first.text)).toBeLessThan(LAMBDA_SAFE);
    expect(Buffer.from(first.json.partitions[0].records[0].value, 'base64').equals(binary)).toBe(
      true,
    );
    expect(first.json.partitions[1].records).toEqual([]);
    // Older commits first: partition 1's record (the second commit) before partition 0's
    // next one; as a string, the largest record is about 4 MiB of JSON.
    const second = await fetchMany(topic, { partitions: partitions(1, 0), maxBytes: 1 });
    expect(Buffer.byteLength(second.text)).toBeLessThan(LAMBDA_SAFE);
    expect(
      second.json.partitions.map((p: { records: { offset: number }[] }) => p.records.length),
    ).toEqual([0, 1]);
    expect(second.json.partitions[1].records[0].value.length).toBe(largest);
    const third = await fetchMany(topic, { partitions: partitions(1, 1), maxBytes: 1 });
    expect(
      third.json.partitions.map((p: { records: { value: string }[] }) => p.records[0]?.value),
    ).toEqual(['after', undefined]);
    expect(third.json.partitions.map((p: { nextOffset: number }) => p.nextOffset)).toEqual([2, 1]);

    // The default budget and the one-partition route, in base64.
    const single = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/0/records?offset=0&format=base64`,
    );
    expect(single.status).toBe(200);
    expect(Buffer.byteLength(single.text)).toBeLessThan(LAMBDA_SAFE);
    expect(single.json.records.length).toBe(1);
  });

  it('refuses, with a hint, an answer that escaping would take past what Lambda can send', async () => {
    const topic = await api.topic(1, { 'max.message.bytes': '4194304' });
    // Control characters are escaped six-fold in a JSON string: 1.1 MB become 6.6 MB.
    await produce(topic, [{ partition: 0, value: Buffer.alloc(1_100_000, 1) }]);
    const asString = await fetchMany(topic, { partitions: [{ partition: 0, offset: 0 }] });
    expect(asString.status).toBe(400);
    expect(asString.json.code).toBe('INVALID_REQUEST');
    expect(asString.json.limit).toBe(MAX_RESPONSE_BYTES);
    expect(asString.json.message).toContain('format=base64');
    const asBase64 = await fetchMany(topic, {
      partitions: [{ partition: 0, offset: 0 }],
      format: 'base64',
    });
    expect(asBase64.status).toBe(200);
    expect(asBase64.json.partitions[0].nextOffset).toBe(1);
  });

  it('is in the OpenAPI document', async () => {
    const doc = await api.call('GET', '/openapi.json');
    const route = doc.json.paths['/v1/topics/{topic}/fetch'];
    expect(route?.post?.requestBody?.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/FetchManyRequest',
    });
    expect(Object.keys(doc.json.components.schemas)).toEqual(
      expect.arrayContaining(['FetchManyResponse', 'PartitionFetched', 'PartitionFetchError']),
    );
  });
});

describe('what a fetch of several partitions costs', () => {
  it('16 partitions, one produce that touched them all: one request, 1 GET, at most 2 read units', async () => {
    const clients = newTestClients();
    cleanups.push(() => destroyAwsClients(clients));
    const counter = new CallCounter({ consumedCapacity: true });
    counter.attach(clients.s3, clients.dynamo);
    const broker = createBroker(createStores(clients, testNames()), { topicCacheTtlMs: 600_000 });
    const app = createApp({
      broker,
      clusterId: 'test',
      logError: () => {},
      validateResponses: true,
    });
    const topic = await api.topic(16);
    const all = Array.from({ length: 16 }, (_, p) => p);
    const call = async (offset: number) =>
      reply(
        await app.request(`/v1/topics/${topic}/fetch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ partitions: all.map((partition) => ({ partition, offset })) }),
        }),
      );
    expect((await call(0)).status).toBe(200); // the reader learns the topic and its tail

    await produce(
      topic,
      all.map((partition) => ({ partition, value: utf8(`v${partition}`) })),
    );
    const before = counter.snapshot();
    const answer = await call(0);
    const spent = counter.since(before);
    expect(
      answer.json.partitions.map((p: { records: { value: string }[] }) => p.records[0]?.value),
    ).toEqual(all.map((p) => `v${p}`));
    expect(spent['GetObject']?.calls).toBe(1);
    expect(total(spent, 'calls', DYNAMODB_READ_COMMANDS)).toBe(2);
    expect(total(spent, 'readUnits', DYNAMODB_READ_COMMANDS)).toBeGreaterThan(0);
    expect(total(spent, 'readUnits', DYNAMODB_READ_COMMANDS)).toBeLessThanOrEqual(2);
  });
  it('a Confluent v2 consumer instance holding 16 partitions reads one produce with 1 GET', async () => {
    const clients = newTestClients();
    cleanups.push(() => destroyAwsClients(clients));
    const counter = new CallCounter();
    counter.attach(clients.s3);
    const broker = createBroker(createStores(clients, testNames()));
    const app = createApp({
      broker,
      clusterId: 'test',
      logError: () => {},
      validateResponses: true,
    });
    const v2 = async (method: string, path: string, body?: string) =>
      reply(
        await app.request(path, {
          method,
          headers: {
            'Content-Type': 'application/vnd.kafka.v2+json',
            Accept: 'application/vnd.kafka.binary.v2+json',
          },
          ...(body === undefined ? {} : { body }),
        }),
      );
    const topic = await api.topic(16);
    const group = uniqueName('v2-16');
    const base = `/consumers/${group}/instances/reader`;
    expect(
      (await v2('POST', `/consumers/${group}/`, '{"name":"reader","auto.offset.reset":"earliest"}'))
        .status,
    ).toBe(200);
    expect((await v2('POST', `${base}/subscription`, `{"topics":["${topic}"]}`)).status).toBe(204);
    const empty = await v2('GET', `${base}/records?timeout=0`);
    expect([empty.status, empty.json]).toEqual([200, []]);

    await produce(
      topic,
      Array.from({ length: 16 }, (_, partition) => ({ partition, value: utf8(`v${partition}`) })),
    );
    const before = counter.snapshot();
    const polled = await v2('GET', `${base}/records?timeout=0`);
    expect(
      polled.json
        .map((r: { partition: number }) => r.partition)
        .sort((a: number, b: number) => a - b),
    ).toEqual(Array.from({ length: 16 }, (_, p) => p));
    expect(counter.since(before)['GetObject']?.calls).toBe(1);
  });
});

describe('Confluent v2 records answers', () => {
  it('stay under 6 MB as rendered, even when max_bytes of small records would render past it', async () => {
    // 10000 records of 400 bytes: 4 MB as stored, 6.4 MB as base64 inside each record's JSON.
    const topic = await api.topic(20);
    const value = Buffer.alloc(400, 'v');
    for (let lane = 0; lane < 2; lane++) {
      await produce(
        topic,
        Array.from({ length: 5000 }, (_, i) => ({ partition: i % 20, value })),
      );
    }
    const headers = {
      'Content-Type': 'application/vnd.kafka.v2+json',
      Accept: 'application/vnd.kafka.binary.v2+json',
    };
    const group = uniqueName('v2-big');
    const base = `/consumers/${group}/instances/reader`;
    const created = await api.call(
      'POST',
      `/consumers/${group}/`,
      '{"name":"reader","auto.offset.reset":"earliest","auto.commit.enable":"false"}',
      headers,
    );
    expect(created.status).toBe(200);
    expect(
      (await api.call('POST', `${base}/subscription`, `{"topics":["${topic}"]}`, headers)).status,
    ).toBe(204);
    const seen = new Set<string>();
    const sizes: number[] = [];
    for (let poll = 0; poll < 20 && seen.size < 10_000; poll++) {
      const polled = await api.call(
        'GET',
        `${base}/records?timeout=0&max_bytes=4194304`,
        undefined,
        headers,
      );
      expect(polled.status).toBe(200);
      sizes.push(Buffer.byteLength(polled.text));
      for (const r of polled.json as { partition: number; offset: number }[]) {
        const id = `${r.partition}/${r.offset}`;
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    }
    expect(seen.size).toBe(10_000);
    expect(Math.max(...sizes)).toBeGreaterThan(5_000_000); // the budget was used
    expect(Math.max(...sizes)).toBeLessThanOrEqual(LAMBDA_SAFE);
  });
});

describe('the SDK Consumer', () => {
  it('reads all the partitions it holds of a topic with one request per round', async () => {
    const topic = await api.topic(4);
    await produce(
      topic,
      [0, 1, 2, 3].map((partition) => ({ partition, value: utf8(`v${partition}`) })),
    );
    const requests: { method: string; path: string; partitions?: number }[] = [];
    const http = new HttpClient({
      url: 'http://eventlog.test',
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
        requests.push({
          method: init?.method ?? 'GET',
          path: url.pathname,
          ...(Array.isArray(body?.partitions) ? { partitions: body.partitions.length } : {}),
        });
        return api.app.request(input instanceof Request ? input : String(input), init);
      },
    });
    const consumer = new Consumer(http, {
      group: uniqueName('one-request'),
      topics: [topic],
      autoOffsetReset: 'earliest',
      waitMs: 200,
    });
    cleanups.push(() => consumer.close());
    const batches: ConsumerBatch[] = [];
    for await (const batch of consumer) {
      batches.push(batch);
      if (batches.length === 4) break;
    }
    expect(batches.map((b) => b.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(batches.map((b) => b.records.length)).toEqual([1, 1, 1, 1]);
    const fetches = requests.filter((r) => r.path.endsWith('/fetch'));
    // The four batches came from one request naming all four partitions (a second round
    // may have started once the last batch was handed out).
    expect(fetches[0]).toEqual({
      method: 'POST',
      path: `/v1/topics/${topic}/fetch`,
      partitions: 4,
    });
    expect(fetches.length).toBeLessThanOrEqual(2);
    expect(requests.some((r) => /\/partitions\/\d+\/records$/.test(r.path))).toBe(false);
  });
});
