import { handle } from 'hono/aws-lambda';
import { createApp } from '../lib/api/app.js';
import { createBroker, createStores } from '../lib/broker/broker.js';
import { clusterIdFor, resourceNamesFromEnv } from '../lib/infra/resources.js';
import { createAwsClients } from '../lib/local/aws-clients.js';

/**
 * The HTTP API's Lambda, behind API Gateway HTTP API (payload format 2.0). Clients, stores and
 * the broker are built once per execution environment, so warm invocations reuse sockets and
 * the topic cache.
 */

const names = resourceNamesFromEnv();
const broker = createBroker(createStores(createAwsClients(), names));
const app = createApp({ broker, clusterId: clusterIdFor(names) });

export const handler = handle(app);
