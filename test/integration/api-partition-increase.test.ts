import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../lib/client/admin.js';
import { Producer } from '../../lib/client/producer.js';
import { type ApiServer, startApiServer } from '../../lib/local/server.js';
import { isEventLogError } from '../../lib/log/errors.js';
import { partitionForKey } from '../../lib/log/partitioner.js';
import { apiHarness, CLUSTER_ID } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest } from './broker/helpers.js';

/** Partition count increases through every door: Confluent v3, /v1, the SDK and the CLI. */

const api = apiHarness();
const v3 = `/v3/clusters/${CLUSTER_ID}`;

describe('PATCH /v3/clusters/{cluster_id}/topics/{topic_name}', () => {
  it('raises partitions_count and answers the topic; new partitions take records', async () => {
    const topic = await api.topic(2);
    const patched = await api.call('PATCH', `${v3}/topics/${topic}`, { partitions_count: 4 });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({
      kind: 'KafkaTopic',
      topic_name: topic,
      partitions_count: 4,
    });
    const got = await api.call('GET', `${v3}/topics/${topic}`);
    expect(got.json.partitions_count).toBe(4);
    const produced = await api.call('POST', `/v1/topics/${topic}/records`, {
      records: [{ partition: 3, value: 'on a new partition' }],
    });
    expect(produced.status, produced.text).toBe(200);
    expect(produced.json.records[0]).toMatchObject({ partition: 3, offset: 0 });
  });

  it('refuses a decrease with 400 and error code 40002, naming the rule', async () => {
    const topic = await api.topic(3);
    const refused = await api.call('PATCH', `${v3}/topics/${topic}`, { partitions_count: 2 });
    expect(refused.status).toBe(400);
    expect(refused.json.error_code).toBe(40002);
    expect(refused.json.message).toContain('can only be increased');
    const missing = await api.call('PATCH', `${v3}/topics/${uniqueName('none')}`, {
      partitions_count: 2,
    });
    expect(missing.status).toBe(404);
    const bad = await api.call('PATCH', `${v3}/topics/${topic}`, { partitions_count: 'many' });
    expect(bad.status).toBe(400);
    expect((await api.call('GET', `${v3}/topics/${topic}`)).json.partitions_count).toBe(3);
  });
});

describe('PATCH /v1/topics/{topic}', () => {
  it('raises the count and answers the description with every partition', async () => {
    const topic = await api.topic(1);
    const patched = await api.call('PATCH', `/v1/topics/${topic}`, { partitions: 3 });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.partitions).toBe(3);
    expect(patched.json.partitionOffsets.map((p: { partition: number }) => p.partition)).toEqual([
      0, 1, 2,
    ]);
    const same = await api.call('PATCH', `/v1/topics/${topic}`, { partitions: 3 });
    expect(same.status).toBe(400);
    expect(same.json.message).toContain('has 3 partitions; the count can only be increased');
    const unknownField = await api.call('PATCH', `/v1/topics/${topic}`, { count: 4 });
    expect(unknownField.status).toBe(400);
  });
});

describe('the SDK and the CLI', () => {
  const broker = brokerForTest();
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ broker, clusterId: 'test', validateResponses: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('Admin.increasePartitions raises the count; a producer re-reads it after metadataMaxAgeMs', async () => {
    const admin = new Admin({ url: server.url });
    const name = uniqueName('sdk');
    await admin.createTopic({ name, partitions: 1 });
    let key = '';
    for (let i = 0; partitionForKey(Buffer.from(key), 4) === 0; i++) key = `k${i}`;
    const producer = new Producer({ url: server.url }, { idempotence: { metadataMaxAgeMs: 0 } });
    const send = (value: string) => producer.send({ topic: name, records: [{ key, value }] });
    expect((await send('a'))[0]?.partition).toBe(0);
    const described = await admin.increasePartitions(name, 4);
    expect(described.partitions).toBe(4);
    expect(described.partitionOffsets).toHaveLength(4);
    expect((await send('b'))[0]?.partition).toBe(partitionForKey(Buffer.from(key), 4));
    const refused = await admin.increasePartitions(name, 2).catch((e: unknown) => e);
    expect(isEventLogError(refused, 'INVALID_PARTITIONS')).toBe(true);
  });

  const cli = cliAgainst(broker);
  it('eventlog topics alter --partitions raises the count and refuses a decrease', async () => {
    const topic = uniqueName('cli');
    await broker.topics.create({ name: topic, partitions: 2 });
    const altered = await cli('topics', 'alter', topic, '--partitions', '5');
    expect(altered.code, altered.stderr).toBe(0);
    expect(altered.stdout).toBe(`altered topic ${topic}: partitions=5\n`);
    expect((await broker.topics.get(topic)).partitions).toBe(5);
    const down = await cli('topics', 'alter', topic, '--partitions', '3');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('can only be increased');
    expect(down.stderr).toContain('(INVALID_PARTITIONS)');
  });
});
