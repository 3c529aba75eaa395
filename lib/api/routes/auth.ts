import { z } from '@hono/zod-openapi';
import { OPERATIONS, PATTERN_TYPES, PERMISSIONS, RESOURCE_TYPES } from '../../log/acl.js';
import { caller } from '../auth.js';
import { readApplicationJson, validateJson } from '../body.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import { bodyErrorResponses, errorResponses, jsonContent } from '../schemas.js';

/**
 * Administration of authorization: ACL bindings and API keys (cluster admins only), and
 * `whoami` for any caller. See docs/security.md.
 */

const AclBindingSchema = z
  .strictObject({
    principal: z.string().openapi({ example: 'iam:arn:aws:iam::123456789012:role/Billing' }),
    resourceType: z.enum(RESOURCE_TYPES),
    patternType: z.enum(PATTERN_TYPES).optional().openapi({ description: 'Default literal' }),
    resourceName: z.string().openapi({ example: 'orders' }),
    operation: z.enum(OPERATIONS),
    permission: z.enum(PERMISSIONS).optional().openapi({ description: 'Default allow' }),
  })
  .openapi('AclBinding');

const StoredAclSchema = AclBindingSchema.extend({
  id: z.string(),
  source: z.string(),
  createdAt: z.number().int(),
}).openapi('Acl');

const KeyGrantSchema = AclBindingSchema.omit({ principal: true });

const CreateKeyRequestSchema = z
  .strictObject({
    description: z.string().max(256).optional(),
    expiresInSeconds: z.number().int().positive().optional(),
    acls: z.array(KeyGrantSchema).max(100).optional().openapi({
      description: 'ACLs to create for the new key’s principal',
    }),
  })
  .openapi('CreateKeyRequest');

const CreatedKeySchema = z
  .object({
    id: z.string(),
    principal: z.string(),
    key: z.string().openapi({ description: 'Shown once: it is stored only as a hash' }),
    expiresAt: z.number().int().optional(),
  })
  .openapi('CreatedKey');

const KeySchema = z
  .object({
    id: z.string(),
    description: z.string(),
    createdAt: z.number().int(),
    createdBy: z.string(),
    expiresAt: z.number().int().optional(),
    revokedAt: z.number().int().optional(),
  })
  .openapi('ApiKey');

const IdParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

/** The OpenAPI tag of every route here. */
const tags = ['Authorization'];

/** Every authorization route, in the order the OpenAPI document lists them. */
export function registerAuthRoutes(app: ApiApp, api: ApiContext): void {
  registerWhoamiRoute(app);
  registerAclRoutes(app, api);
  registerKeyRoutes(app, api);
}

/** `whoami`: any caller may ask who it was authenticated as. */
function registerWhoamiRoute(app: ApiApp): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/whoami',
      tags,
      summary: 'The principal this request was authenticated as',
      responses: {
        200: jsonContent(z.object({ principal: z.string() }), 'The caller'),
        ...errorResponses,
      },
    },
    (c) => c.json({ principal: caller(c).principal ?? '' }),
  );
}

/** ACL bindings: list, add, remove. */
function registerAclRoutes(app: ApiApp, api: ApiContext): void {
  const auth = api.broker.auth;
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/acls',
      tags,
      summary: 'List ACL bindings',
      responses: {
        200: jsonContent(z.object({ acls: z.array(StoredAclSchema) }), 'Every binding'),
        ...errorResponses,
      },
    },
    async (c) => c.json({ acls: await auth.listAcls() }),
  );

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/acls',
      tags,
      summary: 'Add an ACL binding (adding the same binding twice is one binding)',
      request: {
        body: { required: true, content: { 'application/json': { schema: AclBindingSchema } } },
      },
      responses: { 201: jsonContent(StoredAclSchema, 'The binding'), ...bodyErrorResponses },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, 64 * 1024);
      const input = validateJson(AclBindingSchema, node, 'ACL');
      const acl = await auth.addAcl({
        ...input,
        patternType: input.patternType ?? 'literal',
        permission: input.permission ?? 'allow',
      });
      return c.json(acl, 201);
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/acls/{id}',
      tags,
      summary: 'Remove an ACL binding',
      request: { params: IdParams },
      responses: { 200: jsonContent(StoredAclSchema, 'The removed binding'), ...errorResponses },
    },
    async (c) => c.json(await auth.deleteAcl(pathParam(c, 'id'))),
  );
}

/** API keys: list, create (with ACLs for the new principal), revoke. */
function registerKeyRoutes(app: ApiApp, api: ApiContext): void {
  const auth = api.broker.auth;
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/keys',
      tags,
      summary: 'List API keys (never their secrets)',
      responses: {
        200: jsonContent(z.object({ keys: z.array(KeySchema) }), 'Every key'),
        ...errorResponses,
      },
    },
    async (c) => c.json({ keys: await auth.listKeys() }),
  );

  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/keys',
      tags,
      summary: 'Create an API key (the answer holds it, once) and its ACLs',
      request: {
        body: {
          required: false,
          content: { 'application/json': { schema: CreateKeyRequestSchema } },
        },
      },
      responses: { 201: jsonContent(CreatedKeySchema, 'The key'), ...bodyErrorResponses },
    },
    async (c) => {
      const node = await readApplicationJson(c.req.raw, 64 * 1024);
      const input = validateJson(CreateKeyRequestSchema, node, 'key');
      const created = await auth.createKey({
        createdBy: caller(c).principal ?? '',
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.expiresInSeconds === undefined
          ? {}
          : { expiresInMs: input.expiresInSeconds * 1000 }),
        acls: (input.acls ?? []).map((acl) => ({
          ...acl,
          patternType: acl.patternType ?? 'literal',
          permission: acl.permission ?? 'allow',
        })),
      });
      c.header('cache-control', 'no-store');
      return c.json(created, 201);
    },
  );

  defineRoute(
    app,
    {
      method: 'delete',
      path: '/v1/keys/{id}',
      tags,
      summary: 'Revoke an API key (at once in this process, within the ACL cache time elsewhere)',
      request: { params: IdParams },
      responses: { 204: { description: 'Revoked' }, ...errorResponses },
    },
    async (c) => {
      await auth.revokeKey(pathParam(c, 'id'));
      return c.body(null, 204);
    },
  );
}
