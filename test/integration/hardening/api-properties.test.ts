import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, CLUSTER_ID, type Reply } from '../../helpers/api.js';

/**
 * Issue 15: generated invalid requests for every route family get a 4xx JSON error
 * {error_code, message, ...} and change nothing (topics, subscriptions, the topic's high
 * watermarks and S3 objects, the group's offsets); generated valid ones succeed. Bound: 40
 * runs per family, seeded, well under a minute in `npm test` (the test's timeout says so).
 */

const api = apiHarness();
const V2 = { 'content-type': 'application/vnd.kafka.v2+json' };
const JSON_TYPE = { 'content-type': 'application/json' };
const RUNS = { numRuns: 40, seed: 15 };
const BOUND_MS = 50_000;
let topic: string;
let group: string;

beforeAll(async () => {
  topic = await api.topic(2, { 'max.message.bytes': '2000' });
  group = `props-${Date.now()}`;
});

async function snapshot() {
  const [state, topics, subscriptions, configs] = await Promise.all([
    api.state(topic),
    api.call('GET', '/v1/topics'),
    api.call('GET', '/v1/subscriptions'),
    api.call('GET', `/v1/topics/${topic}/configs`),
  ]);
  return {
    state,
    topics: (topics.json.topics as { name: string }[]).map((t) => t.name).sort(),
    subscriptions: subscriptions.json.subscriptions,
    configs: configs.json,
  };
}

function expectClientError(reply: Reply): void {
  expect(reply.status, reply.text).toBeGreaterThanOrEqual(400);
  expect(reply.status, reply.text).toBeLessThan(500);
  expect(typeof reply.json?.error_code, reply.text).toBe('number');
  expect(typeof reply.json?.message, reply.text).toBe('string');
}

/** Loose numbers Kafka refuses, and values of the wrong type. */
const badNumber = fc.oneof(
  fc.constantFrom('0x10', '1e3', '0b101', '5.', ' 7', '7 ', '1_0', '', '-', '9007199254740993'),
  fc.integer({ min: 0, max: 999 }).map((n) => `${n}.5`),
  fc.integer({ min: 0, max: 99 }).map((n) => `${n}abc`),
);
/** Names no resource may have. */
const badName = fc.oneof(
  fc.constantFrom('.', '..', '', 'a/b', 'a b', 'é', 'x'.repeat(250), 'a#b'),
  fc.string({ minLength: 1, maxLength: 5 }).filter((s) => /[^a-zA-Z0-9._-]/.test(s)),
);

async function holds(request: () => Promise<Reply>): Promise<void> {
  const before = await snapshot();
  expectClientError(await request());
  expect(await snapshot()).toEqual(before);
}

describe('HTTP API properties', () => {
  it(
    'invalid requests of every route family: a 4xx JSON error, nothing changed',
    async () => {
      const families: fc.Arbitrary<() => Promise<Reply>>[] = [
        // Topics: create with a bad name or a loose config.
        fc.tuple(badName, fc.integer({ min: 1, max: 3 })).map(
          ([name, partitions]) =>
            () =>
              api.call('POST', '/v1/topics', { name, partitions }),
        ),
        fc
          .tuple(fc.constantFrom('retention.ms', 'retention.bytes', 'max.message.bytes'), badNumber)
          .map(
            ([config, value]) =>
              () =>
                api.call('POST', '/v1/topics', {
                  name: `never-${Date.now()}`,
                  partitions: 1,
                  configs: { [config]: value },
                }),
          ),
        // Configs: PATCH ours and PUT v3.
        badNumber.map(
          (value) => () =>
            api.call('PATCH', `/v1/topics/${topic}/configs`, {
              configs: { 'retention.ms': value },
            }),
        ),
        badNumber.map(
          (value) => () =>
            api.call(
              'PUT',
              `/v3/clusters/${CLUSTER_ID}/topics/${topic}/configs/retention.bytes`,
              { value },
              JSON_TYPE,
            ),
        ),
        // Records: bad partitions, oversized values, lone surrogates in header names.
        fc
          .oneof(
            fc
              .integer({ min: 2, max: 1000 })
              .map((p) => ({ records: [{ value: 'a', partition: p }] })),
            fc
              .integer({ min: 2001, max: 5000 })
              .map((n) => ({ records: [{ value: 'v'.repeat(n) }] })),
            fc.constant({ records: [] }),
            fc.constant({ records: [{ value: 1 }] }),
          )
          .map((body) => () => api.call('POST', `/v1/topics/${topic}/records`, body)),
        fc
          .constantFrom('\\ud800', '\\udfff', 'a\\ud83d')
          .map(
            (lone) => () =>
              api.call(
                'POST',
                `/v1/topics/${topic}/records`,
                `{"records": [{"value": "a", "headers": [{"key": "h${lone}", "value": "v"}]}]}`,
                JSON_TYPE,
              ),
          ),
        fc
          .constantFrom('2021-02-30T00:00:00Z', '2021-13-01T00:00:00Z', 'yesterday', '2021-02-05')
          .map(
            (timestamp) => () =>
              api.call(
                'POST',
                `/v3/clusters/${CLUSTER_ID}/topics/${topic}/records`,
                JSON.stringify({ value: { type: 'STRING', data: 'a' }, timestamp }),
                JSON_TYPE,
              ),
          ),
        // Subscriptions: bad names and groups, unknown destination members, bad numbers.
        fc
          .oneof(
            badName.map((name) => ({ name })),
            badName.map((g) => ({ name: `s-${Date.now()}`, group: g })),
            fc.constant({
              name: `s-${Date.now()}`,
              destinationConfig: { onSuccess: { destination: 'kafka://x' } },
            }),
            fc
              .integer({ min: 10_001, max: 99_999 })
              .map((batchSize) => ({ name: 'ok', batchSize })),
          )
          .map(
            (fields) => () =>
              api.call('POST', '/v1/subscriptions', {
                topic,
                functionName: 'f',
                startingPosition: 'LATEST',
                ...fields,
              }),
          ),
        // Groups: bad member names, bad commits.
        badName
          .filter((n) => n !== '' && !n.includes('/') && n !== '.' && n !== '..')
          .map(
            (member) => () =>
              api.call(
                'POST',
                `/v1/groups/${group}/members/${encodeURIComponent(member)}/heartbeat`,
                {
                  topics: [topic],
                },
              ),
          ),
        // Confluent v2 consumer instances: settings beyond range or loose.
        fc
          .tuple(
            fc.constantFrom('auto.commit.interval.ms', 'consumer.request.timeout.ms'),
            fc.oneof(badNumber, fc.constantFrom('9007199254740992', '2147483648')),
          )
          .map(
            ([setting, value]) =>
              () =>
                api.call(
                  'POST',
                  `/consumers/${group}`,
                  JSON.stringify({ name: 'c', [setting]: value }),
                  V2,
                ),
          ),
      ];
      await fc.assert(fc.asyncProperty(fc.oneof(...families), holds), RUNS);
    },
    BOUND_MS,
  );

  it(
    'valid produce and config requests succeed',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.string({ maxLength: 50 }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 0, max: 1 }),
          fc.integer({ min: 1000, max: 10 ** 9 }),
          async (values, partition, retention) => {
            const sent = await api.call('POST', `/v1/topics/${topic}/records`, {
              records: values.map((value) => ({
                value,
                partition,
              })),
            });
            expect(sent.status, sent.text).toBe(200);
            const patched = await api.call('PATCH', `/v1/topics/${topic}/configs`, {
              configs: { 'retention.ms': String(retention) },
            });
            expect(patched.status, patched.text).toBe(200);
          },
        ),
        RUNS,
      );
    },
    BOUND_MS,
  );
});
