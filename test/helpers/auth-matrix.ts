import { randomBytes } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AclBinding, Operation, ResourceType } from '../../lib/log/acl.js';

/**
 * The authorization matrix, written out by hand (not derived from lib/api/route-access.ts, so
 * that a wrong rule there fails here): for every route the router holds, a request that
 * exercises it and the ACLs a caller needs for it. Tests walk `app.routes`, so a route
 * added without a row here fails the matrix.
 */

export interface MatrixContext {
  topic: string;
  group: string;
  clusterId: string;
  /** A consumer instance in `group` subscribed to `topic`, never unsubscribed. */
  reader: string;
  /** A consumer instance in `group` that the subscription routes change. */
  instance: string;
}

export type Grant = Omit<AclBinding, 'principal'>;

export interface MatrixRequest {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  accept?: string;
}

export interface MatrixRow {
  request: (ctx: MatrixContext) => MatrixRequest;
  grants: (ctx: MatrixContext) => Grant[];
  /** public: no credentials needed; any: any authenticated caller. */
  open?: 'public' | 'any';
}

export const allow = (
  resourceType: ResourceType,
  resourceName: string,
  operation: Operation,
  patternType: 'literal' | 'prefixed' = 'literal',
): Grant => ({ resourceType, resourceName, operation, patternType, permission: 'allow' });

const rand = () => randomBytes(4).toString('hex');
const json = (method: string, path: string, body: unknown): MatrixRequest => ({
  method,
  path,
  body: JSON.stringify(body),
  contentType: 'application/json',
});
const v2 = (method: string, path: string, body?: unknown): MatrixRequest => ({
  method,
  path,
  ...(body === undefined
    ? {}
    : { body: JSON.stringify(body), contentType: 'application/vnd.kafka.v2+json' }),
});
const get = (path: string): MatrixRequest => ({ method: 'GET', path });
const del = (path: string): MatrixRequest => ({ method: 'DELETE', path });

const topicGrant = (op: Operation) => (ctx: MatrixContext) => [allow('topic', ctx.topic, op)];
const groupGrant = (op: Operation) => (ctx: MatrixContext) => [allow('group', ctx.group, op)];
const groupAndTopic = (ctx: MatrixContext) => [
  allow('group', ctx.group, 'consume'),
  allow('topic', ctx.topic, 'consume'),
];
const clusterGrant = (op: Operation) => () => [allow('cluster', 'eventlog', op)];
const newTopicGrant = () => [allow('topic', 'mx-', 'admin', 'prefixed')];

export const MATRIX: Record<string, MatrixRow> = {
  'GET /openapi.json': { request: () => get('/openapi.json'), grants: () => [], open: 'public' },
  'GET /v1/whoami': { request: () => get('/v1/whoami'), grants: () => [], open: 'any' },
  'GET /v3/clusters': { request: () => get('/v3/clusters'), grants: () => [], open: 'any' },

  'POST /v1/topics': {
    request: () => json('POST', '/v1/topics', { name: `mx-${rand()}`, partitions: 1 }),
    grants: newTopicGrant,
  },
  'GET /v1/topics': { request: () => get('/v1/topics'), grants: clusterGrant('describe') },
  'GET /v1/topics/{topic}': {
    request: (ctx) => get(`/v1/topics/${ctx.topic}`),
    grants: topicGrant('describe'),
  },
  'DELETE /v1/topics/{topic}': {
    request: () => del('/v1/topics/doomed-x'),
    grants: () => [allow('topic', 'doomed-x', 'delete')],
  },
  // A count the shared topic already has: refused (400) after the access check, nothing changes.
  'PATCH /v1/topics/{topic}': {
    request: (ctx) => json('PATCH', `/v1/topics/${ctx.topic}`, { partitions: 1 }),
    grants: topicGrant('alter'),
  },
  'GET /v1/topics/{topic}/configs': {
    request: (ctx) => get(`/v1/topics/${ctx.topic}/configs`),
    grants: topicGrant('describe'),
  },
  'PATCH /v1/topics/{topic}/configs': {
    request: (ctx) =>
      json('PATCH', `/v1/topics/${ctx.topic}/configs`, {
        configs: { 'retention.ms': '604800000' },
      }),
    grants: topicGrant('alter'),
  },
  'POST /v1/topics/{topic}/records': {
    request: (ctx) =>
      json('POST', `/v1/topics/${ctx.topic}/records`, { records: [{ value: 'x' }] }),
    grants: topicGrant('produce'),
  },
  'GET /v1/topics/{topic}/partitions/{partition}/records': {
    request: (ctx) => get(`/v1/topics/${ctx.topic}/partitions/0/records?offset=0`),
    grants: topicGrant('consume'),
  },
  'POST /v1/topics/{topic}/fetch': {
    request: (ctx) =>
      json('POST', `/v1/topics/${ctx.topic}/fetch`, { partitions: [{ partition: 0, offset: 0 }] }),
    grants: topicGrant('consume'),
  },
  'GET /v1/topics/{topic}/partitions/{partition}/offsets': {
    request: (ctx) => get(`/v1/topics/${ctx.topic}/partitions/0/offsets`),
    grants: topicGrant('consume'),
  },
  'GET /v1/topics/{topic}/offsets': {
    request: (ctx) => get(`/v1/topics/${ctx.topic}/offsets`),
    grants: topicGrant('consume'),
  },
  'POST /v1/topics/{topic}/delete-records': {
    // Offset 0 leaves the log as it is: the matrix's topic keeps its records.
    request: (ctx) =>
      json('POST', `/v1/topics/${ctx.topic}/delete-records`, {
        partitions: [{ partition: 0, offset: 0 }],
      }),
    grants: topicGrant('delete'),
  },
  'POST /v1/producers': {
    request: () => ({ method: 'POST', path: '/v1/producers' }),
    grants: topicGrant('produce'),
  },

  'POST /topics/{topic}': {
    request: (ctx) => ({
      method: 'POST',
      path: `/topics/${ctx.topic}`,
      body: '{"records":[{"value":{"a":1}}]}',
      contentType: 'application/vnd.kafka.json.v2+json',
    }),
    grants: topicGrant('produce'),
  },
  'POST /topics/{topic}/partitions/{partition}': {
    request: (ctx) => ({
      method: 'POST',
      path: `/topics/${ctx.topic}/partitions/0`,
      body: '{"records":[{"value":{"a":1}}]}',
      contentType: 'application/vnd.kafka.json.v2+json',
    }),
    grants: topicGrant('produce'),
  },
  'GET /topics': { request: () => get('/topics'), grants: clusterGrant('describe') },
  'GET /topics/{topic}': {
    request: (ctx) => get(`/topics/${ctx.topic}`),
    grants: topicGrant('describe'),
  },

  'GET /v3/clusters/{cluster_id}': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}`),
    grants: clusterGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/topics': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/topics`),
    grants: clusterGrant('describe'),
  },
  'POST /v3/clusters/{cluster_id}/topics': {
    request: (ctx) =>
      json('POST', `/v3/clusters/${ctx.clusterId}/topics`, { topic_name: `mx-${rand()}` }),
    grants: newTopicGrant,
  },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}`),
    grants: topicGrant('describe'),
  },
  'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}': {
    request: (ctx) => del(`/v3/clusters/${ctx.clusterId}/topics/doomed-x`),
    grants: () => [allow('topic', 'doomed-x', 'delete')],
  },
  'PATCH /v3/clusters/{cluster_id}/topics/{topic_name}': {
    request: (ctx) =>
      json('PATCH', `/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}`, { partitions_count: 1 }),
    grants: topicGrant('alter'),
  },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/configs': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/configs`),
    grants: topicGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/configs/retention.ms`),
    grants: topicGrant('describe'),
  },
  'PUT /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}': {
    request: (ctx) =>
      json('PUT', `/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/configs/retention.ms`, {
        value: '604800000',
      }),
    grants: topicGrant('alter'),
  },
  'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}': {
    request: (ctx) => del(`/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/configs/retention.ms`),
    grants: topicGrant('alter'),
  },
  'POST /v3/clusters/{cluster_id}/topics/{topic_name}/records': {
    request: (ctx) => ({
      method: 'POST',
      path: `/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/records`,
      body: '{"value":{"type":"STRING","data":"x"}}',
      contentType: 'application/json',
    }),
    grants: topicGrant('produce'),
  },
  'POST /v3/clusters/{cluster_id}/topics/{topic_name}/records:batch': {
    request: (ctx) => ({
      method: 'POST',
      path: `/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/records:batch`,
      body: '{"entries":[{"id":"1","value":{"type":"STRING","data":"x"}}]}',
      contentType: 'application/json',
    }),
    grants: topicGrant('produce'),
  },

  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/partitions': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/partitions`),
    grants: topicGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/topics/${ctx.topic}/partitions/0`),
    grants: topicGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/acls': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/acls?resource_type=TOPIC`),
    grants: clusterGrant('admin'),
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/consumer-groups`),
    grants: clusterGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/consumer-groups/${ctx.group}`),
    grants: groupGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/consumer-groups/${ctx.group}/consumers`),
    grants: groupGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers/{consumer_id}': {
    request: (ctx) =>
      get(`/v3/clusters/${ctx.clusterId}/consumer-groups/${ctx.group}/consumers/${ctx.reader}`),
    grants: groupGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/consumer-groups/${ctx.group}/lags`),
    grants: groupGrant('describe'),
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}':
    {
      request: (ctx) =>
        get(
          `/v3/clusters/${ctx.clusterId}/consumer-groups/${ctx.group}/lags/${ctx.topic}/partitions/0`,
        ),
      grants: groupGrant('describe'),
    },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary': {
    request: (ctx) => get(`/v3/clusters/${ctx.clusterId}/consumer-groups/${ctx.group}/lag-summary`),
    grants: groupGrant('describe'),
  },

  'POST /v1/groups/{group}/members/{member}/heartbeat': {
    request: (ctx) =>
      json('POST', `/v1/groups/${ctx.group}/members/m-${rand()}/heartbeat`, {
        topics: [ctx.topic],
      }),
    grants: groupAndTopic,
  },
  'DELETE /v1/groups/{group}/members/{member}': {
    request: (ctx) => del(`/v1/groups/${ctx.group}/members/m-${rand()}`),
    grants: groupGrant('consume'),
  },
  'POST /v1/groups/{group}/commits': {
    request: (ctx) =>
      json('POST', `/v1/groups/${ctx.group}/commits`, {
        memberId: `m-${rand()}`,
        offsets: [{ topic: ctx.topic, partition: 0, offset: 0, counter: 1 }],
      }),
    grants: groupAndTopic,
  },
  'GET /v1/groups/{group}/offsets': {
    request: (ctx) => get(`/v1/groups/${ctx.group}/offsets`),
    grants: groupGrant('describe'),
  },
  'POST /v1/groups/{group}/offsets/reset': {
    request: (ctx) =>
      json('POST', `/v1/groups/${ctx.group}/offsets/reset`, { topic: ctx.topic, to: 'earliest' }),
    grants: (ctx) => [allow('group', ctx.group, 'alter'), allow('topic', ctx.topic, 'describe')],
  },
  'DELETE /v1/groups/{group}/offsets': {
    request: (ctx) => del(`/v1/groups/${ctx.group}/offsets?topic=${ctx.topic}`),
    grants: (ctx) => [allow('group', ctx.group, 'delete'), allow('topic', ctx.topic, 'describe')],
  },
  'GET /v1/groups': { request: () => get('/v1/groups'), grants: clusterGrant('describe') },
  'GET /v1/groups/{group}': {
    request: (ctx) => get(`/v1/groups/${ctx.group}`),
    grants: groupGrant('describe'),
  },
  'DELETE /v1/groups/{group}': {
    request: () => del('/v1/groups/doomed-group'),
    grants: () => [allow('group', 'doomed-group', 'delete')],
  },

  'POST /consumers/{group_name}': {
    request: (ctx) => v2('POST', `/consumers/${ctx.group}`, { name: `i-${rand()}` }),
    grants: groupGrant('consume'),
  },
  'POST /consumers/{group_name}/': {
    request: (ctx) => v2('POST', `/consumers/${ctx.group}/`, { name: `i-${rand()}` }),
    grants: groupGrant('consume'),
  },
  'DELETE /consumers/{group_name}/instances/{instance}': {
    request: (ctx) => del(`/consumers/${ctx.group}/instances/gone-${rand()}`),
    grants: groupGrant('consume'),
  },
  'POST /consumers/{group_name}/instances/{instance}/subscription': {
    request: (ctx) =>
      v2('POST', `/consumers/${ctx.group}/instances/${ctx.instance}/subscription`, {
        topics: [ctx.topic],
      }),
    grants: groupAndTopic,
  },
  'GET /consumers/{group_name}/instances/{instance}/subscription': {
    request: (ctx) => get(`/consumers/${ctx.group}/instances/${ctx.instance}/subscription`),
    grants: groupGrant('consume'),
  },
  'DELETE /consumers/{group_name}/instances/{instance}/subscription': {
    request: (ctx) => del(`/consumers/${ctx.group}/instances/${ctx.instance}/subscription`),
    grants: groupGrant('consume'),
  },
  'GET /consumers/{group_name}/instances/{instance}/records': {
    request: (ctx) => ({
      method: 'GET',
      path: `/consumers/${ctx.group}/instances/${ctx.reader}/records?timeout=0`,
      accept: 'application/vnd.kafka.binary.v2+json',
    }),
    grants: groupAndTopic,
  },
  'POST /consumers/{group_name}/instances/{instance}/offsets': {
    request: (ctx) =>
      v2('POST', `/consumers/${ctx.group}/instances/${ctx.reader}/offsets`, {
        offsets: [{ topic: ctx.topic, partition: 0, offset: 0 }],
      }),
    grants: groupAndTopic,
  },
  'GET /consumers/{group_name}/instances/{instance}/offsets': {
    request: (ctx) => get(`/consumers/${ctx.group}/instances/${ctx.reader}/offsets`),
    grants: groupAndTopic,
  },
  'POST /consumers/{group_name}/instances/{instance}/positions': {
    request: (ctx) =>
      v2('POST', `/consumers/${ctx.group}/instances/${ctx.reader}/positions`, {
        offsets: [{ topic: ctx.topic, partition: 0, offset: 0 }],
      }),
    grants: groupAndTopic,
  },
  'POST /consumers/{group_name}/instances/{instance}/positions/beginning': {
    request: (ctx) =>
      v2('POST', `/consumers/${ctx.group}/instances/${ctx.reader}/positions/beginning`, {
        partitions: [{ topic: ctx.topic, partition: 0 }],
      }),
    grants: groupAndTopic,
  },
  'POST /consumers/{group_name}/instances/{instance}/positions/end': {
    request: (ctx) =>
      v2('POST', `/consumers/${ctx.group}/instances/${ctx.reader}/positions/end`, {
        partitions: [{ topic: ctx.topic, partition: 0 }],
      }),
    grants: groupAndTopic,
  },
  'GET /consumers/{group_name}/instances/{instance}/assignments': {
    request: (ctx) => get(`/consumers/${ctx.group}/instances/${ctx.reader}/assignments`),
    grants: groupGrant('consume'),
  },

  'POST /v1/subscriptions': {
    request: () => json('POST', '/v1/subscriptions', {}),
    grants: clusterGrant('admin'),
  },
  'GET /v1/subscriptions': {
    request: () => get('/v1/subscriptions'),
    grants: clusterGrant('admin'),
  },
  'GET /v1/subscriptions/{name}': {
    request: () => get('/v1/subscriptions/none-here'),
    grants: clusterGrant('admin'),
  },
  'PATCH /v1/subscriptions/{name}': {
    request: () => json('PATCH', '/v1/subscriptions/none-here', { batchSize: 10 }),
    grants: clusterGrant('admin'),
  },
  'DELETE /v1/subscriptions/{name}': {
    request: () => del('/v1/subscriptions/none-here'),
    grants: clusterGrant('admin'),
  },

  'GET /v1/acls': { request: () => get('/v1/acls'), grants: clusterGrant('admin') },
  'POST /v1/acls': {
    request: () =>
      json('POST', '/v1/acls', {
        principal: 'jwt:nobody',
        resourceType: 'topic',
        resourceName: 'nothing',
        operation: 'describe',
      }),
    grants: clusterGrant('admin'),
  },
  'DELETE /v1/acls/{id}': {
    request: () => del('/v1/acls/none-here'),
    grants: clusterGrant('admin'),
  },
  'GET /v1/keys': { request: () => get('/v1/keys'), grants: clusterGrant('admin') },
  'POST /v1/keys': {
    request: () => json('POST', '/v1/keys', { description: 'matrix' }),
    grants: clusterGrant('admin'),
  },
  'DELETE /v1/keys/{id}': {
    request: () => del('/v1/keys/none-here'),
    grants: clusterGrant('admin'),
  },

  'GET /v1/topics/{topic}/throughput': {
    request: (ctx) => get(`/v1/topics/${ctx.topic}/throughput`),
    grants: topicGrant('describe'),
  },
  'GET /v1/groups/{group}/lag': {
    request: (ctx) => get(`/v1/groups/${ctx.group}/lag?topics=${ctx.topic}`),
    grants: (ctx) => [allow('group', ctx.group, 'describe'), allow('topic', ctx.topic, 'describe')],
  },
  'GET /v1/subscriptions/{name}/lag': {
    request: () => get('/v1/subscriptions/none-here/lag'),
    grants: clusterGrant('admin'),
  },
  'GET /console': { request: () => get('/console'), grants: () => [], open: 'public' },
  'GET /console/': { request: () => get('/console/'), grants: () => [], open: 'public' },
  'GET /console/{file}': {
    request: () => get('/console/app.js'),
    grants: () => [],
    open: 'public',
  },
};

/** Every route the app's router holds, as `METHOD /path/{param}` (middleware left out). */
export function registeredRoutes(app: OpenAPIHono): string[] {
  const keys = app.routes
    .filter((r) => r.method !== 'ALL')
    // A parameter starts a segment: the colon of records:batch is a literal.
    .map((r) => `${r.method} ${r.path.replaceAll(/\/:([^/]+)/g, '/{$1}')}`);
  return [...new Set(keys)].sort();
}

/** Grants that match nothing the matrix asks for: an authenticated caller denied everywhere. */
export const UNRELATED_GRANTS: Grant[] = [
  allow('topic', 'zz-unrelated', 'consume'),
  allow('group', 'zz-unrelated', 'consume'),
];
