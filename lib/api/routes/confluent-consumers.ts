import { type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { FETCH_LIMITS } from '../../broker/fetch.js';
import { stringifyWithRaw } from '../../log/encoding.js';
import { EventLogError } from '../../log/errors.js';
import { parseJsonText, toPlainValue } from '../../log/json-text.js';
import { caller, requireAccess } from '../auth.js';
import { readBodyText, requireMediaType, validate } from '../body.js';
import { optionalInteger } from '../params.js';
import { withResponseCheck } from '../response-check.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam, withAccess } from '../route.js';
import { bodyErrorResponses } from '../schemas.js';
import { instanceConfig } from './confluent-consumer-config.js';
import { acceptedFormat, recordJson } from './confluent-consumer-records.js';
import {
  CreatedInstanceSchema,
  CreateInstanceSchema,
  GroupParams,
  InstanceParams,
  instanceErrors,
  noContent,
  OffsetsSchema,
  PartitionsSchema,
  REQUEST_TYPES,
  RecordSchema,
  RecordsQuery,
  SubscriptionSchema,
  v2Error,
} from './confluent-consumer-schemas.js';
import { V2_CONTENT_TYPE as V2, v2Json } from './confluent-v2-json.js';

/**
 * Confluent REST Proxy API v2 for consumers (kafka-rest's ConsumersResource and docs/api.rst),
 * on the consumer-group machinery. Instances live in DynamoDB, not in the process, so any
 * Lambda serves any instance and `base_uri` is just this API's own URL.
 *
 * Differences from Confluent: embedded formats are binary and json only (no schema
 * registry); subscriptions by topic_pattern are resolved when subscribing; manual partition
 * assignment (POST .../assignments) is not offered, since every partition is leased through
 * the group; GET .../offsets may have no body (HTTP clients and API Gateway drop GET bodies),
 * and then answers for every assigned partition.
 */

/** Every v2 consumer route, in the order Hono matches them and the OpenAPI document lists them. */
export function registerConfluentConsumerRoutes(app: ApiApp, api: ApiContext): void {
  registerConsumerInstanceRoutes(app, api);
  registerConsumerSubscriptionRoutes(app, api);
  registerConsumerRecordsRoute(app, api);
  registerConsumerOffsetRoutes(app, api);
  registerConsumerPositionRoutes(app, api);
  registerConsumerAssignmentsRoute(app, api);
}

/** The group and the instance name the path holds. */
const ids = (c: Context) => ({
  group: pathParam(c, 'group_name'),
  name: pathParam(c, 'instance'),
});

/** The optional body, validated against `schema`; undefined when there is none. */
const body = <S extends z.ZodType>(c: Context, api: ApiContext, schema: S, what: string) =>
  readOptionalJson(c.req.raw, api.maxBodyBytes).then((value) =>
    value === undefined ? undefined : validate(schema, value, what),
  );

const required = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new EventLogError('INVALID_REQUEST', `The ${what} needs a body`);
  return value;
};

/** POST /consumers/{group_name} (and its trailing-slash alias), DELETE .../instances/{instance}. */
function registerConsumerInstanceRoutes(app: ApiApp, api: ApiContext): void {
  const consumers = api.broker.consumers;

  const createInstance = async (c: Context) => {
    const group = pathParam(c, 'group_name');
    const config = instanceConfig(
      (await body(c, api, CreateInstanceSchema, 'consumer config')) ?? {},
    );
    const { instanceId } = await consumers.create(group, config);
    const self = new URL(c.req.url);
    const base = self.pathname.replace(/\/+$/, '');
    return v2Json(c, {
      instance_id: instanceId,
      base_uri: `${self.origin}${base}/instances/${encodeURIComponent(instanceId)}`,
    });
  };
  // Named, so the trailing-slash alias below is checked against the same declared answers.
  const createInstanceRoute: RouteConfig = {
    method: 'post',
    path: '/consumers/{group_name}',
    tags: ['Confluent v2 consumers'],
    summary: 'Create a consumer instance in a group',
    request: {
      params: GroupParams,
      body: { required: false, content: { [V2]: { schema: CreateInstanceSchema } } },
    },
    responses: {
      200: { description: 'The instance', content: { [V2]: { schema: CreatedInstanceSchema } } },
      409: v2Error('An instance of that name exists (40902)'),
      ...bodyErrorResponses,
      422: v2Error('Invalid consumer configuration (42204)'),
    },
  };
  defineRoute(app, createInstanceRoute, createInstance);
  // Confluent's own example posts to /consumers/testgroup/ (trailing slash).
  app.post(
    '/consumers/:group_name/',
    withAccess(
      'post',
      '/consumers/{group_name}',
      withResponseCheck(app, createInstanceRoute, createInstance),
    ),
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/consumers/{group_name}/instances/{instance}',
      tags: ['Confluent v2 consumers'],
      summary: 'Destroy the instance (commits what it fetched when auto-commit is on)',
      request: { params: InstanceParams },
      responses: { ...noContent, ...instanceErrors },
    },
    async (c) => {
      const { group, name } = ids(c);
      await consumers.delete(group, name);
      return c.body(null, 204);
    },
  );
}

/** POST, GET and DELETE .../instances/{instance}/subscription. */
function registerConsumerSubscriptionRoutes(app: ApiApp, api: ApiContext): void {
  const consumers = api.broker.consumers;

  defineRoute(
    app,
    {
      method: 'post',
      path: '/consumers/{group_name}/instances/{instance}/subscription',
      tags: ['Confluent v2 consumers'],
      summary: 'Subscribe to topics (replacing the subscription)',
      request: {
        params: InstanceParams,
        body: { required: true, content: { [V2]: { schema: SubscriptionSchema } } },
      },
      responses: { ...noContent, ...instanceErrors },
    },
    async (c) => {
      const { group, name } = ids(c);
      const request = required(
        await body(c, api, SubscriptionSchema, 'subscription'),
        'subscription',
      );
      if (request.topics !== undefined) await requireAccess(c, 'topic', request.topics, 'consume');
      const who = caller(c);
      await consumers.subscribe(
        group,
        name,
        {
          ...(request.topics === undefined ? {} : { topics: request.topics }),
          ...(request.topic_pattern === undefined ? {} : { topicPattern: request.topic_pattern }),
        },
        // A pattern subscribes only to the topics the caller may read, as Kafka's metadata
        // shows a consumer only the topics it is authorized for.
        async (matched) => {
          const allowed = await Promise.all(matched.map((t) => who.allows('topic', t, 'consume')));
          return matched.filter((_, i) => allowed[i]);
        },
      );
      return c.body(null, 204);
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/consumers/{group_name}/instances/{instance}/subscription',
      tags: ['Confluent v2 consumers'],
      summary: 'The subscribed topics',
      request: { params: InstanceParams },
      responses: {
        200: { description: 'Topics', content: { [V2]: { schema: SubscriptionSchema } } },
        ...instanceErrors,
      },
    },
    async (c) => {
      const { group, name } = ids(c);
      return v2Json(c, await consumers.subscription(group, name));
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/consumers/{group_name}/instances/{instance}/subscription',
      tags: ['Confluent v2 consumers'],
      summary: 'Unsubscribe (and release the partitions)',
      request: { params: InstanceParams },
      responses: { ...noContent, ...instanceErrors },
    },
    async (c) => {
      const { group, name } = ids(c);
      await consumers.unsubscribe(group, name);
      return c.body(null, 204);
    },
  );
}

/** GET .../instances/{instance}/records: the poll. */
function registerConsumerRecordsRoute(app: ApiApp, api: ApiContext): void {
  const consumers = api.broker.consumers;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/consumers/{group_name}/instances/{instance}/records',
      tags: ['Confluent v2 consumers'],
      summary: 'Poll: heartbeat, rebalance, fetch from the positions, auto-commit',
      request: { params: InstanceParams, query: RecordsQuery },
      responses: {
        200: {
          description: 'Records, round-robin over the assigned partitions',
          content: {
            'application/vnd.kafka.binary.v2+json': { schema: z.array(RecordSchema) },
            'application/vnd.kafka.json.v2+json': { schema: z.array(RecordSchema) },
          },
        },
        406: v2Error('The Accept format is not the instance’s format (40601)'),
        409: v2Error('auto.offset.reset=none and nothing committed (NO_OFFSET, 40903)'),
        ...instanceErrors,
      },
    },
    async (c) => {
      const { group, name } = ids(c);
      const query = validate(RecordsQuery, c.req.query(), 'query');
      const timeout = optionalInteger('timeout', query.timeout);
      const maxBytes = optionalInteger('max_bytes', query.max_bytes);
      const wanted = acceptedFormat(c.req.header('accept'));
      const { format, rendered } = await consumers.records(
        group,
        name,
        {
          // Confluent's -1 (the default) means the instance's own timeout.
          // Longer waits are cut to the API's limit, as Confluent caps them with its config.
          ...(timeout === undefined || timeout < 0
            ? {}
            : { timeoutMs: Math.min(timeout, api.maxWaitMs) }),
          maxBytes:
            maxBytes === undefined || maxBytes <= 0
              ? FETCH_LIMITS.maxBytes
              : Math.min(maxBytes, FETCH_LIMITS.maxBytes),
          signal: c.req.raw.signal,
          ...(wanted === undefined ? {} : { format: wanted }),
          authorizeTopics: (topics) => requireAccess(c, 'topic', topics, 'consume'),
        },
        (records, format) => stringifyWithRaw(records.map((r) => recordJson(r, format))),
      );
      return c.body(rendered, 200, {
        'content-type': `application/vnd.kafka.${format}.v2+json`,
      });
    },
  );
}

/** POST (commit) and GET (committed) .../instances/{instance}/offsets. */
function registerConsumerOffsetRoutes(app: ApiApp, api: ApiContext): void {
  const consumers = api.broker.consumers;

  defineRoute(
    app,
    {
      method: 'post',
      path: '/consumers/{group_name}/instances/{instance}/offsets',
      tags: ['Confluent v2 consumers'],
      summary: 'Commit offsets (the last record processed per partition); no body: all fetched',
      request: {
        params: InstanceParams,
        body: { required: false, content: { [V2]: { schema: OffsetsSchema } } },
      },
      responses: {
        200: {
          description: 'Committed: an empty array, as Confluent answers',
          content: { [V2]: { schema: z.array(z.object({})) } },
        },
        409: v2Error('The instance no longer holds a partition (FENCED, 40903)'),
        ...instanceErrors,
      },
    },
    async (c) => {
      const { group, name } = ids(c);
      const request = await body(c, api, OffsetsSchema, 'offsets');
      if (request === undefined) {
        const { topics } = await consumers.subscription(group, name);
        await requireAccess(c, 'topic', topics, 'consume');
      } else {
        await requireAccess(
          c,
          'topic',
          request.offsets.map((o) => o.topic),
          'consume',
        );
      }
      await consumers.commit(group, name, request?.offsets);
      return v2Json(c, []);
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/consumers/{group_name}/instances/{instance}/offsets',
      tags: ['Confluent v2 consumers'],
      summary: 'Last committed offsets of the given (or all assigned) partitions',
      request: { params: InstanceParams },
      responses: {
        200: { description: 'Committed offsets', content: { [V2]: { schema: OffsetsSchema } } },
        ...instanceErrors,
      },
    },
    async (c) => {
      const { group, name } = ids(c);
      const request = await body(c, api, PartitionsSchema, 'partitions');
      const asked =
        request === undefined
          ? (await consumers.subscription(group, name)).topics
          : request.partitions.map((p) => p.topic);
      await requireAccess(c, 'topic', asked, 'consume');
      const offsets = await consumers.committed(group, name, request?.partitions);
      return v2Json(c, { offsets: offsets.map((o) => ({ ...o, metadata: '' })) });
    },
  );
}

/** POST .../instances/{instance}/positions, .../positions/beginning and .../positions/end. */
function registerConsumerPositionRoutes(app: ApiApp, api: ApiContext): void {
  const consumers = api.broker.consumers;

  const seekRoute = (path: string, summary: string, schema: z.ZodType) => ({
    method: 'post' as const,
    path,
    tags: ['Confluent v2 consumers'],
    summary,
    request: { params: InstanceParams, body: { required: true, content: { [V2]: { schema } } } },
    responses: {
      ...noContent,
      409: v2Error('A partition not assigned to the instance (40903)'),
      ...instanceErrors,
    },
  });

  defineRoute(
    app,
    seekRoute(
      '/consumers/{group_name}/instances/{instance}/positions',
      'Set the next offset to fetch of assigned partitions',
      OffsetsSchema,
    ),
    async (c) => {
      const { group, name } = ids(c);
      const request = required(await body(c, api, OffsetsSchema, 'positions'), 'seek');
      await requireAccess(
        c,
        'topic',
        request.offsets.map((o) => o.topic),
        'consume',
      );
      await consumers.seek(group, name, request.offsets);
      return c.body(null, 204);
    },
  );

  for (const where of ['beginning', 'end'] as const) {
    defineRoute(
      app,
      seekRoute(
        `/consumers/{group_name}/instances/{instance}/positions/${where}`,
        `Seek assigned partitions to the ${where}`,
        PartitionsSchema,
      ),
      async (c) => {
        const { group, name } = ids(c);
        const request = required(await body(c, api, PartitionsSchema, 'partitions'), 'seek');
        await requireAccess(
          c,
          'topic',
          request.partitions.map((p) => p.topic),
          'consume',
        );
        await consumers.seekTo(group, name, request.partitions, where);
        return c.body(null, 204);
      },
    );
  }
}

/** GET .../instances/{instance}/assignments. */
function registerConsumerAssignmentsRoute(app: ApiApp, api: ApiContext): void {
  const consumers = api.broker.consumers;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/consumers/{group_name}/instances/{instance}/assignments',
      tags: ['Confluent v2 consumers'],
      summary: 'The partitions the instance held at its last records call',
      request: { params: InstanceParams },
      responses: {
        200: { description: 'Partitions', content: { [V2]: { schema: PartitionsSchema } } },
        ...instanceErrors,
      },
    },
    async (c) => {
      const { group, name } = ids(c);
      return v2Json(c, { partitions: await consumers.assignments(group, name) });
    },
  );
}

/** A JSON body, or undefined when there is none (Confluent treats a missing body as "all"). */
async function readOptionalJson(request: Request, limit: number): Promise<unknown> {
  if (request.body === null) return undefined;
  const text = await readBodyText(request, limit);
  if (text.trim() === '') return undefined;
  requireMediaType(request, REQUEST_TYPES);
  return toPlainValue(parseJsonText(text));
}
