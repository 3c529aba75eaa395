import { describe, expect, it } from 'vitest';
import { HttpClient, type HttpClientOptions } from '../../../lib/client/http.js';
import { awsEndpointOf } from '../../../lib/client/sigv4.js';
import { EventLogError } from '../../../lib/log/errors.js';

type Answer = Response | Error;

/** A fetch that answers from a script and records what it was asked. */
function scripted(answers: Answer[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: URL | string, init: RequestInit = {}) => {
    calls.push({ url: String(url), init });
    const next = answers.shift();
    if (next === undefined) throw new Error('no more answers');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

const envelope = (code: string, retriable: boolean, extra: Record<string, unknown> = {}) => ({
  error_code: 50003,
  message: `${code} happened`,
  code,
  retriable,
  ...extra,
});

const refused = Object.assign(new TypeError('fetch failed'), {
  cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
});

function client(answers: Answer[], options: Partial<HttpClientOptions> = {}) {
  const script = scripted(answers);
  const http = new HttpClient({
    url: 'http://127.0.0.1:8787',
    fetch: script.fetch,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
  return { http, calls: script.calls };
}

describe('HttpClient', () => {
  it('sends JSON, builds the URL from base, path and query, and parses the answer', async () => {
    const { http, calls } = client([json(200, { ok: true })], {
      url: 'https://api.example.com/prod',
    });
    const answer = await http.request('POST', '/v1/topics', {
      body: { name: 'orders' },
      query: { a: 1, b: undefined, c: ['x', 'y'] },
    });
    expect(answer).toEqual({ ok: true });
    expect(calls[0]?.url).toBe('https://api.example.com/prod/v1/topics?a=1&c=x&c=y');
    expect(calls[0]?.init.body).toBe('{"name":"orders"}');
    expect(((calls[0]?.init.headers ?? {}) as Record<string, string>)['content-type']).toBe(
      'application/json',
    );
  });

  it('turns an error envelope back into the same EventLogError', async () => {
    const { http } = client([
      json(404, {
        error_code: 40401,
        message: 'Topic "x" does not exist',
        code: 'UNKNOWN_TOPIC',
        retriable: false,
        topic: 'x',
      }),
    ]);
    const error = await http.request('GET', '/v1/topics/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventLogError);
    expect(error).toMatchObject({
      code: 'UNKNOWN_TOPIC',
      message: 'Topic "x" does not exist',
      retriable: false,
      details: { topic: 'x' },
    });
  });

  it('retries a GET on a retriable answer and on a network error', async () => {
    const { http, calls } = client([
      json(503, envelope('STORAGE_UNAVAILABLE', true)),
      refused,
      json(200, { topics: [] }),
    ]);
    const retries: number[] = [];
    const withHook = new HttpClient({
      url: 'http://127.0.0.1:8787',
      fetch: scripted([json(429, { message: 'Too Many Requests' }), json(200, {})]).fetch,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      onRetry: (event) => retries.push(event.attempt),
    });
    expect(await http.request('GET', '/v1/topics')).toEqual({ topics: [] });
    expect(calls).toHaveLength(3);
    await withHook.request('GET', '/v1/topics');
    expect(retries).toEqual([1]);
  });

  it('does not retry an answer that is not retriable', async () => {
    const { http, calls } = client([
      json(400, { ...envelope('INVALID_REQUEST', false), error_code: 400 }),
    ]);
    await expect(http.request('GET', '/v1/x')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(calls).toHaveLength(1);
  });

  it('retries a POST only when the server said it wrote nothing (429, or 503 retriable)', async () => {
    const ok = client([
      json(429, { message: 'Too Many Requests' }),
      json(503, envelope('STORAGE_UNAVAILABLE', true)),
      json(200, { written: true }),
    ]);
    expect(await ok.http.request('POST', '/v1/topics/t/records', { body: {} })).toEqual({
      written: true,
    });
    expect(ok.calls).toHaveLength(3);

    // The answer was lost: the records may be written; sending them again could duplicate.
    const lost = client([refused, json(200, {})]);
    await expect(
      lost.http.request('POST', '/v1/topics/t/records', { body: {} }),
    ).rejects.toMatchObject({
      retriable: true,
      details: { network: true },
    });
    expect(lost.calls).toHaveLength(1);

    // A gateway timeout: the function may have written before it was cut off.
    const timeout = client([json(504, envelope('TIMEOUT', true)), json(200, {})]);
    await expect(
      timeout.http.request('POST', '/v1/topics/t/records', { body: {} }),
    ).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    expect(timeout.calls).toHaveLength(1);
  });

  it('gives up after the configured retries', async () => {
    const { http, calls } = client(
      Array.from({ length: 5 }, () => json(503, envelope('STORAGE_UNAVAILABLE', true))),
      { retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 1 } },
    );
    await expect(http.request('GET', '/v1/topics')).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
    });
    expect(calls).toHaveLength(3);
  });

  it('explains answers from something in front of the API', async () => {
    const { http } = client([json(403, { message: 'Forbidden' })]);
    const error = (await http
      .request('GET', '/v1/topics')
      .catch((e: unknown) => e)) as EventLogError;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/HTTP 403: Forbidden.*SigV4/);
    expect(error.details).toEqual({ status: 403 });
  });

  it('says when the server is not running', async () => {
    const { http } = client([refused], { retry: { retries: 0 } });
    await expect(http.request('GET', '/v1/topics')).rejects.toThrow(
      /connection refused.*npm start/,
    );
  });

  it('gives the caller its own abort reason back', async () => {
    const controller = new AbortController();
    const http = new HttpClient({
      url: 'http://127.0.0.1:8787',
      fetch: ((_url: unknown, init: RequestInit) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        })) as typeof globalThis.fetch,
      timeoutMs: 5_000,
    });
    const pending = http.request('GET', '/v1/x', { signal: controller.signal });
    // Once the request is out, as a consumer stopping its long poll does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });

  it('does not send what was aborted before it went out', async () => {
    const { http, calls } = client([json(200, {})]);
    await expect(
      http.request('GET', '/v1/x', { signal: AbortSignal.abort(new Error('early')) }),
    ).rejects.toThrow('early');
    expect(calls).toHaveLength(0);
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => new HttpClient({ url: 'nope' })).toThrow(/Not a URL/);
    expect(() => new HttpClient({ url: 'ftp://x' })).toThrow(/Not an http/);
  });
});

describe('SigV4', () => {
  it('knows AWS endpoints and their region', () => {
    expect(
      awsEndpointOf(new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/prod')),
    ).toEqual({
      service: 'execute-api',
      region: 'eu-west-1',
    });
    expect(awsEndpointOf(new URL('https://xyz.lambda-url.us-east-2.on.aws/'))).toEqual({
      service: 'lambda',
      region: 'us-east-2',
    });
    expect(awsEndpointOf(new URL('http://127.0.0.1:8787'))).toBeUndefined();
  });

  it('signs requests to an execute-api URL, and nothing else unless asked', async () => {
    const signed = client([json(200, {})], {
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      sigv4: { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
    });
    await signed.http.request('POST', '/v1/topics', { body: { name: 'x' } });
    const headers = (signed.calls[0]?.init.headers ?? {}) as Record<string, string>;
    expect(headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['host']).toBeUndefined();

    const plain = client([json(200, {})]);
    await plain.http.request('GET', '/v1/topics');
    expect(
      ((plain.calls[0]?.init.headers ?? {}) as Record<string, string>)['authorization'],
    ).toBeUndefined();
  });

  it('signs for service lambda at a function URL, and sends a bearer token unsigned', async () => {
    const url = 'https://abcdefghij.lambda-url.eu-west-1.on.aws';
    const signed = client([json(200, {})], {
      url,
      sigv4: { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
    });
    await signed.http.request('GET', '/v1/topics');
    const headers = (signed.calls[0]?.init.headers ?? {}) as Record<string, string>;
    expect(headers['authorization']).toMatch(/\/eu-west-1\/lambda\/aws4_request/);

    const bearer = client([json(200, {})], { url, token: 'elk_0123456789abcdef_secret' });
    await bearer.http.request('GET', '/v1/topics');
    const sent = (bearer.calls[0]?.init.headers ?? {}) as Record<string, string>;
    expect(sent['authorization']).toBe('Bearer elk_0123456789abcdef_secret');
    expect(sent['x-amz-date']).toBeUndefined();
  });
});
