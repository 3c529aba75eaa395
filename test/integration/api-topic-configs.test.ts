import { describe, expect, it } from 'vitest';
import { apiHarness, CLUSTER_ID } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

const api = apiHarness();
const v3 = `/v3/clusters/${CLUSTER_ID}`;

describe('/v1/topics/{topic}/configs', () => {
  it('changes retention.ms on a live topic, visible on GET', async () => {
    const topic = await api.topic(2);
    await api.call('POST', `/v1/topics/${topic}/records`, { records: [{ value: 'a' }] });

    const altered = await api.call('PATCH', `/v1/topics/${topic}/configs`, {
      configs: { 'retention.ms': '86400000', 'max.message.bytes': 2048 },
    });
    expect(altered.status, altered.text).toBe(200);
    // The answer is the topic as GET /v1/topics/{topic} gives it.
    expect(altered.json).toMatchObject({
      name: topic,
      partitions: 2,
      configs: { 'retention.ms': '86400000', 'max.message.bytes': '2048' },
    });
    expect(altered.json.partitionOffsets).toHaveLength(2);

    const configs = await api.call('GET', `/v1/topics/${topic}/configs`);
    expect(configs.status).toBe(200);
    expect(configs.json).toEqual({
      topic,
      configs: {
        'retention.ms': '86400000',
        'retention.bytes': '-1',
        'max.message.bytes': '2048',
        'message.timestamp.type': 'CreateTime',
        'compression.type': 'zstd',
      },
    });
    expect((await api.call('GET', `/v1/topics/${topic}`)).json.configs['retention.ms']).toBe(
      '86400000',
    );
  });

  it('refuses invalid values and unknown names, changing nothing', async () => {
    const topic = await api.topic();
    const bad = await api.call('PATCH', `/v1/topics/${topic}/configs`, {
      configs: { 'retention.ms': '3600000', 'retention.bytes': 'lots' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'INVALID_CONFIG', error_code: 40002 });
    expect(bad.json.message).toContain('retention.bytes');

    const unknown = await api.call('PATCH', `/v1/topics/${topic}/configs`, {
      configs: { 'segment.ms': '1000' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toContain('segment.ms');

    const shape = await api.call('PATCH', `/v1/topics/${topic}/configs`, { 'retention.ms': 1 });
    expect(shape.status).toBe(400);

    const configs = await api.call('GET', `/v1/topics/${topic}/configs`);
    expect(configs.json.configs['retention.ms']).toBe('604800000');
  });

  it('answers 404 for an unknown topic', async () => {
    const name = uniqueName('missing');
    expect((await api.call('GET', `/v1/topics/${name}/configs`)).json.error_code).toBe(40401);
    const patch = await api.call('PATCH', `/v1/topics/${name}/configs`, {
      configs: { 'retention.ms': '1' },
    });
    expect(patch.status).toBe(404);
  });
});

describe('v3 topic configs', () => {
  it('lists, gets, sets and resets configs in Confluent’s shape', async () => {
    const topic = await api.topic();
    const base = `${v3}/topics/${topic}/configs`;

    const listed = await api.call('GET', base);
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({
      kind: 'KafkaTopicConfigList',
      metadata: { self: `http://localhost${base}`, next: null },
    });
    expect(listed.json.data.map((c: { name: string }) => c.name)).toEqual([
      'retention.ms',
      'retention.bytes',
      'max.message.bytes',
      'message.timestamp.type',
      'compression.type',
    ]);

    const put = await api.call('PUT', `${base}/retention.ms`, { value: '86400000' });
    expect(put.status, put.text).toBe(204);
    expect(put.text).toBe('');

    const got = await api.call('GET', `${base}/retention.ms`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual({
      kind: 'KafkaTopicConfig',
      metadata: {
        self: `http://localhost${base}/retention.ms`,
        resource_name: `crn:///kafka=${CLUSTER_ID}/topic=${topic}/config=retention.ms`,
      },
      cluster_id: CLUSTER_ID,
      topic_name: topic,
      name: 'retention.ms',
      value: '86400000',
      is_default: false,
      is_read_only: false,
      is_sensitive: false,
      source: 'DYNAMIC_TOPIC_CONFIG',
      synonyms: [
        { name: 'retention.ms', value: '86400000', source: 'DYNAMIC_TOPIC_CONFIG' },
        { name: 'retention.ms', value: '604800000', source: 'DEFAULT_CONFIG' },
      ],
    });
    // Our own API sees the same change.
    expect((await api.call('GET', `/v1/topics/${topic}`)).json.configs['retention.ms']).toBe(
      '86400000',
    );

    const deleted = await api.call('DELETE', `${base}/retention.ms`);
    expect(deleted.status).toBe(204);
    const reset = await api.call('GET', `${base}/retention.ms`);
    expect(reset.json).toMatchObject({
      value: '604800000',
      is_default: true,
      source: 'DEFAULT_CONFIG',
    });
  });

  it('answers an unknown config with 404 and an invalid value with 400', async () => {
    const topic = await api.topic();
    const base = `${v3}/topics/${topic}/configs`;
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { value: '1' }],
      ['DELETE', undefined],
    ] as const) {
      const missing = await api.call(method, `${base}/segment.ms`, body);
      expect(missing.status, method).toBe(404);
      expect(missing.json).toMatchObject({ error_code: 404, code: 'NOT_FOUND' });
      expect(missing.json.message).toContain('segment.ms');
    }

    const invalid = await api.call('PUT', `${base}/retention.ms`, { value: '-5' });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error_code: 40002, code: 'INVALID_CONFIG' });
    expect(invalid.json.message).toContain('retention.ms');
    const type = await api.call('PUT', `${base}/message.timestamp.type`, { value: 'Now' });
    expect(type.status).toBe(400);

    const unknownTopic = await api.call('GET', `${v3}/topics/${uniqueName('missing')}/configs`);
    expect(unknownTopic.json.error_code).toBe(40401);
  });
});
