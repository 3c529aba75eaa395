import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../../lib/broker/broker.js';
import { findConfig, loadConfig } from '../../../lib/local/consumer-config.js';
import { LocalConsumers } from '../../../lib/local/consumers.js';
import { startApiServer } from '../../../lib/local/server.js';
import type { SelfManagedKafkaEvent } from '../../../lib/log/lambda-kafka-event.js';
import { testClients, testNames, uniqueName } from '../../helpers/aws.js';

/** `npm start`'s Lambda consumers: eventlog.config.ts loaded, subscriptions applied, dispatch on produce. */

const REPO = resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'eventlog-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('local consumers', () => {
  it('loads the example config, whose handler reports a record that is not JSON', async () => {
    const config = await loadConfig(join(REPO, 'examples/consumer/eventlog.config.ts'));
    expect(config.topics.map((t) => t.name)).toEqual(['orders', 'orders.dlq']);
    const [consumer] = config.consumers;
    expect(consumer?.subscription).toMatchObject({
      name: 'print-orders',
      functionName: 'print-orders',
      group: 'print-orders',
      functionResponseTypes: ['ReportBatchItemFailures'],
    });
    const value = (text: string) => Buffer.from(text).toString('base64');
    const event: SelfManagedKafkaEvent = {
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'localhost:8787',
      records: {
        'orders-0': [
          {
            topic: 'orders',
            partition: 0,
            offset: 4,
            timestamp: 1,
            timestampType: 'CREATE_TIME',
            value: value('{"a":1}'),
            headers: [],
          },
          {
            topic: 'orders',
            partition: 0,
            offset: 5,
            timestamp: 1,
            timestampType: 'CREATE_TIME',
            value: value('oops'),
            headers: [],
          },
        ],
      },
    };
    const log = console.log;
    console.log = () => {};
    try {
      expect(await consumer?.handler(event, {} as never)).toEqual({
        batchItemFailures: [{ itemIdentifier: { 'topic-partition': 'orders-0', offset: 5 } }],
      });
    } finally {
      console.log = log;
    }
  });

  it('creates the topics and subscriptions of a config, dispatches after a produce, and updates on restart', async () => {
    const topic = uniqueName('local');
    const name = uniqueName('local-consumer');
    const config = (batchSize: number) => `
export default {
  topics: [{ name: '${topic}', partitions: 2 }],
  consumers: [{ name: '${name}', topic: '${topic}', handler: './handler.mjs#onRecords', startingPosition: 'TRIM_HORIZON', batchSize: ${batchSize}, maximumBatchingWindowInSeconds: 0 }],
};`;
    const dir = configDir({
      'eventlog.config.mjs': config(5),
      'handler.mjs': `export const onRecords = async (event) => {
  for (const records of Object.values(event.records)) for (const r of records) globalThis.__received.push(Buffer.from(r.value, 'base64').toString());
  return null;
};`,
    });
    const received: string[] = [];
    (globalThis as { __received?: string[] }).__received = received;

    const consumers = new LocalConsumers({ log: () => {}, intervalMs: 200 });
    const broker = createBroker(createStores(testClients(), testNames()), {
      onProduced: consumers.onProduced,
    });
    const server = await startApiServer({
      broker,
      clusterId: 'test',
      functions: consumers.functions,
      validateResponses: true,
    });
    try {
      const path = await findConfig(dir, {});
      expect(path).toBe(join(dir, 'eventlog.config.mjs'));
      const lines = await consumers.start(broker, server.url, await loadConfig(path as string));
      expect(lines).toEqual([
        { name, topic, group: name, handler: './handler.mjs#onRecords', action: 'created' },
      ]);
      await broker.produce.produce({
        topic,
        records: ['a', 'b', 'c'].map((v) => ({ value: Buffer.from(v), partition: 0 })),
      });
      const deadline = Date.now() + 10_000;
      while (received.length < 3 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(received).toEqual(['a', 'b', 'c']);
    } finally {
      await consumers.stop();
      await server.close();
    }

    // A restart with changed settings updates the subscription; a changed starting position
    // cannot be applied and says what to do. (The module cache keeps the first import of the
    // config in this process, so the change is made on the loaded copy.)
    const reloaded = await loadConfig(join(dir, 'eventlog.config.mjs'));
    const again = new LocalConsumers({ log: () => {} });
    reloaded.consumers[0]!.subscription.batchSize = 7;
    expect((await again.start(broker, server.url, reloaded))[0]?.action).toBe('updated');
    await again.stop();
    expect((await broker.subscriptions.get(name)).batchSize).toBe(7);
    // Filters added to the config are applied, and removed when the config drops them.
    const filterCriteria = { filters: [{ pattern: '{"value":[{"prefix":"a"}]}' }] };
    reloaded.consumers[0]!.subscription.filterCriteria = filterCriteria;
    const withFilters = new LocalConsumers({ log: () => {} });
    expect((await withFilters.start(broker, server.url, reloaded))[0]?.action).toBe('updated');
    await withFilters.stop();
    expect((await broker.subscriptions.get(name)).filterCriteria).toEqual(filterCriteria);
    delete reloaded.consumers[0]!.subscription.filterCriteria;
    const withoutFilters = new LocalConsumers({ log: () => {} });
    expect((await withoutFilters.start(broker, server.url, reloaded))[0]?.action).toBe('updated');
    await withoutFilters.stop();
    expect(await broker.subscriptions.get(name)).not.toHaveProperty('filterCriteria');
    reloaded.consumers[0]!.subscription.startingPosition = 'LATEST';
    const third = new LocalConsumers({ log: () => {} });
    await expect(third.start(broker, server.url, reloaded)).rejects.toThrow(
      /changes startingPosition .* Delete it first/,
    );
    await third.stop();
  });

  it('says which config is missing when EVENTLOG_CONFIG names none', async () => {
    await expect(findConfig(tmpdir(), { EVENTLOG_CONFIG: 'nope.config.ts' })).rejects.toThrow(
      /EVENTLOG_CONFIG names .*nope.config.ts, which does not exist/,
    );
    expect(await findConfig(configDir({}), {})).toBeUndefined();
  });
});
