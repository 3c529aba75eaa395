import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterIdFor } from '../../lib/store/resources.js';
import { testEnvironment, testNames, uniqueName } from '../helpers/aws.js';

/**
 * The Lambda entry, invoked the way API Gateway invokes it: with an HTTP API payload format
 * 2.0 event. The fixture is AWS's documented example event; each test changes only the
 * method, path, query, headers and body.
 */

interface HttpEvent {
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  body?: string;
  isBase64Encoded: boolean;
  cookies?: string[];
  requestContext: { http: { method: string; path: string } };
}

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/apigw-http-v2-event.json', import.meta.url), 'utf8'),
) as HttpEvent;

function event(
  method: string,
  path: string,
  options: { query?: string; body?: string; base64?: boolean; contentType?: string } = {},
): HttpEvent {
  const copy = structuredClone(fixture);
  copy.rawPath = path;
  copy.rawQueryString = options.query ?? '';
  copy.requestContext.http.method = method;
  copy.requestContext.http.path = path;
  copy.headers = { ...copy.headers, host: 'id.execute-api.us-east-1.amazonaws.com' };
  delete copy.cookies;
  if (options.body === undefined) {
    delete copy.body;
    copy.isBase64Encoded = false;
  } else {
    copy.headers['content-type'] = options.contentType ?? 'application/json';
    copy.isBase64Encoded = options.base64 === true;
    copy.body =
      options.base64 === true ? Buffer.from(options.body).toString('base64') : options.body;
  }
  return copy;
}

let handler: (event: HttpEvent, context: unknown) => Promise<HttpResult>;
let clusterId = '';

beforeAll(async () => {
  // The function reads its resources (and here, the emulators' endpoints) from the
  // environment at module load, as it does in Lambda.
  // Auth off: these tests are about the adapter; auth-lambda.test.ts runs it with auth on.
  // Every 2xx JSON answer is checked against its route's schema (lib/api/response-check.ts).
  Object.assign(process.env, testEnvironment().env, {
    EVENTLOG_AUTH: 'off',
    EVENTLOG_CHECK_RESPONSES: 'on',
  });
  clusterId = clusterIdFor(testNames());
  ({ handler } = (await import('../../functions/api.js')) as unknown as {
    handler: typeof handler;
  });
});

const invoke = async (e: HttpEvent) => {
  const result = await handler(e, {});
  return { ...result, json: JSON.parse(result.body) };
};

describe('functions/api.ts', () => {
  it('creates a topic, produces with a base64-encoded body, and fetches', async () => {
    const topic = uniqueName('lambda');
    const created = await invoke(
      event('POST', '/v1/topics', { body: JSON.stringify({ name: topic, partitions: 2 }) }),
    );
    expect(created.statusCode).toBe(201);
    expect(created.headers['content-type']).toContain('application/json');
    expect(created.isBase64Encoded).toBe(false);

    const produced = await invoke(
      event('POST', `/v1/topics/${topic}/records`, {
        body: JSON.stringify({
          records: [
            { value: 'héllo', partition: 1 },
            { value: 'wörld', partition: 1 },
          ],
        }),
        base64: true,
      }),
    );
    expect(produced.statusCode).toBe(200);
    expect(produced.json.records.map((r: { offset: number }) => r.offset)).toEqual([0, 1]);

    const fetched = await invoke(
      event('GET', `/v1/topics/${topic}/partitions/1/records`, { query: 'offset=0&maxRecords=10' }),
    );
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json.records.map((r: { value: string }) => r.value)).toEqual(['héllo', 'wörld']);
  });

  it('serves the Confluent routes with the configured cluster id, from plain and base64 bodies', async () => {
    const clusters = await invoke(event('GET', '/v3/clusters'));
    expect(clusters.json.data[0]).toMatchObject({
      cluster_id: clusterId,
      metadata: {
        self: `https://id.execute-api.us-east-1.amazonaws.com/v3/clusters/${clusterId}`,
      },
    });

    const topic = uniqueName('lambda-v3');
    const created = await invoke(
      event('POST', `/v3/clusters/${clusterId}/topics`, {
        body: JSON.stringify({ topic_name: topic, partitions_count: 1 }),
      }),
    );
    expect(created.statusCode).toBe(201);

    const produced = await handler(
      event('POST', `/v3/clusters/${clusterId}/topics/${topic}/records`, {
        body: '{"value":{"type":"BINARY","data":"AAEC"}}\n{"value":{"type":"STRING","data":"two"}}',
        base64: true,
      }),
      {},
    );
    expect(produced.statusCode).toBe(200);
    const reports = produced.body
      .trim()
      .split('\r\n')
      .map((line) => JSON.parse(line));
    expect(reports.map((r: { offset: number }) => r.offset)).toEqual([0, 1]);

    const v2 = await invoke(
      event('POST', `/topics/${topic}`, {
        body: '{"records":[{"value":"S2Fma2E="}]}',
        contentType: 'application/vnd.kafka.binary.v2+json',
        base64: true,
      }),
    );
    expect(v2.json.offsets).toEqual([{ partition: 0, offset: 2, error_code: null, error: null }]);
  });

  it('answers errors with the envelope and status', async () => {
    const missing = await invoke(
      event('POST', '/v1/topics/not-there/records', { body: '{"records":[{"value":"a"}]}' }),
    );
    expect(missing.statusCode).toBe(404);
    expect(missing.json).toMatchObject({ error_code: 40401, code: 'UNKNOWN_TOPIC' });
  });
});
