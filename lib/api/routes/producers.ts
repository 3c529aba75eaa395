import { readBodyText, requireMediaType, validateJson } from '../body.js';
import { parseJsonText } from '../json-text.js';
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
      const result = await api.broker.producers.init({
        ...(request.name === undefined ? {} : { name: request.name }),
        ...(request.producerId === undefined ? {} : { producerId: request.producerId }),
        ...(request.producerEpoch === undefined ? {} : { producerEpoch: request.producerEpoch }),
      });
      return c.json(result);
    },
  );
}
