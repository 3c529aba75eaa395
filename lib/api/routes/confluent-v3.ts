import type { Context } from 'hono';
import { EventLogError } from '../../log/errors.js';
import { readJsonSequence } from '../body.js';
import {
  V3ClusterListSchema,
  V3ClusterParams,
  V3ClusterSchema,
  V3ProduceRecordSchema,
  V3ProduceResponseSchema,
  V3TopicParams,
} from '../confluent-schemas.js';
import { IDEMPOTENCY_KEY_HEADER, produceWithKey, withIdempotencyKey } from '../idempotency-key.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
// Deliberately like confluent-v2.ts's imports: both declare produce routes from the same helpers.
import {
  bodyErrorResponses,
  errorResponses,
  IdempotencyKeyHeaders,
  jsonContent,
} from '../schemas.js';
import { registerConfluentV3AclRoutes } from './confluent-v3-acls.js';
import { registerConfluentV3GroupRoutes } from './confluent-v3-groups.js';
import { checkV3Cluster, v3Base } from './confluent-v3-links.js';
import { registerConfluentV3PartitionRoutes } from './confluent-v3-partitions.js';
import {
  deliveryReport,
  isStreamingRequest,
  type ParsedV3Record,
  parseV3Record,
  registerV3BatchRoute,
  streamV3Records,
} from './confluent-v3-produce.js';
import { registerConfluentV3TopicConfigRoutes } from './confluent-v3-topic-configs.js';
import { registerConfluentV3TopicRoutes } from './confluent-v3-topics.js';

/**
 * Confluent REST Proxy API v3 (the subset producers and admin tools use): one cluster, its
 * topics, and produce. Shapes follow kafka-rest's api/v3/openapi.yaml.
 */

/** Registers every v3 route, in the order Hono matches them and the OpenAPI document lists them. */
export function registerConfluentV3Routes(app: ApiApp, api: ApiContext): void {
  registerV3ClusterRoutes(app, api);
  registerConfluentV3TopicRoutes(app, api);
  registerConfluentV3TopicConfigRoutes(app, api);
  registerV3RecordsRoute(app, api);
  registerConfluentV3PartitionRoutes(app, api);
  registerConfluentV3GroupRoutes(app, api);
  registerConfluentV3AclRoutes(app, api);

  registerV3BatchRoute(
    app,
    api,
    (c) => checkV3Cluster(c, api.clusterId),
    (c, records) => produceWithKey(c, api, { topic: c.req.param('topic_name') ?? '', records }),
  );
}

function clusterData(c: Context, clusterId: string) {
  const self = v3Base(c, clusterId);
  return {
    kind: 'KafkaCluster' as const,
    metadata: { self, resource_name: `crn:///kafka=${clusterId}` },
    cluster_id: clusterId,
    // No brokers, broker_configs or partition_reassignments: no route answers them
    // (docs/api.md), and a client following a link must not meet a 404.
    acls: { related: `${self}/acls` },
    consumer_groups: { related: `${self}/consumer-groups` },
    topics: { related: `${self}/topics` },
  };
}

/** GET /v3/clusters and /v3/clusters/{cluster_id}. */
function registerV3ClusterRoutes(app: ApiApp, { clusterId }: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters',
      tags: ['Confluent v3'],
      summary: 'List clusters (there is one)',
      responses: { 200: jsonContent(V3ClusterListSchema, 'The cluster'), ...errorResponses },
    },
    (c) =>
      c.json({
        kind: 'KafkaClusterList' as const,
        metadata: { self: `${new URL(c.req.url).origin}/v3/clusters`, next: null },
        data: [clusterData(c, clusterId)],
      }),
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}',
      tags: ['Confluent v3'],
      summary: 'Get the cluster',
      request: { params: V3ClusterParams },
      responses: { 200: jsonContent(V3ClusterSchema, 'The cluster'), ...errorResponses },
    },
    (c) => {
      checkV3Cluster(c, clusterId);
      return c.json(clusterData(c, clusterId));
    },
  );
}

/** POST .../topics/{topic_name}/records: Confluent's streaming produce. */
function registerV3RecordsRoute(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/records',
      tags: ['Confluent v3'],
      summary: 'Produce records (one JSON object per record, concatenated)',
      description:
        'All records of a request are validated first (one bad record rejects the request, nothing is written) and written as one batch. The answer is one delivery report per record, in order, each followed by CRLF, as Confluent streams them; a record whose partition failed gets its own error_code.',
      request: {
        params: V3TopicParams,
        headers: IdempotencyKeyHeaders,
        body: {
          required: true,
          content: { 'application/json': { schema: V3ProduceRecordSchema } },
        },
      },
      responses: {
        200: jsonContent(V3ProduceResponseSchema, 'Delivery reports, CRLF-separated'),
        ...bodyErrorResponses,
      },
    },
    withIdempotencyKey(api, async (c) => {
      checkV3Cluster(c, clusterId);
      const topic = c.req.param('topic_name') ?? '';
      // A key makes the request one unit (its body read whole): then it is not streamed.
      if (isStreamingRequest(c.req.raw) && c.req.header(IDEMPOTENCY_KEY_HEADER) === undefined) {
        const described = await broker.topics.get(topic);
        return streamV3Records(api, described, c.req.raw, (records) =>
          produceWithKey(c, api, { topic, records }),
        );
      }
      const nodes = await readJsonSequence(c.req.raw, {
        accepted: ['application/json'],
        limit: api.maxBodyBytes,
      });
      if (nodes.length === 0) {
        throw new EventLogError(
          'INVALID_REQUEST',
          'The request holds no records; send one JSON object per record',
        );
      }
      const parsed = nodes.map((node, i) => parseV3Record(node, i));
      const result = await produceWithKey(c, api, {
        topic,
        records: parsed.map((p) => p.record),
      });
      const reports = result.records.map((r, i) =>
        deliveryReport(clusterId, result.topic, parsed[i] as ParsedV3Record, r),
      );
      const body = reports.map((report) => `${JSON.stringify(report)}\r\n`).join('');
      return c.body(body, 200, { 'content-type': 'application/json' });
    }),
  );
}
