import type { Context } from 'hono';
import { TopicService } from '../../broker/topics.js';
import { EventLogError } from '../../log/errors.js';
import type { TopicRecord } from '../../store/topic-store.js';
import { requireAccess } from '../auth.js';
import { readApplicationJson, validateJson } from '../body.js';
import {
  V3ClusterParams,
  V3CreateTopicRequestSchema,
  V3TopicListSchema,
  V3TopicParams,
  V3TopicSchema,
  V3UpdatePartitionCountRequestSchema,
} from '../confluent-schemas.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import { bodyErrorResponses, errorResponses, jsonContent } from '../schemas.js';
import { checkV3Cluster, v3Base } from './confluent-v3-links.js';

/**
 * Confluent REST Proxy v3 topics: list and create (the collection), get, grow and delete (one
 * topic). Shapes follow kafka-rest's api/v3/openapi.yaml.
 */

/** S3 and DynamoDB keep every write in three availability zones. */
const REPLICATION_FACTOR = 3;

export function registerConfluentV3TopicRoutes(app: ApiApp, api: ApiContext): void {
  registerV3TopicCollectionRoutes(app, api);
  registerV3TopicItemRoutes(app, api);
}

function topicData(c: Context, clusterId: string, name: string, partitions: number) {
  const self = `${v3Base(c, clusterId)}/topics/${encodeURIComponent(name)}`;
  return {
    kind: 'KafkaTopic' as const,
    metadata: { self, resource_name: `crn:///kafka=${clusterId}/topic=${name}` },
    cluster_id: clusterId,
    topic_name: name,
    is_internal: false,
    replication_factor: REPLICATION_FACTOR,
    partitions_count: partitions,
    partitions: { related: `${self}/partitions` },
    configs: { related: `${self}/configs` },
  };
}

async function topicExists(broker: ApiContext['broker'], name: string): Promise<boolean> {
  try {
    await broker.topics.get(name);
    return true;
  } catch (error) {
    if (error instanceof EventLogError && error.code === 'UNKNOWN_TOPIC') return false;
    throw error;
  }
}

/** GET and POST /v3/clusters/{cluster_id}/topics. */
function registerV3TopicCollectionRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics',
      tags: ['Confluent v3'],
      summary: 'List topics',
      request: { params: V3ClusterParams },
      responses: { 200: jsonContent(V3TopicListSchema, 'The topics'), ...errorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      const topics = await broker.topics.list();
      return c.json({
        kind: 'KafkaTopicList' as const,
        metadata: { self: `${v3Base(c, clusterId)}/topics`, next: null },
        data: topics.map((t) => topicData(c, clusterId, t.name, t.partitions)),
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v3/clusters/{cluster_id}/topics',
      tags: ['Confluent v3'],
      summary: 'Create a topic',
      request: {
        params: V3ClusterParams,
        body: {
          required: true,
          content: { 'application/json': { schema: V3CreateTopicRequestSchema } },
        },
      },
      responses: { 201: jsonContent(V3TopicSchema, 'The created topic'), ...bodyErrorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(V3CreateTopicRequestSchema, node, 'topic');
      await requireAccess(c, 'topic', [request.topic_name], 'admin');
      const input = {
        name: request.topic_name,
        partitions: request.partitions_count ?? 1,
        configs: Object.fromEntries((request.configs ?? []).map((e) => [e.name, e.value])),
      };
      if (request.validate_only === true) {
        TopicService.validateCreate(input);
        if (await topicExists(broker, input.name)) {
          throw new EventLogError('TOPIC_ALREADY_EXISTS', `Topic '${input.name}' already exists.`);
        }
        return c.json(topicData(c, clusterId, input.name, input.partitions), 201);
      }
      const topic = await broker.topics.create(input);
      return c.json(topicData(c, clusterId, topic.name, topic.partitions), 201);
    },
  );
}

/** GET, PATCH and DELETE /v3/clusters/{cluster_id}/topics/{topic_name}. */
function registerV3TopicItemRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}',
      tags: ['Confluent v3'],
      summary: 'Get a topic',
      request: { params: V3TopicParams },
      responses: { 200: jsonContent(V3TopicSchema, 'The topic'), ...errorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      const topic: TopicRecord = await broker.topics.get(c.req.param('topic_name') ?? '');
      return c.json(topicData(c, clusterId, topic.name, topic.partitions));
    },
  );

  defineRoute(
    app,
    {
      method: 'patch',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}',
      tags: ['Confluent v3'],
      summary: 'Update the partition count of a topic (only up; new keyed records remap)',
      request: {
        params: V3TopicParams,
        body: {
          required: true,
          content: { 'application/json': { schema: V3UpdatePartitionCountRequestSchema } },
        },
      },
      responses: { 200: jsonContent(V3TopicSchema, 'The topic'), ...bodyErrorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(V3UpdatePartitionCountRequestSchema, node, 'topic');
      const topic = await broker.topics.increasePartitions(
        c.req.param('topic_name') ?? '',
        request.partitions_count,
      );
      return c.json(topicData(c, clusterId, topic.name, topic.partitions));
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}',
      tags: ['Confluent v3'],
      summary: 'Delete a topic',
      request: { params: V3TopicParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      await broker.topics.delete(c.req.param('topic_name') ?? '');
      return c.body(null, 204);
    },
  );
}
