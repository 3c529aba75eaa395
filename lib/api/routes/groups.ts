import { z } from '@hono/zod-openapi';
import type { ResetTarget } from '../../broker/groups.js';
import type { HeartbeatAnswer } from '../../log/consumer-group.js';
import { EventLogError } from '../../log/errors.js';
import { requireAccess } from '../auth.js';
import { readApplicationJson, validate, validateJson } from '../body.js';
import {
  CommitRequestSchema,
  CommitResponseSchema,
  CommittedResponseSchema,
  conflictableResponses,
  DeleteOffsetsQuery,
  ForceQuery,
  GroupDescriptionSchema,
  GroupListSchema,
  GroupParams,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  MemberParams,
  ResetRequestSchema,
  ResetResponseSchema,
  TopicPartition,
} from '../group-schemas.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import { bodyErrorResponses, errorResponses, jsonContent } from '../schemas.js';

/**
 * Consumer groups over HTTP: members heartbeat to join and to keep their partitions (the
 * answer is their assignment with committed offsets and lease counters), commit under those
 * counters, leave; admins list, describe (with lag), reset and delete groups.
 * See docs/api.md "Consumer groups" and docs/consumer-groups.md; the shapes are in
 * ../group-schemas.ts.
 */

/** Every group route, in the order the OpenAPI document lists them. */
export function registerGroupRoutes(app: ApiApp, api: ApiContext): void {
  registerHeartbeatRoute(app, api);
  registerLeaveRoute(app, api);
  registerCommitRoute(app, api);
  registerCommittedOffsetsRoute(app, api);
  registerResetOffsetsRoute(app, api);
  registerDeleteOffsetsRoute(app, api);
  registerListGroupsRoute(app, api);
  registerDescribeGroupRoute(app, api);
  registerDeleteGroupRoute(app, api);
}

/** Join, or stay in, a group: the answer is the member’s assignment. */
function registerHeartbeatRoute(app: ApiApp, api: ApiContext): void {
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
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(HeartbeatRequestSchema, node, 'heartbeat');
      if (request.topics !== undefined) await requireAccess(c, 'topic', request.topics, 'consume');
      const beat = await api.broker.groups.heartbeat(
        pathParam(c, 'group'),
        pathParam(c, 'member'),
        {
          ...(request.topics === undefined ? {} : { topics: request.topics }),
          ...(request.sessionTimeoutMs === undefined
            ? {}
            : { sessionTimeoutMs: request.sessionTimeoutMs }),
        },
      );
      // Without topics the member keeps its stored subscription: check that one too.
      if (request.topics === undefined) {
        await requireAccess(c, 'topic', beat.member.topics, 'consume');
      }
      const { member: _member, ...answer } = beat;
      const body: HeartbeatAnswer = answer;
      return c.json(body);
    },
  );
}

/** Leave a group, releasing the member’s partitions. */
function registerLeaveRoute(app: ApiApp, api: ApiContext): void {
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
      const released = await api.broker.groups.leave(group, memberId);
      return c.json({ group, memberId, released });
    },
  );
}

/** Commit offsets under the member’s leases. */
function registerCommitRoute(app: ApiApp, api: ApiContext): void {
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
      responses: conflictableResponses(
        CommitResponseSchema,
        'The offsets stored',
        bodyErrorResponses,
      ),
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(CommitRequestSchema, node, 'commit');
      await requireAccess(
        c,
        'topic',
        request.offsets.map((o) => o.topic),
        'consume',
      );
      const offsets = await api.broker.groups.commit(group, request.memberId, request.offsets);
      return c.json({ group, offsets });
    },
  );
}

/** The committed offsets of a group. */
function registerCommittedOffsetsRoute(app: ApiApp, api: ApiContext): void {
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
      return c.json({ group, offsets: await api.broker.groups.committed(group) });
    },
  );
}

/** Reset committed offsets (Kafka’s kafka-consumer-groups --reset-offsets). */
function registerResetOffsetsRoute(app: ApiApp, api: ApiContext): void {
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
      responses: conflictableResponses(
        ResetResponseSchema,
        'Previous and new offsets',
        bodyErrorResponses,
      ),
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const query = validate(ForceQuery, c.req.query(), 'query');
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(ResetRequestSchema, node, 'reset request');
      await requireAccess(c, 'topic', [request.topic], 'describe');
      const offsets = await api.broker.groups.reset(group, {
        topic: request.topic,
        ...(request.partitions === undefined ? {} : { partitions: request.partitions }),
        target: resetTarget(request),
        force: request.force === true || query.force === 'true',
        dryRun: request.dryRun === true,
      });
      return c.json({ group, offsets });
    },
  );
}

/** Delete committed offsets of a topic (Kafka’s OffsetDelete). */
function registerDeleteOffsetsRoute(app: ApiApp, api: ApiContext): void {
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
      responses: conflictableResponses(
        z.object({ group: z.string(), deleted: z.array(z.object(TopicPartition)) }),
        'The partitions whose offsets were deleted',
        errorResponses,
      ),
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
      const deleted = await api.broker.groups.deleteOffsets(group, {
        topic: query.topic,
        ...(partitions === undefined ? {} : { partitions }),
      });
      return c.json({ group, deleted });
    },
  );
}

/** List groups. */
function registerListGroupsRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/groups',
      tags: ['Consumer groups'],
      summary: 'List groups',
      responses: { 200: jsonContent(GroupListSchema, 'Groups, by name'), ...errorResponses },
    },
    async (c) => c.json({ groups: await api.broker.groups.list() }),
  );
}

/** Describe a group, with lag. */
function registerDescribeGroupRoute(app: ApiApp, api: ApiContext): void {
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
    async (c) => c.json(await api.broker.groups.describe(pathParam(c, 'group'))),
  );
}

/** Delete a group. */
function registerDeleteGroupRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/groups/{group}',
      tags: ['Consumer groups'],
      summary: 'Delete a group (refused while members are alive, unless force=true)',
      request: { params: GroupParams, query: ForceQuery },
      responses: conflictableResponses(
        z.object({ group: z.string(), deleted: z.number().int() }),
        'Items deleted',
        errorResponses,
      ),
    },
    async (c) => {
      const group = pathParam(c, 'group');
      const query = validate(ForceQuery, c.req.query(), 'query');
      const { deleted } = await api.broker.groups.delete(group, { force: query.force === 'true' });
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
