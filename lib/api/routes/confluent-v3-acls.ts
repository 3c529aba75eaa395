import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AclBinding, Operation, PatternType, ResourceType } from '../../log/acl.js';
import { EventLogError } from '../../log/errors.js';
import { CollectionMetadata, ResourceMetadata, V3ClusterParams } from '../confluent-schemas.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import { errorResponses, jsonContent } from '../schemas.js';
import { checkV3Cluster, v3Base } from './confluent-v3-links.js';

/**
 * Confluent REST Proxy v3 ACL search (`GET /v3/clusters/{id}/acls`), read-only, over the log's
 * own ACL bindings (lib/log/acl.ts, written with `/v1/acls` or the CDK grants). Kafka's names
 * for our resource types and operations; principals as the log writes them (`iam:…`, `key:…`,
 * `jwt:…`, `*`), host always `*` (bindings here do not name hosts).
 */

const RESOURCE_TYPES: Record<ResourceType, string> = {
  topic: 'TOPIC',
  group: 'GROUP',
  cluster: 'CLUSTER',
  // Named idempotent producers: Kafka's closest resource.
  producer: 'TRANSACTIONAL_ID',
};

const OPERATIONS: Record<Operation, string> = {
  produce: 'WRITE',
  consume: 'READ',
  describe: 'DESCRIBE',
  alter: 'ALTER',
  delete: 'DELETE',
  admin: 'ALL',
};

const PATTERN_TYPES: Record<PatternType, string> = { literal: 'LITERAL', prefixed: 'PREFIXED' };

const V3AclSchema = z
  .object({
    kind: z.literal('KafkaAcl'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    resource_type: z.enum(['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID']),
    resource_name: z.string(),
    pattern_type: z.enum(['LITERAL', 'PREFIXED']),
    principal: z.string(),
    host: z.literal('*'),
    operation: z.enum(['WRITE', 'READ', 'DESCRIBE', 'ALTER', 'DELETE', 'ALL']),
    permission: z.enum(['ALLOW', 'DENY']),
  })
  .openapi('V3Acl');

const V3AclListSchema = z
  .object({
    kind: z.literal('KafkaAclList'),
    metadata: CollectionMetadata,
    data: z.array(V3AclSchema),
  })
  .openapi('V3AclList');

const filter = (description: string) =>
  z
    .string()
    .optional()
    .openapi({ description, param: { in: 'query' } });

const V3AclQuery = z.object({
  resource_type: filter('ANY (default), TOPIC, GROUP, CLUSTER or TRANSACTIONAL_ID'),
  resource_name: filter('With pattern_type MATCH: bindings that apply to this name'),
  pattern_type: filter('ANY (default), MATCH, LITERAL or PREFIXED'),
  principal: filter('Exactly as stored: iam:…, key:…, jwt:… or *'),
  host: filter('Only * matches'),
  operation: filter('ANY (default), READ, WRITE, DESCRIBE, ALTER, DELETE or ALL'),
  permission: filter('ANY (default), ALLOW or DENY'),
});

export function registerConfluentV3AclRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/acls',
      tags: ['Confluent v3'],
      summary: 'Search ACL bindings (read-only; /v1/acls changes them)',
      request: { params: V3ClusterParams, query: V3AclQuery },
      responses: { 200: jsonContent(V3AclListSchema, 'The matching bindings'), ...errorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      const matches = searchOf(c);
      const base = `${v3Base(c, clusterId)}/acls`;
      const acls = (await broker.auth.listAcls()).filter(matches);
      return c.json({
        kind: 'KafkaAclList' as const,
        metadata: { self: `${base}${new URL(c.req.url).search}`, next: null },
        data: acls.map((acl) => {
          const data = {
            resource_type: RESOURCE_TYPES[acl.resourceType],
            resource_name: acl.resourceName,
            pattern_type: PATTERN_TYPES[acl.patternType],
            principal: acl.principal,
            host: '*',
            operation: OPERATIONS[acl.operation],
            permission: acl.permission.toUpperCase(),
          };
          // Confluent's self link of a binding is the search that finds exactly it.
          const self = `${base}?${new URLSearchParams(data).toString()}`;
          return { kind: 'KafkaAcl' as const, metadata: { self }, cluster_id: clusterId, ...data };
        }),
      });
    },
  );
}

/** The query's filters as one predicate; an unknown value of a closed list is a 400. */
function searchOf(c: Context): (acl: AclBinding) => boolean {
  const query = (name: string) => c.req.query(name);
  const pick = <T extends string>(name: string, names: Record<T, string>): T | undefined => {
    const given = query(name)?.toUpperCase();
    if (given === undefined || given === 'ANY') return undefined;
    const found = (Object.keys(names) as T[]).find((key) => names[key] === given);
    if (found === undefined) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `${name} must be ANY or one of ${Object.values(names).join(', ')}, got ${query(name)}`,
        { details: { [name]: query(name) } },
      );
    }
    return found;
  };
  const type = pick('resource_type', RESOURCE_TYPES);
  const operation = pick('operation', OPERATIONS);
  const permission = pick('permission', { allow: 'ALLOW', deny: 'DENY' });
  const patternGiven = query('pattern_type')?.toUpperCase();
  const match = patternGiven === 'MATCH';
  const pattern = match ? undefined : pick('pattern_type', PATTERN_TYPES);
  const name = query('resource_name');
  const principal = query('principal');
  const host = query('host');
  return (acl) =>
    (type === undefined || acl.resourceType === type) &&
    (operation === undefined || acl.operation === operation) &&
    (permission === undefined || acl.permission === permission) &&
    (pattern === undefined || acl.patternType === pattern) &&
    (principal === undefined || acl.principal === principal) &&
    (host === undefined || host === '*') &&
    (name === undefined || nameMatches(acl, name, match));
}

/** Exact name, or with MATCH every binding that applies to the name (Kafka's MATCH filter). */
function nameMatches(acl: AclBinding, name: string, match: boolean): boolean {
  if (!match) return acl.resourceName === name;
  if (acl.patternType === 'prefixed') return name.startsWith(acl.resourceName);
  return acl.resourceName === name || acl.resourceName === '*';
}
