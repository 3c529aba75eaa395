import { type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type {
  InstanceConfig,
  InstanceFormat,
  InstanceRecord,
  OffsetReset,
} from '../../broker/consumer-instances.js';
import { FETCH_LIMITS } from '../../broker/fetch.js';
import { decodeData, stringifyWithRaw } from '../../log/encoding.js';
import { EventLogError, isEventLogError } from '../../log/errors.js';
import { parseJsonText, toPlainValue } from '../../log/json-text.js';
import { MAX_JAVA_INT, strictIntegerInRange } from '../../log/strict-number.js';
import { caller, requireAccess } from '../auth.js';
import { readBodyText, requireMediaType, validate } from '../body.js';
import { optionalInteger } from '../params.js';
import { withResponseCheck } from '../response-check.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam, withAccess } from '../route.js';
import { bodyErrorResponses, ErrorSchema, errorResponses } from '../schemas.js';

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

const V2 = 'application/vnd.kafka.v2+json';
const REQUEST_TYPES = [
  V2,
  'application/vnd.kafka.binary.v2+json',
  'application/vnd.kafka.json.v2+json',
  'application/vnd.kafka.avro.v2+json',
  'application/vnd.kafka.jsonschema.v2+json',
  'application/vnd.kafka.protobuf.v2+json',
  'application/vnd.kafka+json',
  'application/json',
];
const EMBEDDED = /^application\/vnd\.kafka\.(binary|json|avro|jsonschema|protobuf)\.v2\+json$/;

const GroupParams = z.object({
  group_name: z
    .string()
    .openapi({ param: { name: 'group_name', in: 'path' }, example: 'testgroup' }),
});
const InstanceParams = GroupParams.extend({
  instance: z.string().openapi({ param: { name: 'instance', in: 'path' }, example: 'my_consumer' }),
});

/** Confluent sends settings as strings ("false", "1000"); numbers and booleans are taken too. */
const Setting = z.union([z.string(), z.number(), z.boolean()]).nullable().optional();

const CreateInstanceSchema = z
  .object({
    name: z.string().nullable().optional(),
    format: z.string().nullable().optional().openapi({ description: 'binary (default) or json' }),
    'auto.offset.reset': Setting.openapi({ description: 'earliest, latest (default) or none' }),
    'auto.commit.enable': Setting.openapi({ description: 'default true' }),
    'fetch.min.bytes': Setting.openapi({ description: 'Accepted, ignored' }),
    'consumer.request.timeout.ms': Setting.openapi({
      description: 'Default wait of a records call; 1000',
    }),
    'auto.commit.interval.ms': Setting.openapi({ description: 'Ours, as Kafka names it; 5000' }),
    'session.timeout.ms': Setting.openapi({
      description: 'Ours: partitions move to others after this long without a records call; 30000',
    }),
  })
  .openapi('V2CreateConsumerRequest', {
    example: {
      name: 'my_consumer',
      format: 'binary',
      'auto.offset.reset': 'earliest',
      'auto.commit.enable': 'false',
    },
  });

const CreatedInstanceSchema = z
  .object({ instance_id: z.string(), base_uri: z.string() })
  .openapi('V2CreatedConsumer');

const PartitionSchema = z.object({ topic: z.string(), partition: z.number().int() });
const PartitionOffsetSchema = PartitionSchema.extend({
  offset: z.number().int(),
  metadata: z.string().nullable().optional(),
});

const SubscriptionSchema = z
  .object({
    topics: z.array(z.string()).optional(),
    topic_pattern: z.string().optional(),
  })
  .openapi('V2Subscription');
const OffsetsSchema = z.object({ offsets: z.array(PartitionOffsetSchema) }).openapi('V2Offsets');
const PartitionsSchema = z.object({ partitions: z.array(PartitionSchema) }).openapi('V2Partitions');

const RecordSchema = z
  .object({
    topic: z.string(),
    key: z.unknown(),
    value: z.unknown(),
    partition: z.number().int(),
    offset: z.number().int(),
  })
  .openapi('V2ConsumerRecord');

const RecordsQuery = z.object({
  timeout: z
    .string()
    .regex(/^-?[0-9]+$/)
    .optional()
    .openapi({ description: 'ms to wait for records; default the instance’s request timeout' }),
  max_bytes: z
    .string()
    .regex(/^-?[0-9]+$/)
    .optional()
    .openapi({ description: 'Soft cap on key + value bytes; default (and at most) 4 MiB' }),
});

const v2Error = (description: string) => ({
  description,
  content: { [V2]: { schema: ErrorSchema } },
});
const instanceErrors = {
  ...errorResponses,
  404: v2Error('Consumer instance not found (40403)'),
} as const;
const noContent = { 204: { description: 'Done' } } as const;

export function registerConfluentConsumerRoutes(app: ApiApp, api: ApiContext): void {
  const { broker } = api;
  const consumers = broker.consumers;
  const v2Json = (c: Context, body: unknown, status: 200 = 200) =>
    c.body(JSON.stringify(body), status, { 'content-type': V2 });
  const ids = (c: Context) => ({
    group: pathParam(c, 'group_name'),
    name: pathParam(c, 'instance'),
  });
  const body = <S extends z.ZodType>(c: Context, schema: S, what: string) =>
    readOptionalJson(c.req.raw, api.maxBodyBytes).then((value) =>
      value === undefined ? undefined : validate(schema, value, what),
    );
  const required = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new EventLogError('INVALID_REQUEST', `The ${what} needs a body`);
    return value;
  };

  const createInstance = async (c: Context) => {
    const group = pathParam(c, 'group_name');
    const config = instanceConfig((await body(c, CreateInstanceSchema, 'consumer config')) ?? {});
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
      const request = required(await body(c, SubscriptionSchema, 'subscription'), 'subscription');
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
      const request = await body(c, OffsetsSchema, 'offsets');
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
      const request = await body(c, PartitionsSchema, 'partitions');
      const asked =
        request === undefined
          ? (await consumers.subscription(group, name)).topics
          : request.partitions.map((p) => p.topic);
      await requireAccess(c, 'topic', asked, 'consume');
      const offsets = await consumers.committed(group, name, request?.partitions);
      return v2Json(c, { offsets: offsets.map((o) => ({ ...o, metadata: '' })) });
    },
  );

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
      const request = required(await body(c, OffsetsSchema, 'positions'), 'seek');
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
        const request = required(await body(c, PartitionsSchema, 'partitions'), 'seek');
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

function instanceConfig(body: z.output<typeof CreateInstanceSchema>): InstanceConfig {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  const invalid = (message: string) => new EventLogError('INVALID_CONSUMER_CONFIG', message);
  // Confluent reads these with Kafka's ConfigDef: decimal digits only, and a value that does
  // not fit (Java's int, 2^31 - 1) is a bad config, not a storage failure.
  const integer = (name: string, value: unknown): number | undefined => {
    if (value === null || value === undefined) return undefined;
    const parsed = strictIntegerInRange(name, value, 0, MAX_JAVA_INT);
    if (!parsed.ok) throw invalid(parsed.message);
    return parsed.value;
  };
  const format = text(body.format)?.toLowerCase();
  const reset = text(body['auto.offset.reset'])?.toLowerCase();
  // Kafka's old names for the two ends.
  const resetNames: Record<string, OffsetReset> = {
    earliest: 'earliest',
    smallest: 'earliest',
    latest: 'latest',
    largest: 'latest',
    none: 'none',
  };
  if (reset !== undefined && resetNames[reset] === undefined) {
    throw invalid(`auto.offset.reset must be earliest, latest or none, got "${reset}"`);
  }
  const autoCommit = text(body['auto.commit.enable'])?.toLowerCase();
  if (autoCommit !== undefined && autoCommit !== 'true' && autoCommit !== 'false') {
    throw invalid(`auto.commit.enable must be true or false, got "${autoCommit}"`);
  }
  const config: InstanceConfig = {};
  const name = text(body.name);
  if (name !== undefined) config.name = name;
  if (format !== undefined) config.format = format as InstanceFormat;
  if (reset !== undefined) config.autoOffsetReset = resetNames[reset] as OffsetReset;
  if (autoCommit !== undefined) config.autoCommit = autoCommit === 'true';
  const interval = integer('auto.commit.interval.ms', body['auto.commit.interval.ms']);
  if (interval !== undefined) config.autoCommitIntervalMs = interval;
  const session = integer('session.timeout.ms', body['session.timeout.ms']);
  if (session !== undefined) config.sessionTimeoutMs = session;
  const requestTimeout = integer(
    'consumer.request.timeout.ms',
    body['consumer.request.timeout.ms'],
  );
  if (requestTimeout !== undefined) config.requestTimeoutMs = requestTimeout;
  integer('fetch.min.bytes', body['fetch.min.bytes']);
  return config;
}

/** The embedded format the Accept header asks for, if it names one. */
function acceptedFormat(accept: string | undefined): string | undefined {
  if (accept === undefined) return undefined;
  for (const part of accept.split(',')) {
    const type = part.split(';', 1)[0]?.trim().toLowerCase() ?? '';
    const match = EMBEDDED.exec(type);
    if (match !== null) return match[1];
  }
  return undefined;
}

function recordJson(record: InstanceRecord, format: InstanceFormat) {
  const show = (bytes: Buffer | null, field: 'key' | 'value') => {
    try {
      return decodeData(bytes, format === 'binary' ? 'base64' : 'json', {
        offset: record.offset,
        field,
      });
    } catch (error) {
      if (!isEventLogError(error)) throw error;
      throw new EventLogError(
        'INVALID_REQUEST',
        `The ${field} of ${record.topic}/${record.partition} at offset ${record.offset} is not JSON; read it with a binary consumer instance`,
        { details: { topic: record.topic, partition: record.partition, offset: record.offset } },
      );
    }
  };
  return {
    topic: record.topic,
    key: show(record.key, 'key'),
    value: show(record.value, 'value'),
    partition: record.partition,
    offset: record.offset,
  };
}
