import { describe, expect, it } from 'vitest';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest } from '../broker/helpers.js';

/**
 * Issue 15, items 9 and 10: retry state that no number of failing partitions can push past
 * DynamoDB's 400 KB item limit, and one group per subscription even for concurrent creates.
 */

const broker = brokerForTest();

async function subscription(topic: string, settings: { name?: string; group?: string } = {}) {
  return broker.subscriptions.create({
    name: settings.name ?? uniqueName('sub'),
    topic,
    functionName: 'f',
    startingPosition: 'LATEST',
    ...(settings.group === undefined ? {} : { group: settings.group }),
  });
}

describe('9: retry state of many failing partitions', () => {
  it('keeps the counts of 600 failing partitions, each with 1,000 characters of error', async () => {
    const topic = uniqueName('wide');
    await broker.topics.create({ name: topic, partitions: 600 });
    const sub = await subscription(topic);
    const error = 'x'.repeat(1000);
    // 600 x ~1.1 KB: well past 400 KB if it were one item.
    for (let start = 0; start < 600; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          broker.subscriptions.saveRetryState(sub.name, start + i, {
            offset: start + i,
            attempts: 3,
            since: 1,
            lastError: error,
          }),
        ),
      );
    }
    const [stored] = (await broker.subscriptions.forDispatch()).filter(
      (s) => s.config.name === sub.name,
    );
    expect(Object.keys(stored?.retries ?? {})).toHaveLength(600);
    expect(stored?.retries['599']).toMatchObject({ offset: 599, attempts: 3 });
    expect((await broker.subscriptions.get(sub.name)).failing).toHaveLength(600);

    await broker.subscriptions.saveRetryState(sub.name, 599, undefined);
    expect((await broker.subscriptions.get(sub.name)).failing).toHaveLength(599);
    // A deleted subscription leaves no retry state for a new one of the same name.
    await broker.subscriptions.delete(sub.name);
    const again = await subscription(topic, { name: sub.name });
    expect(again.failing).toEqual([]);
  }, 60_000);
});

describe('10: concurrent creates cannot share a consumer group', () => {
  it('exactly one of two racing creates on one group wins, every time', async () => {
    const topic = uniqueName('race');
    await broker.topics.create({ name: topic, partitions: 1 });
    for (let round = 0; round < 8; round++) {
      const group = uniqueName('shared');
      const outcomes = await Promise.allSettled([
        subscription(topic, { group }),
        subscription(topic, { group }),
        subscription(topic, { group }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(o.reason).toMatchObject({ code: 'SUBSCRIPTION_ALREADY_EXISTS' });
        }
      }
      const onGroup = (await broker.subscriptions.list({ topic })).filter((s) => s.group === group);
      expect(onGroup).toHaveLength(1);
    }
  });

  it('frees the group when its subscription is deleted', async () => {
    const topic = uniqueName('race');
    await broker.topics.create({ name: topic, partitions: 1 });
    const group = uniqueName('shared');
    const first = await subscription(topic, { group });
    await expect(subscription(topic, { group })).rejects.toMatchObject({
      code: 'SUBSCRIPTION_ALREADY_EXISTS',
    });
    await broker.subscriptions.delete(first.name);
    await expect(subscription(topic, { group })).resolves.toMatchObject({ group });
  });
});
