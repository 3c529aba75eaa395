import { describe, expect, it } from 'vitest';
import { HttpClient } from '../../../lib/client/http.js';
import { Producer } from '../../../lib/client/producer.js';
import { EventLogError } from '../../../lib/log/errors.js';

interface Sent {
  records: { key?: unknown; value?: unknown; partition?: number }[];
}

/**
 * A fake produce endpoint: answers each request with consecutive offsets in partition 0,
 * after `delayMs`, and tracks how many requests were in flight at once.
 */
function fakeServer(
  options: { delayMs?: number; fail?: (request: number) => Response | undefined } = {},
) {
  const requests: Sent[] = [];
  let offset = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = (async (url: URL | string, init: RequestInit = {}) => {
    // The idempotent producer (on by default) takes a producer id and the partition count.
    if (String(url).endsWith('/v1/producers')) {
      return new Response(JSON.stringify({ producerId: 1, producerEpoch: 0 }), { status: 200 });
    }
    if (init.method === 'GET') {
      return new Response(JSON.stringify({ name: 't', partitions: 1 }), { status: 200 });
    }
    const body = JSON.parse(String(init.body)) as Sent;
    const index = requests.push(body) - 1;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1));
    inFlight--;
    const failure = options.fail?.(index);
    if (failure !== undefined) return failure;
    const records = body.records.map(() => ({ partition: 0, offset: offset++, timestamp: 1 }));
    return new Response(JSON.stringify({ topic: 't', records }), { status: 200 });
  }) as typeof globalThis.fetch;
  const http = new HttpClient({
    url: 'http://127.0.0.1:8787',
    fetch,
    retry: { baseDelayMs: 1, maxDelayMs: 1 },
  });
  return { http, requests, maxInFlight: () => maxInFlight };
}

/** The plain protocol: these tests are about batching, not about idempotence (idempotence.test.ts). */
const PLAIN = { idempotence: false } as const;

const values = (n: number) => Array.from({ length: n }, (_, i) => ({ value: `v${i}` }));

describe('Producer.send', () => {
  it('sends one request and answers each record’s offset', async () => {
    const server = fakeServer();
    const result = await new Producer(server.http, PLAIN).send({ topic: 't', records: values(3) });
    expect(result.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(server.requests).toHaveLength(1);
  });

  it('throws when records were not written, saying which were', async () => {
    const server = fakeServer({
      fail: () =>
        new Response(
          JSON.stringify({
            topic: 't',
            records: [
              { partition: 0, offset: 0, timestamp: 1 },
              {
                partition: 1,
                error: {
                  error_code: 50003,
                  message: 'DynamoDB is down',
                  code: 'STORAGE_UNAVAILABLE',
                  retriable: true,
                },
              },
            ],
          }),
          { status: 200 },
        ),
    });
    const error = (await new Producer(server.http, PLAIN)
      .send({ topic: 't', records: values(2) })
      .catch((e: unknown) => e)) as EventLogError;
    expect(error).toBeInstanceOf(EventLogError);
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.message).toBe('1 of 2 records were not written: DynamoDB is down');
    expect(error.details).toMatchObject({ written: 1, failed: 1 });
  });
});

describe('Producer.sendBatch', () => {
  it('splits records into requests and answers in the order given', async () => {
    const server = fakeServer({ delayMs: 5 });
    const producer = new Producer(server.http, {
      ...PLAIN,
      batch: { maxRecords: 10 },
      maxInFlight: 3,
    });
    const progress: number[] = [];
    const result = await producer.sendBatch(
      { topic: 't', records: values(95) },
      { onProgress: (n) => progress.push(n) },
    );
    expect(server.requests.map((r) => r.records.length)).toEqual([
      10, 10, 10, 10, 10, 10, 10, 10, 10, 5,
    ]);
    expect(server.maxInFlight()).toBe(3);
    expect(result).toHaveLength(95);
    expect(progress.at(-1)).toBe(95);
    // Each result belongs to its own record: offsets follow the requests' values.
    const sentOrder = server.requests.flatMap((r) => r.records.map((x) => x.value));
    result.forEach((meta, i) => {
      expect(sentOrder[meta.offset]).toBe(`v${i}`);
    });
  });
});

describe('RecordWriter', () => {
  it('groups records by the batch limits and lingers for a partial batch', async () => {
    const server = fakeServer();
    const writer = new Producer(server.http, {
      ...PLAIN,
      batch: { maxRecords: 4 },
      lingerMs: 20,
    }).writer('t');
    for (const record of values(10)) await writer.write(record);
    await writer.close();
    expect(server.requests.map((r) => r.records.length)).toEqual([4, 4, 2]);
    expect(writer.stats).toEqual({ written: 10, requests: 3, accepted: 10 });
  });

  it('sends a partial batch after lingerMs without a flush', async () => {
    const server = fakeServer();
    const writer = new Producer(server.http, { ...PLAIN, lingerMs: 5 }).writer('t');
    await writer.write({ value: 'alone' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.requests).toHaveLength(1);
    expect(writer.stats.written).toBe(1);
    await writer.close();
  });

  it('keeps at most maxInFlight requests out and makes write wait (backpressure)', async () => {
    const server = fakeServer({ delayMs: 10 });
    const writer = new Producer(server.http, {
      ...PLAIN,
      batch: { maxRecords: 2 },
      maxInFlight: 2,
    }).writer('t');
    let maxBuffered = 0;
    for (const record of values(40)) {
      await writer.write(record);
      maxBuffered = Math.max(maxBuffered, writer.stats.accepted - writer.stats.written);
    }
    await writer.close();
    expect(server.maxInFlight()).toBe(2);
    expect(writer.stats.written).toBe(40);
    // Two requests out, one full batch waiting, one being filled.
    expect(maxBuffered).toBeLessThanOrEqual(8);
  });

  it('stops at the first failed request and reports what was written before it', async () => {
    const server = fakeServer({
      fail: (i) =>
        i === 1
          ? new Response(
              JSON.stringify({
                error_code: 413,
                message: 'too big',
                code: 'RECORD_TOO_LARGE',
                retriable: false,
              }),
              { status: 413 },
            )
          : undefined,
    });
    const writer = new Producer(server.http, { ...PLAIN, batch: { maxRecords: 3 } }).writer('t');
    let error: unknown;
    try {
      for (const record of values(20)) await writer.write(record);
      await writer.close();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', details: { written: 3 } });
    expect(server.requests).toHaveLength(2);
    await expect(writer.flush()).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
  });

  it('refuses writes after close', async () => {
    const writer = new Producer(fakeServer().http, PLAIN).writer('t');
    await writer.close();
    await expect(writer.write({ value: 'late' })).rejects.toThrow('The writer is closed');
  });
});
