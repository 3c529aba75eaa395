import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../../lib/broker/broker.js';
import { LocalFunctions } from '../../../lib/local/lambda-endpoint.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import { testClients, testNames } from '../../helpers/aws.js';

/**
 * The local server against what a web page (cross-site requests, DNS rebinding, simple-request
 * bodies) or a path trick could do, and `npm start` against a HOST that other machines reach.
 */

const REPO = join(import.meta.dirname, '../../..');
let server: ApiServer;
let invoked = 0;

beforeAll(async () => {
  const functions = new LocalFunctions({ log: () => {} });
  functions.register({
    name: 'handler',
    handler: async () => {
      invoked++;
      return { ok: true };
    },
  });
  server = await startApiServer({
    broker: createBroker(createStores(testClients(), testNames())),
    clusterId: 'guard-test',
    functions,
    validateResponses: true,
  });
});

afterAll(async () => {
  await server?.close();
});

/** A request exactly as written: no URL parser between the test and the server. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers, setHost: !('host' in headers) },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const invokePath = '/2015-03-31/functions/handler/invocations';

describe('the local server refuses', () => {
  it.each([
    '/v1/topics/a/partitions/../../b/partitions/0/records?offset=0',
    '/v1/topics/a/partitions/%2e%2E/%2e%2e/b/partitions/0/records?offset=0',
    '/v1/topics/a%2Fb',
    '/v1/topics/a\\..\\b',
  ])('the raw path %s with 400, before the adapter normalizes it', async (path) => {
    const answer = await raw('GET', path);
    expect(answer.status, answer.body).toBe(400);
    // Node's HTTP parser refuses a backslash in the request target itself (an empty 400).
    if (!path.includes('\\')) {
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'INVALID_REQUEST', field: 'path' });
    }
  });

  it('cross-site requests (Origin, Sec-Fetch-Site), to the API and to the Lambda endpoint', async () => {
    const json = { 'content-type': 'application/json' };
    const fromPage = await raw(
      'POST',
      '/v1/topics',
      { ...json, origin: 'https://evil.example' },
      '{"name":"x-from-page","partitions":1}',
    );
    expect(fromPage.status).toBe(403);
    const site = await raw('POST', invokePath, { ...json, 'sec-fetch-site': 'cross-site' }, '{}');
    expect(site.status).toBe(403);
    expect(invoked).toBe(0);
  });

  it('a Host that is not loopback (DNS rebinding) while auth is off', async () => {
    const rebound = await raw('GET', '/v1/topics', { host: 'evil.example:8787' });
    expect(rebound.status).toBe(403);
    const local = await raw('GET', '/v1/topics', { host: `localhost:${new URL(server.url).port}` });
    expect(local.status).toBe(200);
  });

  it('simple-request bodies: text/plain and forms, or no type, to the Lambda endpoint', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const answer = await raw(
        'POST',
        invokePath,
        type === '' ? {} : { 'content-type': type },
        '{"records":{}}',
      );
      expect(answer.status, type).toBe(415);
    }
    expect(invoked).toBe(0);
    // What the AWS SDK sends goes through.
    const sdk = await raw('POST', invokePath, { 'content-type': 'application/octet-stream' }, '{}');
    expect(sdk.status, sdk.body).toBe(200);
    expect(invoked).toBe(1);
  });
});

describe('npm start', () => {
  it('refuses a HOST other machines reach while auth is off, before starting anything', async () => {
    const loader = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', loader, join(REPO, 'lib/local/main.ts')], {
      cwd: REPO,
      env: { ...process.env, HOST: '0.0.0.0', PORT: '0', EVENTLOG_AUTH: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toContain('HOST=0.0.0.0');
    expect(output).toContain('EVENTLOG_AUTH=on');
  }, 30_000);
});
