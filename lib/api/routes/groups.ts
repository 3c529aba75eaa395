import { z } from '@hono/zod-openapi';
import type { ResetTarget } from '../../broker/groups.js';
import type { HeartbeatAnswer } from '../../log/consumer-group.js';
import { EventLogError } from '../../log/errors.js';
import { requireAccess } from '../auth.js';
import { readApplicationJson, validate, validateJson } from '../body.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import { bodyErrorResponses, ErrorSchema, errorResponses, jsonContent } from '../schemas.js';

/**
 * Consumer groups over HTTP: members heartbeat to join and to keep their partitions (the
 * answer is their assignment with committed offsets and lease counters), commit under those
 * counters, leave; admins list, describe (with lag), reset and delete groups.
 * See docs/api.md "Consumer groups" and docs/consumer-groups.md.
 */

const GroupParams = z.object({
  group: z.string().openapi({ param: { name: 'group', in: 'path' }, example: 'billing' }),
});

const MemberParams = GroupParams.extend({
  member: z.string().openapi({ param: { name: 'member', in: 'path' }, example: 'worker-1' }),
});

const ForceQuery = z.object({
  force: z.enum(['true', 'false']).optional().openapi({
    description: 'Act even while the group has live members',
  }),
});

const DeleteOffsetsQuery = z.object({
  topic: z.string(),
  partitions: z.string().optional().openapi({ description: 'Comma-separated; default: all' }),
});

const TopicPartition = { topic: z.string(), partition: z.number().int() };

const HeartbeatRequestSchema = z
  .strictObject({
    topics: z
      .array(z.string())
      .max(1000)
      .optional()
      .openapi({
        description: 'The subscription; omit to keep the current one',
        example: ['orders'],
      }),
    sessionTimeoutMs: z.number().int().optional().openapi({
      description:
        'Leases move to other members when no heartbeat came for this long; 1000-300000, default 10000',
      example: 10000,
    }),
  })
  .openapi('HeartbeatRequest');

const AssignedPartitionSchema = z
  .object({
    ...TopicPartition,
    counter: z.number().int().openapi({ description: 'Lease counter: send it with commits' }),
    committed: z.number().int().nullable().openapi({
      description: 'Next offset to read; null when the group never committed one',
    }),
  })
  .openapi('AssignedPartition');

const HeartbeatResponseSchema = z
  .object({
    group: z.string(),
    memberId: z.string(),
    sessionTimeoutMs: z.number().int(),
    heartbeatIntervalMs: z.number().int(),
    expiresInMs: z.number().int(),
    members: z.number().int(),
    assignment: z.array(AssignedPartitionSchema),
    unknownTopics: z.array(z.string()),
  })
  .openapi('Heartbeat') satisfies z.ZodType<HeartbeatAnswer>;

const CommitRequestSchema = z
  .strictObject({
    memberId: z.string(),
    offsets: z
      .array(
        z.strictObject({
          ...TopicPartition,
          offset: z
            .number()
            .int()
            .openapi({ description: 'Next offset to read (last processed + 1)' }),
          counter: z
            .number()
            .int()
            .openapi({ description: 'The lease counter from the heartbeat' }),
        }),
      )
      .min(1)
      .max(10_000),
  })
  .openapi('CommitRequest');

const CommitResponseSchema = z
  .object({
    group: z.string(),
    offsets: z.array(
      z.object({
        ...TopicPartition,
        committed: z.number().int(),
        applied: z.boolean().openapi({
          description: 'False when the stored offset was already ahead: offsets never go back',
        }),
      }),
    ),
  })
  .openapi('CommitResponse');

const CommittedResponseSchema = z
  .object({
    group: z.string(),
    offsets: z.array(
      z.object({
        ...TopicPartition,
        committed: z.number().int(),
        committedAt: z.number().int().nullable(),
      }),
    ),
  })
  .openapi('CommittedOffsets');

const GroupDescriptionSchema = z
  .object({
    group: z.string(),
    state: z.enum(['Stable', 'Empty']),
    members: z.array(
      z.object({
        memberId: z.string(),
        kind: z.enum(['member', 'instance']),
        topics: z.array(z.string()),
        sessionTimeoutMs: z.number().int(),
        expiresInMs: z.number().int(),
        joinedAt: z.number().int(),
        partitions: z.array(z.object(TopicPartition)),
      }),
    ),
    partitions: z.array(
      z.object({
        ...TopicPartition,
        owner: z.string().nullable(),
        counter: z.number().int().nullable(),
        committed: z.number().int().nullable(),
        logStartOffset: z.number().int().nullable(),
        highWatermark: z.number().int().nullable(),
        lag: z.number().int().nullable(),
      }),
    ),
    totalLag: z.number().int(),
  })
  .openapi('GroupDescription');

const GroupListSchema = z
  .object({
    groups: z.array(
      z.object({
        group: z.string(),
        state: z.enum(['Stable', 'Empty']),
        members: z.number().int(),
      }),
    ),
  })
  .openapi('GroupList');

const ResetRequestSchema = z
  .strictObject({
    topic: z.string(),
    partitions: z.array(z.number().int()).optional().openapi({ description: 'Default: all' }),
    to: z.enum(['earliest', 'latest', 'timestamp', 'offset', 'shift', 'offsets']),
    timestamp: z.number().int().optional().openapi({ description: 'With to=timestamp, ms' }),
    offset: z.number().int().optional().openapi({ description: 'With to=offset' }),
    shift: z.number().int().optional().openapi({
      description: "With to=shift: moves each committed offset by this (Kafka's --shift-by)",
    }),
    offsets: z
      .array(z.strictObject({ partition: z.number().int(), offset: z.number().int() }))
      .optional()
      .openapi({ description: "With to=offsets: an offset per partition (Kafka's --from-file)" }),
    force: z.boolean().optional(),
    dryRun: z.boolean().optional().openapi({
      description: "Answer the new offsets without writing them (Kafka's --dry-run)",
    }),
  })
  .openapi('ResetOffsetsRequest', { example: { topic: 'orders', to: 'earliest' } });

const ResetResponseSchema = z
  .object({
    group: z.string(),
    offsets: z.array(
      z.object({
        ...TopicPartition,
        previous: z.number().int().nullable(),
        committed: z.number().int(),
      }),
    ),
  })
  .openapi('ResetOffsetsResponse');

const conflictResponses = {
  409: {
    description: 'FENCED (40903): the lease was lost; GROUP_NOT_EMPTY (409): members are alive',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

export function registerGroupRoutes(app: ApiApp, api: ApiContext): void {
  const { broker } = api;
  const json = (c: { req: { raw: Request } }) => readApplicationJson(c.req.raw, api.maxBodyBytes);

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/groups/{group}/members/{member}/heartbeat',
      tags: ['Consumer groups'],
      summary: 'Join, or stay in, a group; answers the member’s partitions',
      request: {
        params: MemberParams,
        body: {
          required: true,
          content: { 'application/json': { schema: HeartbeatRequestSchema } },
        },
      },
      responses: {
        200: jsonContent(HeartbeatResponseSchema, 'The member’s assignment'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const request = validateJson(HeartbeatRequestSchema, await json(c), 'heartbeat');
      if (request.topics !== undefined) await requireAccess(c, 'topic', request.topics, 'consume');
      const beat = await broker.groups.heartbeat(pathParam(c, 'group'), pathParam(c, 'member'), {
        ...(request.topics === undefined ? {} : { topics: request.topics }),
        ...(request.sessionTimeoutMs === undefined
          ? {}
          : { sessionTimeoutMs: request.sessionTimeoutMs }),
      });
      // Without topics the member keeps its stored subscription: check that one too.
      if (request.topics === undefined) {
        await requireAccess(c, 'topic', beat.member.topics, 'consume');
      }
      const { member: _member, ...answer } = beat;
      const body: HeartbeatAnswer = answer;
      return c.json(body);
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/groups/{group}/members/{member}',
      tags: ['Consumer groups'],
      summary: 'Leave: release the member’s partitions so others take them at once',
      request: { params: MemberParams },
      responses: {
        200: jsonContent(
          z.object({
            group: z.string(),
            memberId: z.string(),
            released: z.array(z.object(TopicPartition)),
          }),
          'The partitions released',
        ),
        ...errorResponses,
      },
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const memberId = pathParam(c, 'member');
      const released = await broker.groups.leave(group, memberId);
      return c.json({ group, memberId, released });
    },
  );

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/groups/{group}/commits',
      tags: ['Consumer groups'],
      summary: 'Commit offsets under the member’s leases',
      description:
        'Each offset is written only if the member still holds the partition under that lease counter, and only if it does not move the committed offset back. Partitions the member lost make the answer FENCED (409, 40903); the others are committed.',
      request: {
        params: GroupParams,
        body: { required: true, content: { 'application/json': { schema: CommitRequestSchema } } },
      },
      responses: {
        200: jsonContent(CommitResponseSchema, 'The offsets stored'),
        ...conflictResponses,
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const request = validateJson(CommitRequestSchema, await json(c), 'commit');
      await requireAccess(
        c,
        'topic',
        request.offsets.map((o) => o.topic),
        'consume',
      );
      const offsets = await broker.groups.commit(group, request.memberId, request.offsets);
      return c.json({ group, offsets });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/groups/{group}/offsets',
      tags: ['Consumer groups'],
      summary: 'The committed offsets of a group',
      request: { params: GroupParams },
      responses: {
        200: jsonContent(CommittedResponseSchema, 'Committed offsets'),
        ...errorResponses,
      },
    },
    async (c) => {
      const group = pathParam(c, 'group');
      return c.json({ group, offsets: await broker.groups.committed(group) });
    },
  );

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/groups/{group}/offsets/reset',
      tags: ['Consumer groups'],
      summary: 'Reset committed offsets of a topic (earliest, latest, a time, an offset)',
      description:
        'Only while the group has no live members (as Kafka requires), unless force=true: then members lose the leases of the reset partitions and start again from the new offsets.',
      request: {
        params: GroupParams,
        query: ForceQuery,
        body: { required: true, content: { 'application/json': { schema: ResetRequestSchema } } },
      },
      responses: {
        200: jsonContent(ResetResponseSchema, 'Previous and new offsets'),
        ...conflictResponses,
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const query = validate(ForceQuery, c.req.query(), 'query');
      const request = validateJson(ResetRequestSchema, await json(c), 'reset request');
      await requireAccess(c, 'topic', [request.topic], 'describe');
      const offsets = await broker.groups.reset(group, {
        topic: request.topic,
        ...(request.partitions === undefined ? {} : { partitions: request.partitions }),
        target: resetTarget(request),
        force: request.force === true || query.force === 'true',
        dryRun: request.dryRun === true,
      });
      return c.json({ group, offsets });
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/groups/{group}/offsets',
      tags: ['Consumer groups'],
      summary: "Delete committed offsets of a topic (Kafka's OffsetDelete)",
      description:
        'The group starts those partitions by its offset reset policy again. Refused while a live member holds one of them.',
      request: { params: GroupParams, query: DeleteOffsetsQuery },
      responses: {
        200: jsonContent(
          z.object({ group: z.string(), deleted: z.array(z.object(TopicPartition)) }),
          'The partitions whose offsets were deleted',
        ),
        ...conflictResponses,
        ...errorResponses,
      },
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const query = validate(DeleteOffsetsQuery, c.req.query(), 'query');
      await requireAccess(c, 'topic', [query.topic], 'describe');
      const partitions = query.partitions?.split(',').map((p) => {
        if (!/^\d+$/.test(p)) {
          throw new EventLogError(
            'INVALID_REQUEST',
            `partitions: "${p}" is not a partition number`,
          );
        }
        return Number(p);
      });
      const deleted = await broker.groups.deleteOffsets(group, {
        topic: query.topic,
        ...(partitions === undefined ? {} : { partitions }),
      });
      return c.json({ group, deleted });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/groups',
      tags: ['Consumer groups'],
      summary: 'List groups',
      responses: { 200: jsonContent(GroupListSchema, 'Groups, by name'), ...errorResponses },
    },
    async (c) => c.json({ groups: await broker.groups.list() }),
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/groups/{group}',
      tags: ['Consumer groups'],
      summary: 'Describe a group: members, owners, committed offsets, log end offsets, lag',
      request: { params: GroupParams },
      responses: { 200: jsonContent(GroupDescriptionSchema, 'The group'), ...errorResponses },
    },
    async (c) => c.json(await broker.groups.describe(pathParam(c, 'group'))),
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/groups/{group}',
      tags: ['Consumer groups'],
      summary: 'Delete a group (refused while members are alive, unless force=true)',
      request: { params: GroupParams, query: ForceQuery },
      responses: {
        200: jsonContent(
          z.object({ group: z.string(), deleted: z.number().int() }),
          'Items deleted',
        ),
        ...conflictResponses,
        ...errorResponses,
      },
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const query = validate(ForceQuery, c.req.query(), 'query');
      const { deleted } = await broker.groups.delete(group, { force: query.force === 'true' });
      return c.json({ group, deleted });
    },
  );
}

function resetTarget(request: z.output<typeof ResetRequestSchema>): ResetTarget {
  switch (request.to) {
    case 'earliest':
    case 'latest':
      return { to: request.to };
    case 'timestamp':
      if (request.timestamp === undefined) {
        throw new EventLogError('INVALID_REQUEST', 'to=timestamp needs a timestamp (ms)');
      }
      return { to: 'timestamp', timestamp: request.timestamp };
    case 'offset':
      if (request.offset === undefined) {
        throw new EventLogError('INVALID_REQUEST', 'to=offset needs an offset');
      }
      return { to: 'offset', offset: request.offset };
    case 'shift':
      if (request.shift === undefined) {
        throw new EventLogError('INVALID_REQUEST', 'to=shift needs a shift');
      }
      return { to: 'shift', by: request.shift };
    case 'offsets': {
      if (request.offsets === undefined || request.offsets.length === 0) {
        throw new EventLogError('INVALID_REQUEST', 'to=offsets needs offsets');
      }
      const offsets = new Map<number, number>();
      for (const o of request.offsets) {
        if (offsets.has(o.partition)) {
          throw new EventLogError('INVALID_REQUEST', `offsets: partition ${o.partition} twice`);
        }
        offsets.set(o.partition, o.offset);
      }
      return { to: 'offsets', offsets };
    }
  }
}
