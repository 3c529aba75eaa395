import { z } from '@hono/zod-openapi';
import type { GroupLag } from '../../broker/lag.js';
import { THROUGHPUT_LIMITS } from '../../broker/throughput.js';
import { requireAccess } from '../auth.js';
import { validate } from '../body.js';
import { optionalInteger } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import { errorResponses, jsonContent, TopicParams } from '../schemas.js';

/**
 * What the web console (lib/console) watches, and what anyone may poll: a topic's throughput
 * over a recent window and its size, and a group's or a Lambda subscription's lag per
 * partition, offsets and time. Every figure is derived from the commits and the groups'
 * committed offsets: nothing here is written on the produce path (docs/api.md "Monitoring").
 */

const L = THROUGHPUT_LIMITS;

const ThroughputQuerySchema = z.object({
  windowMs: z
    .string()
    .regex(/^\d{1,10}$/)
    .optional()
    .openapi({
      description: `How far back, ${L.windowMs.min}-${L.windowMs.max} ms; default ${L.windowMs.default}`,
      example: '300000',
    }),
  bucketMs: z
    .string()
    .regex(/^\d{1,10}$/)
    .optional()
    .openapi({
      description: `Width of each series bucket, ${L.bucketMs.min} ms to windowMs, at most ${L.maxBuckets} buckets; default ${L.bucketMs.default}`,
      example: '10000',
    }),
});

const ThroughputSchema = z
  .object({
    topic: z.string(),
    at: z.number().int().openapi({ description: 'When the figures were taken (ms)' }),
    windowMs: z.number().int(),
    bucketMs: z.number().int(),
    coveredFrom: z.number().int().openapi({
      description:
        'Start of the time the rates cover: the window’s start, or later when the window held more commits than one answer reads (2000 per commit sequence)',
    }),
    recordsPerSecond: z.number(),
    bytesPerSecond: z.number(),
    requestsPerSecond: z.number().openapi({ description: 'Produce requests (commits)' }),
    partitions: z.array(
      z.object({
        partition: z.number().int(),
        logStartOffset: z.number().int(),
        highWatermark: z.number().int(),
        records: z.number().int().openapi({ description: 'highWatermark - logStartOffset' }),
        bytes: z.number().int().openapi({
          description:
            'Published bytes kept (uncompressed key, value, headers and framing, as max.message.bytes counts)',
        }),
        bytesExact: z.boolean().openapi({
          description:
            'False: a lower bound (more commits since the last retention run than one answer reads)',
        }),
        recordsPerSecond: z.number(),
        bytesPerSecond: z.number(),
      }),
    ),
    series: z.array(
      z.object({
        start: z.number().int(),
        records: z.number().int(),
        bytes: z.number().int(),
        requests: z.number().int(),
      }),
    ),
  })
  .openapi('TopicThroughput');

const PartitionLagSchema = z.object({
  topic: z.string(),
  partition: z.number().int(),
  committed: z.number().int().nullable().openapi({ description: 'Null: nothing committed' }),
  logStartOffset: z.number().int(),
  highWatermark: z.number().int(),
  offsetLag: z.number().int().nullable().openapi({
    description: 'highWatermark - max(committed, logStartOffset)',
  }),
  timeLagMs: z.number().int().nullable().openapi({
    description:
      'Now minus the append time of the oldest record not yet committed; 0 when caught up',
  }),
});

const lagMembers = {
  at: z.number().int().openapi({ description: 'When the figures were taken (ms)' }),
  partitions: z.array(PartitionLagSchema),
  totalOffsetLag: z.number().int(),
  maxTimeLagMs: z.number().int().nullable(),
};

const GroupLagSchema = z.object({ group: z.string(), ...lagMembers }).openapi('GroupLag');

const SubscriptionLagSchema = z
  .object({ subscription: z.string(), topic: z.string(), group: z.string(), ...lagMembers })
  .openapi('SubscriptionLag');

const GroupParams = z.object({
  group: z.string().openapi({ param: { name: 'group', in: 'path' }, example: 'billing' }),
});
const NameParams = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'orders-to-billing' }),
});
const LagQuerySchema = z.object({
  topics: z.string().optional().openapi({
    description:
      'Comma-separated topics to report (every partition of each, committed or not); default: the topics the group has committed offsets for',
    example: 'orders,payments',
  }),
});

export function registerMonitoringRoutes(app: ApiApp, api: ApiContext): void {
  const { broker } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics/{topic}/throughput',
      tags: ['Monitoring'],
      summary: 'Records, bytes and produce requests per second over a recent window; sizes',
      description:
        'Derived from the commits of the window (each records its append time, and each batch its record count and bytes): no counter is written on the produce path. Partition sizes are retention’s count plus the commits after it.',
      request: { params: TopicParams, query: ThroughputQuerySchema },
      responses: { 200: jsonContent(ThroughputSchema, 'The throughput'), ...errorResponses },
    },
    async (c) => {
      const query = validate(ThroughputQuerySchema, c.req.query(), 'query');
      const windowMs = optionalInteger('windowMs', query.windowMs);
      const bucketMs = optionalInteger('bucketMs', query.bucketMs);
      return c.json(
        await broker.throughput.topic(pathParam(c, 'topic'), {
          ...(windowMs === undefined ? {} : { windowMs }),
          ...(bucketMs === undefined ? {} : { bucketMs }),
        }),
      );
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/groups/{group}/lag',
      tags: ['Monitoring'],
      summary: 'A group’s offset lag and time lag per partition',
      request: { params: GroupParams, query: LagQuerySchema },
      responses: { 200: jsonContent(GroupLagSchema, 'The lag'), ...errorResponses },
    },
    async (c) => {
      const query = validate(LagQuerySchema, c.req.query(), 'query');
      const named = query.topics?.split(',').filter((t) => t !== '');
      const topics = named === undefined || named.length === 0 ? undefined : named;
      // The query names topics, as a body would: high watermarks are the topics' to show.
      if (topics !== undefined) await requireAccess(c, 'topic', topics, 'describe');
      const lag = await broker.lag.group(
        pathParam(c, 'group'),
        topics === undefined ? {} : { topics },
      );
      return c.json(lagJson(lag));
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/subscriptions/{name}/lag',
      tags: ['Monitoring'],
      summary: 'A Lambda subscription’s lag per partition of its topic (its group’s)',
      request: { params: NameParams },
      responses: { 200: jsonContent(SubscriptionLagSchema, 'The lag'), ...errorResponses },
    },
    async (c) => {
      const subscription = await broker.subscriptions.get(pathParam(c, 'name'));
      const lag = await broker.lag.group(subscription.group, { topics: [subscription.topic] });
      return c.json({
        subscription: subscription.name,
        topic: subscription.topic,
        ...lagJson(lag),
      });
    },
  );
}

function lagJson(lag: GroupLag) {
  return {
    group: lag.group,
    at: lag.at,
    partitions: lag.partitions,
    totalOffsetLag: lag.totalOffsetLag,
    maxTimeLagMs: lag.maxTimeLagMs,
  };
}
