import { describe, expect, it } from 'vitest';
import { parseIsoDateTime } from '../../../lib/log/iso-date-time.js';
import { isResourceName } from '../../../lib/log/resource-name.js';
import { parseStrictInteger } from '../../../lib/log/strict-number.js';
import { apiHarness, CLUSTER_ID, type Reply } from '../../helpers/api.js';
import { uniqueName } from '../../helpers/aws.js';

/**
 * Issue 15, items 1-6: inputs that were accepted, stored wrongly or answered with a 5xx. Each
 * case checks the status, the error code and that nothing changed.
 */

const api = apiHarness();
const V2 = { 'content-type': 'application/vnd.kafka.v2+json' };
const JSON_TYPE = { 'content-type': 'application/json' };

function expect4xx(reply: Reply, code: string): void {
  expect(reply.status, reply.text).toBeGreaterThanOrEqual(400);
  expect(reply.status, reply.text).toBeLessThan(500);
  expect(reply.json.code).toBe(code);
  expect(typeof reply.json.error_code).toBe('number');
  expect(typeof reply.json.message).toBe('string');
}

describe('1: config numbers are decimal integers, as Kafka parses them', () => {
  const loose = [
    '0x10',
    '1e3',
    '0b101',
    '5.',
    '1e6',
    ' 7',
    '7 ',
    '+',
    '',
    '1_000',
    '0o7',
    '9007199254740993',
  ];

  it('the parser refuses every loose form and takes plain decimals', () => {
    for (const raw of loose) expect(parseStrictInteger(raw).ok, raw).toBe(false);
    expect(parseStrictInteger(1.5).ok).toBe(false);
    expect(parseStrictInteger(2 ** 53).ok).toBe(false);
    expect(parseStrictInteger('-1')).toEqual({ ok: true, value: -1 });
    expect(parseStrictInteger('86400000')).toEqual({ ok: true, value: 86_400_000 });
    expect(parseStrictInteger(42)).toEqual({ ok: true, value: 42 });
  });

  it('PATCH /v1 configs, topic create (ours and v3) and v3 PUT configs refuse them', async () => {
    const topic = await api.topic(1);
    const before = (await api.call('GET', `/v1/topics/${topic}/configs`)).json;
    for (const value of loose) {
      expect4xx(
        await api.call('PATCH', `/v1/topics/${topic}/configs`, {
          configs: { 'retention.ms': value },
        }),
        'INVALID_CONFIG',
      );
      expect4xx(
        await api.call(
          'PUT',
          `/v3/clusters/${CLUSTER_ID}/topics/${topic}/configs/retention.ms`,
          { value },
          JSON_TYPE,
        ),
        'INVALID_CONFIG',
      );
      const name = uniqueName('loose');
      expect4xx(
        await api.call('POST', '/v1/topics', {
          name,
          partitions: 1,
          configs: { 'retention.ms': value },
        }),
        'INVALID_CONFIG',
      );
      expect4xx(
        await api.call('POST', `/v3/clusters/${CLUSTER_ID}/topics`, {
          topic_name: name,
          partitions_count: 1,
          configs: [{ name: 'max.message.bytes', value }],
        }),
        'INVALID_CONFIG',
      );
      expect((await api.call('GET', `/v1/topics/${name}`)).status).toBe(404);
    }
    expect((await api.call('GET', `/v1/topics/${topic}/configs`)).json).toEqual(before);
  });
});

describe('2: Confluent v2 settings beyond their range are a 422, not a 503', () => {
  it('refuses 2^53 and Java int overflow for auto.commit.interval.ms and consumer.request.timeout.ms', async () => {
    const group = uniqueName('v2big');
    for (const setting of ['auto.commit.interval.ms', 'consumer.request.timeout.ms']) {
      for (const value of ['9007199254740992', '9007199254740993', '2147483648', '0x10', '1e3']) {
        const created = await api.call(
          'POST',
          `/consumers/${group}`,
          JSON.stringify({ name: 'c', [setting]: value }),
          V2,
        );
        expect4xx(created, 'INVALID_CONSUMER_CONFIG');
        expect(created.json.retriable).toBe(false);
      }
    }
    // Nothing was created: the name is still free.
    const ok = await api.call(
      'POST',
      `/consumers/${group}`,
      '{"name": "c", "auto.commit.interval.ms": "2147483647"}',
      V2,
    );
    expect(ok.status, ok.text).toBe(200);
  });
});

describe('3: header names with an unpaired surrogate are refused', () => {
  it('through /v1 and v3 produce, writing nothing', async () => {
    const topic = await api.topic(1);
    const before = await api.state(topic);
    const lone = '{"records": [{"value": "a", "headers": [{"key": "x\\ud800", "value": "v"}]}]}';
    expect4xx(
      await api.call('POST', `/v1/topics/${topic}/records`, lone, JSON_TYPE),
      'INVALID_REQUEST',
    );
    const v3 =
      '{"value": {"type": "STRING", "data": "a"}, "headers": [{"name": "\\udc00x", "value": "dg=="}]}';
    expect4xx(
      await api.call('POST', `/v3/clusters/${CLUSTER_ID}/topics/${topic}/records`, v3, JSON_TYPE),
      'INVALID_REQUEST',
    );
    expect(await api.state(topic)).toEqual(before);
    // A proper pair is a real character and goes through.
    const pair =
      '{"records": [{"value": "a", "headers": [{"key": "x\\ud83d\\ude00", "value": "v"}]}]}';
    expect((await api.call('POST', `/v1/topics/${topic}/records`, pair, JSON_TYPE)).status).toBe(
      200,
    );
  });
});

describe('4: v3 timestamps are real calendar date-times', () => {
  it('parses valid ones and refuses rolled-over dates', () => {
    expect(parseIsoDateTime('2021-02-30T00:00:00Z')).toBeUndefined();
    expect(parseIsoDateTime('2021-02-29T00:00:00Z')).toBeUndefined();
    expect(parseIsoDateTime('2020-02-29T00:00:00Z')).toBe(Date.UTC(2020, 1, 29));
    expect(parseIsoDateTime('2021-02-05T19:14:42.123Z')).toBe(
      Date.UTC(2021, 1, 5, 19, 14, 42, 123),
    );
    expect(parseIsoDateTime('2021-02-05T20:14:42+01:00')).toBe(Date.UTC(2021, 1, 5, 19, 14, 42));
    expect(parseIsoDateTime('2021-13-01T00:00:00Z')).toBeUndefined();
    expect(parseIsoDateTime('2021-01-01T24:00:00Z')).toBeUndefined();
    expect(parseIsoDateTime('2021-01-01T00:00:00Zjunk')).toBeUndefined();
  });

  it('v3 produce refuses 2021-02-30 and writes nothing', async () => {
    const topic = await api.topic(1);
    const before = await api.state(topic);
    const sent = await api.call(
      'POST',
      `/v3/clusters/${CLUSTER_ID}/topics/${topic}/records`,
      '{"value": {"type": "STRING", "data": "a"}, "timestamp": "2021-02-30T00:00:00Z"}',
      JSON_TYPE,
    );
    // v3 answers a stream of delivery reports; the refusal is in the body's error code.
    const report = sent.json;
    expect(report.error_code).toBeGreaterThanOrEqual(400);
    expect(report.error_code).toBeLessThan(50000);
    expect(report.message).toMatch(/timestamp/);
    expect(await api.state(topic)).toEqual(before);
  });
});

describe('5: one name rule: no "." or ".." for subscriptions, instances, groups', () => {
  it('the rule', () => {
    for (const bad of ['.', '..', '', 'a/b', 'x'.repeat(250), 'é']) {
      expect(isResourceName(bad), bad).toBe(false);
    }
    for (const good of ['...', '.a', 'a..b', 'orders-to_billing.v2']) {
      expect(isResourceName(good), good).toBe(true);
    }
  });

  it('every named resource refuses them', async () => {
    const topic = await api.topic(1);
    for (const name of ['.', '..']) {
      expect4xx(
        await api.call('POST', '/v1/subscriptions', {
          name,
          topic,
          functionName: 'f',
          startingPosition: 'LATEST',
        }),
        'INVALID_CONFIG',
      );
      expect4xx(
        await api.call('POST', '/v1/subscriptions', {
          name: uniqueName('sub'),
          group: name,
          topic,
          functionName: 'f',
          startingPosition: 'LATEST',
        }),
        'INVALID_CONFIG',
      );
      expect4xx(
        await api.call('POST', `/consumers/${uniqueName('g')}`, JSON.stringify({ name }), V2),
        'INVALID_REQUEST',
      );
      // A URL cannot even carry these (WHATWG URLs drop %2E segments too), so the group
      // service is asked directly: the SDK and the dispatcher reach it without a URL.
      await expect(
        api.broker.groups.heartbeat(name, 'm', { topics: [topic] }),
      ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      await expect(
        api.broker.groups.heartbeat('g', name, { topics: [topic] }),
      ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect4xx(await api.call('POST', '/v1/producers', { name }), 'INVALID_REQUEST');
    }
    const listed = await api.call('GET', `/v1/subscriptions?topic=${topic}`);
    expect(listed.json.subscriptions).toEqual([]);
  });
});

describe('6: unknown destinationConfig members are refused', () => {
  it('onSuccess on create and update is a 400, and nothing is stored', async () => {
    const topic = await api.topic(1);
    const dlq = await api.topic(1);
    const name = uniqueName('sub');
    const body = {
      name,
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      destinationConfig: {
        onFailure: { destination: `kafka://${dlq}` },
        onSuccess: { destination: `kafka://${dlq}` },
      },
    };
    const created = await api.call('POST', '/v1/subscriptions', body);
    expect(created.status).toBe(400);
    expect(created.json.message).toMatch(/onSuccess/);
    expect((await api.call('GET', `/v1/subscriptions/${name}`)).status).toBe(404);

    const { destinationConfig: _d, ...plain } = body;
    expect((await api.call('POST', '/v1/subscriptions', plain)).status).toBe(201);
    const updated = await api.call('PATCH', `/v1/subscriptions/${name}`, {
      destinationConfig: { onSuccess: { destination: `kafka://${dlq}` } },
    });
    expect(updated.status).toBe(400);
    expect((await api.call('GET', `/v1/subscriptions/${name}`)).json.version).toBe(1);
  });
});

describe('class: user data past a DynamoDB item limit', () => {
  it('a v2 subscription of more than 1000 topics, or a huge pattern, is a 4xx, not a 500', async () => {
    const group = uniqueName('v2many');
    const created = await api.call('POST', `/consumers/${group}`, '{"name": "c"}', V2);
    expect(created.status).toBe(200);
    const base = `/consumers/${group}/instances/c/subscription`;
    const topics = Array.from({ length: 1500 }, (_, i) => `t-${'x'.repeat(240)}-${i}`);
    expect4xx(await api.call('POST', base, JSON.stringify({ topics }), V2), 'INVALID_REQUEST');
    expect4xx(
      await api.call('POST', base, JSON.stringify({ topic_pattern: 'a'.repeat(5000) }), V2),
      'INVALID_REQUEST',
    );
    const now = await api.call('GET', base);
    expect(now.json.topics).toEqual([]);
  });
});
