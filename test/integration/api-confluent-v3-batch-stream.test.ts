import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../lib/local/server.js';
import { apiHarness, CLUSTER_ID } from '../helpers/api.js';

/** Confluent v3's records:batch, and streaming produce on the records route (local server). */

const api = apiHarness();
const v3 = `/v3/clusters/${CLUSTER_ID}`;

describe('POST records:batch', () => {
  it('answers 207 with successes and failures by entry id; a bad entry fails alone', async () => {
    const topic = await api.topic(2);
    const answer = await api.call('POST', `${v3}/topics/${topic}/records:batch`, {
      entries: [
        { id: 'a', partition_id: 1, value: { type: 'STRING', data: 'one' } },
        { id: 'b', value: { type: 'AVRO', data: 'x' } },
        {
          id: 'c',
          partition_id: 1,
          key: { type: 'STRING', data: 'k' },
          value: { type: 'JSON', data: { n: 2 } },
        },
        { id: 'd', partition_id: 7, value: { type: 'STRING', data: 'nowhere' } },
      ],
    });
    expect(answer.status, answer.text).toBe(207);
    expect(answer.json.successes).toEqual([
      expect.objectContaining({
        id: 'a',
        error_code: 200,
        cluster_id: CLUSTER_ID,
        topic_name: topic,
        partition_id: 1,
        offset: 0,
        value: { type: 'STRING', size: 3 },
      }),
      expect.objectContaining({
        id: 'c',
        partition_id: 1,
        offset: 1,
        key: { type: 'STRING', size: 1 },
        value: { type: 'JSON', size: 7 },
      }),
    ]);
    expect(answer.json.failures).toEqual([
      { id: 'b', error_code: 42202, message: expect.stringContaining('BINARY, JSON or STRING') },
      { id: 'd', error_code: 40402, message: expect.stringContaining('no partition 7') },
    ]);
    const fetched = await api.broker.fetch.fetch({ topic, partition: 1, offset: 0 });
    expect(fetched.records.map((r) => Buffer.from(r.value ?? []).toString())).toEqual([
      'one',
      '{"n":2}',
    ]);
  });

  it('refuses a batch with repeated ids, no entries or too many, writing nothing', async () => {
    const topic = await api.topic(1);
    const path = `${v3}/topics/${topic}/records:batch`;
    const value = { type: 'STRING', data: 'x' };
    const repeated = await api.call('POST', path, {
      entries: [
        { id: '1', value },
        { id: '1', value },
      ],
    });
    expect(repeated.status).toBe(400);
    expect(repeated.json.message).toContain('not distinct');
    expect((await api.call('POST', path, { entries: [] })).status).toBe(400);
    const many = await api.call('POST', path, {
      entries: Array.from({ length: 1001 }, (_, i) => ({ id: String(i), value })),
    });
    expect(many.status).toBe(400);
    const noId = await api.call('POST', path, { entries: [{ value }] });
    expect(noId.status).toBe(400);
    expect(noId.json.message).toContain('id must be a string of 1 to 80 characters');
    expect((await api.state(topic)).objects).toBe(0);
  });
});

describe('streaming produce on POST records', () => {
  let server: ApiServer;
  beforeAll(async () => {
    // Each report is checked against the schema as it passes (lib/api/response-check.ts).
    server = await startApiServer({
      broker: api.broker,
      clusterId: CLUSTER_ID,
      validateResponses: true,
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers each of 1,000 records on one chunked connection before the body ends', async () => {
    const topic = await api.topic(1);
    const url = new URL(`${server.url}${v3}/topics/${topic}/records`);
    const ROUNDS = 10;
    const PER_ROUND = 100;
    const received: Record<string, unknown>[] = [];
    let buffered = '';
    let waiting: { count: number; resolve: () => void } | undefined;
    let responseStatus = 0;
    const request = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const done = new Promise<void>((resolve, reject) => {
      request.on('error', reject);
      request.on('response', (response) => {
        responseStatus = response.statusCode ?? 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffered += chunk;
          let at = buffered.indexOf('\r\n');
          while (at >= 0) {
            received.push(JSON.parse(buffered.slice(0, at)));
            buffered = buffered.slice(at + 2);
            at = buffered.indexOf('\r\n');
          }
          if (waiting !== undefined && received.length >= waiting.count) waiting.resolve();
        });
        response.on('end', resolve);
        response.on('error', reject);
      });
    });
    const reportsFor = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${received.length} of ${count} reports`)),
          20_000,
        );
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        if (received.length >= count) finish();
        else waiting = { count, resolve: finish };
      });

    for (let round = 0; round < ROUNDS; round++) {
      const records = Array.from({ length: PER_ROUND }, (_, i) =>
        JSON.stringify({ value: { type: 'STRING', data: `r${round * PER_ROUND + i}` } }),
      ).join('\n');
      request.write(records);
      // The body is still open: every report of this round arrives before the next is sent.
      await reportsFor((round + 1) * PER_ROUND);
      expect(request.writableEnded).toBe(false);
    }
    expect(received).toHaveLength(ROUNDS * PER_ROUND);
    request.end();
    await done;
    expect(responseStatus).toBe(200);
    expect(received.map((r) => r['offset'])).toEqual(
      Array.from({ length: ROUNDS * PER_ROUND }, (_, i) => i),
    );
    expect(received.every((r) => r['error_code'] === 200)).toBe(true);
    const fetched = await api.broker.fetch.fetch({
      topic,
      partition: 0,
      offset: 995,
      maxRecords: 10,
    });
    expect(fetched.records.map((r) => Buffer.from(r.value ?? []).toString())).toEqual([
      'r995',
      'r996',
      'r997',
      'r998',
      'r999',
    ]);
  }, 120_000);

  it('reports a bad record in the stream on its own and goes on', async () => {
    const topic = await api.topic(1);
    const response = await fetch(`${server.url}${v3}/topics/${topic}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A ReadableStream body is sent chunked, without a length.
      body: new ReadableStream({
        start(controller) {
          const enc = new TextEncoder();
          controller.enqueue(enc.encode('{"value":{"type":"STRING","data":"ok"}}'));
          controller.enqueue(enc.encode('{"value":{"type":"NOPE","data":1}} {"value":'));
          controller.enqueue(enc.encode('{"type":"STRING","data":"also {ok}"}}'));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .split('\r\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.error_code)).toEqual([200, 42202, 200]);
    expect(lines.map((l) => l.offset)).toEqual([0, undefined, 1]);
  });
});
