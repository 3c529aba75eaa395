import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../api/app.js';
import type { Broker } from '../broker/broker.js';
import { createLambdaInvokeApp, type LocalFunctions } from './lambda-endpoint.js';

export interface ApiServerOptions {
  broker: Broker;
  clusterId: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  hostname?: string;
  /** Serve Lambda's Invoke API for these functions too (lib/local/lambda-endpoint.ts). */
  functions?: LocalFunctions;
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  close(): Promise<void>;
}

/** Serves the same Hono app as the Lambda, on a local port. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const app = createApp({ broker: options.broker, clusterId: options.clusterId });
  if (options.functions !== undefined) app.route('/', createLambdaInvokeApp(options.functions));
  const hostname = options.hostname ?? '127.0.0.1';
  const { server, address } = await new Promise<{
    server: ReturnType<typeof serve>;
    address: AddressInfo;
  }>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname }, (info) =>
      resolve({ server, address: info }),
    );
    server.once('error', reject);
  });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Long polls hold connections for up to 20 s; closing them aborts their waits.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
