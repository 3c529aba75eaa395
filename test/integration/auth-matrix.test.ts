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
  app = createApp({ broker, clusterId: CLUSTER_ID, logError: () => {}, auth: { enabled: true } });
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
