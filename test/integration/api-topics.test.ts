import { describe, expect, it } from 'vitest';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

const api = apiHarness();

describe('/v1/topics', () => {
  it('creates a topic as the docs show and answers with its configs', async () => {
    const name = uniqueName('orders');
    const created = await api.call('POST', '/v1/topics', {
      name,
      partitions: 3,
      configs: { 'retention.ms': '86400000' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name,
      partitions: 3,
      configs: {
        'retention.ms': '86400000',
        'retention.bytes': '-1',
        'max.message.bytes': '1048588',
        'message.timestamp.type': 'CreateTime',
        'compression.type': 'zstd', // the default for new topics
      },
    });
    expect(created.json.topicId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof created.json.createdAt).toBe('number');
  });

  it('refuses a taken name with Confluent’s 40002', async () => {
    const name = await api.topic();
    const again = await api.call('POST', '/v1/topics', { name, partitions: 1 });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({
      error_code: 40002,
      code: 'TOPIC_ALREADY_EXISTS',
      retriable: false,
    });
  });

  it('refuses an unknown config and a bad partition count, creating nothing', async () => {
    const name = uniqueName('bad-config');
    const config = await api.call('POST', '/v1/topics', {
      name,
      partitions: 1,
      configs: { 'cleanup.policy': 'compact' },
    });
    expect(config.status).toBe(400);
    expect(config.json).toMatchObject({ code: 'INVALID_CONFIG', error_code: 40002 });
    expect(config.json.message).toContain('cleanup.policy');
    const partitions = await api.call('POST', '/v1/topics', { name, partitions: 0 });
    expect(partitions.json).toMatchObject({ code: 'INVALID_PARTITIONS' });
    expect((await api.call('GET', `/v1/topics/${name}`)).status).toBe(404);
  });

  it('lists, describes with per-partition offsets, and deletes', async () => {
    const name = await api.topic(3);
    const listed = await api.call('GET', '/v1/topics');
    expect(listed.status).toBe(200);
    expect(listed.json.topics.map((t: { name: string }) => t.name)).toContain(name);

    await api.call('POST', `/v1/topics/${name}/records`, {
      records: [
        { value: 'a', partition: 1 },
        { value: 'b', partition: 1 },
        { value: 'c', partition: 2 },
      ],
    });
    const described = await api.call('GET', `/v1/topics/${name}`);
    expect(described.status).toBe(200);
    expect(described.json.partitionOffsets).toEqual([
      { partition: 0, logStartOffset: 0, highWatermark: 0 },
      { partition: 1, logStartOffset: 0, highWatermark: 2 },
      { partition: 2, logStartOffset: 0, highWatermark: 1 },
    ]);

    const deleted = await api.call('DELETE', `/v1/topics/${name}`);
    expect(deleted.status).toBe(200);
    expect(deleted.json.name).toBe(name);
    const gone = await api.call('GET', `/v1/topics/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ error_code: 40401, code: 'UNKNOWN_TOPIC', topic: name });
    expect((await api.call('DELETE', `/v1/topics/${name}`)).status).toBe(404);
  });
});

describe('the app', () => {
  it('serves an OpenAPI 3.1 document describing every route', async () => {
    const doc = await api.call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.1.0');
    expect(Object.keys(doc.json.paths).sort()).toEqual(
      [
        '/topics',
        '/topics/{topic}',
        '/topics/{topic}/partitions/{partition}',
        '/consumers/{group_name}',
        '/consumers/{group_name}/instances/{instance}',
        '/consumers/{group_name}/instances/{instance}/assignments',
        '/consumers/{group_name}/instances/{instance}/offsets',
        '/consumers/{group_name}/instances/{instance}/positions',
        '/consumers/{group_name}/instances/{instance}/positions/beginning',
        '/consumers/{group_name}/instances/{instance}/positions/end',
        '/consumers/{group_name}/instances/{instance}/records',
        '/consumers/{group_name}/instances/{instance}/subscription',
        '/v1/acls',
        '/v1/acls/{id}',
        '/v1/keys',
        '/v1/keys/{id}',
        '/v1/whoami',
        '/v1/groups',
        '/v1/groups/{group}',
        '/v1/groups/{group}/commits',
        '/v1/groups/{group}/lag',
        '/v1/groups/{group}/members/{member}',
        '/v1/groups/{group}/members/{member}/heartbeat',
        '/v1/groups/{group}/offsets',
        '/v1/groups/{group}/offsets/reset',
        '/v1/producers',
        '/v1/subscriptions',
        '/v1/subscriptions/{name}',
        '/v1/subscriptions/{name}/lag',
        '/v1/topics',
        '/v1/topics/{topic}',
        '/v1/topics/{topic}/configs',
        '/v1/topics/{topic}/delete-records',
        '/v1/topics/{topic}/fetch',
        '/v1/topics/{topic}/offsets',
        '/v1/topics/{topic}/partitions/{partition}/offsets',
        '/v1/topics/{topic}/partitions/{partition}/records',
        '/v1/topics/{topic}/records',
        '/v1/topics/{topic}/throughput',
        '/v3/clusters',
        '/v3/clusters/{cluster_id}',
        '/v3/clusters/{cluster_id}/topics',
        '/v3/clusters/{cluster_id}/topics/{topic_name}',
        '/v3/clusters/{cluster_id}/topics/{topic_name}/configs',
        '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}',
        '/v3/clusters/{cluster_id}/topics/{topic_name}/records',
        '/v3/clusters/{cluster_id}/topics/{topic_name}/records:batch',
        '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions',
        '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}',
        '/v3/clusters/{cluster_id}/acls',
        '/v3/clusters/{cluster_id}/consumer-groups',
        '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}',
        '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers',
        '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers/{consumer_id}',
        '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags',
        '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}',
        '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary',
      ].sort(),
    );
    const produce = doc.json.paths['/v1/topics/{topic}/records'].post;
    expect(produce.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/ProduceRequest',
    );
    expect(doc.json.components.schemas.Error.required).toEqual(
      expect.arrayContaining(['error_code', 'message', 'code', 'retriable']),
    );
    const fetch = doc.json.paths['/v1/topics/{topic}/partitions/{partition}/records'].get;
    expect(fetch.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['topic', 'partition', 'offset', 'waitMs', 'format']),
    );
  });

  it('answers an unknown route with the error envelope', async () => {
    const missing = await api.call('GET', '/v2/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      error_code: 404,
      message: 'No route for GET /v2/nothing',
      code: 'NOT_FOUND',
      retriable: false,
    });
  });
});
