import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../lib/log/partitioner.js';
import {
  apiHarness,
  CLUSTER_ID,
  failingPartition,
  SEQUENCE_PER_PARTITION,
} from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

const api = apiHarness();
const v3 = `/v3/clusters/${CLUSTER_ID}`;
const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Confluent streams one delivery report per record, each followed by CRLF. */
function reports(text: string): Record<string, unknown>[] {
  expect(text.endsWith('\r\n')).toBe(true);
  return text
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('v3 clusters', () => {
  it('lists the one cluster in Confluent’s shape', async () => {
    const listed = await api.call('GET', '/v3/clusters');
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({
      kind: 'KafkaClusterList',
      metadata: { self: 'http://localhost/v3/clusters', next: null },
      data: [
        {
          kind: 'KafkaCluster',
          metadata: { self: `http://localhost${v3}`, resource_name: `crn:///kafka=${CLUSTER_ID}` },
          cluster_id: CLUSTER_ID,
          topics: { related: `http://localhost${v3}/topics` },
        },
      ],
    });
    expect((await api.call('GET', v3)).json.cluster_id).toBe(CLUSTER_ID);
  });

  it('answers an unknown cluster id with 404 as Confluent does', async () => {
    for (const path of ['/v3/clusters/other', '/v3/clusters/other/topics']) {
      const missing = await api.call('GET', path);
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({
        error_code: 404,
        message: 'Cluster other cannot be found.',
      });
    }
  });
});

describe('v3 topics', () => {
  it('refuses Confluent’s example config cleanup.policy=compact, which this log does not have', async () => {
    const topicName = uniqueName('topic-X');
    // Confluent's CreateTopicRequest example, verbatim but for the name.
    const created = await api.call('POST', `${v3}/topics`, {
      topic_name: topicName,
      partitions_count: 64,
      replication_factor: 3,
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'compression.type', value: 'gzip' },
      ],
    });
    expect(created.status).toBe(400);
    expect(created.json).toMatchObject({ error_code: 40002, code: 'INVALID_CONFIG' });
    expect((await api.call('GET', `${v3}/topics/${topicName}`)).status).toBe(404);
  });

  it('creates, validates only, lists, gets and deletes topics', async () => {
    const topicName = uniqueName('topic-X');
    const dryRun = await api.call('POST', `${v3}/topics`, {
      topic_name: topicName,
      partitions_count: 64,
      replication_factor: 3,
      validate_only: true,
    });
    expect(dryRun.status).toBe(201);
    expect((await api.call('GET', `${v3}/topics/${topicName}`)).status).toBe(404);

    const created = await api.call('POST', `${v3}/topics`, {
      topic_name: topicName,
      partitions_count: 64,
      replication_factor: 3,
      configs: [{ name: 'compression.type', value: 'gzip' }],
    });
    expect(created.status).toBe(201);
    const self = `http://localhost${v3}/topics/${topicName}`;
    expect(created.json).toEqual({
      kind: 'KafkaTopic',
      metadata: { self, resource_name: `crn:///kafka=${CLUSTER_ID}/topic=${topicName}` },
      cluster_id: CLUSTER_ID,
      topic_name: topicName,
      is_internal: false,
      replication_factor: 3,
      partitions_count: 64,
      partitions: { related: `${self}/partitions` },
      configs: { related: `${self}/configs` },
    });
    expect((await api.broker.topics.get(topicName)).config.compression).toBe('gzip');

    const again = await api.call('POST', `${v3}/topics`, {
      topic_name: topicName,
      validate_only: true,
    });
    expect(again.json).toMatchObject({ error_code: 40002, code: 'TOPIC_ALREADY_EXISTS' });

    const listed = await api.call('GET', `${v3}/topics`);
    expect(listed.json.kind).toBe('KafkaTopicList');
    expect(listed.json.data.map((t: { topic_name: string }) => t.topic_name)).toContain(topicName);
    expect((await api.call('GET', `${v3}/topics/${topicName}`)).json.partitions_count).toBe(64);

    const deleted = await api.call('DELETE', `${v3}/topics/${topicName}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const gone = await api.call('GET', `${v3}/topics/${topicName}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error_code).toBe(40401);
  });
});

describe('v3 produce', () => {
  it('writes concatenated records as one object and answers one report per record', async () => {
    const topic = await api.topic(3);
    const before = await api.state(topic);
    // Confluent's ProduceRequest example (with a JSON value instead of Avro), then a second
    // record in the same stream.
    const body =
      '{"partition_id":1,"headers":[{"name":"Header-1","value":"SGVhZGVyLTE="},{"name":"Header-2","value":"SGVhZGVyLTI="}],' +
      '"key":{"type":"BINARY","data":"Zm9vYmFy"},"value":{"type":"JSON","data":{"foo":"bar"}},"timestamp":"2021-02-05T19:14:42Z"}\n' +
      '{"key":{"type":"STRING","data":"customer-42"},"value":{"type":"STRING","data":"hello"}}';
    const produced = await api.call('POST', `${v3}/topics/${topic}/records`, body);
    expect(produced.status).toBe(200);
    expect(produced.headers.get('content-type')).toContain('application/json');
    const [first, second] = reports(produced.text);
    expect(first).toEqual({
      error_code: 200,
      cluster_id: CLUSTER_ID,
      topic_name: topic,
      partition_id: 1,
      offset: 0,
      timestamp: '2021-02-05T19:14:42.000Z',
      key: { type: 'BINARY', size: 6 },
      value: { type: 'JSON', size: 13 },
    });
    expect(second).toMatchObject({
      error_code: 200,
      partition_id: partitionForKey(utf8('customer-42'), 3),
      key: { type: 'STRING', size: 11 },
      value: { type: 'STRING', size: 5 },
    });
    const after = await api.state(topic);
    expect(after.objects).toBe(before.objects + 1);

    const fetched = await api.call(
      'GET',
      `/v1/topics/${topic}/partitions/1/records?offset=0&maxRecords=1&keyFormat=string&valueFormat=json`,
    );
    expect(fetched.json.records[0]).toEqual({
      offset: 0,
      timestamp: Date.parse('2021-02-05T19:14:42Z'),
      timestampType: 'CreateTime',
      key: 'foobar',
      value: { foo: 'bar' },
      headers: [
        { key: 'Header-1', value: 'Header-1' },
        { key: 'Header-2', value: 'Header-2' },
      ],
    });
  });

  it('hashes a JSON key as the bytes Confluent’s serializer writes', async () => {
    const topic = await api.topic(11);
    const produced = await api.call(
      'POST',
      `${v3}/topics/${topic}/records`,
      '{"key":{"type":"JSON","data":{"id":1.0,"tags":["a"]}},"value":{"type":"JSON","data":null}}',
    );
    const [report] = reports(produced.text);
    const keyBytes = utf8('{"id":1.0,"tags":["a"]}');
    expect(report).toMatchObject({
      partition_id: partitionForKey(keyBytes, 11),
      key: { type: 'JSON', size: keyBytes.byteLength },
      value: { type: 'JSON', size: -1 },
    });
  });

  it('refuses schema-registry types with 42201/42202 and writes nothing', async () => {
    const topic = await api.topic();
    const before = await api.state(topic);
    const produced = await api.call(
      'POST',
      `${v3}/topics/${topic}/records`,
      '{"value":{"type":"STRING","data":"fine"}}{"value":{"type":"AVRO","schema":"\\"string\\"","data":"x"}}',
    );
    expect(produced.status).toBe(422);
    expect(produced.json).toMatchObject({
      error_code: 42202,
      code: 'INVALID_REQUEST',
      record: 1,
      field: 'value',
    });
    expect(produced.json.message).toBe(
      'Record 1: value.type must be BINARY, JSON or STRING, got AVRO (schema registry formats are not supported)',
    );
    expect(await api.state(topic)).toEqual(before);
  });

  it('reports a partition that failed inside the stream, with HTTP 200', async () => {
    const failing = apiHarness({ stores: failingPartition(1) });
    const topic = await failing.topic(2, SEQUENCE_PER_PARTITION);
    const produced = await failing.call(
      'POST',
      `${v3}/topics/${topic}/records`,
      '{"partition_id":0,"value":{"type":"STRING","data":"ok"}}{"partition_id":1,"value":{"type":"STRING","data":"lost"}}',
    );
    expect(produced.status).toBe(200);
    const [ok, lost] = reports(produced.text);
    expect(ok).toMatchObject({ error_code: 200, partition_id: 0, offset: 0 });
    expect(lost).toEqual({
      error_code: 50003,
      message: 'DynamoDB is down',
      code: 'STORAGE_UNAVAILABLE',
      retriable: true,
    });
  });
});
