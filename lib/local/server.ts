import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../api/app.js';
import type { AuthSettings } from '../api/auth-config.js';
import { errorResponseParts } from '../api/error-mapping.js';
import { badPath, rawPathProblem } from '../api/raw-path.js';
import type { Broker } from '../broker/broker.js';
import type { EventLogError } from '../log/errors.js';
import { createLambdaInvokeApp, type LocalFunctions } from './lambda-endpoint.js';
import { localRequestProblem } from './request-guard.js';

export interface ApiServerOptions {
  broker: Broker;
  clusterId: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  hostname?: string;
  /** Serve Lambda's Invoke API for these functions too (lib/local/lambda-endpoint.ts). */
  functions?: LocalFunctions;
  /** Default off: every caller is anonymous (loopback only; lib/local/main.ts checks HOST). */
  auth?: AuthSettings;
  /** Where refusals are logged (auth on). */
  log?: (entry: Record<string, unknown>) => void;
  /** Check each 2xx JSON answer against its route's schema (lib/api/app.ts); default off. */
  validateResponses?: boolean;
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  close(): Promise<void>;
}

/** Serves the same Hono app as the Lambda, on a local port. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const auth = options.auth ?? { enabled: false };
  const app = createApp({
    broker: options.broker,
    clusterId: options.clusterId,
    auth: {
      enabled: auth.enabled,
      ...(auth.rateLimit === undefined ? {} : { rateLimit: auth.rateLimit }),
      ...(options.log === undefined ? {} : { log: options.log }),
    },
    validateResponses: options.validateResponses === true,
  });
  if (options.functions !== undefined) app.route('/', createLambdaInvokeApp(options.functions));
  const hostname = options.hostname ?? '127.0.0.1';
  // Before the app: the raw path as the client wrote it (the adapter's URL parser resolves
  // dot segments), and what a web page could send to a server on this machine.
  const fetch = (
    request: Request,
    env: {
      incoming?: { url?: string | undefined; socket?: { remoteAddress?: string | undefined } };
    },
  ) => {
    const raw = env.incoming?.url ?? '';
    const pathProblem = rawPathProblem(raw);
    const refused: EventLogError | undefined =
      pathProblem === undefined
        ? localRequestProblem(request, {
            authEnabled: auth.enabled,
            remoteAddress: env.incoming?.socket?.remoteAddress,
          })
        : badPath(pathProblem);
    if (refused !== undefined) {
      const { status, body } = errorResponseParts(refused);
      return new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    }
    return app.fetch(request, env);
  };
  const { server, address } = await new Promise<{
    server: ReturnType<typeof serve>;
    address: AddressInfo;
  }>((resolve, reject) => {
    const server = serve({ fetch, port: options.port ?? 0, hostname }, (info) =>
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
