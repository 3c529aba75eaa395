import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { z } from 'zod';
import { EventLogError } from '../log/errors.js';

/**
 * Apps whose routes check their answers against the declared response schemas. Kept beside
 * the app rather than passed to every register function, so that the routes' signatures do not
 * carry a test-only switch.
 */
const checkedApps = new WeakSet<OpenAPIHono>();

/**
 * The environment variable that turns the check on in the Lambda entry and `npm start`
 * (`on` or `off`, default off): for developing clients and for the tests, which then see a
 * handler that answers otherwise than its schema says as a 500 naming the route.
 */
export const CHECK_RESPONSES_ENV = 'EVENTLOG_CHECK_RESPONSES';

export function checkResponsesFromEnv(env: NodeJS.ProcessEnv): boolean {
  const value = env[CHECK_RESPONSES_ENV];
  if (value === undefined || value === '' || value === 'off') return false;
  if (value === 'on') return true;
  throw new Error(`${CHECK_RESPONSES_ENV} must be on or off, got "${value}"`);
}

/** Makes the routes registered on `app` from now on check their 2xx JSON answers. */
export function checkResponsesOf(app: OpenAPIHono): void {
  checkedApps.add(app);
}

type Handler = (c: Context) => Promise<Response> | Response;

/** Answers written while their request is still arriving (Confluent v3's streaming produce). */
const streamedAnswers = new WeakSet<Response>();

/**
 * Marks `response` as streamed: the check then looks at each CRLF-separated value as it
 * passes, instead of reading the answer whole first, which would hold back the reports a
 * streaming client waits for before it sends more.
 */
export function streamedAnswer(response: Response): Response {
  streamedAnswers.add(response);
  return response;
}

/**
 * The handler, checking (when the app asks for it) that each 2xx JSON answer matches the zod
 * schema the route declares for that status and media type. A mismatch is an INTERNAL error
 * naming the route and the first issue: the schema documents what clients get, so a handler
 * that answers otherwise is a bug, caught in the tests rather than by a client.
 */
export function withResponseCheck(
  app: OpenAPIHono,
  config: RouteConfig,
  handler: Handler,
): Handler {
  if (!checkedApps.has(app)) return handler;
  const route = `${config.method.toUpperCase()} ${config.path}`;
  return async (c) => {
    const response = await handler(c);
    if (response.status < 200 || response.status > 299) return response;
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (!isJson(mediaType)) return response;
    const schema = declaredSchema(config, response.status, mediaType);
    if (schema === undefined) {
      throw new EventLogError(
        'INTERNAL',
        `${route} answered ${response.status} ${mediaType}, which it does not declare`,
      );
    }
    if (streamedAnswers.has(response)) return checkedStream(route, response, schema);
    for (const value of jsonValues(route, await response.clone().text())) {
      check(route, response.status, schema, value);
    }
    return response;
  };
}

/**
 * The streamed answer, each complete CRLF-terminated value checked before it is passed on. A
 * value against the schema errors the stream: the status is sent already, so the client sees
 * the answer break off rather than a 500.
 */
function checkedStream(route: string, response: Response, schema: z.ZodType): Response {
  if (response.body === null) return response;
  const decoder = new TextDecoder();
  let pending = '';
  const checkLines = (lines: string[]) => {
    for (const line of lines) {
      if (line.trim() !== '') check(route, response.status, schema, jsonValue(route, line));
    }
  };
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const lines = (pending + decoder.decode(chunk, { stream: true })).split('\r\n');
        pending = lines.pop() ?? '';
        checkLines(lines);
        controller.enqueue(chunk);
      },
      flush() {
        checkLines([pending + decoder.decode()]);
      },
    }),
  );
  return new Response(body, { status: response.status, headers: response.headers });
}

function jsonValue(route: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EventLogError('INTERNAL', `${route} answered a body that is not JSON: ${error}`);
  }
}

function check(route: string, status: number, schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : issue.path.join('.') || '(body)';
    throw new EventLogError(
      'INTERNAL',
      `${route} answered ${status} against its schema: ${where}: ${issue?.message ?? parsed.error.message}`,
    );
  }
}

/**
 * The JSON values of an answer: one, or for Confluent's v3 produce, one delivery report per
 * CRLF-separated line, each of which the declared schema describes.
 */
function jsonValues(route: string, text: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch {
    return text
      .split('\r\n')
      .filter((line) => line.trim() !== '')
      .map((line) => jsonValue(route, line));
  }
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * The schema declared for the status and media type; when the media type is not declared but
 * the status declares exactly one JSON schema, that one (a route may answer a JSON flavour,
 * such as Confluent's vnd types, that it documents under another name).
 */
function declaredSchema(
  config: RouteConfig,
  status: number,
  mediaType: string,
): z.ZodType | undefined {
  const declared = config.responses[status] ?? config.responses[String(status)];
  if (declared === undefined || !('content' in declared) || declared.content === undefined) {
    return undefined;
  }
  const content = declared.content as Record<string, { schema?: unknown }>;
  const exact = content[mediaType]?.schema;
  if (isZod(exact)) return exact;
  const json = Object.entries(content).filter(
    ([type, entry]) => isJson(type) && isZod(entry.schema),
  );
  return json.length === 1 ? (json[0]?.[1].schema as z.ZodType) : undefined;
}

function isZod(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && 'safeParse' in value;
}
