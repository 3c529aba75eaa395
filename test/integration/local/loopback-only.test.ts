import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../../lib/broker/broker.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../../lib/local/dynamodb-local.js';
import { type S3Local, startS3Local } from '../../../lib/local/s3-local.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import { testClients, testEnvironment, testNames } from '../../helpers/aws.js';

const run = promisify(execFile);

/**
 * The local emulators and the API are reachable from loopback only. The test makes a second
 * host of its own (a network namespace joined to this one by a veth pair, 10.231.N.0/30) and
 * tries every port from there: a control server bound to every interface answers, so the
 * path works; DynamoDB Local (isolated in a namespace of its own), s3rver and the API server
 * must not. Everything it creates it removes; every probe has a 3 s bound.
 */

const suffix = String(process.pid % 10_000);
const ns = `elt${suffix}`;
const hostIf = `elh${suffix}`;
const nsIf = `eln${suffix}`;
const octet = (process.pid % 200) + 20;
const hostAddress = `10.231.${octet}.1`;
const nsAddress = `10.231.${octet}.2`;

const ip = (...args: string[]) => run('ip', args, { timeout: 5000 });

/** Connects from inside the namespace; resolves to 'connected' or the error code. */
async function probe(port: number): Promise<string> {
  const script = `const s=require('net').connect(${port},'${hostAddress}');s.setTimeout(3000);s.on('connect',()=>{console.log('connected');s.destroy()});s.on('timeout',()=>{console.log('TIMEOUT');s.destroy()});s.on('error',e=>console.log(e.code))`;
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    timeout: 10_000,
  });
  return stdout.trim();
}

let control: Server;
let dynamo: DynamoDbLocal;
let s3: S3Local;
let api: ApiServer;

beforeAll(async () => {
  await ip('netns', 'add', ns);
  await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
  await ip('link', 'set', nsIf, 'netns', ns);
  await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
  await ip('link', 'set', hostIf, 'up');
  await ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
  await ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up');
  await ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');

  control = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => control.listen(0, '0.0.0.0', resolve));
  [dynamo, s3] = await Promise.all([startDynamoDbLocal(), startS3Local()]);
  api = await startApiServer({
    broker: createBroker(createStores(testClients(), testNames())),
    clusterId: 'loopback-test',
    validateResponses: true,
  });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([
    dynamo?.stop(),
    s3?.stop(),
    api?.close(),
    new Promise((resolve) => control?.close(resolve)),
  ]);
  await ip('link', 'del', hostIf).catch(() => {});
  await ip('netns', 'del', ns).catch(() => {});
});

const portOf = (url: string) => Number(new URL(url).port);

describe('local emulators and API, seen from another host', () => {
  it('reach a server bound to every interface (the path works)', async () => {
    const port = (control.address() as { port: number }).port;
    expect(await probe(port)).toBe('connected');
  });

  it('runs DynamoDB Local in a network namespace of its own', () => {
    expect(dynamo.isolated).toBe(true);
  });

  it('do not reach DynamoDB Local, s3rver or the API, started here or by the test setup', async () => {
    const { endpoints } = testEnvironment();
    const ports = {
      dynamodb: dynamo.port,
      s3: portOf(s3.endpoint),
      api: portOf(api.url),
      'setup dynamodb': portOf(endpoints.dynamodb),
      'setup s3': portOf(endpoints.s3),
    };
    for (const [name, port] of Object.entries(ports)) {
      expect(`${name}: ${await probe(port)}`).toBe(`${name}: ECONNREFUSED`);
    }
  });

  it('still serve loopback', async () => {
    const tables = await fetch(dynamo.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
      body: '{}',
    });
    expect(tables.status).toBeLessThan(500);
    expect((await fetch(`${api.url}/openapi.json`)).status).toBe(200);
  });
});
