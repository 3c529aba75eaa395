import { z } from '@hono/zod-openapi';
import type { HeartbeatAnswer } from '../log/consumer-group.js';
import {
  type bodyErrorResponses,
  ErrorSchema,
  type errorResponses,
  jsonContent,
} from './schemas.js';

/**
 * The request and answer shapes of our consumer-group routes (lib/api/routes/groups.ts):
 * heartbeat, commit, committed offsets, describe, list and reset. See docs/api.md
 * "Consumer groups".
 */

export const GroupParams = z.object({
  group: z.string().openapi({ param: { name: 'group', in: 'path' }, example: 'billing' }),
});

export const MemberParams = GroupParams.extend({
  member: z.string().openapi({ param: { name: 'member', in: 'path' }, example: 'worker-1' }),
});

export const ForceQuery = z.object({
  force: z.enum(['true', 'false']).optional().openapi({
    description: 'Act even while the group has live members',
  }),
});

export const DeleteOffsetsQuery = z.object({
  topic: z.string(),
  partitions: z.string().optional().openapi({ description: 'Comma-separated; default: all' }),
});

export const TopicPartition = { topic: z.string(), partition: z.number().int() };

export const HeartbeatRequestSchema = z
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

export const HeartbeatResponseSchema = z
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

export const CommitRequestSchema = z
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

/** An answer naming the group and, per partition, the `fields` given. */
function groupOffsets<Fields extends z.ZodRawShape>(fields: Fields) {
  return z.object({
    group: z.string(),
    offsets: z.array(z.object({ ...TopicPartition, ...fields })),
  });
}

export const CommitResponseSchema = groupOffsets({
  committed: z.number().int(),
  applied: z.boolean().openapi({
    description: 'False when the stored offset was already ahead: offsets never go back',
  }),
}).openapi('CommitResponse');

export const CommittedResponseSchema = groupOffsets({
  committed: z.number().int(),
  committedAt: z.number().int().nullable(),
}).openapi('CommittedOffsets');

export const GroupDescriptionSchema = z
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

export const GroupListSchema = z
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

export const ResetRequestSchema = z
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

export const ResetResponseSchema = groupOffsets({
  previous: z.number().int().nullable(),
  committed: z.number().int(),
}).openapi('ResetOffsetsResponse');

const conflictResponses = {
  409: {
    description: 'FENCED (40903): the lease was lost; GROUP_NOT_EMPTY (409): members are alive',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

/**
 * The answers of a route that a lost lease or live members can refuse (409): the 200 answer,
 * the conflict, and the route's other errors (`bodyErrorResponses` when it reads a body).
 */
export function conflictableResponses(
  schema: z.ZodType,
  description: string,
  errors: typeof errorResponses | typeof bodyErrorResponses,
) {
  return { 200: jsonContent(schema, description), ...conflictResponses, ...errors };
}
