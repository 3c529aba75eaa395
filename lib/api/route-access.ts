import type { Operation, ResourceType } from '../log/acl.js';

/**
 * Who may call each route, in one table: the app refuses to register a route that has no
 * entry here (lib/api/route.ts), and test/integration/auth-matrix.test.ts walks the routes
 * the router holds and checks each against these rules with real principals.
 *
 * A rule lists the checks made from the path before the handler runs: `param` names the path
 * parameter holding the resource's name (the cluster has one name). Routes whose body names
 * resources (topic creation, subscriptions, commits, seeks, producer ids) check those names
 * in the handler too; `body` says what they check, for the docs and the matrix.
 */

export interface PathCheck {
  type: ResourceType;
  operation: Operation;
  /** The path parameter naming the resource; none for the cluster. */
  param?: string;
}

export type RouteAccess =
  /** Anyone, authenticated or not (the OpenAPI document). */
  | { public: true; body?: undefined; checks?: undefined }
  /** Any authenticated caller, plus the checks. */
  | { public?: false; checks: PathCheck[]; body?: string };

const topic = (operation: Operation, param = 'topic'): PathCheck => ({
  type: 'topic',
  operation,
  param,
});
const group = (operation: Operation, param = 'group'): PathCheck => ({
  type: 'group',
  operation,
  param,
});
const cluster = (operation: Operation): PathCheck => ({ type: 'cluster', operation });

const v3Topic = (operation: Operation) => topic(operation, 'topic_name');
const v3Group = (operation: Operation) => group(operation, 'consumer_group_id');
const instance = (body?: string): RouteAccess => ({
  checks: [group('consume', 'group_name')],
  ...(body === undefined ? {} : { body }),
});

export const ROUTE_ACCESS: Record<string, RouteAccess> = {
  'GET /openapi.json': { public: true },
  // Who am I: any authenticated caller.
  'GET /v1/whoami': { checks: [] },

  // Topics.
  'POST /v1/topics': { checks: [], body: 'admin on the topic named in the body' },
  'GET /v1/topics': { checks: [cluster('describe')] },
  'GET /v1/topics/{topic}': { checks: [topic('describe')] },
  'DELETE /v1/topics/{topic}': { checks: [topic('delete')] },
  'PATCH /v1/topics/{topic}': { checks: [topic('alter')] },
  'GET /v1/topics/{topic}/configs': { checks: [topic('describe')] },
  'PATCH /v1/topics/{topic}/configs': { checks: [topic('alter')] },

  // Records and offsets.
  'POST /v1/topics/{topic}/records': {
    checks: [topic('produce')],
    body: 'a producerId belongs to the caller',
  },
  'GET /v1/topics/{topic}/partitions/{partition}/records': { checks: [topic('consume')] },
  // Several partitions of the one topic in the path: the body names partitions, not topics.
  'POST /v1/topics/{topic}/fetch': { checks: [topic('consume')] },
  'GET /v1/topics/{topic}/partitions/{partition}/offsets': { checks: [topic('consume')] },
  'GET /v1/topics/{topic}/offsets': { checks: [topic('consume')] },
  'POST /v1/topics/{topic}/delete-records': { checks: [topic('delete')] },
  'POST /v1/producers': {
    checks: [],
    body: 'produce on some topic; a name: produce on producer {name} and the name is the caller’s; a producerId: the caller’s',
  },

  // Confluent v2 producers and metadata.
  'POST /topics/{topic}': { checks: [topic('produce')] },
  'POST /topics/{topic}/partitions/{partition}': { checks: [topic('produce')] },
  'GET /topics': { checks: [cluster('describe')] },
  'GET /topics/{topic}': { checks: [topic('describe')] },

  // Confluent v3. Clients look the cluster id up first, so listing the one cluster only
  // needs a caller; everything below it is checked.
  'GET /v3/clusters': { checks: [] },
  'GET /v3/clusters/{cluster_id}': { checks: [cluster('describe')] },
  'GET /v3/clusters/{cluster_id}/topics': { checks: [cluster('describe')] },
  'POST /v3/clusters/{cluster_id}/topics': {
    checks: [],
    body: 'admin on the topic named in the body',
  },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}': { checks: [v3Topic('describe')] },
  'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}': { checks: [v3Topic('delete')] },
  'PATCH /v3/clusters/{cluster_id}/topics/{topic_name}': { checks: [v3Topic('alter')] },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/configs': { checks: [v3Topic('describe')] },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}': {
    checks: [v3Topic('describe')],
  },
  'PUT /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}': {
    checks: [v3Topic('alter')],
  },
  'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}': {
    checks: [v3Topic('alter')],
  },
  'POST /v3/clusters/{cluster_id}/topics/{topic_name}/records': { checks: [v3Topic('produce')] },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/partitions': {
    checks: [v3Topic('describe')],
  },
  'GET /v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}': {
    checks: [v3Topic('describe')],
  },
  // The ACLs, read-only, as GET /v1/acls.
  'GET /v3/clusters/{cluster_id}/acls': { checks: [cluster('admin')] },
  // Confluent v3 consumer groups: as GET /v1/groups and /v1/groups/{group}.
  'GET /v3/clusters/{cluster_id}/consumer-groups': { checks: [cluster('describe')] },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}': {
    checks: [v3Group('describe')],
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers': {
    checks: [v3Group('describe')],
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers/{consumer_id}': {
    checks: [v3Group('describe')],
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags': {
    checks: [v3Group('describe')],
  },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}':
    { checks: [v3Group('describe')] },
  'GET /v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary': {
    checks: [v3Group('describe')],
  },
  'POST /v3/clusters/{cluster_id}/topics/{topic_name}/records:batch': {
    checks: [v3Topic('produce')],
  },

  // Consumer groups.
  'POST /v1/groups/{group}/members/{member}/heartbeat': {
    checks: [group('consume')],
    body: 'consume on every topic of the subscription',
  },
  'DELETE /v1/groups/{group}/members/{member}': { checks: [group('consume')] },
  'POST /v1/groups/{group}/commits': {
    checks: [group('consume')],
    body: 'consume on every topic committed',
  },
  'GET /v1/groups/{group}/offsets': { checks: [group('describe')] },
  'POST /v1/groups/{group}/offsets/reset': {
    checks: [group('alter')],
    body: 'describe on the topic',
  },
  'DELETE /v1/groups/{group}/offsets': {
    checks: [group('delete')],
    body: 'describe on the topic (from the query)',
  },
  'GET /v1/groups': { checks: [cluster('describe')] },
  'GET /v1/groups/{group}': { checks: [group('describe')] },
  'DELETE /v1/groups/{group}': { checks: [group('delete')] },

  // Confluent v2 consumer instances: the group from the path, topics from bodies and from
  // the instance's stored subscription (checked again at every records call).
  'POST /consumers/{group_name}': instance(),
  'DELETE /consumers/{group_name}/instances/{instance}': instance(),
  'POST /consumers/{group_name}/instances/{instance}/subscription': instance(
    'consume on each topic; a topic_pattern subscribes only to topics the caller may consume',
  ),
  'GET /consumers/{group_name}/instances/{instance}/subscription': instance(),
  'DELETE /consumers/{group_name}/instances/{instance}/subscription': instance(),
  'GET /consumers/{group_name}/instances/{instance}/records': instance(
    'consume on every subscribed topic, checked at each call',
  ),
  'POST /consumers/{group_name}/instances/{instance}/offsets': instance(
    'consume on every topic committed',
  ),
  'GET /consumers/{group_name}/instances/{instance}/offsets': instance(
    'consume on every topic asked about',
  ),
  'POST /consumers/{group_name}/instances/{instance}/positions': instance(
    'consume on every topic sought',
  ),
  'POST /consumers/{group_name}/instances/{instance}/positions/beginning': instance(
    'consume on every topic sought',
  ),
  'POST /consumers/{group_name}/instances/{instance}/positions/end': instance(
    'consume on every topic sought',
  ),
  'GET /consumers/{group_name}/instances/{instance}/assignments': instance(),

  // Lambda consumers: the dispatcher invokes functions with its own role, so only admins.
  'POST /v1/subscriptions': { checks: [cluster('admin')] },
  'GET /v1/subscriptions': { checks: [cluster('admin')] },
  'GET /v1/subscriptions/{name}': { checks: [cluster('admin')] },
  'PATCH /v1/subscriptions/{name}': { checks: [cluster('admin')] },
  'DELETE /v1/subscriptions/{name}': { checks: [cluster('admin')] },

  // Authorization itself.
  'GET /v1/acls': { checks: [cluster('admin')] },
  'POST /v1/acls': { checks: [cluster('admin')] },
  'DELETE /v1/acls/{id}': { checks: [cluster('admin')] },
  'GET /v1/keys': { checks: [cluster('admin')] },
  'POST /v1/keys': { checks: [cluster('admin')] },
  'DELETE /v1/keys/{id}': { checks: [cluster('admin')] },

  // Monitoring (the console's figures).
  'GET /v1/topics/{topic}/throughput': { checks: [topic('describe')] },
  'GET /v1/groups/{group}/lag': {
    checks: [group('describe')],
    body: 'describe on each topic named in ?topics=',
  },
  'GET /v1/subscriptions/{name}/lag': { checks: [cluster('admin')] },

  // The web console's static files: no data in them; its data calls are checked as above.
  'GET /console': { public: true },
  'GET /console/': { public: true },
  'GET /console/{file}': { public: true },
};

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}
