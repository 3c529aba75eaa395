import type { z } from '@hono/zod-openapi';
import { EventLogError } from '../log/errors.js';
import { type JsonNode, parseJsonSequence, parseJsonText, toPlainValue } from '../log/json-text.js';

/**
 * Reading request bodies: the content type first, then at most `limit` bytes (checked against
 * Content-Length before reading, and counted while reading, since a chunked body has none),
 * then strict UTF-8, then JSON. Every failure is an EventLogError that names the problem.
 */

/** A Lambda request or response payload is at most 6 MB; a bigger body could never arrive there. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

/** The media type without parameters, lower case; undefined when there is no Content-Type. */
export function mediaType(request: Request): string | undefined {
  const header = request.headers.get('content-type');
  if (header === null) return undefined;
  return header.split(';', 1)[0]?.trim().toLowerCase() || undefined;
}

/** Throws UNSUPPORTED_MEDIA_TYPE unless the request's media type is one of `accepted`. */
export function requireMediaType(request: Request, accepted: readonly string[]): string {
  const type = mediaType(request);
  if (type !== undefined && accepted.includes(type)) return type;
  throw new EventLogError(
    'UNSUPPORTED_MEDIA_TYPE',
    `${type === undefined ? 'The request has no Content-Type' : `Content-Type ${type} is not supported here`}; send ${accepted.join(' or ')}`,
    { details: { accepted } },
  );
}

function tooLarge(limit: number, size: string): EventLogError {
  return new EventLogError(
    'REQUEST_TOO_LARGE',
    `The request body is ${size}; the limit is ${limit} bytes (a Lambda payload is at most 6 MB)`,
    { details: { limit } },
  );
}

export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) {
    throw tooLarge(limit, `${declared} bytes`);
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit, `over ${limit} bytes`);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, total);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export async function readBodyText(request: Request, limit: number): Promise<string> {
  const bytes = await readBodyBytes(request, limit);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new EventLogError('INVALID_REQUEST', 'The request body is not valid UTF-8');
  }
}

export interface JsonBodyOptions {
  accepted: readonly string[];
  limit: number;
}

/** One JSON value from the body, as a tree that keeps numbers and member order. */
export async function readJsonBody(request: Request, options: JsonBodyOptions): Promise<JsonNode> {
  requireMediaType(request, options.accepted);
  const text = await readBodyText(request, options.limit);
  if (text.trim() === '') {
    throw new EventLogError(
      'INVALID_REQUEST',
      'The request body is empty; a JSON object is expected',
    );
  }
  return parseJsonText(text);
}

/** Concatenated JSON values from the body (Confluent v3's streaming produce). */
export async function readJsonSequence(
  request: Request,
  options: JsonBodyOptions,
): Promise<JsonNode[]> {
  requireMediaType(request, options.accepted);
  return parseJsonSequence(await readBodyText(request, options.limit));
}

/**
 * Validates a plain value against a schema; a failure is INVALID_REQUEST listing every issue
 * with its path, e.g. `records[2].partition: expected number, received string`.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = formatPath(issue.path);
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  throw new EventLogError('INVALID_REQUEST', `Invalid ${what}: ${issues.join('; ')}`, {
    details: {
      issues: result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    },
  });
}

/** Validates a JSON tree; see validate. */
export function validateJson<S extends z.ZodType>(
  schema: S,
  node: JsonNode,
  what: string,
): z.output<S> {
  return validate(schema, toPlainValue(node), what);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The body of a plain `application/json` route: most routes take nothing else. */
export function readApplicationJson(request: Request, limit: number): Promise<JsonNode> {
  return readJsonBody(request, { accepted: ['application/json'], limit });
}
