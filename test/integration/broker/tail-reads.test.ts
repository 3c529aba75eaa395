import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../../lib/broker/broker.js';
import { testClients, testNames, uniqueName } from '../../helpers/aws.js';
import { isInjectedCrash } from '../../helpers/faults.js';
import { crashingBroker, isIndexPut, text } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A broker of its own (its own reader memory) whose index reads are counted, entry by entry. */
function countingBroker() {
  const stores = createStores(testClients(), testNames());
  const counts = { entries: 0, queries: 0, hintRaises: 0 };
  const entriesFrom = stores.index.entriesFrom.bind(stores.index);
  stores.index.entriesFrom = async (...args) => {
    const entries = await entriesFrom(...args);
    counts.queries++;
    counts.entries += entries.length;
    return entries;
  };
  const raiseHwHint = stores.index.raiseHwHint.bind(stores.index);
  stores.index.raiseHwHint = async (...args) => {
    counts.hintRaises++;
    return raiseHwHint(...args);
  };
  return { broker: createBroker(stores), counts };
}

describe('reads at the tail', () => {
  it('a process polling the tail reads only the entries new to it, and still stops at a hole', async () => {
    const { broker, counts } = countingBroker();
    const name = uniqueName('tail');
    await broker.topics.create({ name, partitions: 1 });
    // 20 batches: fewer than it takes any reader to raise the shared hint, so it stays at 0.
    let offset = 0;
    const perFetch: number[] = [];
    for (let i = 0; i < 20; i++) {
      await broker.produce.produce({ topic: name, records: [{ value: text(`v${i}`) }] });
      counts.entries = 0;
      const page = await broker.fetch.fetch({ topic: name, partition: 0, offset });
      expect(page.records.map((r) => r.value?.toString())).toEqual([`v${i}`]);
      perFetch.push(counts.entries);
      offset = page.nextOffset;
    }
    // Each fetch reads the one new entry, not everything since the shared hint.
    expect(Math.max(...perFetch)).toBe(1);
    expect(counts.hintRaises).toBe(0);

    // Another process starts from the shared hint and walks the whole stretch once.
    const other = countingBroker();
    const page = await other.broker.fetch.fetch({ topic: name, partition: 0, offset: 19 });
    expect(page.records.map((r) => r.value?.toString())).toEqual(['v19']);
    expect(other.counts.entries).toBe(20);

    // A writer dies between reserving and publishing: the remembered prefix ends before its
    // hole, and reads still stop there.
    const dying = crashingBroker('PutItem', { when: isIndexPut });
    cleanups.push(dying.close);
    const died = await dying.broker.produce.produce({
      topic: name,
      records: [{ value: text('lost') }],
    });
    expect(isInjectedCrash(died.records[0]?.error?.cause)).toBe(true);
    await broker.produce.produce({ topic: name, records: [{ value: text('after-hole') }] });
    const stopped = await broker.fetch.fetch({ topic: name, partition: 0, offset: 20 });
    expect(stopped.records).toEqual([]);
    expect(stopped.highWatermark).toBe(20);
  });

  it('raises the shared hint once a process has walked far past it', async () => {
    const { broker, counts } = countingBroker();
    const name = uniqueName('tail-hint');
    await broker.topics.create({ name, partitions: 1 });
    let offset = 0;
    for (let i = 0; i < 40; i++) {
      await broker.produce.produce({ topic: name, records: [{ value: text(`v${i}`) }] });
      offset = (await broker.fetch.fetch({ topic: name, partition: 0, offset })).nextOffset;
    }
    expect(offset).toBe(40);
    expect(counts.hintRaises).toBe(1);
    const head = await broker.stores.index.head((await broker.topics.resolve(name)).topicId, 0);
    expect(head.hwHint).toBeGreaterThanOrEqual(32);
  });
});
