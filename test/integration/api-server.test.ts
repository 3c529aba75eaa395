import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import { type ApiServer, startApiServer } from '../../lib/local/server.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';

let server: ApiServer;

beforeAll(async () => {
  const broker = createBroker(createStores(testClients(), testNames()));
  server = await startApiServer({ broker, clusterId: 'local', validateResponses: true });
});

afterAll(async () => {
  await server?.close();
});

describe('startApiServer', () => {
  it('serves the app on a free local port', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/v3/clusters/local`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { cluster_id: string }).cluster_id).toBe('local');
  });

  it('takes a chunked v3 produce stream (no Content-Length) over real HTTP', async () => {
    const topic = uniqueName('server');
    await fetch(`${server.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: topic, partitions: 1 }),
    });
    const lines = [
      '{"value":{"type":"STRING","data":"one"}}\n',
      '{"value":{"type":"STRING","data":"two"}}\n',
    ];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const line of lines) controller.enqueue(new TextEncoder().encode(line));
        controller.close();
      },
    });
    const response = await fetch(`${server.url}/v3/clusters/local/topics/${topic}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    const reports = (await response.text())
      .trim()
      .split('\r\n')
      .map((l) => JSON.parse(l));
    expect(reports.map((r: { offset: number }) => r.offset)).toEqual([0, 1]);
  });

  it('stops the long poll’s polling when the client disconnects', async () => {
    // Counts the partition-head reads the long poll makes between fetches.
    let headReads = 0;
    const stores = createStores(testClients(), testNames());
    const commits = new Proxy(stores.commits, {
      get(target, property, receiver) {
        if (property === 'head') {
          return (...args: Parameters<typeof target.head>) => {
            headReads++;
            return target.head(...args);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const polling = await startApiServer({
      broker: createBroker({ ...stores, commits }),
      clusterId: 'local',
      validateResponses: true,
    });
    try {
      const topic = uniqueName('server-poll');
      await fetch(`${polling.url}/v1/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: topic, partitions: 1 }),
      });
      const controller = new AbortController();
      const waiting = fetch(
        `${polling.url}/v1/topics/${topic}/partitions/0/records?offset=0&waitMs=20000`,
        {
          signal: controller.signal,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 600));
      const whileWaiting = headReads;
      controller.abort();
      await expect(waiting).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const afterAbort = headReads;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(whileWaiting).toBeGreaterThan(2);
      // Polling every 250 ms would have read the head 4 more times in that second.
      expect(headReads).toBe(afterAbort);
    } finally {
      await polling.close();
    }
  });
});
