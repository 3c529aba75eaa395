import { describe, expect, it } from 'vitest';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

/**
 * Confluent REST Proxy v2 consumers, driven with the requests of Confluent's API reference
 * (kafka-rest docs/api.rst, "Consumers"): the same paths, headers and bodies, with unique
 * names in place of "testgroup", "my_consumer" and "test".
 */

const api = apiHarness();
const V2 = { 'Content-Type': 'application/vnd.kafka.v2+json' };
const BINARY = { Accept: 'application/vnd.kafka.binary.v2+json' };
const JSON_ACCEPT = { Accept: 'application/vnd.kafka.json.v2+json' };

async function produceDocsRecords(topic: string) {
  // Confluent's "Example binary request" for POST /topics/(topic_name).
  const produced = await api.call(
    'POST',
    `/topics/${topic}`,
    '{"records":[{"key":"a2V5","value":"Y29uZmx1ZW50"},{"value":"a2Fma2E=","partition":1},{"value":"bG9ncw=="}]}',
    { 'Content-Type': 'application/vnd.kafka.binary.v2+json' },
  );
  expect(produced.status).toBe(200);
  return produced.json.offsets as { partition: number; offset: number }[];
}

describe('Confluent v2 consumer instances', () => {
  it('runs the documented flow: create, subscribe, records, commit, committed, delete', async () => {
    const topic = await api.topic(2);
    const group = uniqueName('testgroup');
    const offsets = await produceDocsRecords(topic);

    const created = await api.call(
      'POST',
      `/consumers/${group}/`,
      '{"name": "my_consumer", "format": "binary", "auto.offset.reset": "earliest", "auto.commit.enable": "false"}',
      V2,
    );
    expect(created.status).toBe(200);
    expect(created.headers.get('content-type')).toBe('application/vnd.kafka.v2+json');
    expect(created.json).toEqual({
      instance_id: 'my_consumer',
      base_uri: `http://localhost/consumers/${group}/instances/my_consumer`,
    });
    const base = `/consumers/${group}/instances/my_consumer`;

    const subscribed = await api.call(
      'POST',
      `${base}/subscription`,
      `{"topics": ["${topic}"]}`,
      V2,
    );
    expect(subscribed.status).toBe(204);
    expect((await api.call('GET', `${base}/subscription`, undefined, V2)).json).toEqual({
      topics: [topic],
    });

    const polled = await api.call(
      'GET',
      `${base}/records?timeout=3000&max_bytes=300000`,
      undefined,
      BINARY,
    );
    expect(polled.status).toBe(200);
    expect(polled.headers.get('content-type')).toBe('application/vnd.kafka.binary.v2+json');
    const records = polled.json as {
      topic: string;
      key: string | null;
      value: string;
      partition: number;
      offset: number;
    }[];
    expect(records).toHaveLength(3);
    expect(records.map((r) => r.value).sort()).toEqual(
      ['Y29uZmx1ZW50', 'a2Fma2E=', 'bG9ncw=='].sort(),
    );
    for (const r of records) {
      expect(Object.keys(r)).toEqual(['topic', 'key', 'value', 'partition', 'offset']);
      expect(r.topic).toBe(topic);
      expect(offsets).toContainEqual(
        expect.objectContaining({ partition: r.partition, offset: r.offset }),
      );
    }
    expect(records.find((r) => r.value === 'Y29uZmx1ZW50')?.key).toBe('a2V5');

    // Nothing more: an empty answer (after waiting up to the timeout).
    const empty = await api.call('GET', `${base}/records?timeout=100`, undefined, BINARY);
    expect(empty.json).toEqual([]);

    expect((await api.call('GET', `${base}/assignments`, undefined, V2)).json).toEqual({
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
    });

    // Commit the last record of each partition (Confluent: the offset of the last record
    // processed); the group stores the next offset to read, as GET .../offsets shows.
    // (Partition 1 has the keyed record and the one sent there; the keyless one may land in
    // either, so partition 0 may have nothing: it then keeps the committed start, 0.)
    const read = [0, 1].filter((p) => records.some((r) => r.partition === p));
    const last = (p: number) =>
      Math.max(...records.filter((r) => r.partition === p).map((r) => r.offset));
    const next = (p: number) => (read.includes(p) ? last(p) + 1 : 0);
    const committed = await api.call(
      'POST',
      `${base}/offsets`,
      JSON.stringify({ offsets: read.map((p) => ({ topic, partition: p, offset: last(p) })) }),
      V2,
    );
    expect(committed.status).toBe(200);
    const shown = await api.call('GET', `${base}/offsets`, undefined, V2);
    expect(shown.json).toEqual({
      offsets: [
        { topic, partition: 0, offset: next(0), metadata: '' },
        { topic, partition: 1, offset: next(1), metadata: '' },
      ],
    });

    // Seek back to the beginning of partition 1 and read it again.
    const seek = await api.call(
      'POST',
      `${base}/positions/beginning`,
      JSON.stringify({ partitions: [{ topic, partition: 1 }] }),
      V2,
    );
    expect(seek.status).toBe(204);
    const again = await api.call('GET', `${base}/records?timeout=1000`, undefined, BINARY);
    expect(again.json.map((r: { partition: number }) => r.partition)).toEqual(
      records.filter((r) => r.partition === 1).map(() => 1),
    );
    const toEnd = await api.call(
      'POST',
      `${base}/positions/end`,
      JSON.stringify({ partitions: [{ topic, partition: 1 }] }),
      V2,
    );
    expect(toEnd.status).toBe(204);
    expect((await api.call('GET', `${base}/records?timeout=100`, undefined, BINARY)).json).toEqual(
      [],
    );
    const positioned = await api.call(
      'POST',
      `${base}/positions`,
      JSON.stringify({ offsets: [{ topic, partition: 1, offset: 1 }] }),
      V2,
    );
    expect(positioned.status).toBe(204);
    const fromOne = await api.call('GET', `${base}/records?timeout=1000`, undefined, BINARY);
    expect(
      fromOne.json.map((r: { partition: number; offset: number }) => [r.partition, r.offset]),
    ).toEqual(records.filter((r) => r.partition === 1 && r.offset >= 1).map((r) => [1, r.offset]));

    // The group sees the instance as a member holding both partitions.
    const described = await api.call('GET', `/v1/groups/${group}`);
    expect(described.json.members).toMatchObject([{ memberId: 'my_consumer', kind: 'instance' }]);

    const deleted = await api.call('DELETE', base, undefined, V2);
    expect(deleted.status).toBe(204);
    const gone = await api.call('GET', `${base}/records`, undefined, BINARY);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ error_code: 40403, code: 'CONSUMER_INSTANCE_NOT_FOUND' });
    // Deleting let go of the partitions at once, and auto-commit was off: offsets stand.
    expect((await api.call('GET', `/v1/groups/${group}/offsets`)).json.offsets).toMatchObject([
      { partition: 0, committed: next(0) },
      { partition: 1, committed: next(1) },
    ]);
  });

  it('reads JSON with a json instance, and refuses another Accept format with 40601', async () => {
    const topic = await api.topic(1);
    const group = uniqueName('jsongroup');
    await api.call(
      'POST',
      `/topics/${topic}`,
      '{"records":[{"key":"somekey","value":{"foo":"bar"}},{"value":["foo","bar"]},{"value":53.5}]}',
      { 'Content-Type': 'application/vnd.kafka.json.v2+json' },
    );
    const created = await api.call(
      'POST',
      `/consumers/${group}`,
      '{"name": "my_json_consumer", "format": "json", "auto.offset.reset": "earliest"}',
      V2,
    );
    expect(created.status).toBe(200);
    const base = `/consumers/${group}/instances/my_json_consumer`;
    await api.call('POST', `${base}/subscription`, `{"topics":["${topic}"]}`, V2);

    const mismatch = await api.call('GET', `${base}/records`, undefined, BINARY);
    expect(mismatch.status).toBe(406);
    expect(mismatch.json).toMatchObject({ error_code: 40601, code: 'CONSUMER_FORMAT_MISMATCH' });

    const polled = await api.call(
      'GET',
      `${base}/records?timeout=3000&max_bytes=300000`,
      undefined,
      JSON_ACCEPT,
    );
    expect(polled.headers.get('content-type')).toBe('application/vnd.kafka.json.v2+json');
    expect(polled.text).toBe(
      `[{"topic":"${topic}","key":"somekey","value":{"foo":"bar"},"partition":0,"offset":0},` +
        `{"topic":"${topic}","key":null,"value":["foo","bar"],"partition":0,"offset":1},` +
        `{"topic":"${topic}","key":null,"value":53.5,"partition":0,"offset":2}]`,
    );
    await api.call('DELETE', base, undefined, V2);
  });

  it('auto-commits what earlier polls returned, and on delete', async () => {
    const topic = await api.topic(1);
    const group = uniqueName('autogroup');
    await api.call(
      'POST',
      `/topics/${topic}`,
      '{"records":[{"value":"YQ=="},{"value":"Yg=="},{"value":"Yw=="}]}',
      {
        'Content-Type': 'application/vnd.kafka.binary.v2+json',
      },
    );
    await api.call(
      'POST',
      `/consumers/${group}`,
      { name: 'auto', 'auto.offset.reset': 'earliest', 'auto.commit.interval.ms': '0' },
      V2,
    );
    const base = `/consumers/${group}/instances/auto`;
    await api.call('POST', `${base}/subscription`, { topics: [topic] }, V2);
    const committed = async () =>
      (await api.call('GET', `/v1/groups/${group}/offsets`)).json.offsets.map(
        (o: { committed: number }) => o.committed,
      );

    const first = await api.call('GET', `${base}/records?max_bytes=1`, undefined, BINARY);
    expect(first.json).toHaveLength(1);
    // The reset start is committed at once; what this poll returned is not, yet.
    expect(await committed()).toEqual([0]);
    await api.call('GET', `${base}/records?max_bytes=1`, undefined, BINARY);
    expect(await committed()).toEqual([1]);
    await api.call('DELETE', base, undefined, V2);
    expect(await committed()).toEqual([2]);
  });

  it('shares partitions between the instances of a group', async () => {
    const topic = await api.topic(2);
    const group = uniqueName('sharegroup');
    for (const name of ['one', 'two']) {
      await api.call('POST', `/consumers/${group}`, { name, 'auto.offset.reset': 'earliest' }, V2);
      await api.call(
        'POST',
        `/consumers/${group}/instances/${name}/subscription`,
        { topics: [topic] },
        V2,
      );
    }
    const poll = (name: string) =>
      api.call('GET', `/consumers/${group}/instances/${name}/records?timeout=0`, undefined, BINARY);
    await poll('one');
    await poll('two');
    // one joined first and took both; two steals one, and one learns at its next poll.
    await poll('two');
    await poll('one');
    const assigned = async (name: string) =>
      (await api.call('GET', `/consumers/${group}/instances/${name}/assignments`, undefined, V2))
        .json.partitions;
    expect(
      [...(await assigned('one')), ...(await assigned('two'))]
        .map((p: { partition: number }) => p.partition)
        .sort(),
    ).toEqual([0, 1]);
    expect(await assigned('one')).toHaveLength(1);
    for (const name of ['one', 'two'])
      await api.call('DELETE', `/consumers/${group}/instances/${name}`, undefined, V2);
  });

  it('creates an instance on the trailing-slash path of Confluent’s example, with the declared answer', async () => {
    const group = uniqueName('testgroup');
    const created = await api.call('POST', `/consumers/${group}/`, { name: 'slash' }, V2);
    expect(created.status).toBe(200);
    expect(created.json.instance_id).toBe('slash');
    expect(created.json.base_uri).toMatch(new RegExp(`/consumers/${group}/instances/slash$`));
  });

  it('answers Confluent’s error codes', async () => {
    const group = uniqueName('errors');
    const first = await api.call('POST', `/consumers/${group}`, { name: 'dup' }, V2);
    expect(first.status).toBe(200);
    const dup = await api.call('POST', `/consumers/${group}`, { name: 'dup' }, V2);
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({ error_code: 40902, code: 'CONSUMER_INSTANCE_EXISTS' });

    const avro = await api.call('POST', `/consumers/${group}`, { format: 'avro' }, V2);
    expect(avro.status).toBe(422);
    expect(avro.json).toMatchObject({ error_code: 42204, code: 'INVALID_CONSUMER_CONFIG' });

    const generated = await api.call('POST', `/consumers/${group}`, undefined, V2);
    expect(generated.json.instance_id).toMatch(/^rest-consumer-/);

    for (const [method, path] of [
      ['DELETE', ''],
      ['GET', '/subscription'],
      ['GET', '/records'],
      ['GET', '/assignments'],
      ['GET', '/offsets'],
    ] as const) {
      const missing = await api.call(
        method,
        `/consumers/${group}/instances/nobody${path}`,
        undefined,
        V2,
      );
      expect(missing.status, `${method} ${path}`).toBe(404);
      expect(missing.json).toMatchObject({ error_code: 40403 });
    }

    const notAssigned = await api.call(
      'POST',
      `/consumers/${group}/instances/dup/positions`,
      { offsets: [{ topic: 'x', partition: 0, offset: 1 }] },
      V2,
    );
    expect(notAssigned.status).toBe(409);
    expect(notAssigned.json).toMatchObject({ error_code: 40903, code: 'PARTITION_NOT_ASSIGNED' });
    // Unsubscribed: polls answer nothing rather than fail.
    expect(
      (
        await api.call(
          'GET',
          `/consumers/${group}/instances/dup/records?timeout=0`,
          undefined,
          BINARY,
        )
      ).json,
    ).toEqual([]);
  });
});
