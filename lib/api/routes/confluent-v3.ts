import type { Context } from 'hono';
import { TopicService } from '../../broker/topics.js';
import { EventLogError } from '../../log/errors.js';
import {
  type ConfigName,
  configEntries,
  DEFAULT_TOPIC_CONFIG,
  isConfigName,
} from '../../log/topic-config.js';
import type { TopicRecord } from '../../store/topic-store.js';
import { requireAccess } from '../auth.js';
import { readApplicationJson, readJsonSequence, validateJson } from '../body.js';
import {
  V3ClusterListSchema,
  V3ClusterParams,
  V3ClusterSchema,
  V3CreateTopicRequestSchema,
  V3ProduceRecordSchema,
  V3ProduceResponseSchema,
  V3TopicConfigListSchema,
  V3TopicConfigParams,
  V3TopicConfigSchema,
  V3TopicListSchema,
  V3TopicParams,
  V3TopicSchema,
  V3UpdateConfigRequestSchema,
  V3UpdatePartitionCountRequestSchema,
} from '../confluent-schemas.js';
import { IDEMPOTENCY_KEY_HEADER, produceWithKey, withIdempotencyKey } from '../idempotency-key.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
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

/**
 * Confluent REST Proxy API v3 (the subset producers and admin tools use): one cluster, its
 * topics, and produce. Shapes follow kafka-rest's api/v3/openapi.yaml.
 */

/** S3 and DynamoDB keep every write in three availability zones. */
const REPLICATION_FACTOR = 3;

const DEFAULT_VALUES = new Map(configEntries(DEFAULT_TOPIC_CONFIG).map((e) => [e.name, e.value]));

/**
 * Topic configs are not told apart from defaults when stored, so a value equal to the default
 * is reported as the default: what a client sees after DELETE either way.
 */
function configSource(name: ConfigName, value: string) {
  const fallback = DEFAULT_VALUES.get(name) ?? null;
  const isDefault = value === fallback;
  const defaultSynonym = { name, value: fallback, source: 'DEFAULT_CONFIG' };
  return {
    is_default: isDefault,
    source: isDefault ? 'DEFAULT_CONFIG' : 'DYNAMIC_TOPIC_CONFIG',
    synonyms: isDefault
      ? [defaultSynonym]
      : [{ name, value, source: 'DYNAMIC_TOPIC_CONFIG' }, defaultSynonym],
  };
}

/** Confluent answers a config the topic does not have with 404 and error_code 404. */
function configName(c: Context, topic: string): ConfigName {
  const name = c.req.param('name') ?? '';
  if (!isConfigName(name)) {
    throw new EventLogError('NOT_FOUND', `Config ${name} cannot be found for topic ${topic}.`, {
      details: { topic_name: topic, name },
    });
  }
  return name;
}

export function registerConfluentV3Routes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

  const base = (c: Context) => v3Base(c, clusterId);

  const cluster = (c: Context) => {
    const self = base(c);
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
  };

  const topicData = (c: Context, name: string, partitions: number) => {
    const self = `${base(c)}/topics/${encodeURIComponent(name)}`;
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
  };

  const topicConfig = (c: Context, topic: TopicRecord, name: ConfigName, value: string) => {
    const self = `${base(c)}/topics/${encodeURIComponent(topic.name)}/configs/${name}`;
    return {
      kind: 'KafkaTopicConfig' as const,
      metadata: {
        self,
        resource_name: `crn:///kafka=${clusterId}/topic=${topic.name}/config=${name}`,
      },
      cluster_id: clusterId,
      topic_name: topic.name,
      name,
      value,
      is_read_only: false,
      is_sensitive: false,
      ...configSource(name, value),
    };
  };

  const checkCluster = (c: Context): void => checkV3Cluster(c, clusterId);

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
        data: [cluster(c)],
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
      checkCluster(c);
      return c.json(cluster(c));
    },
  );

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
      checkCluster(c);
      const topics = await broker.topics.list();
      return c.json({
        kind: 'KafkaTopicList' as const,
        metadata: { self: `${base(c)}/topics`, next: null },
        data: topics.map((t) => topicData(c, t.name, t.partitions)),
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
      checkCluster(c);
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
        if (await exists(input.name)) {
          throw new EventLogError('TOPIC_ALREADY_EXISTS', `Topic '${input.name}' already exists.`);
        }
        return c.json(topicData(c, input.name, input.partitions), 201);
      }
      const topic = await broker.topics.create(input);
      return c.json(topicData(c, topic.name, topic.partitions), 201);
    },
  );

  const exists = async (name: string): Promise<boolean> => {
    try {
      await broker.topics.get(name);
      return true;
    } catch (error) {
      if (error instanceof EventLogError && error.code === 'UNKNOWN_TOPIC') return false;
      throw error;
    }
  };

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
      checkCluster(c);
      const topic: TopicRecord = await broker.topics.get(c.req.param('topic_name') ?? '');
      return c.json(topicData(c, topic.name, topic.partitions));
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
      checkCluster(c);
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(V3UpdatePartitionCountRequestSchema, node, 'topic');
      const topic = await broker.topics.increasePartitions(
        c.req.param('topic_name') ?? '',
        request.partitions_count,
      );
      return c.json(topicData(c, topic.name, topic.partitions));
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
      checkCluster(c);
      await broker.topics.delete(c.req.param('topic_name') ?? '');
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs',
      tags: ['Confluent v3'],
      summary: 'List the configs of a topic',
      request: { params: V3TopicParams },
      responses: { 200: jsonContent(V3TopicConfigListSchema, 'The configs'), ...errorResponses },
    },
    async (c) => {
      checkCluster(c);
      const topic = await broker.topics.get(c.req.param('topic_name') ?? '');
      return c.json({
        kind: 'KafkaTopicConfigList' as const,
        metadata: {
          self: `${base(c)}/topics/${encodeURIComponent(topic.name)}/configs`,
          next: null,
        },
        data: configEntries(topic.config).map((e) => topicConfig(c, topic, e.name, e.value)),
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}',
      tags: ['Confluent v3'],
      summary: 'Get a config of a topic',
      request: { params: V3TopicConfigParams },
      responses: {
        200: jsonContent(V3TopicConfigSchema, 'The config'),
        ...errorResponses,
        404: {
          description: 'Unknown topic (40401) or config (404)',
          content: errorResponses[404].content,
        },
      },
    },
    async (c) => {
      checkCluster(c);
      const topic = await broker.topics.get(c.req.param('topic_name') ?? '');
      const name = configName(c, topic.name);
      const value = configEntries(topic.config).find((e) => e.name === name)?.value ?? '';
      return c.json(topicConfig(c, topic, name, value));
    },
  );

  defineRoute(
    app,
    {
      method: 'put',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}',
      tags: ['Confluent v3'],
      summary: 'Set a config of a topic (a null value resets it, as DELETE does)',
      request: {
        params: V3TopicConfigParams,
        body: {
          required: true,
          content: { 'application/json': { schema: V3UpdateConfigRequestSchema } },
        },
      },
      responses: { 204: { description: 'Updated' }, ...bodyErrorResponses },
    },
    async (c) => {
      checkCluster(c);
      const topicName = c.req.param('topic_name') ?? '';
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(V3UpdateConfigRequestSchema, node, 'config');
      const name = configName(c, topicName);
      const value = request.value ?? DEFAULT_VALUES.get(name);
      await broker.topics.updateConfig(topicName, { [name]: value });
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}',
      tags: ['Confluent v3'],
      summary: 'Reset a config of a topic to its default',
      request: { params: V3TopicConfigParams },
      responses: { 204: { description: 'Reset' }, ...errorResponses },
    },
    async (c) => {
      checkCluster(c);
      const topicName = c.req.param('topic_name') ?? '';
      const name = configName(c, topicName);
      await broker.topics.updateConfig(topicName, { [name]: DEFAULT_VALUES.get(name) });
      return c.body(null, 204);
    },
  );

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
      checkCluster(c);
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
  registerConfluentV3PartitionRoutes(app, api);
  registerConfluentV3GroupRoutes(app, api);
  registerConfluentV3AclRoutes(app, api);

  registerV3BatchRoute(app, api, checkCluster, (c, records) =>
    produceWithKey(c, api, { topic: c.req.param('topic_name') ?? '', records }),
  );
}
