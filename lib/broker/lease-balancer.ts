/**
 * Which leases one member should take, steal or release at a heartbeat: the Kinesis Client
 * Library's scheme, as a pure function of what the member read from the groups table.
 *
 * Every member runs it for itself, with no coordinator; the conditional writes that carry
 * out the plan (on the lease's owner and counter) decide the races. The rules:
 *
 * 1. Leases of topics the member no longer subscribes to are released.
 * 2. The pool is every partition of the member's topics. A lease is *free* when nobody owns
 *    it, its owner is not a live member, or its owner no longer subscribes to the topic.
 * 3. The target is ceil(pool / members) for the live members that share a topic with it.
 *    Below the target, the member takes free leases (in random order, so members joining
 *    together rarely race for the same one) up to the target.
 * 4. Only when nothing is free does it steal, at most one lease, from the most loaded member,
 *    and only if that member holds at least two more than itself: a steal then always
 *    narrows the spread, so the group settles at even loads (±1) and never oscillates.
 */

export interface LeaseView {
  topic: string;
  partition: number;
  /** Absent when nobody owns it. */
  owner?: string;
  /** Absent when the lease item does not exist yet. */
  counter?: number;
}

export interface MemberView {
  memberId: string;
  topics: readonly string[];
}

export interface BalanceInput {
  self: string;
  /** Live members (the caller decides liveness from each member's expiry), self included. */
  members: readonly MemberView[];
  /** Partition counts of the topics `self` subscribes to that exist. */
  partitions: ReadonlyMap<string, number>;
  /** Every lease item of the group (any topic). */
  leases: readonly LeaseView[];
  /** Source of randomness for tie-breaking; Math.random by default. */
  random?: () => number;
}

export interface BalancePlan {
  /** Free leases to take. */
  take: LeaseView[];
  /** A lease to take from a live member, when nothing was free. */
  steal?: LeaseView;
  /** Own leases to give up (topics no longer subscribed, or gone). */
  release: LeaseView[];
  /** The member's fair share of the pool (ceil). */
  target: number;
}

export function leaseKey(topic: string, partition: number): string {
  return `${topic}#${partition}`;
}

export function planBalance(input: BalanceInput): BalancePlan {
  const random = input.random ?? Math.random;
  const self = input.members.find((m) => m.memberId === input.self);
  const selfTopics = new Set(self?.topics ?? []);
  const byKey = new Map(input.leases.map((l) => [leaseKey(l.topic, l.partition), l]));

  const release = input.leases.filter(
    (l) =>
      l.owner === input.self &&
      (!selfTopics.has(l.topic) || l.partition >= (input.partitions.get(l.topic) ?? 0)),
  );

  const subscribers = new Map<string, Set<string>>();
  for (const member of input.members) subscribers.set(member.memberId, new Set(member.topics));

  const pool: LeaseView[] = [];
  for (const [topic, count] of input.partitions) {
    if (!selfTopics.has(topic)) continue;
    for (let partition = 0; partition < count; partition++) {
      pool.push(byKey.get(leaseKey(topic, partition)) ?? { topic, partition });
    }
  }

  const load = new Map<string, LeaseView[]>();
  const free: LeaseView[] = [];
  for (const lease of pool) {
    const owner = lease.owner;
    if (owner !== undefined && subscribers.get(owner)?.has(lease.topic) === true) {
      const held = load.get(owner) ?? [];
      held.push(lease);
      load.set(owner, held);
    } else {
      free.push(lease);
    }
  }

  const competitors = input.members.filter(
    (m) => m.memberId === input.self || m.topics.some((t) => selfTopics.has(t)),
  ).length;
  const target = pool.length === 0 ? 0 : Math.ceil(pool.length / Math.max(1, competitors));
  const mine = load.get(input.self)?.length ?? 0;

  if (free.length > 0) {
    const take = shuffle(free, random).slice(0, Math.max(0, target - mine));
    return { take, release, target };
  }

  let most = 0;
  let victims: string[] = [];
  for (const [owner, held] of load) {
    if (owner === input.self) continue;
    if (held.length > most) {
      most = held.length;
      victims = [owner];
    } else if (held.length === most) {
      victims.push(owner);
    }
  }
  if (victims.length === 0 || most < mine + 2) return { take: [], release, target };
  const victim = pick(victims, random);
  const steal = pick(load.get(victim) ?? [], random);
  return { take: [], release, target, ...(steal === undefined ? {} : { steal }) };
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))] as T;
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
