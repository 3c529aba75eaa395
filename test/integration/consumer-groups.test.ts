import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Consumer, type ConsumerBatch } from '../../lib/client/consumer.js';
import { Groups } from '../../lib/client/groups.js';
import { HttpClient } from '../../lib/client/http.js';
import { isEventLogError } from '../../lib/log/errors.js';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

/**
 * SDK Consumers against the HTTP API (the Hono app in process, DynamoDB Local and s3rver
 * behind it), with producers writing all along: members join, one is cut off without
 * leaving, one closes; every record produced must reach some member, committed offsets must
 * never go back, and partitions must move within the promised times.
 */

const SESSION = 2000;
const PARTITIONS = 6;
const api = apiHarness();
const BASE = 'http://eventlog.test';

/** An HTTP client whose network can be cut, as when a process freezes or its host dies. */
function client(): { http: HttpClient; cut: () => void } {
  let dead = false;
  const http = new HttpClient({
    url: BASE,
    timeoutMs: 5000,
    retry: { retries: 1, baseDelayMs: 10, maxDelayMs: 20 },
    fetch: async (input, init) => {
      if (dead)
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      return api.app.request(input instanceof Request ? input : String(input), init);
    },
  });
  return { http, cut: () => (dead = true) };
}

interface Member {
  id: string;
  consumer: Consumer;
  cut: () => void;
  loop: Promise<void>;
}

const running: Member[] = [];
afterAll(async () => {
  for (const m of running) m.cut();
  await Promise.all(running.map((m) => m.consumer.close().catch(() => {})));
});

describe('consumer groups over HTTP', () => {
  it('rebalances 2/2/2 → 2/2/1/1, survives a dead and a leaving member, and skips nothing', async () => {
    const topic = await api.topic(PARTITIONS);
    const group = uniqueName('cg');
    const groups = new Groups(client().http);

    const handed = Array.from({ length: PARTITIONS }, () => new Set<number>());
    const commitsByMember = new Map<string, Map<number, number[]>>();
    const errors: string[] = [];

    const start = (id: string): Member => {
      const { http, cut } = client();
      const consumer = new Consumer(http, {
        group,
        memberId: id,
        topics: [topic],
        autoOffsetReset: 'earliest',
        sessionTimeoutMs: SESSION,
        autoCommitIntervalMs: 100,
        waitMs: 250,
        maxRecords: 20,
        onCommit: (offsets) => {
          const mine = commitsByMember.get(id) ?? new Map<number, number[]>();
          for (const o of offsets)
            mine.set(o.partition, [...(mine.get(o.partition) ?? []), o.committed]);
          commitsByMember.set(id, mine);
        },
        onError: (error) => {
          // A victim of a steal learns it at its next commit: expected, and harmless.
          if (error.code !== 'FENCED' && !error.retriable) {
            errors.push(`${id}: ${error.code} ${error.message}`);
          }
        },
      });
      const loop = (async () => {
        for await (const batch of consumer as AsyncIterable<ConsumerBatch>) {
          for (const r of batch.records) handed[batch.partition]?.add(r.offset);
          await sleep(2);
        }
      })().catch((error: unknown) => {
        errors.push(`${id} loop: ${String(error)}`);
      });
      const member = { id, consumer, cut, loop };
      running.push(member);
      return member;
    };

    // Producers: small batches to every partition, all along (two: the emulators on this
    // machine serve the consumers too).
    let producing = true;
    let produced = 0;
    const producer = Promise.all(
      [0, 1].map(async (lane) => {
        for (let i = 0; producing; i++) {
          await api.broker.produce.produce({
            topic,
            records: Array.from({ length: PARTITIONS }, (_, p) => ({
              partition: p,
              value: Buffer.from(`r-${lane}-${i}-${p}`),
            })),
          });
          produced += PARTITIONS;
          await sleep(10);
        }
      }),
    );

    // Committed offsets as DynamoDB holds them, sampled with consistent reads: never back.
    let sampling = true;
    const lastSeen = new Map<number, number>();
    const backwards: string[] = [];
    const sampler = (async () => {
      while (sampling) {
        for (const c of await api.broker.groups.committed(group)) {
          const before = lastSeen.get(c.partition) ?? -1;
          if (c.committed < before) backwards.push(`p${c.partition}: ${before} → ${c.committed}`);
          lastSeen.set(c.partition, c.committed);
        }
        await sleep(50);
      }
    })();

    // Owners as the table says (one Query), counting only members whose session is alive.
    const owners = async () => {
      const { members, leases } = await api.broker.stores.groups.load(group);
      const now = Date.now();
      const live = new Set(members.filter((m) => m.expires > now).map((m) => m.memberId));
      return Array.from({ length: PARTITIONS }, (_, p) => {
        const owner = leases.find((l) => l.topic === topic && l.partition === p)?.owner;
        return owner !== undefined && live.has(owner) ? owner : null;
      });
    };
    const loads = async () => {
      const counts = new Map<string, number>();
      for (const owner of await owners())
        if (owner !== null) counts.set(owner, (counts.get(owner) ?? 0) + 1);
      return [...counts.values()].sort((a, b) => b - a);
    };
    const waitFor = async (what: string, test: () => Promise<boolean>, limitMs: number) => {
      const began = Date.now();
      while (!(await test())) {
        if (Date.now() - began > limitMs) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
      }
      return Date.now() - began;
    };
    const same = (a: number[], b: number[]) => JSON.stringify(a) === JSON.stringify(b);

    const a = start('a');
    const b = start('b');
    const c = start('c');
    await waitFor('2/2/2', async () => same(await loads(), [2, 2, 2]), 8000);

    const d = start('d');
    await waitFor('2/2/1/1', async () => same(await loads(), [2, 2, 1, 1]), 8000);

    // d's host dies: no heartbeat, no close. Its partitions move within 2x the session timeout.
    const ofD = (await owners()).flatMap((o, p) => (o === 'd' ? [p] : []));
    expect(ofD.length).toBeGreaterThan(0);
    d.cut();
    const movedAfterKill = await waitFor(
      "d's partitions moved",
      async () => {
        const now = await owners();
        return now.length === PARTITIONS && now.every((o) => o !== null && o !== 'd');
      },
      2 * SESSION,
    );
    expect(movedAfterKill).toBeLessThan(2 * SESSION);
    await waitFor('2/2/2 again', async () => same(await loads(), [2, 2, 2]), 4000);

    // c closes: its partitions go at the others' next heartbeat, well before the timeout.
    await c.consumer.close();
    await c.loop;
    const movedAfterClose = await waitFor(
      "c's partitions moved",
      async () => {
        const now = await owners();
        return now.length === PARTITIONS && now.every((o) => o === 'a' || o === 'b');
      },
      SESSION,
    );
    expect(movedAfterClose).toBeLessThan(SESSION);

    // Stop producing; the survivors drain everything and commit it.
    producing = false;
    await producer;
    const end = await api.broker.topics.describe(topic);
    await waitFor(
      'everything committed',
      async () => {
        const committed = await api.broker.groups.committed(group);
        return end.partitionOffsets.every(
          (p) => committed.find((c) => c.partition === p.partition)?.committed === p.highWatermark,
        );
      },
      8000,
    );
    sampling = false;
    await sampler;

    expect(errors).toEqual([]);
    expect(backwards).toEqual([]);
    let total = 0;
    for (const p of end.partitionOffsets) {
      total += p.highWatermark;
      const missing: number[] = [];
      for (let offset = 0; offset < p.highWatermark; offset++) {
        if (!handed[p.partition]?.has(offset)) missing.push(offset);
      }
      expect(missing, `partition ${p.partition}: never handed out`).toEqual([]);
    }
    expect(total).toBe(produced);
    // Each member's own commits per partition only go forward too.
    for (const [id, perPartition] of commitsByMember) {
      for (const [partition, values] of perPartition) {
        expect(values, `${id} p${partition}`).toEqual([...values].sort((x, y) => x - y));
      }
    }

    await Promise.all([a.consumer.close(), b.consumer.close()]);
    await Promise.all([a.loop, b.loop]);
    expect(await groups.describe(group)).toMatchObject({
      state: 'Empty',
      members: [],
      totalLag: 0,
    });
  }, 45_000);

  it('refuses a commit under a lost lease with FENCED over HTTP', async () => {
    const topic = await api.topic(1);
    const group = uniqueName('cg');
    const groups = new Groups(client().http);
    const first = await groups.heartbeat(group, 'zombie', {
      topics: [topic],
      sessionTimeoutMs: 1000,
    });
    const counter = first.assignment[0]?.counter as number;
    await groups.commit(group, 'zombie', [{ topic, partition: 0, offset: 0, counter }]);
    await sleep(1100);
    const taker = await groups.heartbeat(group, 'taker', {
      topics: [topic],
      sessionTimeoutMs: 1000,
    });
    expect(taker.assignment).toMatchObject([{ partition: 0, committed: 0 }]);

    const reply = await api.call('POST', `/v1/groups/${group}/commits`, {
      memberId: 'zombie',
      offsets: [{ topic, partition: 0, offset: 7, counter }],
    });
    expect(reply.status).toBe(409);
    expect(reply.json).toMatchObject({ error_code: 40903, code: 'FENCED', retriable: false });
    expect(await groups.committed(group)).toMatchObject([{ partition: 0, committed: 0 }]);
    const error = await groups
      .commit(group, 'zombie', [{ topic, partition: 0, offset: 7, counter }])
      .catch((e: unknown) => e);
    expect(isEventLogError(error, 'FENCED')).toBe(true);
  });

  it('fails iteration with NO_OFFSET when nothing is committed and autoOffsetReset is none', async () => {
    const topic = await api.topic(1);
    const consumer = new Consumer(client().http, {
      group: uniqueName('cg'),
      topics: [topic],
      autoOffsetReset: 'none',
      sessionTimeoutMs: SESSION,
    });
    const error = await (async () => {
      for await (const _ of consumer) return undefined;
      return undefined;
    })().catch((e: unknown) => e);
    expect(isEventLogError(error, 'NO_OFFSET')).toBe(true);
    await consumer.close();
  });
});
