import type { Context } from 'hono';
import { type DataFormat, encodeData } from '../../log/encoding.js';
import { EventLogError } from '../../log/errors.js';
import { element, member } from '../../log/json-text.js';
import { configEntries } from '../../log/topic-config.js';
import { readJsonBody, requireMediaType, validate, validateJson } from '../body.js';
import {
  V2PartitionParams,
  V2ProduceRequestSchema,
  V2ProduceResponseSchema,
  V2TopicParams,
  V2TopicSchema,
} from '../confluent-schemas.js';
import { httpErrorOf } from '../error-mapping.js';
import { produceWithKey, withIdempotencyKey } from '../idempotency-key.js';
import { integer, withDefined } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
// Deliberately like confluent-v3.ts's imports: both declare produce routes from the same helpers.
import {
  bodyErrorResponses,
  errorResponses,
  IdempotencyKeyHeaders,
  jsonContent,
} from '../schemas.js';
import { V2_CONTENT_TYPE, v2Json } from './confluent-v2-json.js';

/**
 * Confluent REST Proxy API v2 for producers: POST /topics/{topic} and
 * /topics/{topic}/partitions/{partition} with the binary or JSON embedded format, and the
 * topic listing. Schema-registry formats (avro, jsonschema, protobuf) are refused with 415.
 */

/** Media types and the embedded format each means; the bare v2 type means binary, as in Confluent. */
const PRODUCE_TYPES: Record<string, DataFormat> = {
  'application/vnd.kafka.binary.v2+json': 'base64',
  'application/vnd.kafka.json.v2+json': 'json',
  [V2_CONTENT_TYPE]: 'base64',
};

const SCHEMA_TYPES = [
  'application/vnd.kafka.avro.v2+json',
  'application/vnd.kafka.jsonschema.v2+json',
  'application/vnd.kafka.protobuf.v2+json',
];

export function registerConfluentV2Routes(app: ApiApp, api: ApiContext): void {
  registerV2ProduceRoutes(app, api);
  registerV2TopicRoutes(app, api);
}

/** Produce to a topic, or to one partition of it when `partition` is given (the path's). */
async function produce(c: Context, api: ApiContext, topic: string, partition: number | undefined) {
  const type = requireMediaType(c.req.raw, [...Object.keys(PRODUCE_TYPES), ...SCHEMA_TYPES]);
  const format = PRODUCE_TYPES[type];
  if (format === undefined) {
    throw new EventLogError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${type} needs a schema registry, which this service does not have; send application/vnd.kafka.binary.v2+json or application/vnd.kafka.json.v2+json`,
      { details: { accepted: Object.keys(PRODUCE_TYPES) } },
    );
  }
  const node = await readJsonBody(c.req.raw, { accepted: [type], limit: api.maxBodyBytes });
  const request = validateJson(V2ProduceRequestSchema, node, 'produce request');
  const recordsNode = member(node, 'records');
  const records = request.records.map((record, i) => {
    const recordNode = element(recordsNode, i);
    return {
      key: encodeData(member(recordNode, 'key'), format, { record: i, field: 'key' }),
      value: encodeData(member(recordNode, 'value'), format, { record: i, field: 'value' }),
      ...withDefined('partition', partition ?? record.partition ?? undefined),
    };
  });
  const result = await produceWithKey(c, api, { topic, records });
  return v2Json(c, {
    offsets: result.records.map((r) =>
      r.error === undefined
        ? { partition: r.partition, offset: r.offset, error_code: null, error: null }
        : {
            partition: null,
            offset: null,
            error_code: httpErrorOf(r.error).errorCode,
            error: r.error.message,
          },
    ),
    key_schema_id: null,
    value_schema_id: null,
  });
}

/** The two produce routes differ only in path, params and summary. */
const produceRoute = (path: string, params: typeof V2TopicParams | typeof V2PartitionParams) => ({
  method: 'post' as const,
  path,
  tags: ['Confluent v2'],
  request: {
    params,
    headers: IdempotencyKeyHeaders,
    body: {
      required: true,
      content: {
        'application/vnd.kafka.binary.v2+json': { schema: V2ProduceRequestSchema },
        'application/vnd.kafka.json.v2+json': { schema: V2ProduceRequestSchema },
      },
    },
  },
  responses: {
    200: {
      description: 'One offset (or error) per record, in order',
      content: { [V2_CONTENT_TYPE]: { schema: V2ProduceResponseSchema } },
    },
    ...bodyErrorResponses,
  },
});

/** POST /topics/{topic} and /topics/{topic}/partitions/{partition}. */
function registerV2ProduceRoutes(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    { ...produceRoute('/topics/{topic}', V2TopicParams), summary: 'Produce records to a topic' },
    withIdempotencyKey(api, (c) => produce(c, api, c.req.param('topic') ?? '', undefined)),
  );

  defineRoute(
    app,
    {
      ...produceRoute('/topics/{topic}/partitions/{partition}', V2PartitionParams),
      summary: 'Produce records to one partition',
    },
    withIdempotencyKey(api, (c) => {
      const params = validate(V2PartitionParams, c.req.param(), 'path');
      return produce(c, api, params.topic, integer('partition', params.partition));
    }),
  );
}

/** GET /topics and /topics/{topic}. */
function registerV2TopicRoutes(app: ApiApp, { broker }: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/topics',
      tags: ['Confluent v2'],
      summary: 'List topic names',
      responses: {
        200: {
          description: 'Topic names',
          content: { [V2_CONTENT_TYPE]: { schema: V2TopicSchema.shape.name.array() } },
        },
        ...errorResponses,
      },
    },
    async (c) =>
      v2Json(
        c,
        (await broker.topics.list()).map((t) => t.name),
      ),
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/topics/{topic}',
      tags: ['Confluent v2'],
      summary: 'Get a topic',
      request: { params: V2TopicParams },
      responses: { 200: jsonContent(V2TopicSchema, 'The topic'), ...errorResponses },
    },
    async (c) => {
      const topic = await broker.topics.get(c.req.param('topic') ?? '');
      return v2Json(c, {
        name: topic.name,
        configs: Object.fromEntries(configEntries(topic.config).map((e) => [e.name, e.value])),
        // One "broker" leads every partition: the API in front of S3 and DynamoDB.
        partitions: Array.from({ length: topic.partitions }, (_, partition) => ({
          partition,
          leader: 0,
          replicas: [{ broker: 0, leader: true, in_sync: true }],
        })),
      });
    },
  );
}
