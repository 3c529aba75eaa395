import type { TopicDescription } from '../../broker/topics.js';
import { configEntries } from '../../log/topic-config.js';
import type { TopicRecord } from '../../store/topic-store.js';
import { requireAccess } from '../auth.js';
import { readApplicationJson, validateJson } from '../body.js';
import { withDefined } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import {
  AlterTopicConfigsRequestSchema,
  AlterTopicRequestSchema,
  bodyErrorResponses,
  CreateTopicRequestSchema,
  errorResponses,
  jsonContent,
  TopicConfigsSchema,
  TopicDescriptionSchema,
  TopicListSchema,
  TopicParams,
  TopicSchema,
} from '../schemas.js';

export function topicJson(topic: TopicRecord) {
  return {
    name: topic.name,
    topicId: topic.topicId,
    partitions: topic.partitions,
    configs: configsJson(topic),
    createdAt: topic.createdAt,
  };
}

function configsJson(topic: TopicRecord): Record<string, string> {
  return Object.fromEntries(configEntries(topic.config).map((e) => [e.name, e.value]));
}

function descriptionJson(topic: TopicDescription) {
  return { ...topicJson(topic), partitionOffsets: topic.partitionOffsets };
}

/** Every topic route, in the order the OpenAPI document lists them. */
export function registerTopicRoutes(app: ApiApp, api: ApiContext): void {
  registerCreateTopicRoute(app, api);
  registerListTopicsRoute(app, api);
  registerDescribeTopicRoute(app, api);
  registerDeleteTopicRoute(app, api);
  registerIncreasePartitionsRoute(app, api);
  registerGetTopicConfigsRoute(app, api);
  registerAlterTopicConfigsRoute(app, api);
}

/** Create a topic. */
function registerCreateTopicRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/topics',
      tags: ['Topics'],
      summary: 'Create a topic',
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: CreateTopicRequestSchema } },
        },
      },
      responses: {
        201: jsonContent(TopicSchema, 'The topic'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const input = validateJson(CreateTopicRequestSchema, node, 'topic');
      await requireAccess(c, 'topic', [input.name], 'admin');
      const topic = await api.broker.topics.create({
        name: input.name,
        partitions: input.partitions,
        ...withDefined('configs', input.configs),
      });
      return c.json(topicJson(topic), 201);
    },
  );
}

/** List topics. */
function registerListTopicsRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics',
      tags: ['Topics'],
      summary: 'List topics',
      responses: { 200: jsonContent(TopicListSchema, 'All topics, by name'), ...errorResponses },
    },
    async (c) => c.json({ topics: (await api.broker.topics.list()).map(topicJson) }),
  );
}

/** Describe a topic, with its partitions’ offsets. */
function registerDescribeTopicRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics/{topic}',
      tags: ['Topics'],
      summary: 'Describe a topic, with each partition’s log start offset and high watermark',
      request: { params: TopicParams },
      responses: { 200: jsonContent(TopicDescriptionSchema, 'The topic'), ...errorResponses },
    },
    async (c) => c.json(descriptionJson(await api.broker.topics.describe(pathParam(c, 'topic')))),
  );
}

/** Delete a topic. */
function registerDeleteTopicRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/topics/{topic}',
      tags: ['Topics'],
      summary: 'Delete a topic (its records are removed in the background)',
      request: { params: TopicParams },
      responses: { 200: jsonContent(TopicSchema, 'The deleted topic'), ...errorResponses },
    },
    async (c) => c.json(topicJson(await api.broker.topics.delete(pathParam(c, 'topic')))),
  );
}

/** Increase a topic’s partition count. */
function registerIncreasePartitionsRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'patch',
      path: '/v1/topics/{topic}',
      tags: ['Topics'],
      summary:
        "Increase a topic's partition count (Kafka's rule: only up; new keyed records remap, old records stay)",
      request: {
        params: TopicParams,
        body: {
          required: true,
          content: { 'application/json': { schema: AlterTopicRequestSchema } },
        },
      },
      responses: {
        200: jsonContent(TopicDescriptionSchema, 'The topic, as GET /v1/topics/{topic} answers'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const input = validateJson(AlterTopicRequestSchema, node, 'topic');
      const topic = await api.broker.topics.increasePartitions(
        pathParam(c, 'topic'),
        input.partitions,
      );
      return c.json(descriptionJson(await api.broker.topics.describe(topic.name)));
    },
  );
}

/** A topic’s configs. */
function registerGetTopicConfigsRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics/{topic}/configs',
      tags: ['Topics'],
      summary: 'A topic’s configs, Kafka-named',
      request: { params: TopicParams },
      responses: { 200: jsonContent(TopicConfigsSchema, 'The configs'), ...errorResponses },
    },
    async (c) => {
      const topic = await api.broker.topics.get(pathParam(c, 'topic'));
      return c.json({ topic: topic.name, configs: configsJson(topic) });
    },
  );
}

/** Change a live topic’s configs. */
function registerAlterTopicConfigsRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'patch',
      path: '/v1/topics/{topic}/configs',
      tags: ['Topics'],
      summary:
        'Change configs of a live topic (records past a shorter retention go at the next retention run)',
      request: {
        params: TopicParams,
        body: {
          required: true,
          content: { 'application/json': { schema: AlterTopicConfigsRequestSchema } },
        },
      },
      responses: {
        200: jsonContent(TopicDescriptionSchema, 'The topic, as GET /v1/topics/{topic} answers'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const input = validateJson(AlterTopicConfigsRequestSchema, node, 'configs');
      const topic = await api.broker.topics.updateConfig(pathParam(c, 'topic'), input.configs);
      return c.json(descriptionJson(await api.broker.topics.describe(topic.name)));
    },
  );
}
