import type { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import { type Broker, createBroker, createStores } from '../../lib/broker/broker.js';
import { grant, startTestIssuer, type TestIssuer, toRequest } from '../helpers/auth.js';
import {
  allow,
  MATRIX,
  type MatrixContext,
  registeredRoutes,
  UNRELATED_GRANTS,
} from '../helpers/auth-matrix.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';

/**
 * Every route the router holds, with each bearer principal kind (API key, JWT from a local
 * OIDC issuer whose keys are discovered on loopback): a caller holding exactly the row's
 * ACLs gets through, an authenticated caller without them gets 403, a caller without
 * credentials 401. The SigV4 kinds run the same rows through the Lambda entry
 * (auth-lambda.test.ts).
 */

const CLUSTER_ID = 'matrix-cluster';
let issuer: TestIssuer;
let broker: Broker;
let app: OpenAPIHono;
let ctx: MatrixContext;
let adminKey = '';

const send = async (request: Request) => {
  const response = await app.request(request);
  const text = await response.text();
  return { status: response.status, text };
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  issuer = await startTestIssuer();
  broker = createBroker(createStores(testClients(), testNames()), {
    auth: { jwt: { issuer: issuer.issuer, audience: issuer.audience } },
  });
  app = createApp({
    broker,
    clusterId: CLUSTER_ID,
    logError: () => {},
    validateResponses: true,
    auth: { enabled: true },
  });
  const admin = await broker.auth.createKey({
    createdBy: 'test',
    acls: [allow('cluster', 'eventlog', 'admin')],
  });
  adminKey = admin.key;
  ctx = {
    topic: uniqueName('mtx'),
    group: uniqueName('mtx-g'),
    clusterId: CLUSTER_ID,
    reader: 'reader',
    instance: 'instance',
  };
  const asAdmin = (method: string, path: string, body?: unknown, type = 'application/json') =>
    send(
      new Request(`http://localhost${path}`, {
        method,
        headers: { ...bearer(adminKey), 'content-type': type },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  expect((await asAdmin('POST', '/v1/topics', { name: ctx.topic, partitions: 1 })).status).toBe(
    201,
  );
  const v2 = 'application/vnd.kafka.v2+json';
  for (const name of [ctx.reader, ctx.instance]) {
    expect((await asAdmin('POST', `/consumers/${ctx.group}`, { name }, v2)).status).toBe(200);
  }
  const subscribed = await asAdmin(
    'POST',
    `/consumers/${ctx.group}/instances/${ctx.reader}/subscription`,
    { topics: [ctx.topic] },
    v2,
  );
  expect(subscribed.status).toBe(204);
});

afterAll(async () => {
  await issuer?.close();
});

describe('the authorization matrix (in process, bearer principals)', () => {
  it('has a row for every route the router holds, and no row for a route it does not', () => {
    expect(registeredRoutes(app)).toEqual(Object.keys(MATRIX).sort());
  });

  const rows = Object.entries(MATRIX);

  it.each(rows)('%s: no credentials is 401 unless public', async (_key, row) => {
    const { status, text } = await send(toRequest('http://localhost', row.request(ctx)));
    if (row.open === 'public') expect(status, text).toBe(200);
    else {
      expect(status, text).toBe(401);
      expect(JSON.parse(text)).toMatchObject({ error_code: 40101, code: 'UNAUTHENTICATED' });
    }
  });

  it.each(rows.filter(([, row]) => row.open === undefined))(
    '%s: an authenticated caller without the ACLs is 403',
    async (_key, row) => {
      const denied = await broker.auth.createKey({ createdBy: 'test', acls: UNRELATED_GRANTS });
      const jwtPrincipal = `denied-${uniqueName()}`;
      await grant(broker.auth, `jwt:${jwtPrincipal}`, UNRELATED_GRANTS);
      for (const token of [denied.key, await issuer.token(jwtPrincipal)]) {
        const { status, text } = await send(
          toRequest('http://localhost', row.request(ctx), bearer(token)),
        );
        expect(status, text).toBe(403);
        expect(JSON.parse(text)).toMatchObject({ error_code: 40301, code: 'AUTHORIZATION_FAILED' });
      }
    },
  );

  it.each(rows)('%s: a caller with exactly the ACLs gets through', async (_key, row) => {
    const key = await broker.auth.createKey({ createdBy: 'test', acls: row.grants(ctx) });
    const jwtPrincipal = `allowed-${uniqueName()}`;
    await grant(broker.auth, `jwt:${jwtPrincipal}`, row.grants(ctx));
    for (const token of [key.key, await issuer.token(jwtPrincipal)]) {
      const { status, text } = await send(
        toRequest('http://localhost', row.request(ctx), bearer(token)),
      );
      expect([401, 403], text).not.toContain(status);
      expect(status, text).toBeLessThan(500);
    }
  });

  it('found the JWT keys through the issuer’s discovery document', () => {
    expect(issuer.fetches()).toBeGreaterThanOrEqual(2);
  });
});

describe('abuse limits', () => {
  it('answers a pathological topic_pattern on a long almost-matching topic in well under a second', async () => {
    const admin = bearer(adminKey);
    const long = `c${'a'.repeat(200)}${uniqueName('x').replaceAll('-', 'a')}`.slice(0, 249);
    const created = await send(
      new Request('http://localhost/v1/topics', {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: long, partitions: 1 }),
      }),
    );
    expect(created.status, created.text).toBe(201);
    const v2 = { ...admin, 'content-type': 'application/vnd.kafka.v2+json' };
    const group = uniqueName('redos');
    await send(
      new Request(`http://localhost/consumers/${group}`, {
        method: 'POST',
        headers: v2,
        body: '{"name":"i"}',
      }),
    );
    const started = performance.now();
    const subscribed = await send(
      new Request(`http://localhost/consumers/${group}/instances/i/subscription`, {
        method: 'POST',
        headers: v2,
        body: JSON.stringify({ topic_pattern: 'c((.*)*)*x' }),
      }),
    );
    const ms = performance.now() - started;
    expect(subscribed.status, subscribed.text).toBe(204);
    expect(ms).toBeLessThan(500);
    const tooLong = await send(
      new Request(`http://localhost/consumers/${group}/instances/i/subscription`, {
        method: 'POST',
        headers: v2,
        body: JSON.stringify({ topic_pattern: 'a'.repeat(300) }),
      }),
    );
    expect(tooLong.status).toBe(400);
  });

  it('limits a principal’s request rate with 429 and Retry-After when configured', async () => {
    const limited = createApp({
      broker,
      clusterId: CLUSTER_ID,
      logError: () => {},
      validateResponses: true,
      auth: { enabled: true, rateLimit: { requestsPerSecond: 1, burst: 2 } },
    });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const response = await limited.request('/v1/whoami', { headers: bearer(adminKey) });
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(await response.json()).toMatchObject({ code: 'RATE_LIMITED', error_code: 42901 });
      }
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(retryAfter).toBe('1');
  });
});
