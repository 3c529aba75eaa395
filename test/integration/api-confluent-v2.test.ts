import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../lib/log/partitioner.js';
import { apiHarness, failingPartition, SEQUENCE_PER_PARTITION } from '../helpers/api.js';

const api = apiHarness();
const JSON_V2 = {
  'Content-Type': 'application/vnd.kafka.json.v2+json',
  Accept: 'application/vnd.kafka.v2+json',
};
const BINARY_V2 = {
  'Content-Type': 'application/vnd.kafka.binary.v2+json',
  Accept: 'application/vnd.kafka.v2+json',
};

describe('v2 produce', () => {
  it('runs Confluent’s JSON quickstart request', async () => {
    const topic = await api.topic();
    const produced = await api.call(
      'POST',
      `/topics/${topic}`,
      '{"records":[{"value":{"foo":"bar"}}]}',
      JSON_V2,
    );
    expect(produced.status).toBe(200);
    expect(produced.headers.get('content-type')).toBe('application/vnd.kafka.v2+json');
    expect(produced.json).toEqual({
      offsets: [{ partition: 0, offset: 0, error_code: null, error: null }],
      key_schema_id: null,
      value_schema_id: null,
    });
    const fetched = await api.call('GET', `/v1/topics/${topic}/partitions/0/records?offset=0`);
    expect(fetched.json.records[0].value).toBe('{"foo":"bar"}');
  });

  it('runs Confluent’s binary quickstart request', async () => {
    const topic = await api.topic();
    const produced = await api.call(
      'POST',
      `/topics/${topic}`,
      '{"records":[{"value":"S2Fma2E="}]}',
      BINARY_V2,
    );
    expect(produced.json.offsets).toEqual([
      { partition: 0, offset: 0, error_code: null, error: null },
    ]);
    const fetched = await api.call('GET', `/v1/topics/${topic}/partitions/0/records?offset=0`);
    expect(fetched.json.records[0]).toMatchObject({ key: null, value: 'Kafka' });
  });

  it('treats application/vnd.kafka.v2+json as binary, and hashes keys like Kafka', async () => {
    const topic = await api.topic(5);
    const produced = await api.call(
      'POST',
      `/topics/${topic}`,
      {
        records: [
          { key: 'a2V5', value: 'Y29uZmx1ZW50' },
          { value: 'a2Fma2E=', partition: 3 },
        ],
      },
      { 'Content-Type': 'application/vnd.kafka.v2+json' },
    );
    expect(produced.json.offsets).toEqual([
      {
        partition: partitionForKey(Buffer.from('key'), 5),
        offset: 0,
        error_code: null,
        error: null,
      },
      { partition: 3, offset: expect.any(Number), error_code: null, error: null },
    ]);
    const json = await api.call(
      'POST',
      `/topics/${topic}`,
      { records: [{ key: { id: 7 }, value: 1 }] },
      JSON_V2,
    );
    expect(json.json.offsets[0].partition).toBe(partitionForKey(Buffer.from('{"id":7}'), 5));
  });

  it('produces to the partition in the path', async () => {
    const topic = await api.topic(3);
    const produced = await api.call(
      'POST',
      `/topics/${topic}/partitions/2`,
      { records: [{ key: 'YQ==', value: 'Yg==' }, { value: 'Yw==' }] },
      BINARY_V2,
    );
    expect(produced.json.offsets.map((o: { partition: number }) => o.partition)).toEqual([2, 2]);
    expect(produced.json.offsets.map((o: { offset: number }) => o.offset)).toEqual([0, 1]);
  });

  it('refuses schema-registry formats with 415', async () => {
    const topic = await api.topic();
    const produced = await api.call(
      'POST',
      `/topics/${topic}`,
      { value_schema: '{"type":"string"}', records: [{ value: 'x' }] },
      { 'Content-Type': 'application/vnd.kafka.avro.v2+json' },
    );
    expect(produced.status).toBe(415);
    expect(produced.json).toMatchObject({ error_code: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(produced.json.message).toContain('needs a schema registry');
  });

  it('answers an unknown topic with 40401', async () => {
    const produced = await api.call(
      'POST',
      '/topics/no-such-topic-here',
      { records: [{ value: 'eA==' }] },
      BINARY_V2,
    );
    expect(produced.status).toBe(404);
    expect(produced.json).toMatchObject({
      error_code: 40401,
      message: 'Topic "no-such-topic-here" does not exist',
    });
  });

  it('gives a failed partition’s records Confluent’s per-record error, with HTTP 200', async () => {
    const failing = apiHarness({ stores: failingPartition(1) });
    const topic = await failing.topic(2, SEQUENCE_PER_PARTITION);
    const produced = await failing.call(
      'POST',
      `/topics/${topic}`,
      {
        records: [
          { value: 'eA==', partition: 0 },
          { value: 'eQ==', partition: 1 },
        ],
      },
      BINARY_V2,
    );
    expect(produced.status).toBe(200);
    expect(produced.json.offsets).toEqual([
      { partition: 0, offset: 0, error_code: null, error: null },
      { partition: null, offset: null, error_code: 50003, error: 'DynamoDB is down' },
    ]);
  });
});

describe('v2 topics', () => {
  it('lists names and describes a topic', async () => {
    const topic = await api.topic(2, { 'retention.ms': '3600000' });
    const listed = await api.call('GET', '/topics');
    expect(listed.headers.get('content-type')).toBe('application/vnd.kafka.v2+json');
    expect(listed.json).toContain(topic);
    const described = await api.call('GET', `/topics/${topic}`);
    expect(described.json).toEqual({
      name: topic,
      configs: expect.objectContaining({ 'retention.ms': '3600000' }),
      partitions: [
        { partition: 0, leader: 0, replicas: [{ broker: 0, leader: true, in_sync: true }] },
        { partition: 1, leader: 0, replicas: [{ broker: 0, leader: true, in_sync: true }] },
      ],
    });
    expect((await api.call('GET', '/topics/nope-not-here')).json.error_code).toBe(40401);
  });
});
