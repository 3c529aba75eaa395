import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { LAMBDA_SYNC_PAYLOAD_LIMIT } from '../log/lambda-kafka-event.js';
import { LOCAL_REGION } from '../store/aws-clients.js';

/**
 * Lambda's Invoke API (`POST /2015-03-31/functions/{FunctionName}/invocations`), served by the
 * local server for the consumer handlers of eventlog.config.ts, so that the dispatcher reaches
 * them through @aws-sdk/client-lambda exactly as it reaches functions on AWS.
 *
 * It answers as Lambda does: 200 with the handler's result for RequestResponse; 200 with
 * `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage, trace}` when the handler
 * throws or times out; 202 for Event (the handler runs afterwards); 204 for DryRun; 404
 * ResourceNotFoundException for an unknown function; 413 RequestTooLargeException over the
 * payload limits. Handlers run in this process: a timed-out handler is answered for, not
 * stopped.
 */

/** Lambda's context object, as much of it as a handler commonly reads. */
export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export type LambdaHandler = (
  event: unknown,
  context: LambdaContext,
  callback?: (error?: unknown, result?: unknown) => void,
) => unknown;

export interface LocalFunction {
  name: string;
  handler: LambdaHandler;
  /** Seconds, as Lambda's Timeout. @default 60 (Lambda's default is 3; local handlers are often debugged) */
  timeout?: number;
  /** @default 128 */
  memorySize?: number;
}

/** Lambda's asynchronous invocation payload limit (1 MB; it was 256 KB before 2025). */
export const LAMBDA_ASYNC_PAYLOAD_LIMIT = 1_048_576;
export const LOCAL_ACCOUNT_ID = '000000000000';

/** The functions the local server runs, by name. */
export class LocalFunctions {
  private readonly functions = new Map<string, LocalFunction>();
  /** Where handler failures are reported. */
  readonly log: (message: string) => void;

  constructor(options: { log?: (message: string) => void } = {}) {
    this.log = options.log ?? ((message) => console.error(message));
  }

  register(fn: LocalFunction): void {
    this.functions.set(fn.name, fn);
  }

  unregister(name: string): void {
    this.functions.delete(name);
  }

  get(name: string): LocalFunction | undefined {
    return this.functions.get(name);
  }

  names(): string[] {
    return [...this.functions.keys()].sort();
  }
}

export interface InvokeEndpointOptions {
  region?: string;
}

/** Background (Event) invocations still running, so a stop can wait for them. */
const running = new Set<Promise<unknown>>();

export function createLambdaInvokeApp(
  functions: LocalFunctions,
  options: InvokeEndpointOptions = {},
): Hono {
  const region = options.region ?? LOCAL_REGION;
  const log = functions.log;
  const app = new Hono();

  app.post('/2015-03-31/functions/:name/invocations', async (c) => {
    const requested = decodeURIComponent(c.req.param('name'));
    const name = functionNameOf(requested);
    const arn = `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name ?? requested}`;
    const type = c.req.header('x-amz-invocation-type') ?? 'RequestResponse';
    const requestId = randomUUID();
    const common = { 'x-amzn-RequestId': requestId };

    if (!['RequestResponse', 'Event', 'DryRun'].includes(type)) {
      return serviceError(
        c,
        400,
        'InvalidParameterValueException',
        `Invalid InvocationType ${type}`,
        common,
      );
    }
    const fn = name === undefined ? undefined : functions.get(name);
    if (fn === undefined) {
      return serviceError(
        c,
        404,
        'ResourceNotFoundException',
        `Function not found: ${arn}`,
        common,
      );
    }
    const body = new Uint8Array(await c.req.arrayBuffer());
    const limit = type === 'Event' ? LAMBDA_ASYNC_PAYLOAD_LIMIT : LAMBDA_SYNC_PAYLOAD_LIMIT;
    if (body.byteLength > limit) {
      return serviceError(
        c,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
        common,
      );
    }
    let event: unknown;
    try {
      const text = Buffer.from(body).toString('utf8');
      event = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      return serviceError(
        c,
        400,
        'InvalidRequestContentException',
        'Could not parse request body into json: the payload is not valid JSON',
        common,
      );
    }
    if (type === 'DryRun') return c.body(null, 204, common);

    const invocation = runHandler(fn, event, arn, requestId);
    if (type === 'Event') {
      const background = invocation.then((outcome) => {
        if (outcome.error !== undefined) {
          log(`${fn.name} (Event ${requestId}) failed: ${outcome.payload}`);
        }
      });
      running.add(background);
      void background.finally(() => running.delete(background));
      return c.body(null, 202, common);
    }
    const outcome = await invocation;
    const headers: Record<string, string> = {
      ...common,
      'Content-Type': 'application/json',
      'X-Amz-Executed-Version': '$LATEST',
    };
    if (outcome.error !== undefined) {
      log(`${fn.name} (${requestId}) failed: ${outcome.payload}`);
      headers['X-Amz-Function-Error'] = 'Unhandled';
    }
    return c.body(outcome.payload, 200, headers);
  });

  return app;
}

/** Waits for background (Event) invocations, e.g. before the server stops. */
export async function drainAsyncInvocations(): Promise<void> {
  await Promise.allSettled([...running]);
}

interface Outcome {
  /** The JSON answer: the result, or the error document. */
  payload: string;
  error?: 'Unhandled';
}

async function runHandler(
  fn: LocalFunction,
  event: unknown,
  arn: string,
  requestId: string,
): Promise<Outcome> {
  const timeoutMs = (fn.timeout ?? 60) * 1000;
  const deadline = Date.now() + timeoutMs;
  const context: LambdaContext = {
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: arn,
    memoryLimitInMB: String(fn.memorySize ?? 128),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          error: 'Unhandled',
          payload: JSON.stringify({
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
          }),
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([callHandler(fn.handler, event, context), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function callHandler(
  handler: LambdaHandler,
  event: unknown,
  context: LambdaContext,
): Promise<Outcome> {
  try {
    const result = await new Promise<unknown>((resolve, reject) => {
      // Callback-style handlers (three parameters) answer through the callback.
      const callback = (error?: unknown, value?: unknown) =>
        error === undefined || error === null ? resolve(value) : reject(error);
      const returned = handler(event, context, callback);
      if (handler.length < 3 || isPromise(returned))
        Promise.resolve(returned).then(resolve, reject);
    });
    const payload = JSON.stringify(result ?? null);
    if (Buffer.byteLength(payload) > LAMBDA_SYNC_PAYLOAD_LIMIT) {
      return {
        error: 'Unhandled',
        payload: JSON.stringify({
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${LAMBDA_SYNC_PAYLOAD_LIMIT} bytes).`,
        }),
      };
    }
    return { payload };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return {
      error: 'Unhandled',
      payload: JSON.stringify({
        errorType: e.name,
        errorMessage: e.message,
        trace: (e.stack ?? '').split('\n'),
      }),
    };
  }
}

/** The function name in a name, a partial ARN or an ARN (with or without a qualifier). */
export function functionNameOf(requested: string): string | undefined {
  const parts = requested.split(':');
  if (parts.length === 1) return requested || undefined;
  const at = parts.indexOf('function');
  return at >= 0 && at + 1 < parts.length ? parts[at + 1] : undefined;
}

/** An error of the Invoke API itself (restJson1: the type in x-amzn-ErrorType). */
function serviceError(
  c: Context,
  status: ContentfulStatusCode,
  type: string,
  message: string,
  headers: Record<string, string>,
): Response {
  return c.json({ Type: status >= 500 ? 'Service' : 'User', message }, status, {
    ...headers,
    'x-amzn-ErrorType': type,
  });
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
