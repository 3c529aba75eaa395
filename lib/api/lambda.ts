import type { Context } from 'hono';
import { errorResponseParts } from './error-mapping.js';
import { badPath, rawPathProblem } from './raw-path.js';

/**
 * What the Lambda entry needs besides the app: the raw-path check on the event itself (Hono's
 * adapter builds a URL from `rawPath`, and the URL parser resolves `..` and `%2e%2e` before
 * the app could see them) and the SigV4 identity from the front door's request context.
 *
 * Both front doors send payload format 2.0: API Gateway's HTTP API with IAM authorization and
 * a function URL with AWS_IAM put the verified caller in `requestContext.authorizer.iam`
 * (`userArn`, `accountId`, `callerId`, ...). A function URL with auth NONE sends no
 * `authorizer` at all, and a caller cannot add one: the context is built by Lambda.
 */

export interface LambdaHttpEvent {
  version?: string;
  rawPath?: string;
  /** Payload format 1.0 (REST API), in case one is wired up. */
  path?: string;
  requestContext?: {
    authorizer?: { iam?: { userArn?: unknown } };
    http?: { path?: string };
  };
}

export interface LambdaHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/** A 400 for an event whose raw path the API refuses, or undefined to go on. */
export function refuseRawPath(event: LambdaHttpEvent): LambdaHttpResult | undefined {
  for (const path of [event.rawPath, event.path, event.requestContext?.http?.path]) {
    if (path === undefined) continue;
    const problem = rawPathProblem(path);
    if (problem === undefined) continue;
    const { status, body } = errorResponseParts(badPath(problem));
    return {
      statusCode: status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    };
  }
  return undefined;
}

/** The caller's IAM ARN as the front door verified it (hono/aws-lambda puts the event in env). */
export function iamArnFromLambdaContext(c: Context): string | undefined {
  const event = (c.env as { event?: LambdaHttpEvent } | undefined)?.event;
  const arn = event?.requestContext?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn !== '' ? arn : undefined;
}
