import { ERROR_CODES, type ErrorCode, EventLogError } from '../log/errors.js';
import type { RequestSigner, SigV4Options } from './sigv4.js';

/**
 * The HTTP layer of the SDK: one `request(method, path, options)` over fetch that every
 * client (Admin, Producer, the consumer) goes through. It
 *
 * - sends JSON (or a string / bytes as given) and parses the JSON answer;
 * - turns an error answer back into the EventLogError the server threw: same `code`,
 *   `message`, `retriable`, and the envelope's extra members as `details`;
 * - retries with exponential backoff and full jitter, but only where a retry cannot write
 *   twice (see RetryPolicy);
 * - signs requests with SigV4 when the URL is an AWS endpoint or when asked to.
 */

export type QueryValue = string | number | boolean | null | undefined;

/**
 * When a failed request is sent again:
 *
 * - `idempotent` (default for GET, HEAD, PUT, DELETE): after a network error or timeout,
 *   and after any answer that is retriable (`"retriable": true`, or 429/502/503/504 from a
 *   gateway that did not use our envelope).
 * - `unwritten` (default for POST): only when the server answered that it wrote nothing and
 *   a retry may succeed: HTTP 429 (throttled before the request ran: API Gateway's own
 *   throttle, or ours) or 503 with `"retriable": true`. Never after a network error or a
 *   timeout: the request may have been written before the answer was lost, and a produce
 *   sent again would then be written twice. The idempotent producer
 *   (lib/client/idempotence.ts) resends after those too, with the same producer id and
 *   sequence numbers, which the server recognizes.
 * - `never`.
 */
export type RetryPolicy = 'idempotent' | 'unwritten' | 'never';

export interface RetryOptions {
  /** Attempts after the first; default 5. */
  retries?: number;
  /** First backoff ceiling; default 100 ms, doubling per attempt. */
  baseDelayMs?: number;
  /** Largest backoff ceiling; default 5000 ms. */
  maxDelayMs?: number;
}

export interface HttpClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:8787 or https://abc.execute-api.eu-west-1.amazonaws.com */
  url: string;
  /**
   * SigV4 signing: true or options to sign, false never to. Default: sign exactly when the
   * URL is an API Gateway (`*.execute-api.*.amazonaws.com`) or Lambda function URL.
   */
  sigv4?: boolean | SigV4Options;
  retry?: RetryOptions;
  /** Per attempt; default 30 s (API Gateway's own limit is 30 s). */
  timeoutMs?: number;
  /** Sent with every request (a tracing header). */
  headers?: Record<string, string>;
  /**
   * An API key or a JWT, sent as `Authorization: Bearer` (the API's bearer door). With one,
   * requests are not signed unless `sigv4` says so.
   */
  token?: string;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (event: { attempt: number; delayMs: number; error: EventLogError }) => void;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

export interface RequestOptions {
  query?: Record<string, QueryValue | readonly QueryValue[]>;
  /** A string or bytes is sent as is; anything else as JSON. */
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
  headers?: Record<string, string>;
  /** Default: by method (see RetryPolicy). */
  retry?: RetryPolicy;
  /** Overrides the client's per-attempt timeout (a long poll needs its wait plus some). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

const DEFAULT_RETRIES = 5;
const DEFAULT_BASE_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 5_000;
const DEFAULT_TIMEOUT_MS = 30_000;

export class HttpClient {
  readonly baseUrl: URL;
  private readonly options: HttpClientOptions;
  private readonly fetchFn: typeof globalThis.fetch;
  private signer: Promise<RequestSigner | undefined> | undefined;

  constructor(options: HttpClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new EventLogError('INVALID_REQUEST', `Not a URL: "${options.url}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new EventLogError('INVALID_REQUEST', `Not an http(s) URL: "${options.url}"`);
    }
    // A base with a path (an API Gateway stage, /prod) keeps it: paths are appended to it.
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    this.baseUrl = url;
    this.options = options;
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  /** Sends a request and parses the JSON answer (undefined for an empty one). */
  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.text === '') return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch (error) {
      throw new EventLogError(
        'INTERNAL',
        `${method} ${path}: the answer is not JSON: ${response.text.slice(0, 200)}`,
        { cause: error },
      );
    }
  }

  /** Sends a request and returns the raw answer (status 2xx only; errors throw as in request). */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const policy = options.retry ?? defaultPolicy(method);
    const retries = this.options.retry?.retries ?? DEFAULT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(method, path, options, policy);
      if ('response' in outcome) return outcome.response;
      if (!outcome.retry || attempt >= retries || options.signal?.aborted) throw outcome.error;
      const delayMs = Math.max(this.backoff(attempt), outcome.after ?? 0);
      this.options.onRetry?.({ attempt: attempt + 1, delayMs, error: outcome.error });
      await sleep(delayMs, options.signal);
    }
  }

  private async attempt(
    method: string,
    path: string,
    options: RequestOptions,
    policy: RetryPolicy,
  ): Promise<
    { response: HttpResponse } | { error: EventLogError; retry: boolean; after?: number }
  > {
    const url = this.url(path, options.query);
    const body = encodeBody(options.body);
    let headers: Record<string, string> = {
      accept: 'application/json',
      ...this.options.headers,
      ...(this.options.token === undefined
        ? {}
        : { authorization: `Bearer ${this.options.token}` }),
      ...options.headers,
    };
    if (body !== undefined) headers['content-type'] ??= options.contentType ?? 'application/json';
    const signer = await this.getSigner();
    if (signer !== undefined) headers = await signer({ method, url, headers, body });
    options.signal?.throwIfAborted();

    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal =
      options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal,
      });
      text = await response.text();
    } catch (error) {
      // The caller gave up: it gets its own abort reason back, as from fetch.
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const timedOut = timeout.aborted;
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : networkReason(error);
      const failure = new EventLogError(
        timedOut ? 'TIMEOUT' : 'INTERNAL',
        `${method} ${url.origin}${url.pathname}: ${reason}`,
        { cause: error, retriable: true, details: { network: true } },
      );
      // The request may have reached the server: only an idempotent one may go again.
      return { error: failure, retry: policy === 'idempotent' };
    }
    if (response.ok)
      return { response: { status: response.status, headers: response.headers, text } };

    const error = errorFromResponse(method, url, response.status, text);
    const after = retryAfterMs(response.headers.get('retry-after'));
    const retry =
      policy === 'idempotent'
        ? error.retriable
        : policy === 'unwritten'
          ? response.status === 429 || (response.status === 503 && error.retriable)
          : false;
    return { error, retry, ...(after === undefined ? {} : { after }) };
  }

  /** Resolves a path against the base URL (a leading slash does not drop the base's path). */
  url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(path.replace(/^\/+/, ''), this.baseUrl);
    for (const [name, value] of Object.entries(query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null) url.searchParams.append(name, String(item));
      }
    }
    return url;
  }

  private getSigner(): Promise<RequestSigner | undefined> {
    this.signer ??= (async () => {
      const { sigv4 } = this.options;
      if (sigv4 === false) return undefined;
      if (sigv4 === undefined && this.options.token !== undefined) return undefined;
      const { awsEndpointOf, createSigner } = await import('./sigv4.js');
      if (sigv4 === undefined && awsEndpointOf(this.baseUrl) === undefined) return undefined;
      return createSigner(this.baseUrl, typeof sigv4 === 'object' ? sigv4 : {});
    })();
    // A failure (no region) must not stick: the next call reports it again.
    this.signer.catch(() => {
      this.signer = undefined;
    });
    return this.signer;
  }

  /** Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"). */
  private backoff(attempt: number): number {
    const base = this.options.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    const max = this.options.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    return Math.floor(Math.random() * Math.min(max, base * 2 ** attempt));
  }
}

function defaultPolicy(method: string): RetryPolicy {
  return method.toUpperCase() === 'POST' || method.toUpperCase() === 'PATCH'
    ? 'unwritten'
    : 'idempotent';
}

function encodeBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return JSON.stringify(body);
}

/**
 * The EventLogError an error answer stands for. Our envelope carries the code; an answer
 * from something in front of the API (API Gateway's `{"message":"Forbidden"}`, a proxy's
 * HTML page) is given the code its status means.
 */
export function errorFromResponse(
  method: string,
  url: URL,
  status: number,
  text: string,
): EventLogError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isEnvelope(body)) {
    const { error_code: _errorCode, message, code, retriable, ...details } = body;
    return new EventLogError(code, message, {
      retriable,
      ...(Object.keys(details).length === 0 ? {} : { details }),
    });
  }
  const message =
    typeof (body as { message?: unknown } | undefined)?.message === 'string'
      ? (body as { message: string }).message
      : text.trim().slice(0, 200) || `HTTP ${status}`;
  const code = codeForStatus(status);
  const hint =
    status === 401 || status === 403
      ? ' (the API authorizes every request: sign with SigV4 against its IAM URL (automatic for function URLs and execute-api, --sigv4 otherwise) with AWS credentials at hand, or send an API key or JWT with --token / EVENTLOG_TOKEN to its bearer URL; an admin grants access with ACLs, see docs/security.md)'
      : '';
  return new EventLogError(code, `${method} ${url.pathname}: HTTP ${status}: ${message}${hint}`, {
    retriable: status === 429 || status === 502 || status === 503 || status === 504,
    details: { status },
  });
}

function isEnvelope(body: unknown): body is {
  error_code: unknown;
  message: string;
  code: ErrorCode;
  retriable: boolean;
  [detail: string]: unknown;
} {
  if (typeof body !== 'object' || body === null) return false;
  const { code, message, retriable } = body as Record<string, unknown>;
  return (
    typeof code === 'string' &&
    Object.hasOwn(ERROR_CODES, code) &&
    typeof message === 'string' &&
    typeof retriable === 'boolean'
  );
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'REQUEST_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 416:
      return 'OFFSET_OUT_OF_RANGE';
    case 429:
      return 'THROTTLED';
    case 502:
    case 503:
      return 'STORAGE_UNAVAILABLE';
    case 504:
      return 'TIMEOUT';
    default:
      return status < 500 ? 'INVALID_REQUEST' : 'INTERNAL';
  }
}

function networkReason(error: unknown): string {
  // undici says "fetch failed" and keeps the reason (ECONNREFUSED...) in the cause.
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') {
    return cause.code === 'ECONNREFUSED'
      ? 'connection refused (is the server running? `npm start` runs one locally)'
      : `${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - Date.now()), 60_000);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
