import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUTH_ENV } from '../../lib/api/auth-config.js';
import { CHECK_RESPONSES_ENV } from '../../lib/api/response-check.js';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import type { AclBinding } from '../../lib/log/acl.js';
import { clusterIdFor } from '../../lib/store/resources.js';
import { startTestIssuer, type TestIssuer } from '../helpers/auth.js';
import {
  allow,
  type Grant,
  MATRIX,
  type MatrixContext,
  type MatrixRequest,
  UNRELATED_GRANTS,
} from '../helpers/auth-matrix.js';
import { testClients, testEnvironment, testNames, uniqueName } from '../helpers/aws.js';

/**
 * functions/api.ts's real handler, auth on, fed the events its front doors send: API
 * Gateway HTTP API (payload 2.0, IAM authorizer) and a function URL with AWS_IAM, both with
 * the verified caller in requestContext.authorizer.iam; and bearer callers (API keys, JWT
 * from a test issuer with its own key pair, its JWKS given as configuration). Every route of
 * the matrix runs with every kind, and each bypass of issue 14 is a test here: on the code
 * before authorization (e9fa9f2) each of them was served.
 */

const ACCOUNT = '123456789012';
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/apigw-http-v2-event.json', import.meta.url), 'utf8'),
);
const run = uniqueName('lam');

interface Result {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}
let handler: (event: unknown, context: unknown) => Promise<Result>;
let issuer: TestIssuer;
let ctx: MatrixContext;

type Kind = 'apigw-iam' | 'furl-iam' | 'api-key' | 'jwt';
const KINDS: Kind[] = ['apigw-iam', 'furl-iam', 'api-key', 'jwt'];

/** A principal of each kind: its credentials and the principal an ACL names. */
interface Who {
  kind: Kind;
  principal: string;
  /** For IAM kinds: the session ARN the front door reports. */
  arn?: string;
  token?: string;
}

const roleSession = (role: string) =>
  `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/session-${Math.random().toString(36).slice(2)}`;

function event(request: MatrixRequest & { rawPath?: string }, who?: Who): unknown {
  const [path, query = ''] = request.path.split('?');
  const rawPath = request.rawPath ?? (path as string);
  const headers: Record<string, string> = {};
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  if (request.accept !== undefined) headers['accept'] = request.accept;
  if (who?.token !== undefined) headers['authorization'] = `Bearer ${who.token}`;
  const iam =
    who?.arn === undefined
      ? undefined
      : {
          accessKey: 'ASIAEXAMPLE',
          accountId: ACCOUNT,
          callerId: 'AROAEXAMPLE:session',
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: who.arn,
          userId: 'AROAEXAMPLE:session',
        };
  const functionUrl = who?.kind === 'furl-iam' || who?.kind === 'api-key';
  const domainName = functionUrl
    ? 'abcdefghijklmnop.lambda-url.us-east-1.on.aws'
    : 'id.execute-api.us-east-1.amazonaws.com';
  headers['host'] = domainName;
  const base = functionUrl
    ? {
        version: '2.0',
        routeKey: '$default',
        rawPath,
        rawQueryString: query,
        headers,
        requestContext: {
          accountId: iam === undefined ? 'anonymous' : ACCOUNT,
          apiId: 'abcdefghijklmnop',
          ...(iam === undefined ? {} : { authorizer: { iam } }),
          domainName,
          domainPrefix: 'abcdefghijklmnop',
          http: {
            method: request.method,
            path: rawPath,
            protocol: 'HTTP/1.1',
            sourceIp: '192.0.2.1',
            userAgent: 'test',
          },
          requestId: 'id',
          routeKey: '$default',
          stage: '$default',
          time: '06/Dec/2026:12:00:00 +0000',
          timeEpoch: 1796558400000,
        },
        isBase64Encoded: false,
      }
    : (() => {
        const copy = structuredClone(fixture);
        copy.rawPath = rawPath;
        copy.rawQueryString = query;
        copy.headers = headers;
        delete copy.cookies;
        copy.requestContext.http.method = request.method;
        copy.requestContext.http.path = rawPath;
        copy.requestContext.authorizer = iam === undefined ? undefined : { iam };
        if (iam === undefined) delete copy.requestContext.authorizer;
        copy.isBase64Encoded = false;
        delete copy.body;
        return copy;
      })();
  return request.body === undefined ? base : { ...base, body: request.body };
}

async function call(request: MatrixRequest & { rawPath?: string }, who?: Who) {
  const result = await handler(event(request, who), {});
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(result.body);
  } catch {}
  return { status: result.statusCode, body: result.body, json };
}

const broker = () => createBroker(createStores(testClients(), testNames()));
/** Principals are set up before the handler's module loads: its ACL cache starts empty. */
const setups: ((b: ReturnType<typeof broker>) => Promise<void>)[] = [];

async function principal(kind: Kind, grants: Grant[], label: string): Promise<Who> {
  const b = broker();
  const add = async (p: string) => {
    for (const g of grants) await b.auth.addAcl({ ...g, principal: p } as AclBinding);
  };
  if (kind === 'apigw-iam' || kind === 'furl-iam') {
    const role = `${run}-${label}`.slice(0, 64);
    await add(`iam:arn:aws:iam::${ACCOUNT}:role/${role}`);
    return { kind, principal: role, arn: roleSession(role) };
  }
  if (kind === 'api-key') {
    const key = await b.auth.createKey({ createdBy: 'test', acls: grants });
    tokens.push(key.key);
    return { kind, principal: key.principal, token: key.key };
  }
  const subject = `${run}-${label}`;
  await add(`jwt:${subject}`);
  const token = await issuer.token(subject);
  tokens.push(token);
  return { kind, principal: `jwt:${subject}`, token };
}

const rows = Object.entries(MATRIX);
const allowed = new Map<string, Who>();
const denied = new Map<Kind, Who>();
let admin: Who;
// The bypass scenarios' principals.
const named: Record<string, Who> = {};

const logged: string[] = [];
const tokens: string[] = [];
/** The variables this file sets, restored after it: a worker runs other files next. */
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  vi.spyOn(console, 'warn').mockImplementation((line: unknown) => {
    logged.push(String(line));
  });
  issuer = await startTestIssuer();
  const env = testEnvironment().env;
  const settings = {
    [AUTH_ENV.mode]: 'on',
    [AUTH_ENV.jwtIssuer]: issuer.issuer,
    [AUTH_ENV.jwtAudience]: issuer.audience,
    [AUTH_ENV.jwtJwks]: JSON.stringify(issuer.jwks),
    [CHECK_RESPONSES_ENV]: 'on',
  };
  for (const name of Object.keys(settings)) saved[name] = process.env[name];
  Object.assign(process.env, env, settings);
  ctx = {
    topic: `${run}-t`,
    group: `${run}-g`,
    clusterId: clusterIdFor(testNames()),
    reader: 'reader',
    instance: 'instance',
  };
  const b = broker();
  admin = await principal('apigw-iam', [allow('cluster', 'eventlog', 'admin')], 'admin');
  for (const [key, row] of rows) {
    for (const kind of KINDS) {
      allowed.set(
        `${kind} ${key}`,
        await principal(kind, row.grants(ctx), `${kind}-${rowId(key)}`),
      );
    }
  }
  for (const kind of KINDS) denied.set(kind, await principal(kind, UNRELATED_GRANTS, `${kind}-no`));

  // The scenarios of issue 14: orders and payments, a consumer of orders in group billing.
  const t = (name: string) => `${run}-${name}`;
  named['consumer'] = await principal(
    'apigw-iam',
    [allow('topic', t('orders'), 'consume'), allow('group', t('billing'), 'consume')],
    'consumer',
  );
  named['wildcardConsumer'] = await principal(
    'furl-iam',
    [allow('topic', t('orders'), 'consume'), allow('group', '*', 'consume')],
    'wild',
  );
  named['producer'] = await principal(
    'apigw-iam',
    [allow('topic', t('orders'), 'produce')],
    'prod',
  );
  named['otherProducer'] = await principal(
    'api-key',
    [allow('topic', t('orders'), 'produce')],
    'prod2',
  );
  named['denier'] = await principal(
    'jwt',
    [
      allow('topic', t(''), 'consume', 'prefixed'),
      { ...allow('topic', t('payments'), 'consume'), permission: 'deny' },
    ],
    'denier',
  );
  for (const setup of setups) await setup(b);

  ({ handler } = (await import('../../functions/api.js')) as unknown as {
    handler: typeof handler;
  });

  // Resources, made by the admin through the handler itself.
  const asAdmin = (method: string, path: string, body?: unknown, type = 'application/json') =>
    call(
      {
        method,
        path,
        ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: type }),
      },
      { ...admin, arn: roleSession(admin.principal) },
    );
  for (const topic of [ctx.topic, t('orders'), t('payments'), t('ledger')]) {
    expect((await asAdmin('POST', '/v1/topics', { name: topic, partitions: 1 })).status).toBe(201);
  }
  for (const topic of [t('payments'), t('ledger')]) {
    const produced = await asAdmin('POST', `/v1/topics/${topic}/records`, {
      records: [{ value: `secret of ${topic}` }],
    });
    expect(produced.status).toBe(200);
  }
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
  const subscription = await asAdmin('POST', '/v1/subscriptions', {
    name: t('lambda-sub'),
    topic: t('orders'),
    functionName: 'some-function',
    startingPosition: 'TRIM_HORIZON',
  });
  expect(subscription.status, subscription.body).toBe(201);
}, 120_000);

afterAll(async () => {
  await issuer?.close();
  vi.restoreAllMocks();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function rowId(key: string): string {
  return Buffer.from(key).toString('base64url').slice(-24);
}

describe('the matrix through functions/api.ts', () => {
  it.each(rows.flatMap(([key, row]) => KINDS.map((kind) => [kind, key, row] as const)))(
    '%s %s: allowed with the ACLs, refused without',
    async (kind, key, row) => {
      const who = allowed.get(`${kind} ${key}`) as Who;
      const fresh = who.arn === undefined ? who : { ...who, arn: roleSession(who.principal) };
      const ok = await call(row.request(ctx), fresh);
      expect([401, 403], ok.body).not.toContain(ok.status);
      expect(ok.status, ok.body).toBeLessThan(500);
      if (row.open === undefined) {
        const no = await call(row.request(ctx), denied.get(kind));
        expect(no.status, no.body).toBe(403);
      }
      const anonymous = await call(row.request(ctx));
      expect(anonymous.status, anonymous.body).toBe(row.open === 'public' ? 200 : 401);
    },
  );
});

describe('the bypasses of issue 14, each refused', () => {
  const t = (name: string) => `${run}-${name}`;

  it.each([
    [
      'GET',
      () => `/v1/topics/${t('orders')}/partitions/../../${t('payments')}/partitions/0/records`,
    ],
    [
      'GET',
      () =>
        `/v1/topics/${t('orders')}/partitions/%2e%2e/%2E%2e/${t('payments')}/partitions/0/records`,
    ],
    [
      'GET',
      () => `/v1/topics/${t('orders')}/partitions/..\\..\\${t('payments')}/partitions/0/records`,
    ],
    [
      'GET',
      () => `/v1/topics/${t('orders')}/partitions/.%2E/%2e./${t('payments')}/partitions/0/records`,
    ],
    ['GET', () => `/v1/topics/${t('orders')}%2F..%2F${t('payments')}/partitions/0/records`],
    ['GET', () => `/v1/topics/${t('orders')}%5c..%5C${t('payments')}/partitions/0/records`],
    ['DELETE', () => `/v1/groups/${t('billing')}/members/../../../topics/${t('ledger')}`],
    [
      'PATCH',
      () => `/consumers/${t('billing')}/instances/../../../v1/topics/${t('payments')}/configs`,
    ],
  ])('a consumer of orders: %s %s is 400 before routing', async (method, path) => {
    const raw = path();
    const refused = await call(
      {
        method,
        path: raw,
        rawPath: raw,
        ...(method === 'PATCH'
          ? { body: '{"configs":{"retention.ms":"1"}}', contentType: 'application/json' }
          : {}),
      },
      { ...named['consumer'], arn: roleSession((named['consumer'] as Who).principal) } as Who,
    );
    expect(refused.status, refused.body).toBe(400);
    expect(refused.json).toMatchObject({ code: 'INVALID_REQUEST', field: 'path' });
  });

  it.each([
    () => `/topics/${t('orders')}/partitions/../../${t('payments')}`,
    () => `/topics/${t('orders')}/partitions/../../../v1/topics`,
    () => `/topics/${t('orders')}/partitions/../../../v1/groups/${t('billing')}/offsets/reset`,
  ])('a producer of orders: POST %s is 400 before routing', async (path) => {
    const raw = path();
    const refused = await call(
      {
        method: 'POST',
        path: raw,
        rawPath: raw,
        body: '{"records":[{"value":"eA=="}]}',
        contentType: 'application/vnd.kafka.binary.v2+json',
      },
      { ...named['producer'], arn: roleSession((named['producer'] as Who).principal) } as Who,
    );
    expect(refused.status, refused.body).toBe(400);
  });

  it('the routes those paths resolve to are 403 for the same callers', async () => {
    const consumer = {
      ...named['consumer'],
      arn: roleSession((named['consumer'] as Who).principal),
    } as Who;
    const read = await call(
      { method: 'GET', path: `/v1/topics/${t('payments')}/partitions/0/records?offset=0` },
      consumer,
    );
    expect(read.status, read.body).toBe(403);
    const deleted = await call({ method: 'DELETE', path: `/v1/topics/${t('ledger')}` }, consumer);
    expect(deleted.status).toBe(403);
    const patched = await call(
      {
        method: 'PATCH',
        path: `/v1/topics/${t('payments')}/configs`,
        body: '{"configs":{"retention.ms":"1"}}',
        contentType: 'application/json',
      },
      consumer,
    );
    expect(patched.status).toBe(403);
    const producer = {
      ...named['producer'],
      arn: roleSession((named['producer'] as Who).principal),
    } as Who;
    for (const request of [
      {
        method: 'POST',
        path: `/topics/${t('payments')}`,
        body: '{"records":[{"value":"eA=="}]}',
        contentType: 'application/vnd.kafka.binary.v2+json',
      },
      {
        method: 'POST',
        path: '/v1/topics',
        body: `{"name":"${t('new')}","partitions":1}`,
        contentType: 'application/json',
      },
      {
        method: 'POST',
        path: `/v1/groups/${t('billing')}/offsets/reset`,
        body: `{"topic":"${t('orders')}","to":"earliest"}`,
        contentType: 'application/json',
      },
    ]) {
      const refused = await call(request, producer);
      expect(refused.status, `${request.path}: ${refused.body}`).toBe(403);
    }
  });

  it('a topic_pattern of ".*" subscribes a consumer of orders to orders only', async () => {
    const consumer = () =>
      ({ ...named['consumer'], arn: roleSession((named['consumer'] as Who).principal) }) as Who;
    const v2 = 'application/vnd.kafka.v2+json';
    const group = t('billing');
    const created = await call(
      {
        method: 'POST',
        path: `/consumers/${group}`,
        body: '{"name":"p","auto.offset.reset":"earliest"}',
        contentType: v2,
      },
      consumer(),
    );
    expect(created.status, created.body).toBe(200);
    const subscribed = await call(
      {
        method: 'POST',
        path: `/consumers/${group}/instances/p/subscription`,
        body: '{"topic_pattern":".*"}',
        contentType: v2,
      },
      consumer(),
    );
    expect(subscribed.status, subscribed.body).toBe(204);
    const topics = await call(
      { method: 'GET', path: `/consumers/${group}/instances/p/subscription` },
      consumer(),
    );
    expect(topics.json).toEqual({ topics: [t('orders')] });
    const named2 = await call(
      {
        method: 'POST',
        path: `/consumers/${group}/instances/p/subscription`,
        body: `{"topics":["${t('ledger')}"]}`,
        contentType: v2,
      },
      consumer(),
    );
    expect(named2.status).toBe(403);
    for (let i = 0; i < 3; i++) {
      const records = await call(
        {
          method: 'GET',
          path: `/consumers/${group}/instances/p/records?timeout=0`,
          accept: 'application/vnd.kafka.binary.v2+json',
        },
        consumer(),
      );
      expect(records.status, records.body).toBe(200);
      expect(records.body).not.toContain(Buffer.from('secret of').toString('base64').slice(0, 8));
    }
  });

  it('consume on group "*" does not reach a Lambda subscription’s group', async () => {
    const wild = named['wildcardConsumer'] as Who;
    const joined = await call(
      {
        method: 'POST',
        path: `/v1/groups/${t('lambda-sub')}/members/m1/heartbeat`,
        body: `{"topics":["${t('orders')}"]}`,
        contentType: 'application/json',
      },
      { ...wild, arn: roleSession(wild.principal) },
    );
    expect(joined.status, joined.body).toBe(403);
    expect(joined.json['message']).toContain('Lambda subscription');
    // The same caller may use any other group.
    const other = await call(
      {
        method: 'POST',
        path: `/v1/groups/${t('any-other')}/members/m1/heartbeat`,
        body: `{"topics":["${t('orders')}"]}`,
        contentType: 'application/json',
      },
      { ...wild, arn: roleSession(wild.principal) },
    );
    expect(other.status, other.body).toBe(200);
  });

  it('a deny wins over a prefix allow', async () => {
    const denier = named['denier'] as Who;
    const orders = await call(
      { method: 'GET', path: `/v1/topics/${t('orders')}/partitions/0/offsets` },
      denier,
    );
    expect(orders.status, orders.body).toBe(200);
    const payments = await call(
      { method: 'GET', path: `/v1/topics/${t('payments')}/partitions/0/offsets` },
      denier,
    );
    expect(payments.status).toBe(403);
  });

  it('a producer cannot fence or use another principal’s producer id', async () => {
    const producer = {
      ...named['producer'],
      arn: roleSession((named['producer'] as Who).principal),
    } as Who;
    const other = named['otherProducer'] as Who;
    const init = await call({ method: 'POST', path: '/v1/producers' }, producer);
    expect(init.status, init.body).toBe(200);
    const { producerId, producerEpoch } = init.json as {
      producerId: number;
      producerEpoch: number;
    };
    const fence = await call(
      {
        method: 'POST',
        path: '/v1/producers',
        body: JSON.stringify({ producerId }),
        contentType: 'application/json',
      },
      other,
    );
    expect(fence.status, fence.body).toBe(403);
    const write = (who: Who) =>
      call(
        {
          method: 'POST',
          path: `/v1/topics/${t('orders')}/records`,
          body: JSON.stringify({
            producerId,
            producerEpoch,
            baseSequences: { '0': 0 },
            records: [{ value: 'x', partition: 0 }],
          }),
          contentType: 'application/json',
        },
        who,
      );
    const stolen = await write(other);
    expect(stolen.status, stolen.body).toBe(403);
    // The owner's next write is not fenced.
    const own = await write({ ...producer, arn: roleSession(producer.principal) });
    expect(own.status, own.body).toBe(200);
  });

  it('a revoked or unknown API key is 401, and a JWT for another audience too', async () => {
    const b = broker();
    const key = await b.auth.createKey({
      createdBy: 'test',
      acls: [allow('cluster', 'eventlog', 'describe')],
    });
    const tokenOf = (token: string) => ({ kind: 'api-key', principal: '', token }) as Who;
    // Created after the handler loaded: found with one read, no cache entry for it yet.
    expect((await call({ method: 'GET', path: '/v1/whoami' }, tokenOf(key.key))).status).toBe(200);
    const forged = `${key.key.slice(0, -4)}AAAA`;
    expect((await call({ method: 'GET', path: '/v1/whoami' }, tokenOf(forged))).status).toBe(401);
    const wrongAudience = await issuer.token('someone', { audience: 'another-api' });
    expect((await call({ method: 'GET', path: '/v1/whoami' }, tokenOf(wrongAudience))).status).toBe(
      401,
    );
    const expired = await issuer.token('someone', { expiresIn: '-1m' });
    expect((await call({ method: 'GET', path: '/v1/whoami' }, tokenOf(expired))).status).toBe(401);
  });

  it('logged refusals and failed logins, and never a credential', () => {
    expect(logged.some((line) => line.includes('"event":"denied"'))).toBe(true);
    expect(logged.some((line) => line.includes('"event":"unauthenticated"'))).toBe(true);
    for (const line of logged) {
      expect(line).not.toMatch(/elk_|eyJ/);
      for (const token of tokens) expect(line).not.toContain(token.slice(-20));
    }
  });
});
