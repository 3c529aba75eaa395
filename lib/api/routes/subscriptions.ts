import { z } from '@hono/zod-openapi';
import {
  FUNCTION_RESPONSE_TYPES,
  STARTING_POSITIONS,
  SUBSCRIPTION_LIMITS,
  type SubscriptionInput,
} from '../../log/subscription-config.js';
import { readApplicationJson, validate, validateJson } from '../body.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import { bodyErrorResponses, ErrorSchema, errorResponses, jsonContent } from '../schemas.js';

/**
 * Lambda consumers' subscriptions over HTTP (docs/api.md "Subscriptions"). The schemas check
 * types only; the limits are the pure rules' (lib/log/subscription-config.ts), so that an
 * out-of-range value is INVALID_CONFIG naming the limit, the same answer the CLI and the CDK
 * construct give.
 */

const NameParams = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'orders-to-billing' }),
});

const L = SUBSCRIPTION_LIMITS;

const settings = {
  batchSize: z
    .number()
    .optional()
    .openapi({
      description: `Records per invocation, ${L.batchSize.min}-${L.batchSize.max}; default ${L.batchSize.default}`,
    }),
  maximumBatchingWindowInSeconds: z
    .number()
    .optional()
    .openapi({
      description: `Wait up to this long for a batch to fill, 0-${L.maximumBatchingWindowInSeconds.max} s (ms resolution); default ${L.maximumBatchingWindowInSeconds.default}`,
    }),
  maximumRetryAttempts: z
    .number()
    .optional()
    .openapi({
      description: `Retries after the first attempt, 0-${L.maximumRetryAttempts.max}, or -1 until the record expires (maximumRecordAgeInSeconds, or shortly before the topic's retention deletes it); default -1`,
    }),
  maximumRecordAgeInSeconds: z
    .number()
    .optional()
    .openapi({
      description: `Records older than this go to the on-failure destination, ${L.maximumRecordAgeInSeconds.min}-${L.maximumRecordAgeInSeconds.max} s, or -1 (no limit); default -1`,
    }),
  bisectBatchOnFunctionError: z.boolean().optional().openapi({
    description: 'Split a failing batch in two and retry each half; default false',
  }),
  functionResponseTypes: z
    .array(z.string())
    .optional()
    .openapi({
      description: `${FUNCTION_RESPONSE_TYPES.map((t) => `"${t}"`).join(', ')}: the function answers {"batchItemFailures":[{"itemIdentifier":{"topic-partition":"orders-0","offset":42}}]}`,
      example: ['ReportBatchItemFailures'],
    }),
  // Strict like the body around it: Lambda's DestinationConfig also has onSuccess, which we do
  // not support, and dropping it silently would promise deliveries that never happen.
  destinationConfig: z
    .strictObject({
      onFailure: z
        .strictObject({
          destination: z.string().openapi({
            description:
              "kafka://{topic} (a topic of this log: the records, with failure headers), an SQS queue or SNS topic ARN (Lambda's invocation record: metadata only), or an S3 bucket ARN arn:aws:s3:::{bucket} (the invocation record with the batch's payload)",
            example: 'kafka://orders.dlq',
          }),
        })
        .nullable()
        .optional(),
    })
    .optional()
    .openapi({ description: 'Where records given up on go, with why' }),
  // Checked member by member in normalizeSettings, so a bad pattern is refused with its reason
  // (field filterCriteria.filters[i].pattern) rather than as a schema mismatch.
  filterCriteria: z
    .unknown()
    .optional()
    .openapi({
      description:
        'Lambda\'s FilterCriteria: {"filters":[{"pattern":"<JSON text>"}]}, patterns over the record\'s value (up to 5 filters, 4096 characters each); a record passes when any pattern matches, the others are committed without an invocation. {} removes the filters.',
      example: { filters: [{ pattern: '{"value":{"device_ID":[{"prefix":"AB"}]}}' }] },
    }),
  enabled: z.boolean().optional().openapi({ description: 'default true' }),
};

const CreateSubscriptionSchema = z
  .strictObject({
    name: z.string().openapi({ example: 'orders-to-billing' }),
    topic: z.string().openapi({ example: 'orders' }),
    group: z.string().optional().openapi({ description: 'Default: the name' }),
    functionName: z.string().openapi({
      description:
        'A Lambda function name, ARN or partial ARN (locally: a consumer of eventlog.config.ts)',
      example: 'billing-consumer',
    }),
    startingPosition: z.string().openapi({
      description: `${STARTING_POSITIONS.join(' | ')}: where a group without committed offsets starts`,
      example: 'TRIM_HORIZON',
    }),
    startingPositionTimestamp: z
      .number()
      .optional()
      .openapi({ description: 'Epoch seconds, with AT_TIMESTAMP' }),
    ...settings,
  })
  .openapi('CreateSubscriptionRequest');

const UpdateSubscriptionSchema = z
  .strictObject({
    functionName: z.string().optional(),
    ...settings,
    // Accepted only to be refused with a reason (applyUpdate), not as an unknown member.
    topic: z.unknown().optional().openapi({ description: 'Cannot change' }),
    group: z.unknown().optional().openapi({ description: 'Cannot change' }),
    startingPosition: z.unknown().optional().openapi({ description: 'Cannot change' }),
    startingPositionTimestamp: z.unknown().optional().openapi({ description: 'Cannot change' }),
  })
  .openapi('UpdateSubscriptionRequest', {
    description:
      'The settings to change. topic, group and the starting position cannot change, as in Lambda.',
  });

const SubscriptionSchema = z
  .object({
    name: z.string(),
    topic: z.string(),
    group: z.string(),
    functionName: z.string(),
    state: z.enum(['Enabled', 'Disabled']),
    batchSize: z.number().int(),
    maximumBatchingWindowInSeconds: z.number(),
    startingPosition: z.enum(STARTING_POSITIONS),
    startingPositionTimestamp: z.number().optional(),
    maximumRetryAttempts: z.number().int(),
    maximumRecordAgeInSeconds: z.number().int(),
    bisectBatchOnFunctionError: z.boolean(),
    functionResponseTypes: z.array(z.enum(FUNCTION_RESPONSE_TYPES)),
    destinationConfig: z.object({ onFailure: z.object({ destination: z.string() }) }).optional(),
    filterCriteria: z.object({ filters: z.array(z.object({ pattern: z.string() })) }).optional(),
    uuid: z.string().openapi({
      description:
        "The subscription's id (Lambda's event source mapping UUID): the <ESM-UUID> of S3 on-failure object keys",
    }),
    enabled: z.boolean(),
    version: z.number().int(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
    failing: z
      .array(
        z.object({
          partition: z.number().int(),
          offset: z.number().int(),
          attempts: z.number().int(),
          since: z.number().int(),
          lastError: z.string(),
        }),
      )
      .openapi({ description: 'Partitions whose records are failing and being retried' }),
  })
  .openapi('Subscription');

const ListQuery = z.object({
  topic: z.string().optional().openapi({ description: 'Only subscriptions of this topic' }),
});

const conflict = {
  409: {
    description:
      'SUBSCRIPTION_ALREADY_EXISTS: the name, or the group, is taken; CONFLICT: changed concurrently',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

/** Every subscription route, in the order the OpenAPI document lists them. */
export function registerSubscriptionRoutes(app: ApiApp, api: ApiContext): void {
  registerCreateSubscriptionRoute(app, api);
  registerListSubscriptionsRoute(app, api);
  registerDescribeSubscriptionRoute(app, api);
  registerUpdateSubscriptionRoute(app, api);
  registerDeleteSubscriptionRoute(app, api);
}

/** Create a subscription (an event source mapping). */
function registerCreateSubscriptionRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/subscriptions',
      tags: ['Subscriptions'],
      summary: 'Attach a Lambda function to a topic (an event source mapping)',
      description:
        'Validates the settings against Lambda’s limits (INVALID_CONFIG names each problem and its limit), checks that the topic and the on-failure topic exist, and for LATEST and AT_TIMESTAMP sets the group’s starting offsets now.',
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: CreateSubscriptionSchema } },
        },
      },
      responses: {
        201: jsonContent(SubscriptionSchema, 'The subscription'),
        ...conflict,
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(CreateSubscriptionSchema, node, 'subscription');
      const created = await api.broker.subscriptions.create(
        request as unknown as SubscriptionInput,
      );
      return c.json(created, 201);
    },
  );
}

/** List subscriptions, optionally of one topic. */
function registerListSubscriptionsRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/subscriptions',
      tags: ['Subscriptions'],
      summary: 'List subscriptions',
      request: { query: ListQuery },
      responses: {
        200: jsonContent(
          z.object({ subscriptions: z.array(SubscriptionSchema) }),
          'Subscriptions, by name',
        ),
        ...errorResponses,
      },
    },
    async (c) => {
      const query = validate(ListQuery, c.req.query(), 'query');
      const list = await api.broker.subscriptions.list(
        query.topic === undefined ? {} : { topic: query.topic },
      );
      return c.json({ subscriptions: list });
    },
  );
}

/** Describe a subscription. */
function registerDescribeSubscriptionRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/subscriptions/{name}',
      tags: ['Subscriptions'],
      summary: 'Describe a subscription',
      request: { params: NameParams },
      responses: { 200: jsonContent(SubscriptionSchema, 'The subscription'), ...errorResponses },
    },
    async (c) => c.json(await api.broker.subscriptions.get(pathParam(c, 'name'))),
  );
}

/** Change a subscription’s function or settings. */
function registerUpdateSubscriptionRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'patch',
      path: '/v1/subscriptions/{name}',
      tags: ['Subscriptions'],
      summary: 'Change a subscription’s function or settings (enable, disable, tune)',
      request: {
        params: NameParams,
        body: {
          required: true,
          content: { 'application/json': { schema: UpdateSubscriptionSchema } },
        },
      },
      responses: {
        200: jsonContent(SubscriptionSchema, 'The subscription as changed'),
        ...conflict,
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(UpdateSubscriptionSchema, node, 'subscription update');
      const updated = await api.broker.subscriptions.update(
        pathParam(c, 'name'),
        request as Parameters<typeof api.broker.subscriptions.update>[1],
      );
      return c.json(updated);
    },
  );
}

/** Delete a subscription. */
function registerDeleteSubscriptionRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/subscriptions/{name}',
      tags: ['Subscriptions'],
      summary: 'Delete a subscription (its group and committed offsets stay)',
      request: { params: NameParams },
      responses: {
        200: jsonContent(SubscriptionSchema, 'The deleted subscription'),
        ...errorResponses,
      },
    },
    async (c) => c.json(await api.broker.subscriptions.delete(pathParam(c, 'name'))),
  );
}
