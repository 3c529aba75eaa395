import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/broker/clock.js';
import type { Heartbeat } from '../../../lib/broker/groups.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import { uniqueName } from '../../helpers/aws.js';
import { brokerForTest, text } from './helpers.js';

/**
 * Leases and commits against DynamoDB Local, on a hand-moved clock: members heartbeat in
 * rounds (the members of a round at the same time, so their conditional writes race for
 * real), and time moves only when the test says so.
 */

const SESSION = 2000;

async function setup(partitions = 6) {
  const clock = new ManualClock(1_700_000_000_000);
  const broker = brokerForTest({ clock });
  const topic = uniqueName('groups');
  await broker.topics.create({ name: topic, partitions });
  const group = uniqueName('g');
  const beat = (member: string, topics = [topic]) =>
    broker.groups.heartbeat(group, member, { topics, sessionTimeoutMs: SESSION });
  /** Heartbeats the members together until no assignment changes for two rounds. */
  const settle = async (members: string[]): Promise<Map<string, Heartbeat>> => {
    let last = '';
    let stable = 0;
    for (let round = 0; round < 30; round++) {
      const beats = await Promise.all(members.map((m) => beat(m)));
      const shape = JSON.stringify(beats.map((b) => b.assignment.map((a) => a.partition)));
      stable = shape === last ? stable + 1 : 0;
      last = shape;
      if (stable === 2) return new Map(beats.map((b) => [b.memberId, b]));
      clock.advance(100);
    }
    throw new Error(`no stable assignment: ${last}`);
  };
  const loads = (beats: Map<string, Heartbeat>) =>
    [...beats.values()].map((b) => b.assignment.length).sort((a, b) => b - a);
  return { clock, broker, topic, group, beat, settle, loads };
}

describe('consumer group leases', () => {
  it('settles 3 members at 2/2/2, a 4th at 2/2/1/1, and moves a dead member’s partitions', async () => {
    const { clock, settle, loads, beat } = await setup(6);
    let beats = await settle(['a', 'b', 'c']);
    expect(loads(beats)).toEqual([2, 2, 2]);
    const owned = (bs: Map<string, Heartbeat>) =>
      [...bs.values()].flatMap((b) => b.assignment.map((a) => a.partition)).sort();
    expect(owned(beats)).toEqual([0, 1, 2, 3, 4, 5]);

    beats = await settle(['a', 'b', 'c', 'd']);
    expect(loads(beats)).toEqual([2, 2, 1, 1]);
    expect(owned(beats)).toEqual([0, 1, 2, 3, 4, 5]);

    // d stops heartbeating: within one session timeout its partitions are someone else's.
    const ofD = (beats.get('d') as Heartbeat).assignment.map((a) => a.partition);
    clock.advance(SESSION + 1);
    beats = await settle(['a', 'b', 'c']);
    expect(loads(beats)).toEqual([2, 2, 2]);
    expect(owned(beats)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const p of ofD) {
      expect([...beats.values()].some((b) => b.assignment.some((a) => a.partition === p))).toBe(
        true,
      );
    }
    // d comes back: it starts over as a new member and is given partitions again.
    const back = await beat('d');
    expect(back.members).toBe(4);
  });

  it('hands a leaving member’s partitions over at the next heartbeat', async () => {
    const { broker, group, settle, loads, beat } = await setup(4);
    await settle(['a', 'b']);
    const released = await broker.groups.leave(group, 'b');
    expect(released).toHaveLength(2);
    const a = await beat('a');
    expect(a.assignment).toHaveLength(4);
    expect(a.members).toBe(1);
    expect(loads(new Map([['a', a]]))).toEqual([4]);
  });

  it('fences a zombie: a member that lost its lease cannot move the offset', async () => {
    const { clock, broker, group, topic, beat } = await setup(1);
    const a1 = await beat('a');
    const lease = a1.assignment[0];
    expect(lease).toMatchObject({ partition: 0, committed: null });
    await broker.groups.commit(group, 'a', [
      { topic, partition: 0, offset: 5, counter: lease?.counter ?? 0 },
    ]);

    // a pauses past its session; b takes the partition and commits.
    clock.advance(SESSION + 1);
    const b = await beat('b');
    expect(b.assignment).toMatchObject([{ partition: 0, committed: 5 }]);
    expect(b.assignment[0]?.counter).toBeGreaterThan(lease?.counter ?? 0);

    // a wakes up and commits under its old lease: refused, and the offset is unchanged.
    const error = await broker.groups
      .commit(group, 'a', [{ topic, partition: 0, offset: 9, counter: lease?.counter ?? 0 }])
      .catch((e: unknown) => e);
    expect(isEventLogError(error, 'FENCED')).toBe(true);
    expect(isEventLogError(error) && error.retriable).toBe(false);
    expect(await broker.groups.committed(group)).toMatchObject([{ partition: 0, committed: 5 }]);
    // Its next heartbeat tells it the partition is gone.
    const a2 = await beat('a');
    expect(a2.assignment).toEqual([]);
  });

  it('never moves a committed offset back, and answers a stale commit with the stored one', async () => {
    const { broker, group, topic, beat } = await setup(1);
    const { counter } = (await beat('a')).assignment[0] as { counter: number };
    const commit = (offset: number) =>
      broker.groups.commit(group, 'a', [{ topic, partition: 0, offset, counter }]);
    expect(await commit(10)).toMatchObject([{ committed: 10, applied: true }]);
    expect(await commit(10)).toMatchObject([{ committed: 10, applied: true }]);
    expect(await commit(4)).toMatchObject([{ committed: 10, applied: false }]);
    expect(await broker.groups.committed(group)).toMatchObject([{ partition: 0, committed: 10 }]);
  });

  it('resets offsets only without live members unless forced, and fences the old tenure', async () => {
    const { clock, broker, group, topic, beat } = await setup(2);
    await broker.produce.produce({
      topic,
      records: Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, value: text(`v${i}`) })),
    });
    const a = await beat('a');
    await broker.groups.commit(
      group,
      'a',
      a.assignment.map((l) => ({ topic, partition: l.partition, offset: 3, counter: l.counter })),
    );
    const refused = await broker.groups
      .reset(group, { topic, target: { to: 'earliest' } })
      .catch((e: unknown) => e);
    expect(isEventLogError(refused, 'GROUP_NOT_EMPTY')).toBe(true);

    const forced = await broker.groups.reset(group, {
      topic,
      partitions: [1],
      target: { to: 'offset', offset: 99 },
      force: true,
    });
    // Clamped to the log end, as Kafka's tool does.
    expect(forced).toEqual([{ topic, partition: 1, previous: 3, committed: 3 }]);
    const stale = await broker.groups
      .commit(group, 'a', [
        { topic, partition: 1, offset: 3, counter: a.assignment[1]?.counter ?? 0 },
      ])
      .catch((e: unknown) => e);
    expect(isEventLogError(stale, 'FENCED')).toBe(true);

    clock.advance(SESSION + 1);
    const reset = await broker.groups.reset(group, { topic, target: { to: 'earliest' } });
    expect(reset.map((r) => [r.partition, r.previous, r.committed])).toEqual([
      [0, 3, 0],
      [1, 3, 0],
    ]);
    const latest = await broker.groups.reset(group, { topic, target: { to: 'latest' } });
    expect(latest.map((r) => r.committed)).toEqual([3, 3]);
  });

  it('describes members, owners, committed offsets, log end offsets and lag; lists and deletes', async () => {
    const { clock, broker, group, topic, beat } = await setup(2);
    await broker.produce.produce({
      topic,
      records: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: text(`v${i}`) })),
    });
    const a = await beat('a');
    const first = a.assignment[0] as { partition: number; counter: number };
    await broker.groups.commit(group, 'a', [
      { topic, partition: first.partition, offset: 2, counter: first.counter },
    ]);
    const described = await broker.groups.describe(group);
    expect(described).toMatchObject({ group, state: 'Stable', totalLag: 3 });
    expect(described.members).toMatchObject([{ memberId: 'a', kind: 'member', topics: [topic] }]);
    expect(described.partitions).toEqual([
      expect.objectContaining({ partition: 0, owner: 'a', committed: 2, highWatermark: 5, lag: 3 }),
      expect.objectContaining({ partition: 1, owner: 'a', committed: null, lag: null }),
    ]);
    expect((await broker.groups.list()).find((g) => g.group === group)).toEqual({
      group,
      state: 'Stable',
      members: 1,
    });

    const refused = await broker.groups.delete(group).catch((e: unknown) => e);
    expect(isEventLogError(refused, 'GROUP_NOT_EMPTY')).toBe(true);
    clock.advance(SESSION + 1);
    expect((await broker.groups.describe(group)).state).toBe('Empty');
    await broker.groups.delete(group);
    const gone = await broker.groups.describe(group).catch((e: unknown) => e);
    expect(isEventLogError(gone, 'UNKNOWN_GROUP')).toBe(true);
    expect((await broker.groups.list()).some((g) => g.group === group)).toBe(false);
  });

  it('writes the member item only when a third of its session has passed', async () => {
    const { clock, beat } = await setup(1);
    const first = await beat('a');
    expect(first.expiresInMs).toBe(SESSION);
    clock.advance(SESSION / 4);
    // Not renewed: the expiry the member got is still the first one.
    expect((await beat('a')).expiresInMs).toBe(SESSION - SESSION / 4);
    clock.advance(SESSION / 4);
    expect((await beat('a')).expiresInMs).toBe(SESSION);
  });
});
