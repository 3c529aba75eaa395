import { describe, expect, it } from 'vitest';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, produceValues } from '../broker/helpers.js';

/**
 * Issue 15, item 7: a commit carries the incarnation of the topic its lease was taken on.
 * After a delete and re-create under the same name, the old tenure's offset never lands on
 * the new topic.
 */

const broker = brokerForTest();

describe('7: incarnation-aware commits', () => {
  it('fences a commit made under a lease of the deleted topic, and re-leases on the next heartbeat', async () => {
    const topic = uniqueName('incarnation');
    const group = uniqueName('group');
    await broker.topics.create({ name: topic, partitions: 1 });
    await produceValues(
      broker,
      topic,
      Array.from({ length: 10 }, (_, i) => `old-${i}`),
    );
    const beat = await broker.groups.heartbeat(group, 'm1', { topics: [topic] });
    const lease = beat.assignment[0];
    expect(lease).toBeDefined();

    await broker.topics.delete(topic);
    await broker.topics.create({ name: topic, partitions: 1 });
    await produceValues(broker, topic, ['new-0', 'new-1', 'new-2']);

    // The member worked the old topic to offset 10 and commits it, under the old tenure.
    await expect(
      broker.groups.commit(group, 'm1', [
        { topic, partition: 0, offset: 10, counter: lease?.counter ?? 0 },
      ]),
    ).rejects.toMatchObject({ code: 'FENCED' });
    expect(await broker.groups.committed(group)).toEqual([]);

    // The next heartbeat gives a new tenure on the new topic, which commits normally.
    const again = await broker.groups.heartbeat(group, 'm1', { topics: [topic] });
    const fresh = again.assignment[0];
    expect(fresh?.counter).not.toBe(lease?.counter);
    expect(fresh?.committed).toBeNull();
    await broker.groups.commit(group, 'm1', [
      { topic, partition: 0, offset: 2, counter: fresh?.counter ?? 0 },
    ]);
    expect((await broker.groups.committed(group))[0]?.committed).toBe(2);
  });

  it('fences the dispatcher-style lease (takePartition) the same way', async () => {
    const topic = uniqueName('incarnation');
    const group = uniqueName('group');
    await broker.topics.create({ name: topic, partitions: 1 });
    const lease = await broker.groups.takePartition(
      group,
      'dispatcher-1',
      { topic, partition: 0 },
      { sessionTimeoutMs: 10_000 },
    );
    expect(lease).toBeDefined();
    await broker.topics.delete(topic);
    await broker.topics.create({ name: topic, partitions: 1 });
    await expect(
      broker.groups.commit(group, 'dispatcher-1', [
        { topic, partition: 0, offset: 10, counter: lease?.counter ?? 0 },
      ]),
    ).rejects.toMatchObject({ code: 'FENCED' });
    expect(await broker.groups.committed(group)).toEqual([]);
  });
});
