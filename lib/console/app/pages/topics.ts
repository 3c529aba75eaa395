import { api, get, type Throughput, type Topic } from '../api.js';
import { lineChart, sparkline } from '../chart.js';
import { bytes, card, count, enc, h, link, rate, retention, table } from '../dom.js';
import { livePage, type Page } from './page.js';

/** Topics looked at for figures on the list page; the rest are listed by name only. */
const FIGURES_FOR = 50;

/** Creating a topic: the form stays while the list under it refreshes. */
function createTopicForm(): HTMLElement {
  const name = h('input', { name: 'name', required: true, placeholder: 'orders' });
  const partitions = h('input', { name: 'partitions', type: 'number', min: 1, value: '3' });
  const retentionHours = h('input', {
    name: 'retentionHours',
    type: 'number',
    min: 1,
    placeholder: '168 (7 days)',
  });
  const status = h('span', { class: 'muted' });
  return h(
    'form',
    {
      class: 'row',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const configs =
          retentionHours.value === ''
            ? undefined
            : { 'retention.ms': String(Number(retentionHours.value) * 3_600_000) };
        api('POST', '/v1/topics', {
          name: name.value,
          partitions: Number(partitions.value),
          ...(configs === undefined ? {} : { configs }),
        })
          .then(() => {
            location.hash = `#/topics/${enc(name.value)}`;
          })
          .catch((error: unknown) => {
            status.textContent = error instanceof Error ? error.message : String(error);
            status.className = 'bad';
          });
      },
    },
    'New topic',
    name,
    h('label', {}, 'partitions'),
    partitions,
    h('label', {}, 'retention, hours'),
    retentionHours,
    h('button', { type: 'submit' }, 'Create'),
    status,
  );
}

export function topicsPage(): Page {
  const live = topicList();
  return { ...live, el: h('section', {}, h('h1', {}, 'Topics'), createTopicForm(), live.el) };
}

function topicList(): Page {
  return livePage(async () => {
    const { topics } = await get<{ topics: Topic[] }>('/v1/topics');
    const figures = await Promise.all(
      topics
        .slice(0, FIGURES_FOR)
        .map((t) =>
          get<Throughput>(`/v1/topics/${enc(t.name)}/throughput?windowMs=300000&bucketMs=10000`),
        ),
    );
    const rows = topics.map((topic, i) => {
      const f = figures[i];
      return [
        link(`#/topics/${enc(topic.name)}`, topic.name),
        topic.partitions,
        retention(topic.configs['retention.ms']),
        f === undefined ? '–' : count(f.partitions.reduce((s, p) => s + p.records, 0)),
        f === undefined ? '–' : bytes(f.partitions.reduce((s, p) => s + p.bytes, 0)),
        f === undefined ? '–' : rate(f.recordsPerSecond),
        f === undefined ? '' : sparkline(f.series.map((b) => b.records)),
      ];
    });
    return [
      h('h2', {}, `${topics.length} topic(s)`),
      table(
        ['topic', 'partitions', 'retention', 'records', 'size', 'records/s (5 min)', 'last 5 min'],
        rows,
        [1, 3, 4, 5],
      ),
      h(
        'p',
        { class: 'muted' },
        'Sizes are uncompressed payload bytes, as max.message.bytes counts them.',
      ),
    ];
  });
}

export function topicPage(name: string): Page {
  return livePage(async () => {
    const [topic, t] = await Promise.all([
      get<Topic>(`/v1/topics/${enc(name)}`),
      get<Throughput>(`/v1/topics/${enc(name)}/throughput?windowMs=300000&bucketMs=10000`),
    ]);
    const perSecond = (pick: (b: Throughput['series'][number]) => number) =>
      t.series.map((b): [number, number] => [b.start, pick(b) / (t.bucketMs / 1000)]);
    return [
      h('h1', {}, `Topic ${topic.name}`),
      h(
        'div',
        { class: 'row' },
        link(`#/records?topic=${enc(name)}`, 'Browse records'),
        link(`#/produce?topic=${enc(name)}`, 'Produce'),
      ),
      h(
        'div',
        { class: 'cards' },
        card('partitions', topic.partitions),
        card('retention', retention(topic.configs['retention.ms'])),
        card('records', count(t.partitions.reduce((s, p) => s + p.records, 0))),
        card('size', bytes(t.partitions.reduce((s, p) => s + p.bytes, 0))),
        card('records/s', rate(t.recordsPerSecond)),
        card('produce requests/s', rate(t.requestsPerSecond)),
      ),
      h('h2', {}, 'Throughput, last 5 minutes'),
      lineChart([{ name: 'records/s', points: perSecond((b) => b.records) }], {
        title: 'records per second',
        format: rate,
      }),
      lineChart([{ name: 'bytes/s', points: perSecond((b) => b.bytes) }], {
        title: 'bytes per second',
        format: (v) => bytes(Math.round(v)),
        height: 120,
      }),
      h('h2', {}, 'Partitions'),
      table(
        ['partition', 'log start', 'high watermark', 'records', 'size', 'records/s', ''],
        t.partitions.map((p) => [
          p.partition,
          count(p.logStartOffset),
          count(p.highWatermark),
          count(p.records),
          `${p.bytesExact ? '' : '≥ '}${bytes(p.bytes)}`,
          rate(p.recordsPerSecond),
          link(
            `#/records?topic=${enc(name)}&partition=${p.partition}&offset=${p.logStartOffset}`,
            'browse',
          ),
        ]),
        [0, 1, 2, 3, 4, 5],
      ),
      h('h2', {}, 'Configs'),
      table(
        ['name', 'value'],
        Object.entries(topic.configs).map(([k, v]) => [k, v]),
      ),
    ];
  });
}
