import type { Context } from 'hono';
import { EventLogError } from '../../log/errors.js';
import {
  type ConfigName,
  configEntries,
  DEFAULT_TOPIC_CONFIG,
  isConfigName,
} from '../../log/topic-config.js';
import type { TopicRecord } from '../../store/topic-store.js';
import { readApplicationJson, validateJson } from '../body.js';
import {
  V3TopicConfigListSchema,
  V3TopicConfigParams,
  V3TopicConfigSchema,
  V3TopicParams,
  V3UpdateConfigRequestSchema,
} from '../confluent-schemas.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import { bodyErrorResponses, errorResponses, jsonContent } from '../schemas.js';
import { checkV3Cluster, v3Base } from './confluent-v3-links.js';

/**
 * Confluent REST Proxy v3 topic configs: list and get (read), set and reset (write). Shapes
 * follow kafka-rest's api/v3/openapi.yaml.
 */

const DEFAULT_VALUES = new Map(configEntries(DEFAULT_TOPIC_CONFIG).map((e) => [e.name, e.value]));

export function registerConfluentV3TopicConfigRoutes(app: ApiApp, api: ApiContext): void {
  registerV3TopicConfigReadRoutes(app, api);
  registerV3TopicConfigWriteRoutes(app, api);
}

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

function topicConfig(
  c: Context,
  clusterId: string,
  topic: TopicRecord,
  name: ConfigName,
  value: string,
) {
  const self = `${v3Base(c, clusterId)}/topics/${encodeURIComponent(topic.name)}/configs/${name}`;
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
}

/** GET .../topics/{topic_name}/configs and .../configs/{name}. */
function registerV3TopicConfigReadRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

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
      checkV3Cluster(c, clusterId);
      const topic = await broker.topics.get(c.req.param('topic_name') ?? '');
      return c.json({
        kind: 'KafkaTopicConfigList' as const,
        metadata: {
          self: `${v3Base(c, clusterId)}/topics/${encodeURIComponent(topic.name)}/configs`,
          next: null,
        },
        data: configEntries(topic.config).map((e) =>
          topicConfig(c, clusterId, topic, e.name, e.value),
        ),
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
      checkV3Cluster(c, clusterId);
      const topic = await broker.topics.get(c.req.param('topic_name') ?? '');
      const name = configName(c, topic.name);
      const value = configEntries(topic.config).find((e) => e.name === name)?.value ?? '';
      return c.json(topicConfig(c, clusterId, topic, name, value));
    },
  );
}

/** PUT and DELETE .../topics/{topic_name}/configs/{name}. */
function registerV3TopicConfigWriteRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

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
      checkV3Cluster(c, clusterId);
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
      checkV3Cluster(c, clusterId);
      const topicName = c.req.param('topic_name') ?? '';
      const name = configName(c, topicName);
      await broker.topics.updateConfig(topicName, { [name]: DEFAULT_VALUES.get(name) });
      return c.body(null, 204);
    },
  );
}
