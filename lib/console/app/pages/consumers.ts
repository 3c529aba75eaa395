import { ApiError, get, type Lag, type Subscription, type Topic } from '../api.js';
import { type Line, lineChart } from '../chart.js';
import { card, count, duration, enc, h, link, table, time } from '../dom.js';
import { livePage, type Page } from './page.js';

interface GroupSummary {
  group: string;
  state: string;
  members: number;
}

interface GroupDescription {
  group: string;
  state: string;
  members: { memberId: string; kind: string; topics: string[]; partitions: unknown[] }[];
}

/** Lag samples kept per group while the console is open, for its chart (the API keeps none). */
const HISTORY = 120;
const history = new Map<string, [number, number][]>();

function remember(key: string, at: number, value: number): [number, number][] {
  const points = history.get(key) ?? [];
  if (points.at(-1)?.[0] !== at) points.push([at, value]);
  if (points.length > HISTORY) points.splice(0, points.length - HISTORY);
  history.set(key, points);
  return points;
}

/** Subscriptions need cluster admin: a caller without it still sees its groups. */
async function subscriptionsIfAllowed(): Promise<Subscription[] | undefined> {
  try {
    return (await get<{ subscriptions: Subscription[] }>('/v1/subscriptions')).subscriptions;
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return undefined;
    throw error;
  }
}

export function consumersPage(): Page {
  return livePage(async () => {
    const [{ groups }, subscriptions] = await Promise.all([
      get<{ groups: GroupSummary[] }>('/v1/groups'),
      subscriptionsIfAllowed(),
    ]);
    const lags = await Promise.all(groups.map((g) => get<Lag>(`/v1/groups/${enc(g.group)}/lag`)));
    return [
      h('h1', {}, 'Consumer groups'),
      table(
        ['group', 'state', 'members', 'offset lag', 'time lag'],
        groups.map((g, i) => [
          link(`#/groups/${enc(g.group)}`, g.group),
          g.state,
          g.members,
          count(lags[i]?.totalOffsetLag),
          duration(lags[i]?.maxTimeLagMs),
        ]),
        [2, 3, 4],
      ),
      h('h2', {}, 'Lambda subscriptions'),
      subscriptions === undefined
        ? h('p', { class: 'muted' }, 'Listing subscriptions needs admin on the cluster.')
        : table(
            ['subscription', 'topic', 'group', 'function', 'state', 'failing partitions'],
            subscriptions.map((s) => [
              link(`#/subscriptions/${enc(s.name)}`, s.name),
              s.topic,
              s.group,
              s.functionName,
              s.state,
              s.failing.length === 0 ? '0' : h('span', { class: 'bad' }, s.failing.length),
            ]),
          ),
    ];
  });
}

function lagTable(lag: Lag): HTMLElement {
  return table(
    ['topic', 'partition', 'committed', 'log start', 'high watermark', 'offset lag', 'time lag'],
    lag.partitions.map((p) => [
      p.topic,
      p.partition,
      count(p.committed),
      count(p.logStartOffset),
      count(p.highWatermark),
      count(p.offsetLag),
      duration(p.timeLagMs),
    ]),
    [1, 2, 3, 4, 5, 6],
  );
}

function lagSection(key: string, lag: Lag): Node[] {
  const lines: Line[] = [
    {
      name: 'total offset lag (sampled while this page is open)',
      points: remember(key, lag.at, lag.totalOffsetLag),
    },
  ];
  return [
    h(
      'div',
      { class: 'cards' },
      card(
        'offset lag',
        h(
          'span',
          { id: 'total-offset-lag' },
          // A group that committed nothing yet has no lag to add up (a new subscription).
          lag.partitions.every((p) => p.committed === null)
            ? 'nothing committed'
            : count(lag.totalOffsetLag),
        ),
      ),
      card('time lag', duration(lag.maxTimeLagMs)),
    ),
    lineChart(lines, { title: 'offset lag', format: (v) => count(Math.round(v)), height: 120 }),
    h('h2', {}, 'Lag per partition'),
    lagTable(lag),
  ];
}

export function groupPage(name: string): Page {
  return livePage(async () => {
    const [group, lag] = await Promise.all([
      get<GroupDescription>(`/v1/groups/${enc(name)}`),
      get<Lag>(`/v1/groups/${enc(name)}/lag`),
    ]);
    return [
      h('h1', {}, `Group ${name}`),
      h('p', {}, `State ${group.state}, ${group.members.length} member(s)`),
      ...lagSection(`group:${name}`, lag),
      h('h2', {}, 'Members'),
      table(
        ['member', 'kind', 'topics', 'partitions'],
        group.members.map((m) => [m.memberId, m.kind, m.topics.join(', '), m.partitions.length]),
      ),
    ];
  });
}

export function subscriptionPage(name: string): Page {
  return livePage(async () => {
    const [s, lag] = await Promise.all([
      get<Subscription>(`/v1/subscriptions/${enc(name)}`),
      get<Lag & { subscription: string }>(`/v1/subscriptions/${enc(name)}/lag`),
    ]);
    const destination = s.destinationConfig?.onFailure.destination;
    const deadLetterTopic = destination?.startsWith('kafka://') ? destination.slice(8) : undefined;
    let deadLetters: Node | string =
      destination === undefined
        ? 'no on-failure destination'
        : 'not counted by the API (SQS or SNS: see the CloudWatch metrics)';
    if (deadLetterTopic !== undefined) {
      const dlq = await get<
        Topic & { partitionOffsets: { logStartOffset: number; highWatermark: number }[] }
      >(`/v1/topics/${enc(deadLetterTopic)}`);
      const held = dlq.partitionOffsets.reduce(
        (sum, p) => sum + p.highWatermark - p.logStartOffset,
        0,
      );
      deadLetters = h(
        'span',
        {},
        `${count(held)} record(s) in `,
        link(`#/topics/${enc(deadLetterTopic)}`, deadLetterTopic),
      );
    }
    return [
      h('h1', {}, `Subscription ${s.name}`),
      table(
        ['topic', 'group', 'function', 'state', 'batch size', 'retries', 'dead letters'],
        [
          [
            link(`#/topics/${enc(s.topic)}`, s.topic),
            link(`#/groups/${enc(s.group)}`, s.group),
            s.functionName,
            s.state,
            s.batchSize,
            s.maximumRetryAttempts,
            deadLetters,
          ],
        ],
      ),
      ...lagSection(`subscription:${name}`, lag),
      h('h2', {}, 'Recent errors (partitions failing now)'),
      table(
        ['partition', 'offset', 'attempts', 'since', 'last error'],
        s.failing.map((f) => [
          f.partition,
          f.offset,
          f.attempts,
          time(f.since),
          h('pre', {}, f.lastError),
        ]),
      ),
      h(
        'p',
        { class: 'muted' },
        'Invocation counts, function errors and records sent to SQS or SNS destinations are not kept by the API; they are CloudWatch metrics on AWS.',
      ),
    ];
  });
}
