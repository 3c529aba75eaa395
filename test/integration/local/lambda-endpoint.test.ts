import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drainAsyncInvocations,
  functionNameOf,
  LocalFunctions,
} from '../../../lib/local/lambda-endpoint.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import { createLambdaClient } from '../../../lib/store/lambda-client.js';
import { brokerForTest } from '../broker/helpers.js';

/** The local server's Lambda Invoke API, driven by @aws-sdk/client-lambda over HTTP. */

let server: ApiServer;
let lambda: LambdaClient;
const failures: string[] = [];
const events: unknown[] = [];

beforeAll(async () => {
  const functions = new LocalFunctions({ log: (line) => failures.push(line) });
  functions.register({
    name: 'echo',
    handler: async (event, context) => ({
      event,
      name: context.functionName,
      left: context.getRemainingTimeInMillis() > 0,
    }),
  });
  functions.register({ name: 'nothing', handler: async () => undefined });
  functions.register({
    name: 'thrower',
    handler: async () => {
      throw new TypeError('bad input');
    },
  });
  functions.register({
    name: 'slow',
    timeout: 0.2,
    handler: () => new Promise((r) => setTimeout(r, 2000)),
  });
  functions.register({
    name: 'callback',
    handler: (event, _context, callback) => {
      setTimeout(() => callback?.(null, { got: event }), 5);
    },
  });
  functions.register({ name: 'async-target', handler: async (event) => void events.push(event) });
  server = await startApiServer({
    broker: brokerForTest(),
    clusterId: 'test',
    functions,
    validateResponses: true,
  });
  lambda = createLambdaClient({ endpoint: server.url, maxAttempts: 1 });
});

afterAll(async () => {
  lambda?.destroy();
  await server?.close();
});

const invoke = (FunctionName: string, payload: unknown, InvocationType?: 'Event' | 'DryRun') =>
  lambda.send(
    new InvokeCommand({
      FunctionName,
      Payload: Buffer.from(JSON.stringify(payload)),
      ...(InvocationType === undefined ? {} : { InvocationType }),
    }),
  );
const json = (payload: Uint8Array | undefined) =>
  JSON.parse(Buffer.from(payload ?? []).toString('utf8'));

describe('local Lambda Invoke endpoint', () => {
  it('answers RequestResponse with the handler’s result, by name or ARN', async () => {
    const byName = await invoke('echo', { a: 1 });
    expect(byName.StatusCode).toBe(200);
    expect(byName.FunctionError).toBeUndefined();
    expect(byName.ExecutedVersion).toBe('$LATEST');
    expect(json(byName.Payload)).toEqual({ event: { a: 1 }, name: 'echo', left: true });
    const byArn = await invoke('arn:aws:lambda:us-east-1:000000000000:function:echo', { b: 2 });
    expect(json(byArn.Payload).event).toEqual({ b: 2 });
    expect(json((await invoke('nothing', {})).Payload)).toBeNull();
    expect(json((await invoke('callback', 7)).Payload)).toEqual({ got: 7 });
  });

  it('answers a thrown handler as Lambda does: 200, X-Amz-Function-Error Unhandled, the error document', async () => {
    const reply = await invoke('thrower', {});
    expect(reply.StatusCode).toBe(200);
    expect(reply.FunctionError).toBe('Unhandled');
    expect(json(reply.Payload)).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'bad input',
    });
    expect(failures.some((f) => f.includes('bad input'))).toBe(true);
  });

  it('answers a handler past its timeout with Sandbox.Timedout', async () => {
    const reply = await invoke('slow', {});
    expect(reply.FunctionError).toBe('Unhandled');
    expect(json(reply.Payload)).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/Task timed out after 0.20 seconds/),
    });
  });

  it('queues Event invocations (202) and answers DryRun (204)', async () => {
    const queued = await invoke('async-target', { n: 1 }, 'Event');
    expect(queued.StatusCode).toBe(202);
    await drainAsyncInvocations();
    expect(events).toEqual([{ n: 1 }]);
    expect((await invoke('echo', {}, 'DryRun')).StatusCode).toBe(204);
  });

  it('refuses an unknown function with ResourceNotFoundException and a payload over 6 MB with RequestTooLargeException', async () => {
    await expect(invoke('missing', {})).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: expect.stringMatching(
        /Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing/,
      ),
    });
    await expect(invoke('echo', 'x'.repeat(6_300_000))).rejects.toMatchObject({
      name: 'RequestTooLargeException',
      $metadata: { httpStatusCode: 413 },
    });
  });

  it('reads function names from names, partial ARNs and qualified ARNs', () => {
    expect(functionNameOf('f')).toBe('f');
    expect(functionNameOf('123456789012:function:f')).toBe('f');
    expect(functionNameOf('arn:aws:lambda:eu-west-1:123456789012:function:f:live')).toBe('f');
  });
});
