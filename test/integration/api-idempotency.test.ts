import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { type Broker, createBroker, createStores, type Stores } from '../../lib/broker/broker.js';
import { ManualClock } from '../../lib/broker/clock.js';
import { destroyAwsClients } from '../../lib/store/aws-clients.js';
import {
  CLUSTER_ID,
  failingPartition,
  type Reply,
  reply,
  SEQUENCE_PER_PARTITION,
} from '../helpers/api.js';
import { newTestClients, testClients, testNames, uniqueName } from '../helpers/aws.js';
import { type FaultAction, FaultInjector } from '../helpers/faults.js';
import { readAll } from './broker/helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Harness {
  broker: Broker;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply>;
}

function harness(broker: Broker): Harness {
  const app = createApp({
    broker,
    clusterId: CLUSTER_ID,
    logError: () => {},
    validateResponses: true,
  });
  return {
    broker,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          (init.headers as Record<string, string>)['content-type'] = 'application/json';
        }
      }
      return reply(await app.request(path, init));
    },
  };
}

function healthy(clock: ManualClock, stores?: (stores: Stores) => Stores): Harness {
  const base = createStores(testClients(), testNames());
  return harness(createBroker(stores === undefined ? base : stores(base), { clock }));
}

/** An app whose process dies at the fault (every later AWS call of it fails too). */
function dying(clock: ManualClock, rule: Parameters<FaultInjector['add']>[0]): Harness {
  const clients = newTestClients({ maxAttempts: 1 });
  cleanups.push(() => destroyAwsClients(clients));
  const faults = new FaultInjector();
  faults.attach(clients.s3);
  faults.attach(clients.dynamo);
  faults.add(rule);
  return harness(createBroker(createStores(clients, testNames()), { clock }));
}

async function topic(
  h: Harness,
  partitions = 1,
  configs: Record<string, unknown> = {},
): Promise<string> {
  const name = uniqueName('idem-api');
  const created = await h.call('POST', '/v1/topics', { name, partitions, configs });
  expect(created.status).toBe(201);
  return name;
}

async function everyValue(broker: Broker, name: string, partitions: number): Promise<string[]> {
  const all: string[] = [];
  for (let p = 0; p < partitions; p++) {
    all.push(...(await readAll(broker, name, p)).map((r) => r.value?.toString() ?? ''));
  }
  return all.sort();
}

const key = () => `key-${uniqueName()}`;

describe('Idempotency-Key on the produce routes', () => {
  it('replays the first answer on our route, and writes once', async () => {
    const h = healthy(new ManualClock());
    const name = await topic(h, 3);
    const body = { records: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { value: '3' }] };
    const headers = { 'Idempotency-Key': key() };
    const first = await h.call('POST', `/v1/topics/${name}/records`, body, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await h.call('POST', `/v1/topics/${name}/records`, body, headers);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await everyValue(h.broker, name, 3)).toEqual(['1', '2', '3']);
  });

  it('replays on Confluent v2 and v3, with their own bodies', async () => {
    const h = healthy(new ManualClock());
    const name = await topic(h, 2);
    const v2 = { records: [{ value: { n: 1 } }, { key: 'k', value: { n: 2 } }] };
    const v2Headers = {
      'Idempotency-Key': key(),
      'content-type': 'application/vnd.kafka.json.v2+json',
    };
    const first = await h.call('POST', `/topics/${name}`, v2, v2Headers);
    expect(first.status).toBe(200);
    const again = await h.call('POST', `/topics/${name}`, v2, v2Headers);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('content-type')).toBe('application/vnd.kafka.v2+json');

    const v3 =
      '{"value":{"type":"STRING","data":"x"}}{"key":{"type":"STRING","data":"k"},"value":{"type":"STRING","data":"y"}}';
    const v3Headers = { 'Idempotency-Key': key() };
    const path = `/v3/clusters/${CLUSTER_ID}/topics/${name}/records`;
    const firstV3 = await h.call('POST', path, v3, v3Headers);
    expect(firstV3.status).toBe(200);
    const againV3 = await h.call('POST', path, v3, v3Headers);
    expect(againV3.text).toBe(firstV3.text);
    expect(await everyValue(h.broker, name, 2)).toEqual(['x', 'y', '{"n":1}', '{"n":2}'].sort());
  });

  it('refuses the key with another body (422), on another route too', async () => {
    const h = healthy(new ManualClock());
    const name = await topic(h);
    const headers = { 'Idempotency-Key': key() };
    expect(
      (await h.call('POST', `/v1/topics/${name}/records`, { records: [{ value: 'a' }] }, headers))
        .status,
    ).toBe(200);
    const other = await h.call(
      'POST',
      `/v1/topics/${name}/records`,
      { records: [{ value: 'b' }] },
      headers,
    );
    expect(other.status).toBe(422);
    expect(other.json).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      error_code: 422,
      retriable: false,
    });
    const v2 = await h.call(
      'POST',
      `/topics/${name}`,
      { records: [{ value: 'YQ==' }] },
      {
        ...headers,
        'content-type': 'application/vnd.kafka.binary.v2+json',
      },
    );
    expect(v2.status).toBe(422);
    expect(await everyValue(h.broker, name, 1)).toEqual(['a']);
  });

  it('answers 409 (retriable) while the first request with the key still runs', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let uploading: () => void = () => {};
    const uploadStarted = new Promise<void>((resolve) => {
      uploading = resolve;
    });
    const h = healthy(new ManualClock(), (stores) => ({
      ...stores,
      segments: new Proxy(stores.segments, {
        get(target, property, receiver) {
          if (property !== 'put') return Reflect.get(target, property, receiver);
          return async (objectKey: string, body: Uint8Array) => {
            uploading();
            await gate;
            return target.put(objectKey, body);
          };
        },
      }),
    }));
    const name = await topic(h);
    const headers = { 'Idempotency-Key': key() };
    const body = { records: [{ value: 'slow' }] };
    const first = h.call('POST', `/v1/topics/${name}/records`, body, headers);
    await uploadStarted;
    const concurrent = await h.call('POST', `/v1/topics/${name}/records`, body, headers);
    expect(concurrent.status).toBe(409);
    expect(concurrent.json).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS', retriable: true });
    expect(concurrent.json.retryAfterMs).toBeGreaterThan(0);
    open();
    expect((await first).status).toBe(200);
    const after = await h.call('POST', `/v1/topics/${name}/records`, body, headers);
    expect(after.text).toBe((await first).text);
    expect(await everyValue(h.broker, name, 1)).toEqual(['slow']);
  });

  it('does not replay a partial failure: the retry writes what is missing, once', async () => {
    const clock = new ManualClock();
    const failing = healthy(clock, failingPartition(1));
    const name = await topic(failing, 2, SEQUENCE_PER_PARTITION);
    const body = {
      records: [
        { partition: 0, value: 'p0' },
        { partition: 1, value: 'p1' },
      ],
    };
    const headers = { 'Idempotency-Key': key() };
    const partial = await failing.call('POST', `/v1/topics/${name}/records`, body, headers);
    expect(partial.status).toBe(200);
    expect(partial.json.records[1].error.code).toBe('STORAGE_UNAVAILABLE');
    const retry = await healthy(clock).call('POST', `/v1/topics/${name}/records`, body, headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.json.records[0]).toEqual(partial.json.records[0]);
    expect(retry.json.records[1]).toMatchObject({ partition: 1, offset: 0 });
    expect(await everyValue(failing.broker, name, 2)).toEqual(['p0', 'p1']);
  });

  it('refuses a key that is not 1-255 printable characters', async () => {
    const h = healthy(new ManualClock());
    const name = await topic(h);
    const reply = await h.call(
      'POST',
      `/v1/topics/${name}/records`,
      { records: [{ value: 'a' }] },
      {
        'Idempotency-Key': 'x'.repeat(256),
      },
    );
    expect(reply.status).toBe(400);
  });

  it('scopes a key to its caller: another principal with the same key neither replays nor blocks it', async () => {
    const broker = createBroker(createStores(testClients(), testNames()), {
      clock: new ManualClock(),
    });
    const app = createApp({
      broker,
      clusterId: CLUSTER_ID,
      logError: () => {},
      validateResponses: true,
      auth: { enabled: true },
    });
    const name = uniqueName('idem-scope');
    await broker.topics.create({ name, partitions: 1 });
    const writer = async () =>
      (
        await broker.auth.createKey({
          createdBy: 'test',
          acls: [
            {
              resourceType: 'topic',
              resourceName: name,
              patternType: 'literal',
              operation: 'produce',
              permission: 'allow',
            },
          ],
        })
      ).key;
    const [alice, mallory] = [await writer(), await writer()];
    const send = async (token: string, body: unknown, idempotencyKey: string) =>
      reply(
        await app.request(`/v1/topics/${name}/records`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
          },
          body: JSON.stringify(body),
        }),
      );
    const shared = key();
    const first = await send(alice, { records: [{ value: 'alice' }] }, shared);
    expect(first.status).toBe(200);
    // The same key and body from another caller is a request of its own: written, not replayed.
    const other = await send(mallory, { records: [{ value: 'alice' }] }, shared);
    expect(other.status).toBe(200);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    // With another body it is not refused as a reuse of the first caller's key either.
    expect((await send(mallory, { records: [{ value: 'mallory' }] }, key())).status).toBe(200);
    // And the first caller's retry still replays its own answer.
    const retry = await send(alice, { records: [{ value: 'alice' }] }, shared);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(await everyValue(broker, name, 1)).toEqual(['alice', 'alice', 'mallory']);
  });
});

describe('Idempotency-Key: the process dies, a retry from a healthy one writes each record once', () => {
  const isKeyRecord = (input: Record<string, unknown>) =>
    String((input['Key'] as { pk?: { S?: string } } | undefined)?.pk?.S).startsWith('idempotency#');

  async function crashThenRetry(
    route: 'v1' | 'v2' | 'v3',
    fault: {
      command: string;
      action: FaultAction;
      when?: (input: Record<string, unknown>) => boolean;
    },
  ) {
    const clock = new ManualClock();
    const h = healthy(clock);
    const name = await topic(h, 3);
    // Null keys too: the retry must spread them over the same partitions as the first attempt.
    const request =
      route === 'v1'
        ? {
            path: `/v1/topics/${name}/records`,
            body: {
              records: [
                { key: 'a', value: 'r1' },
                { value: 'r2' },
                { value: 'r3' },
                { value: 'r4' },
              ],
            } as unknown,
            headers: {} as Record<string, string>,
          }
        : route === 'v2'
          ? {
              path: `/topics/${name}`,
              body: {
                records: [{ value: 'r1' }, { value: 'r2' }, { value: 'r3' }, { value: 'r4' }],
              },
              headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
            }
          : {
              path: `/v3/clusters/${CLUSTER_ID}/topics/${name}/records`,
              body: ['r1', 'r2', 'r3', 'r4']
                .map((v) => `{"value":{"type":"JSON","data":"${v}"}}`)
                .join(''),
              headers: {},
            };
    const headers = { ...request.headers, 'Idempotency-Key': key() };
    const died = await dying(clock, { ...fault, times: 1 }).call(
      'POST',
      request.path,
      request.body,
      headers,
    );
    // The dead process answered nothing useful (a 500, or success after publishing).
    expect(died.status === 200 || died.status >= 500, died.text).toBe(true);

    // Its lock holds until the produce deadline: a retry before that is told to wait.
    const early = await h.call('POST', request.path, request.body, headers);
    expect(early.status).toBe(409);
    clock.advance(30_001);
    const retry = await h.call('POST', request.path, request.body, headers);
    expect(retry.status).toBe(200);
    const replay = await h.call('POST', request.path, request.body, headers);
    expect(replay.text).toBe(retry.text);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const described = await h.broker.topics.get(name);
    await h.broker.reader.advanceAll(described);
    clock.advance(46_000);
    await h.broker.reader.advanceAll(described);
    const values = await everyValue(h.broker, name, 3);
    expect(values.map((v) => v.replaceAll('"', ''))).toEqual(['r1', 'r2', 'r3', 'r4']);
    return { retry, died };
  }

  for (const route of ['v1', 'v2', 'v3'] as const) {
    it(`${route}: after the S3 upload, before reserving`, async () => {
      await crashThenRetry(route, { command: 'UpdateItem', action: 'crash' });
    });
    it(`${route}: after reserving, before publishing`, async () => {
      await crashThenRetry(route, { command: 'TransactWriteItems', action: 'crash' });
    });
    it(`${route}: after publishing, before the answer is stored`, async () => {
      await crashThenRetry(route, { command: 'TransactWriteItems', action: 'crashAfter' });
    });
  }

  it('after publishing everything, when completing the record fails: the retry is answered from state', async () => {
    const { retry, died } = await crashThenRetry('v1', {
      command: 'UpdateItem',
      action: 'crash',
      when: isKeyRecord,
    });
    // The records were all written before the crash: the retry's answer is the same.
    expect(died.status).toBe(200);
    expect(retry.json).toEqual(died.json);
  });
});

describe('POST /v1/producers and idempotent produce over HTTP', () => {
  it('issues ids, bumps epochs by name, and answers retries from state', async () => {
    const h = healthy(new ManualClock());
    const name = await topic(h, 2);
    const anonymous = await h.call('POST', '/v1/producers');
    expect(anonymous.status).toBe(200);
    expect(anonymous.json).toMatchObject({ producerEpoch: 0 });
    const producerName = uniqueName('app');
    const first = await h.call('POST', '/v1/producers', { name: producerName });
    const second = await h.call('POST', '/v1/producers', { name: producerName });
    expect(second.json).toEqual({
      producerId: first.json.producerId,
      producerEpoch: first.json.producerEpoch + 1,
    });

    const body = {
      producerId: second.json.producerId,
      producerEpoch: second.json.producerEpoch,
      baseSequences: { '0': 0, '1': 0 },
      records: [
        { partition: 0, value: 'a' },
        { partition: 1, value: 'b' },
        { partition: 0, value: 'c' },
      ],
    };
    const written = await h.call('POST', `/v1/topics/${name}/records`, body);
    expect(written.status).toBe(200);
    const retried = await h.call('POST', `/v1/topics/${name}/records`, body);
    expect(retried.json).toEqual(written.json);
    expect(await everyValue(h.broker, name, 2)).toEqual(['a', 'b', 'c']);

    const fenced = await h.call('POST', `/v1/topics/${name}/records`, {
      ...body,
      producerEpoch: first.json.producerEpoch,
    });
    expect(fenced.status).toBe(409);
    expect(fenced.json).toMatchObject({ code: 'PRODUCER_FENCED', error_code: 40903 });

    const gap = await h.call('POST', `/v1/topics/${name}/records`, {
      ...body,
      baseSequences: { '0': 9, '1': 9 },
    });
    expect(gap.status).toBe(409);
    expect(gap.json.code).toBe('OUT_OF_ORDER_SEQUENCE');

    const partial = await h.call('POST', `/v1/topics/${name}/records`, {
      ...body,
      baseSequences: { '0': 0 },
    });
    expect(partial.status).toBe(400);
  });
});
