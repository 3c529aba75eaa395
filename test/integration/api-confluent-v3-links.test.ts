import type { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { type Broker, createBroker, createStores } from '../../lib/broker/broker.js';
import {
  createResources,
  deleteResources,
  localResourceNames,
} from '../../lib/local/create-resources.js';
import type { ResourceNames } from '../../lib/store/resources.js';
import { testClients, uniqueName } from '../helpers/aws.js';

/**
 * Every link a Confluent v3 answer gives resolves: starting from the cluster, the crawler
 * follows each `related` and `self` link of every answer (and of every item of a list),
 * recursively, and each must answer 200. Tables and bucket of its own, so that the lists hold
 * exactly what this test made.
 */

const CLUSTER_ID = 'links-cluster';
const ORIGIN = 'http://localhost';
let names: ResourceNames;
let broker: Broker;
let app: OpenAPIHono;
let topic: string;
const group = 'billing';
const idle = 'audit';
const member = 'member-1';

beforeAll(async () => {
  names = localResourceNames(uniqueName('links').toLowerCase().slice(0, 40));
  await createResources(testClients(), names);
  broker = createBroker(createStores(testClients(), names));
  app = createApp({ broker, clusterId: CLUSTER_ID, logError: () => {}, validateResponses: true });
  topic = 'orders.v1';
  await broker.topics.create({ name: topic, partitions: 3 });
  await broker.produce.produce({
    topic,
    records: [0, 0, 0, 0, 1, 1, 2].map((partition, i) => ({
      partition,
      value: Buffer.from(`r${i}`),
    })),
  });
  // A group with a live member that owns every partition and committed some of them.
  const joined = await broker.groups.heartbeat(group, member, { topics: [topic] });
  const lease = (p: number) => joined.assignment.find((a) => a.partition === p)?.counter ?? 0;
  await broker.groups.commit(group, member, [
    { topic, partition: 0, offset: 1, counter: lease(0) },
    { topic, partition: 1, offset: 2, counter: lease(1) },
  ]);
  // A group with commits and no member left (Kafka's EMPTY).
  await broker.groups.reset(idle, { topic, partitions: [2], target: { to: 'earliest' } });
  // ACLs, searched through v3 (each binding's self link is the search that finds it).
  await broker.auth.addAcl({
    principal: 'key:abc',
    resourceType: 'topic',
    patternType: 'prefixed',
    resourceName: 'orders.',
    operation: 'consume',
    permission: 'allow',
  });
  await broker.auth.addAcl({
    principal: 'jwt:mallory',
    resourceType: 'group',
    patternType: 'literal',
    resourceName: '*',
    operation: 'admin',
    permission: 'deny',
  });
});

afterAll(async () => {
  if (names !== undefined) await deleteResources(testClients(), names);
});

async function get(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await app.request(url.startsWith('http') ? url : `${ORIGIN}${url}`);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Every `related` and `self` link anywhere in an answer. */
function links(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) links(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      if ((key === 'related' || key === 'self') && typeof member === 'string') found.push(member);
      else links(member, found);
    }
  }
  return found;
}

describe('Confluent v3 links', () => {
  it('resolves every related and self link, from the cluster down', async () => {
    const start = `${ORIGIN}/v3/clusters/${CLUSTER_ID}`;
    const seen = new Map<string, { status: number; kind: unknown }>();
    const answers = new Map<string, Record<string, unknown>>();
    // Confluent links no answer to a group's lags (its consumer assignments would, and
    // there are none here): they are a second starting point.
    const queue = [
      start,
      `${start}/consumer-groups/${group}/lags`,
      `${start}/consumer-groups/${idle}/lags`,
    ];
    while (queue.length > 0) {
      const url = queue.shift() as string;
      if (seen.has(url)) continue;
      const { status, json } = await get(url);
      seen.set(url, { status, kind: json['kind'] });
      answers.set(url, json);
      for (const link of links(json)) if (!seen.has(link)) queue.push(link);
    }
    const failed = [...seen].filter(([, r]) => r.status !== 200);
    expect(failed).toEqual([]);
    // A binding's self link is a search: its answer is a KafkaAclList.
    const kinds = new Set([...seen.values()].map((r) => r.kind));
    expect([...kinds].sort()).toEqual(
      [
        'KafkaAclList',
        'KafkaCluster',
        'KafkaConsumer',
        'KafkaConsumerGroup',
        'KafkaConsumerGroupLagSummary',
        'KafkaConsumerGroupList',
        'KafkaConsumerLag',
        'KafkaConsumerLagList',
        'KafkaConsumerList',
        'KafkaPartition',
        'KafkaPartitionList',
        'KafkaTopic',
        'KafkaTopicConfig',
        'KafkaTopicConfigList',
        'KafkaTopicList',
      ].sort(),
    );
    // Nothing is linked that no route answers.
    const cluster = answers.get(start) as Record<string, unknown>;
    for (const gone of ['brokers', 'broker_configs', 'partition_reassignments']) {
      expect(cluster).not.toHaveProperty(gone);
    }
  });

  it('answers groups, consumers and lags in Confluent’s shapes', async () => {
    const base = `/v3/clusters/${CLUSTER_ID}/consumer-groups`;
    const listed = await get(base);
    expect(
      (listed.json['data'] as { consumer_group_id: string; state: string }[]).map((g) => [
        g.consumer_group_id,
        g.state,
      ]),
    ).toEqual([
      [idle, 'EMPTY'],
      [group, 'STABLE'],
    ]);

    const lags = await get(`${base}/${group}/lags`);
    expect(lags.json['data']).toEqual([
      expect.objectContaining({
        kind: 'KafkaConsumerLag',
        consumer_group_id: group,
        topic_name: topic,
        partition_id: 0,
        current_offset: 1,
        log_end_offset: 4,
        lag: 3,
        consumer_id: member,
        instance_id: null,
        client_id: member,
      }),
      expect.objectContaining({ partition_id: 1, current_offset: 2, log_end_offset: 2, lag: 0 }),
    ]);

    const summary = await get(`${base}/${group}/lag-summary`);
    expect(summary.json).toMatchObject({
      kind: 'KafkaConsumerGroupLagSummary',
      cluster_id: CLUSTER_ID,
      consumer_group_id: group,
      max_lag_consumer_id: member,
      max_lag_client_id: member,
      max_lag_instance_id: null,
      max_lag_topic_name: topic,
      max_lag_partition_id: 0,
      max_lag: 3,
      total_lag: 3,
      max_lag_consumer: { related: `${ORIGIN}${base}/${group}/consumers/${member}` },
      max_lag_partition: {
        related: `${ORIGIN}/v3/clusters/${CLUSTER_ID}/topics/${topic}/partitions/0`,
      },
    });

    // The idle group's partition has no live owner: no consumer link, empty ids.
    const idleSummary = await get(`${base}/${idle}/lag-summary`);
    expect(idleSummary.json).toMatchObject({ max_lag_consumer_id: '', max_lag: 1, total_lag: 1 });
    expect(idleSummary.json).not.toHaveProperty('max_lag_consumer');

    const consumers = await get(`${base}/${group}/consumers`);
    expect(consumers.json['data']).toEqual([
      expect.objectContaining({ kind: 'KafkaConsumer', consumer_id: member, client_id: member }),
    ]);
  });

  it('searches the ACLs with Confluent’s filters and Kafka’s names', async () => {
    const search = async (query: string) => {
      const answer = await get(`/v3/clusters/${CLUSTER_ID}/acls${query}`);
      expect(answer.status, query).toBe(200);
      return answer.json['data'] as Record<string, unknown>[];
    };
    expect(await search('')).toHaveLength(2);
    expect(await search('?resource_type=TOPIC&operation=READ')).toEqual([
      {
        kind: 'KafkaAcl',
        metadata: {
          self: `${ORIGIN}/v3/clusters/${CLUSTER_ID}/acls?resource_type=TOPIC&resource_name=orders.&pattern_type=PREFIXED&principal=key%3Aabc&host=*&operation=READ&permission=ALLOW`,
        },
        cluster_id: CLUSTER_ID,
        resource_type: 'TOPIC',
        resource_name: 'orders.',
        pattern_type: 'PREFIXED',
        principal: 'key:abc',
        host: '*',
        operation: 'READ',
        permission: 'ALLOW',
      },
    ]);
    // MATCH: the bindings that apply to a name, through a prefix or a wildcard.
    expect(
      (await search('?resource_type=TOPIC&pattern_type=MATCH&resource_name=orders.v1')).length,
    ).toBe(1);
    expect(
      (await search('?resource_type=GROUP&pattern_type=MATCH&resource_name=billing')).map((a) => [
        a['operation'],
        a['permission'],
      ]),
    ).toEqual([['ALL', 'DENY']]);
    expect(await search('?permission=DENY&resource_type=TOPIC')).toEqual([]);
    const bad = await get(`/v3/clusters/${CLUSTER_ID}/acls?operation=EAT`);
    expect(bad.status).toBe(400);
  });

  it('answers 404 for what does not exist, with Confluent’s error codes', async () => {
    const base = `/v3/clusters/${CLUSTER_ID}`;
    const cases: [string, number][] = [
      [`${base}/consumer-groups/nobody`, 404],
      [`${base}/consumer-groups/${group}/consumers/nobody`, 404],
      [`${base}/consumer-groups/${group}/lags/${topic}/partitions/2`, 404],
      [`${base}/topics/${topic}/partitions/3`, 40402],
      [`${base}/topics/missing/partitions`, 40401],
      [`/v3/clusters/other/consumer-groups`, 404],
    ];
    for (const [path, code] of cases) {
      const answer = await get(path);
      expect(answer.status, path).toBe(404);
      expect(answer.json['error_code'], path).toBe(code);
    }
  });
});
