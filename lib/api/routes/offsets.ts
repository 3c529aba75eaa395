import { z } from '@hono/zod-openapi';
import { mapLimited } from '../../broker/map-limited.js';
import type { OffsetSpec, PartitionOffset } from '../../broker/offsets.js';
import { readApplicationJson, validate, validateJson } from '../body.js';
import { integer } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import {
  bodyErrorResponses,
  errorResponses,
  jsonContent,
  OffsetsQuerySchema,
  PartitionOffsetResponseSchema,
  PartitionParams,
  TopicOffsetsResponseSchema,
  TopicParams,
} from '../schemas.js';

const DeleteRecordsRequestSchema = z
  .strictObject({
    partitions: z.array(
      z.strictObject({
        partition: z.number().int(),
        offset: z.number().int().openapi({ description: '-1: the high watermark' }),
      }),
    ),
  })
  .openapi('DeleteRecordsRequest', { example: { partitions: [{ partition: 0, offset: 100 }] } });

const DeleteRecordsResponseSchema = z
  .object({
    topic: z.string(),
    partitions: z.array(z.object({ partition: z.number().int(), lowWatermark: z.number().int() })),
  })
  .openapi('DeleteRecordsResponse');

/** Partitions looked up at once for a whole-topic listing. */
const CONCURRENCY = 16;

export function registerOffsetRoutes(app: ApiApp, api: ApiContext): void {
  const { broker } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics/{topic}/partitions/{partition}/offsets',
      tags: ['Offsets'],
      summary:
        'The earliest or latest offset of a partition, or the first offset at or after a time',
      request: { params: PartitionParams, query: OffsetsQuerySchema },
      responses: {
        200: jsonContent(PartitionOffsetResponseSchema, 'The offset'),
        ...errorResponses,
      },
    },
    async (c) => {
      const params = validate(PartitionParams, c.req.param(), 'path');
      const { at, spec } = offsetSpec(validate(OffsetsQuerySchema, c.req.query(), 'query').at);
      const partition = integer('partition', params.partition);
      const listed = await broker.offsets.listOffsets(params.topic, partition, spec);
      return c.json({ topic: params.topic, at, ...listedJson(listed) });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics/{topic}/offsets',
      tags: ['Offsets'],
      summary: 'The same, for every partition of a topic',
      request: { params: TopicParams, query: OffsetsQuerySchema },
      responses: {
        200: jsonContent(TopicOffsetsResponseSchema, 'One entry per partition'),
        ...errorResponses,
      },
    },
    async (c) => {
      const params = validate(TopicParams, c.req.param(), 'path');
      const { at, spec } = offsetSpec(validate(OffsetsQuerySchema, c.req.query(), 'query').at);
      const topic = await broker.topics.resolve(params.topic);
      const partitions = await mapLimited(
        Array.from({ length: topic.partitions }, (_, p) => p),
        CONCURRENCY,
        async (p) => listedJson(await broker.offsets.listOffsets(topic.name, p, spec)),
      );
      return c.json({ topic: topic.name, at, partitions });
    },
  );

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/topics/{topic}/delete-records',
      tags: ['Offsets'],
      summary: "Move partitions' log start forward (Kafka's DeleteRecords)",
      description:
        'Records below the new log start are no longer served (fetching them is OFFSET_OUT_OF_RANGE) and retention deletes the batches wholly below it. An offset past the high watermark is refused and nothing is written; -1 means the high watermark. The log start never moves back.',
      request: {
        params: TopicParams,
        body: {
          required: true,
          content: { 'application/json': { schema: DeleteRecordsRequestSchema } },
        },
      },
      responses: {
        200: jsonContent(DeleteRecordsResponseSchema, "Each partition's new log start"),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const params = validate(TopicParams, c.req.param(), 'path');
      const body = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(DeleteRecordsRequestSchema, body, 'delete-records request');
      const partitions = await broker.offsets.deleteRecords(params.topic, request.partitions);
      return c.json({ topic: params.topic, partitions });
    },
  );
}

function offsetSpec(at: string | undefined): { at: string; spec: OffsetSpec } {
  if (at === undefined || at === 'latest') return { at: 'latest', spec: 'latest' };
  if (at === 'earliest') return { at, spec: 'earliest' };
  return { at, spec: { timestamp: integer('at', at) } };
}

function listedJson(listed: PartitionOffset) {
  return {
    partition: listed.partition,
    offset: listed.offset,
    ...(listed.timestamp === undefined ? {} : { timestamp: listed.timestamp }),
    logStartOffset: listed.logStartOffset,
    highWatermark: listed.highWatermark,
  };
}
