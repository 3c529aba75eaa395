/**
 * Which HTTP API routes each kind of caller may invoke, as IAM sees them. With IAM
 * authorization, API Gateway checks `execute-api:Invoke` on
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{request path}`, the
 * request's own path, so a grant can name a topic even though the API has one catch-all
 * route. `{topic}` and `{group}` stand for the topic and consumer group (or IAM patterns over
 * their names) of a grant; `*` matches anything, `/` included.
 *
 * Plain data, no aws-cdk-lib: test/infra checks it against the routes lib/api documents, so a
 * new route cannot ship without someone deciding who may call it.
 */

export type ApiAccess = 'produce' | 'consume' | 'admin';

export interface RoutePattern {
  /** An HTTP method, or `*` for any. */
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | '*';
  /** Starts with `/`; `{topic}`, `{group}` are replaced by the grant's, `*` is an IAM wildcard. */
  path: string;
}

/** What a grant is scoped to: a topic and a consumer group, names or IAM patterns. */
export interface GrantScope {
  topic: string;
  group: string;
}

export const ANY_SCOPE: GrantScope = { topic: '*', group: '*' };

/** Topic metadata (partition count, configs): producers and consumers of a topic both need it. */
const DESCRIBE_TOPIC: RoutePattern[] = [
  { method: 'GET', path: '/v1/topics/{topic}' },
  // Confluent REST Proxy metadata, which its clients read before producing.
  { method: 'GET', path: '/topics/{topic}' },
  { method: 'GET', path: '/v3/clusters/*/topics/{topic}' },
  // Confluent v3 clients look the cluster id up first. `GET /v3/clusters/{id}` cannot be
  // granted on its own: IAM's `*` crosses `/`, so it would grant every GET below it too.
  { method: 'GET', path: '/v3/clusters' },
];

export const API_ACCESS: Record<ApiAccess, RoutePattern[]> = {
  produce: [
    { method: 'POST', path: '/v1/topics/{topic}/records' },
    // Confluent REST Proxy v2 and v3 produce.
    { method: 'POST', path: '/topics/{topic}' },
    { method: 'POST', path: '/topics/{topic}/partitions/*' },
    { method: 'POST', path: '/v3/clusters/*/topics/{topic}/records' },
    // InitProducerId for idempotent produce; an id is not tied to a topic.
    { method: 'POST', path: '/v1/producers' },
    ...DESCRIBE_TOPIC,
  ],
  consume: [
    { method: 'GET', path: '/v1/topics/{topic}/partitions/*/records' },
    // Several partitions of the topic in one round (the SDK Consumer).
    { method: 'POST', path: '/v1/topics/{topic}/fetch' },
    { method: 'GET', path: '/v1/topics/{topic}/partitions/*/offsets' },
    { method: 'GET', path: '/v1/topics/{topic}/offsets' },
    ...DESCRIBE_TOPIC,
    // A group member's own work: heartbeats (join, leases), leaving, commits, reading the
    // group. Listing groups, deleting one and resetting its offsets are admin work.
    { method: 'POST', path: '/v1/groups/{group}/members/*/heartbeat' },
    { method: 'DELETE', path: '/v1/groups/{group}/members/*' },
    { method: 'POST', path: '/v1/groups/{group}/commits' },
    { method: 'GET', path: '/v1/groups/{group}/offsets' },
    { method: 'GET', path: '/v1/groups/{group}' },
    // Confluent REST Proxy v2 consumer instances. Their subscriptions name topics in the
    // request body, where IAM cannot see them: only the group scopes these.
    { method: 'POST', path: '/consumers/{group}' },
    { method: '*', path: '/consumers/{group}/instances/*' },
  ],
  admin: [{ method: '*', path: '/*' }],
};

/**
 * Routes only `admin` reaches, as lib/api registers them: creating, listing and deleting
 * topics, cluster details, listing and deleting groups, resetting a group's offsets, Lambda
 * consumer subscriptions. Listed so that the route check in test/infra can tell "admin only"
 * from "forgotten".
 */
export const ADMIN_ONLY_ROUTES: readonly string[] = [
  'GET /v1/topics',
  'POST /v1/topics',
  'DELETE /v1/topics/{topic}',
  'GET /topics',
  'GET /v3/clusters/{cluster_id}',
  'GET /v3/clusters/{cluster_id}/topics',
  'POST /v3/clusters/{cluster_id}/topics',
  'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}',
  // Changing a live topic's configs (retention above all) is admin work; reading them is not.
  'PATCH /v1/topics/{topic}/configs',
  'PUT /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}',
  'DELETE /v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}',
  'GET /v1/groups',
  'DELETE /v1/groups/{group}',
  'POST /v1/groups/{group}/offsets/reset',
  // A subscription makes the dispatcher invoke a function with its own role: admin work.
  'POST /v1/subscriptions',
  'GET /v1/subscriptions',
  'GET /v1/subscriptions/{name}',
  'PATCH /v1/subscriptions/{name}',
  'DELETE /v1/subscriptions/{name}',
];

/**
 * The pattern's path for one grant: `{topic}` and `{group}` filled in from the scope.
 */
export function scopedPath(pattern: RoutePattern, scope: GrantScope = ANY_SCOPE): string {
  return pattern.path.replaceAll('{topic}', scope.topic).replaceAll('{group}', scope.group);
}

/**
 * Whether a route (`GET /v1/topics/orders`) is covered by a pattern, with IAM's rules:
 * `*` matches any run of characters, `?` one character.
 */
export function routeMatches(
  pattern: RoutePattern,
  method: string,
  path: string,
  scope: GrantScope = ANY_SCOPE,
): boolean {
  if (pattern.method !== '*' && pattern.method !== method.toUpperCase()) return false;
  const glob = scopedPath(pattern, scope);
  const regex = new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );
  return regex.test(path);
}
