import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import { ManualClock } from '../../../lib/broker/clock.js';
import type { ProduceRecord, ProduceResult } from '../../../lib/broker/produce.js';
import { CallCounter } from '../../../lib/store/call-counter.js';
import { uniqueName } from '../../helpers/aws.js';
import { isInjectedCrash } from '../../helpers/faults.js';
import { brokerForTest, countSegmentObjects, faultyBroker, readAll, text } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function records(partition: number, ...values: string[]): ProduceRecord[] {
  return values.map((value) => ({ partition, value: text(value) }));
}

const offsets = (result: ProduceResult) => result.records.map((r) => r.offset);
const codes = (result: ProduceResult) => result.records.map((r) => r.error?.code);
const values = async (broker: Broker, topic: string, partition = 0) =>
  (await readAll(broker, topic, partition)).map((r) => [r.offset, r.value?.toString()]);

async function setup(partitions = 1, clock = new ManualClock()) {
  const broker = brokerForTest({ clock });
  const topic = uniqueName('idem');
  const created = await broker.topics.create({ name: topic, partitions });
  const { producerId, producerEpoch } = await broker.producers.init();
  const send = (partition: number, baseSequence: number, ...vals: string[]) =>
    broker.produce.produce({
      topic,
      records: records(partition, ...vals),
      producer: { producerId, producerEpoch, baseSequences: { [partition]: baseSequence } },
    });
  return { broker, topic, topicId: created.topicId, producerId, producerEpoch, send, clock };
}

describe('idempotent producer', () => {
  it('answers a retried batch with the offsets it got and writes it once', async () => {
    const { broker, topic, send } = await setup();
    const first = await send(0, 0, 'a', 'b');
    expect(offsets(first)).toEqual([0, 1]);
    const retry = await send(0, 0, 'a', 'b');
    expect(retry).toEqual(first);
    const next = await send(0, 2, 'c');
    expect(offsets(next)).toEqual([2]);
    expect(await values(broker, topic)).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('keeps the last 5 batches: a retry of any of them is answered, an older one is refused', async () => {
    const { broker, topic, send } = await setup();
    const firsts: ProduceResult[] = [];
    for (let batch = 0; batch < 6; batch++) {
      firsts.push(await send(0, batch * 2, `${batch}.0`, `${batch}.1`));
    }
    for (let batch = 1; batch < 6; batch++) {
      expect(await send(0, batch * 2, `${batch}.0`, `${batch}.1`)).toEqual(firsts[batch]);
    }
    const oldest = await send(0, 0, '0.0', '0.1');
    expect(codes(oldest)).toEqual(['OUT_OF_ORDER_SEQUENCE', 'OUT_OF_ORDER_SEQUENCE']);
    expect((await readAll(broker, topic, 0)).length).toBe(12);
  });

  it('refuses a gap in the sequence with OUT_OF_ORDER_SEQUENCE and writes nothing', async () => {
    const { broker, topic, topicId, send } = await setup();
    await send(0, 0, 'a', 'b');
    const gap = await send(0, 5, 'x');
    expect(gap.records[0]?.error).toMatchObject({
      code: 'OUT_OF_ORDER_SEQUENCE',
      retriable: false,
      details: { partition: 0, expectedSequence: 2, baseSequence: 5 },
    });
    // A first batch must start at 0.
    const fresh = await broker.producers.init();
    const late = await broker.produce.produce({
      topic,
      records: records(0, 'y'),
      producer: { ...fresh, baseSequences: { 0: 3 } },
    });
    expect(codes(late)).toEqual(['OUT_OF_ORDER_SEQUENCE']);
    expect((await readAll(broker, topic, 0)).length).toBe(2);
    // Neither refused request left an object behind.
    expect(await countSegmentObjects(topicId)).toBe(1);
  });

  it('treats partitions independently: a duplicate, a new batch and a gap in one request', async () => {
    const { broker, topic, producerId, producerEpoch } = await setup(3);
    const send = (sequences: Record<number, number>, recs: ProduceRecord[]) =>
      broker.produce.produce({
        topic,
        records: recs,
        producer: { producerId, producerEpoch, baseSequences: sequences },
      });
    const first = await send({ 0: 0, 1: 0 }, [...records(0, 'p0'), ...records(1, 'p1')]);
    const mixed = await send({ 0: 0, 1: 1, 2: 7 }, [
      ...records(0, 'p0'),
      ...records(1, 'p1-next'),
      ...records(2, 'p2-gap'),
    ]);
    expect(mixed.records[0]).toEqual(first.records[0]);
    expect(mixed.records[1]).toMatchObject({ partition: 1, offset: 1 });
    expect(mixed.records[2]?.error?.code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(await values(broker, topic, 0)).toEqual([[0, 'p0']]);
    expect(await values(broker, topic, 1)).toEqual([
      [0, 'p1'],
      [1, 'p1-next'],
    ]);
    expect(await values(broker, topic, 2)).toEqual([]);
  });

  it('refuses requests it cannot number: no partition and no key, a sequence for no record', async () => {
    const { broker, topic, producerId, producerEpoch } = await setup(2);
    await expect(
      broker.produce.produce({
        topic,
        records: [{ value: text('spread') }],
        producer: { producerId, producerEpoch, baseSequences: { 0: 0 } },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(
      broker.produce.produce({
        topic,
        records: records(0, 'x'),
        producer: { producerId, producerEpoch, baseSequences: { 0: 0, 1: 0 } },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(
      broker.produce.produce({
        topic,
        records: records(1, 'x'),
        producer: { producerId, producerEpoch, baseSequences: { 0: 0 } },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('fences an older epoch once the producer is initialized again (by name or by id)', async () => {
    const { broker, topic } = await setup(2);
    const name = uniqueName('named');
    const first = await broker.producers.init({ name });
    const second = await broker.producers.init({ name });
    expect(second).toEqual({
      producerId: first.producerId,
      producerEpoch: first.producerEpoch + 1,
    });

    // The old instance is refused, even on a partition the new one never wrote to.
    await expect(
      broker.produce.produce({
        topic,
        records: records(1, 'zombie'),
        producer: { ...first, baseSequences: { 1: 0 } },
      }),
    ).rejects.toMatchObject({ code: 'PRODUCER_FENCED', retriable: false });
    const ok = await broker.produce.produce({
      topic,
      records: records(1, 'new'),
      producer: { ...second, baseSequences: { 1: 0 } },
    });
    expect(offsets(ok)).toEqual([0]);

    // Re-initializing by id with a stale epoch is refused; with the current one it bumps.
    await expect(broker.producers.init({ ...first })).rejects.toMatchObject({
      code: 'PRODUCER_FENCED',
    });
    const third = await broker.producers.init({ ...second });
    expect(third.producerEpoch).toBe(second.producerEpoch + 1);
    // A new epoch starts again at sequence 0 on every partition.
    const restarted = await broker.produce.produce({
      topic,
      records: records(1, 'third'),
      producer: { ...third, baseSequences: { 1: 0 } },
    });
    expect(offsets(restarted)).toEqual([1]);
    await expect(
      broker.produce.produce({
        topic,
        records: records(1, 'stale'),
        producer: { ...second, baseSequences: { 1: 1 } },
      }),
    ).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
  });

  it('refuses a producer id that was never issued', async () => {
    const { broker, topic } = await setup();
    await expect(
      broker.produce.produce({
        topic,
        records: records(0, 'x'),
        producer: { producerId: 987_654_321, producerEpoch: 0, baseSequences: { 0: 0 } },
      }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
  });

  it("forgets a producer's state after producer.id.expiration.ms, even before TTL deletes it", async () => {
    const clock = new ManualClock();
    const { broker, topicId, producerId, send } = await setup(1, clock);
    const first = await send(0, 0, 'a');
    clock.advance(86_400_000 - 2_000);
    // Still remembered a moment before the expiry...
    expect(await send(0, 0, 'a')).toEqual(first);
    // ...and written again once the state expired: Kafka's behaviour, the dedup window is
    // the state's lifetime. A continuing sequence has nothing to follow any more.
    clock.advance(86_400_000);
    expect(codes(await send(0, 1, 'b'))).toEqual(['OUT_OF_ORDER_SEQUENCE']);
    expect(offsets(await send(0, 0, 'a'))).toEqual([1]);
    // The item carries the TTL attribute, in epoch seconds, a day after its last write.
    const state = await broker.stores.producers.state(topicId, 0, {
      kind: 'producer',
      producerId,
    });
    expect(state?.expiresAt).toBe(Math.floor(clock.now() / 1000) + 86_400);
  });

  it('expires an idle registration, and keeps a producing one alive', async () => {
    const clock = new ManualClock();
    const { broker, topic, producerId, producerEpoch, send } = await setup(1, clock);
    for (let day = 0; day < 10; day++) {
      clock.advance(86_400_000 - 1000);
      // Each write extends the state; the registration is extended every half lifetime.
      await expect(send(0, day, `${day}`)).resolves.toBeDefined();
    }
    const idle = await broker.producers.init();
    clock.advance(8 * 86_400_000);
    await expect(
      broker.produce.produce({
        topic,
        records: records(0, 'late'),
        producer: { ...idle, baseSequences: { 0: 0 } },
      }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    expect(producerEpoch).toBe(0);
    expect(producerId).toBeGreaterThan(0);
  });

  it('writes concurrent duplicates once; the losers leave aborted markers, not holes', async () => {
    const { broker, topic, topicId, send } = await setup();
    await send(0, 0, 'before');
    const racing = await Promise.all(Array.from({ length: 6 }, () => send(0, 1, 'x', 'y')));
    for (const result of racing) expect(result).toEqual(racing[0]);
    expect(codes(racing[0] as ProduceResult)).toEqual([undefined, undefined]);
    const after = await send(0, 3, 'after');
    const read = await readAll(broker, topic, 0);
    expect(read.map((r) => r.value?.toString())).toEqual(['before', 'x', 'y', 'after']);
    expect(read.at(-1)?.offset).toBe(after.records[0]?.offset);
    // The losers' ranges are aborted markers, so every reservation is settled at once: the
    // high watermark is the end of the log, with no healing.
    const commits = await broker.stores.commits.commitsFrom(topicId, 0, 1, 100);
    expect(commits.filter((c) => c.kind === 'aborted').length).toBeGreaterThan(0);
    const described = await broker.topics.get(topic);
    expect(await broker.reader.mayHaveMore(described, 0)).toBe(false);
    expect((await broker.topics.describe(topic)).partitionOffsets[0]?.highWatermark).toBe(
      after.records[0]?.offset === undefined ? -1 : after.records[0].offset + 1,
    );
  });

  it('costs one state read per commit sequence, one registration read and a transaction instead of the commit put; the plain path is one reservation and one put', async () => {
    const clock = new ManualClock();
    const { broker, faults, clients, close } = faultyBroker({ clock, maxAttempts: 3 });
    cleanups.push(close);
    faults.detachAll();
    const counter = new CallCounter();
    counter.attach(clients.s3, clients.dynamo);
    const topic = uniqueName('cost');
    await broker.topics.create({ name: topic, partitions: 3 });
    const producer = await broker.producers.init();
    const twoPartitions = [...records(0, 'a', 'b'), ...records(2, 'c')];
    await broker.produce.produce({ topic, records: twoPartitions }); // warms the topic cache

    let before = counter.snapshot();
    await broker.produce.produce({ topic, records: twoPartitions });
    const plain = counter.since(before);
    expect(Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, v.calls]))).toEqual({
      PutObject: 1,
      UpdateItem: 1,
      PutItem: 1,
    });

    before = counter.snapshot();
    await broker.produce.produce({
      topic,
      records: twoPartitions,
      producer: { ...producer, baseSequences: { 0: 0, 2: 0 } },
    });
    const idempotent = counter.since(before);
    expect(Object.fromEntries(Object.entries(idempotent).map(([k, v]) => [k, v.calls]))).toEqual({
      GetItem: 2,
      PutObject: 1,
      UpdateItem: 1,
      TransactWriteItems: 1,
    });

    // A retry that is a duplicate everywhere reads the state and the commit it names, and
    // writes nothing at all.
    before = counter.snapshot();
    await broker.produce.produce({
      topic,
      records: twoPartitions,
      producer: { ...producer, baseSequences: { 0: 0, 2: 0 } },
    });
    expect(
      Object.fromEntries(Object.entries(counter.since(before)).map(([k, v]) => [k, v.calls])),
    ).toEqual({ GetItem: 3 });
  });
});

describe('idempotent producer: a writer that dies, then a retry from a healthy one', () => {
  async function crashThenRetry(
    fault: {
      command: string;
      action: 'crash' | 'crashAfter';
      when?: (input: Record<string, unknown>) => boolean;
    },
    heal: boolean,
  ) {
    const clock = new ManualClock();
    const healthy = brokerForTest({ clock });
    const topic = uniqueName('idem-crash');
    const created = await healthy.topics.create({ name: topic, partitions: 2 });
    const producer = await healthy.producers.init();
    const request = {
      topic,
      records: [...records(0, 'a', 'b'), ...records(1, 'c')],
      producer: { ...producer, baseSequences: { 0: 0, 1: 0 } },
    };
    const dying = faultyBroker({ clock });
    cleanups.push(dying.close);
    dying.faults.add({ ...fault, times: 1 });
    const died = await dying.broker.produce.produce(request);
    // The partitions are written in parallel: the crash stops those not past the fault yet.
    expect(dying.faults.crashedAt).toBe(fault.command);
    expect(died.records.some((r) => r.error !== undefined && isInjectedCrash(r.error.cause))).toBe(
      true,
    );
    const retry = await healthy.produce.produce(request);
    expect(codes(retry)).toEqual([undefined, undefined, undefined]);
    if (heal) {
      // The dead writer's reservation is a hole until the healer, past grace, aborts it.
      await healthy.reader.advance(created.topicId, 0);
      clock.advance(46_000);
      await healthy.reader.advance(created.topicId, 0);
    }
    const p0 = await readAll(healthy, topic, 0);
    const p1 = await readAll(healthy, topic, 1);
    expect(p0.map((r) => r.value?.toString())).toEqual(['a', 'b']);
    expect(p1.map((r) => r.value?.toString())).toEqual(['c']);
    // The answer is where the records are.
    expect(offsets(retry)).toEqual([p0[0]?.offset, p0[1]?.offset, p1[0]?.offset]);
    // And another retry gets the same answer.
    expect(await healthy.produce.produce(request)).toEqual(retry);
    return { retry, p0 };
  }

  it('after the S3 upload, before reserving offsets', async () => {
    const { retry } = await crashThenRetry({ command: 'UpdateItem', action: 'crash' }, false);
    expect(offsets(retry)).toEqual([0, 1, 0]);
  });

  it('after reserving offsets, before publishing', async () => {
    const { retry } = await crashThenRetry(
      { command: 'TransactWriteItems', action: 'crash' },
      true,
    );
    // The retry reserved new offsets after the dead writer's (now aborted) commit.
    expect(offsets(retry)).toEqual([2, 3, 1]);
  });

  it('after publishing, before answering: the retry is answered from state', async () => {
    // The process dies right after the commit's transaction landed: both partitions are
    // written (one commit), and the retry is answered with their offsets.
    const { retry } = await crashThenRetry(
      { command: 'TransactWriteItems', action: 'crashAfter' },
      false,
    );
    expect(offsets(retry)).toEqual([0, 1, 0]);
  });

  it("a lost answer of the publish transaction is no failure: the SDK's retry reuses its token", async () => {
    const clock = new ManualClock();
    const { broker, faults, close } = faultyBroker({ clock, maxAttempts: 3 });
    cleanups.push(close);
    faults.add({ command: 'TransactWriteItems', action: 'loseResponse' });
    const topic = uniqueName('idem-lost');
    await broker.topics.create({ name: topic, partitions: 1 });
    const producer = await broker.producers.init();
    const result = await broker.produce.produce({
      topic,
      records: records(0, 'once'),
      producer: { ...producer, baseSequences: { 0: 0 } },
    });
    expect(faults.fired({ action: 'loseResponse' })).toBe(1);
    expect(offsets(result)).toEqual([0]);
    expect(await values(broker, topic)).toEqual([[0, 'once']]);
  });

  it('a lost answer with no SDK retry: our own range is found published', async () => {
    const clock = new ManualClock();
    const { broker, faults, close } = faultyBroker({ clock, maxAttempts: 1 });
    cleanups.push(close);
    faults.add({ command: 'TransactWriteItems', action: 'loseResponse' });
    const topic = uniqueName('idem-lost1');
    await broker.topics.create({ name: topic, partitions: 1 });
    const producer = await broker.producers.init();
    const result = await broker.produce.produce({
      topic,
      records: records(0, 'once'),
      producer: { ...producer, baseSequences: { 0: 0 } },
    });
    expect(offsets(result)).toEqual([0]);
    expect(await values(broker, topic)).toEqual([[0, 'once']]);
  });
});
