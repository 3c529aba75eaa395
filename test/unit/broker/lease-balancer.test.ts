import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type LeaseView,
  leaseKey,
  type MemberView,
  planBalance,
} from '../../../lib/broker/lease-balancer.js';
import { seededRandom } from '../../helpers/random.js';

const member = (memberId: string, topics = ['t']): MemberView => ({ memberId, topics });
const lease = (partition: number, owner?: string, counter = 1, topic = 't'): LeaseView => ({
  topic,
  partition,
  counter,
  ...(owner === undefined ? {} : { owner }),
});

/**
 * The groups table in memory: every member plans from the same snapshot (as members
 * heartbeating at the same moment do), then the plans are applied in a random order with
 * the store's conditions (a take succeeds only if owner and counter are still as read).
 */
class Simulation {
  readonly leases = new Map<string, LeaseView>();
  constructor(
    public members: MemberView[],
    readonly partitions: Map<string, number>,
    readonly random: () => number,
  ) {}

  round(): void {
    const snapshot = [...this.leases.values()].map((l) => ({ ...l }));
    const plans = this.members.map((m) => ({
      self: m.memberId,
      plan: planBalance({
        self: m.memberId,
        members: this.members,
        partitions: this.partitions,
        leases: snapshot,
        random: this.random,
      }),
    }));
    for (let i = plans.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [plans[i], plans[j]] = [
        plans[j] as (typeof plans)[number],
        plans[i] as (typeof plans)[number],
      ];
    }
    for (const { self, plan } of plans) {
      for (const r of plan.release) {
        const current = this.leases.get(leaseKey(r.topic, r.partition));
        if (current?.owner === self && current.counter === r.counter) {
          this.leases.set(leaseKey(r.topic, r.partition), {
            topic: r.topic,
            partition: r.partition,
            counter: (current.counter ?? 0) + 1,
          });
        }
      }
      for (const t of [...plan.take, ...(plan.steal === undefined ? [] : [plan.steal])]) {
        const key = leaseKey(t.topic, t.partition);
        const current = this.leases.get(key);
        if (current?.counter !== t.counter || current?.owner !== t.owner) continue;
        this.leases.set(key, {
          topic: t.topic,
          partition: t.partition,
          owner: self,
          counter: (t.counter ?? 0) + 1,
        });
      }
    }
  }

  loads(): number[] {
    return this.members
      .map((m) => [...this.leases.values()].filter((l) => l.owner === m.memberId).length)
      .sort((a, b) => b - a);
  }

  owned(): number {
    const live = new Set(this.members.map((m) => m.memberId));
    return [...this.leases.values()].filter((l) => l.owner !== undefined && live.has(l.owner))
      .length;
  }

  /** Rounds until nothing changes for two rounds in a row; returns how many it took. */
  settle(limit = 100): number {
    let stable = 0;
    for (let round = 1; round <= limit; round++) {
      const before = JSON.stringify([...this.leases.entries()]);
      this.round();
      stable = JSON.stringify([...this.leases.entries()]) === before ? stable + 1 : 0;
      if (stable === 2) return round;
    }
    throw new Error(`did not settle in ${limit} rounds: ${this.loads().join('/')}`);
  }
}

describe('planBalance', () => {
  it('gives a lone member every partition', () => {
    const plan = planBalance({
      self: 'a',
      members: [member('a')],
      partitions: new Map([['t', 4]]),
      leases: [],
    });
    expect(plan.take.map((l) => l.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(plan.steal).toBeUndefined();
    expect(plan.target).toBe(4);
  });

  it('takes free leases only up to its share', () => {
    const plan = planBalance({
      self: 'a',
      members: [member('a'), member('b'), member('c')],
      partitions: new Map([['t', 6]]),
      leases: [],
    });
    expect(plan.take).toHaveLength(2);
  });

  it("treats a dead member's leases as free and takes them before stealing", () => {
    // b is not among the live members: its leases are free.
    const plan = planBalance({
      self: 'a',
      members: [member('a'), member('c')],
      partitions: new Map([['t', 4]]),
      leases: [lease(0, 'a'), lease(1, 'b', 3), lease(2, 'b', 5), lease(3, 'c')],
    });
    // Its share is 2 and it holds 1: one of b's two, either.
    expect(plan.take).toHaveLength(1);
    expect(plan.take[0]?.owner).toBe('b');
    expect(plan.steal).toBeUndefined();
  });

  it('steals one lease from the most loaded member when it holds two more', () => {
    const plan = planBalance({
      self: 'c',
      members: [member('a'), member('b'), member('c')],
      partitions: new Map([['t', 6]]),
      leases: [
        lease(0, 'a'),
        lease(1, 'a'),
        lease(2, 'a'),
        lease(3, 'a'),
        lease(4, 'b'),
        lease(5, 'b'),
      ],
    });
    expect(plan.take).toEqual([]);
    expect(plan.steal?.owner).toBe('a');
  });

  it('does not steal across a difference of one, so 2/2/1/1 is stable', () => {
    const members = ['a', 'b', 'c', 'd'].map((id) => member(id));
    const leases = [
      lease(0, 'a'),
      lease(1, 'a'),
      lease(2, 'b'),
      lease(3, 'b'),
      lease(4, 'c'),
      lease(5, 'd'),
    ];
    for (const self of ['a', 'b', 'c', 'd']) {
      const plan = planBalance({ self, members, partitions: new Map([['t', 6]]), leases });
      expect(plan, self).toMatchObject({ take: [], release: [] });
      expect(plan.steal, self).toBeUndefined();
    }
  });

  it('releases leases of topics it no longer subscribes to', () => {
    const plan = planBalance({
      self: 'a',
      members: [member('a', ['u'])],
      partitions: new Map([['u', 1]]),
      leases: [lease(0, 'a', 2, 't'), lease(0, 'b', 1, 'u')],
    });
    expect(plan.release).toEqual([lease(0, 'a', 2, 't')]);
    expect(plan.take.map((l) => [l.topic, l.owner])).toEqual([['u', 'b']]);
  });

  it('counts a lease whose owner dropped the topic as free', () => {
    const plan = planBalance({
      self: 'a',
      members: [member('a', ['t']), member('b', ['u'])],
      partitions: new Map([['t', 2]]),
      leases: [lease(0, 'b'), lease(1, 'b')],
    });
    expect(plan.take).toHaveLength(2);
  });
});

describe('planBalance, simulated', () => {
  it('settles 3 members on 6 partitions at 2/2/2, then 2/2/1/1 with a 4th', () => {
    const sim = new Simulation(
      ['a', 'b', 'c'].map((id) => member(id)),
      new Map([['t', 6]]),
      seededRandom(7),
    );
    sim.settle();
    expect(sim.loads()).toEqual([2, 2, 2]);
    sim.members.push(member('d'));
    sim.settle();
    expect(sim.loads()).toEqual([2, 2, 1, 1]);
    // d dies: its lease goes to the others.
    sim.members = sim.members.filter((m) => m.memberId !== 'd');
    sim.settle();
    expect(sim.loads()).toEqual([2, 2, 2]);
  });

  it('converges from members joining one by one onto a member that took everything', () => {
    const sim = new Simulation([member('a')], new Map([['t', 12]]), seededRandom(3));
    sim.settle();
    expect(sim.loads()).toEqual([12]);
    for (const id of ['b', 'c', 'd', 'e']) sim.members.push(member(id));
    const rounds = sim.settle();
    expect(sim.loads()).toEqual([3, 3, 2, 2, 2]);
    // One steal per member per round: bounded by the largest deficit, plus slack for races.
    expect(rounds).toBeLessThanOrEqual(12);
  });

  it('always ends with every partition owned and loads within one of each other', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (partitions, members, seed) => {
          const random = seededRandom(seed);
          const sim = new Simulation(
            Array.from({ length: members }, (_, i) => member(`m${i}`)),
            new Map([['t', partitions]]),
            random,
          );
          // Some members start holding everything, as after a restart of the others.
          for (let p = 0; p < partitions; p++) {
            sim.leases.set(leaseKey('t', p), lease(p, `m${Math.floor(random() * 2)}`));
          }
          sim.settle(200);
          const loads = sim.loads();
          expect(sim.owned()).toBe(partitions);
          expect((loads[0] ?? 0) - (loads[loads.length - 1] ?? 0)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
