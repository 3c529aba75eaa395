import { CLUSTER_RESOURCE } from '../../log/acl.js';
import { EventLogError } from '../../log/errors.js';
import { parseJsonText } from '../../log/json-text.js';
import { type Caller, caller } from '../auth.js';
import { readBodyText, requireMediaType, validateJson } from '../body.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import {
  bodyErrorResponses,
  jsonContent,
  ProducerInitRequestSchema,
  ProducerInitResponseSchema,
} from '../schemas.js';

export function registerProducerRoutes(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/producers',
      tags: ['Records'],
      summary: 'Initialize an idempotent producer (a producer id and epoch)',
      description:
        "Kafka's InitProducerId. An empty body issues a new id at epoch 0. With `name`, the same id comes back for the same name with its epoch bumped, which fences the instance that had it; with `producerId` (and optionally `producerEpoch`), that id's epoch is bumped. Produce requests then carry producerId, producerEpoch and per-partition baseSequences, and a retried batch is answered with the offsets it got the first time, never written twice.",
      request: {
        body: {
          required: false,
          content: { 'application/json': { schema: ProducerInitRequestSchema } },
        },
      },
      responses: {
        200: jsonContent(ProducerInitResponseSchema, 'The producer id and epoch to use'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      // An empty body is a plain "give me a producer id".
      const text = c.req.raw.body === null ? '' : await readBodyText(c.req.raw, 64 * 1024);
      if (text.trim() !== '') requireMediaType(c.req.raw, ['application/json']);
      const request =
        text.trim() === ''
          ? {}
          : validateJson(ProducerInitRequestSchema, parseJsonText(text), 'producer request');
      const who = caller(c);
      await authorizeInit(who, request);
      const result = await api.broker.producers.init({
        ...(request.name === undefined ? {} : { name: request.name }),
        ...(request.producerId === undefined ? {} : { producerId: request.producerId }),
        ...(request.producerEpoch === undefined ? {} : { producerEpoch: request.producerEpoch }),
      });
      // The id belongs to whoever first got it: only they (and admins) may use or bump it.
      if (who.enforced && who.principal !== undefined && request.producerId === undefined) {
        await who.service?.claim('producer', String(result.producerId), who.principal);
      }
      return c.json(result);
    },
  );
}

/**
 * Kafka 3's rules (KIP-679) plus ownership: a new id needs produce on some topic; a name needs
 * produce on the `producer` resource of that name (Kafka's TransactionalId WRITE) and must be
 * the caller's (the first caller to use it); an id given must be the caller's. Admins may
 * re-initialize any.
 */
async function authorizeInit(
  who: Caller,
  request: { name?: string | undefined; producerId?: number | undefined },
): Promise<void> {
  if (!who.enforced) return;
  await who.requireAnyProduce();
  const principal = who.principal as string;
  const admin = () => who.allows('cluster', CLUSTER_RESOURCE, 'admin');
  if (request.producerId !== undefined) {
    await requireOwner(who, 'producer', String(request.producerId), admin);
  }
  if (request.name !== undefined) {
    await who.require('producer', request.name, 'produce');
    const owner = await who.service?.claim('producer-name', request.name, principal);
    if (owner !== principal && !(await admin())) throw notOwner(principal, `name ${request.name}`);
  }
}

/** Throws unless the caller owns the producer id (ids created without auth: admins only). */
export async function requireOwner(
  who: Caller,
  kind: 'producer',
  id: string,
  admin: () => Promise<boolean> = () => who.allows('cluster', CLUSTER_RESOURCE, 'admin'),
): Promise<void> {
  if (!who.enforced) return;
  const owner = await who.service?.ownerOf(kind, id);
  if (owner !== who.principal && !(await admin())) throw notOwner(who.principal ?? '', `id ${id}`);
}

function notOwner(principal: string, what: string): EventLogError {
  return new EventLogError(
    'AUTHORIZATION_FAILED',
    `Producer ${what} belongs to another principal; ${principal} may not use it`,
    { details: { principal, resourceType: 'producer' } },
  );
}
