import { api, get, type Topic } from '../api.js';
import { enc, h, hashQuery, table, time } from '../dom.js';
import type { Page } from './page.js';

interface Fetched {
  records: {
    offset: number;
    timestamp: number;
    key: string | null;
    value: string | null;
    headers: { key: string; value: string | null }[];
  }[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

type View = 'json' | 'text' | 'hex' | 'base64';

function fromBase64(b64: string): Uint8Array {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** Bytes as the chosen view; JSON that does not parse is shown as text, marked. */
export function show(b64: string | null, view: View): string {
  if (b64 === null) return 'null';
  if (view === 'base64') return b64;
  const bytes = fromBase64(b64);
  if (view === 'hex') return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = new TextDecoder().decode(bytes);
  if (view === 'text') return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return `(not JSON) ${text}`;
  }
}

async function topicOptions(selected: string): Promise<HTMLSelectElement> {
  const { topics } = await get<{ topics: Topic[] }>('/v1/topics');
  return h(
    'select',
    { name: 'topic' },
    topics.map((t) => h('option', { value: t.name, selected: t.name === selected }, t.name)),
  );
}

/** The record browser: seek a partition by offset or by time, show keys and values as asked. */
export async function recordsPage(): Promise<Page> {
  const q = hashQuery();
  const topic = await topicOptions(q.get('topic') ?? '');
  const partition = h('input', {
    name: 'partition',
    type: 'number',
    min: 0,
    value: q.get('partition') ?? '0',
  });
  const offset = h('input', {
    name: 'offset',
    type: 'number',
    min: 0,
    value: q.get('offset') ?? '0',
  });
  const at = h('input', { name: 'time', type: 'datetime-local', step: 1 });
  const view = h(
    'select',
    { name: 'view' },
    (['json', 'text', 'hex', 'base64'] as const).map((v) => h('option', { value: v }, v)),
  );
  const results = h('div', { id: 'records' });
  const load = async (from?: number) => {
    const p = Number(partition.value);
    let start = from ?? Number(offset.value);
    if (from === undefined && at.value !== '') {
      const found = await get<{ offset: number | null; highWatermark: number }>(
        `/v1/topics/${enc(topic.value)}/partitions/${p}/offsets?at=${new Date(at.value).getTime()}`,
      );
      // null: every record is older than that time, so the answer starts at the end.
      start = found.offset ?? found.highWatermark;
    }
    offset.value = String(start);
    const fetched = await get<Fetched>(
      `/v1/topics/${enc(topic.value)}/partitions/${p}/records?offset=${start}&maxRecords=50&format=base64&headerFormat=base64`,
    );
    const v = view.value as View;
    results.replaceChildren(
      h(
        'p',
        { class: 'muted' },
        `Partition ${p}: offsets ${fetched.logStartOffset} to ${fetched.highWatermark - 1}; showing from ${start}`,
      ),
      table(
        ['offset', 'timestamp', 'key', 'value', 'headers'],
        fetched.records.map((r) => [
          String(r.offset),
          time(r.timestamp),
          h('pre', {}, show(r.key, v)),
          h('pre', {}, show(r.value, v)),
          h(
            'pre',
            {},
            r.headers
              .map((x) => `${x.key}: ${show(x.value, v === 'json' ? 'text' : v)}`)
              .join('\n'),
          ),
        ]),
        [0],
      ),
      fetched.nextOffset < fetched.highWatermark
        ? h(
            'button',
            { class: 'secondary', type: 'button', onclick: () => void run(fetched.nextOffset) },
            'Next page',
          )
        : h('p', { class: 'muted' }, 'End of the partition.'),
    );
  };
  const run = (from?: number) => load(from).catch(report(results));
  const form = h(
    'form',
    {
      class: 'panel',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void run();
      },
    },
    h('label', {}, 'Topic'),
    topic,
    h('label', {}, 'Partition'),
    partition,
    h('label', {}, 'From offset'),
    offset,
    h('label', {}, 'or from time (local)'),
    at,
    h('label', {}, 'Show as'),
    view,
    h('div', { class: 'wide' }, h('button', { type: 'submit' }, 'Fetch')),
  );
  if (q.has('topic')) void run();
  return { el: h('section', {}, h('h1', {}, 'Records'), form, results) };
}

function report(target: HTMLElement) {
  return (error: unknown) => {
    target.replaceChildren(
      h('p', { class: 'bad' }, error instanceof Error ? error.message : String(error)),
    );
  };
}

interface Produced {
  records: { partition: number; offset?: number; error?: { message: string } }[];
}

/** The produce form: one record, or one per line of the value box. */
export async function producePage(): Promise<Page> {
  const q = hashQuery();
  const topic = await topicOptions(q.get('topic') ?? '');
  const key = h('input', { name: 'key', placeholder: 'none' });
  const partition = h('input', {
    name: 'partition',
    type: 'number',
    min: 0,
    placeholder: 'by key',
  });
  const format = h(
    'select',
    { name: 'format' },
    h('option', { value: 'json' }, 'JSON'),
    h('option', { value: 'string' }, 'text'),
  );
  const value = h('textarea', { name: 'value', placeholder: '{"hello": "world"}' });
  const perLine = h('input', { name: 'perLine', type: 'checkbox' });
  const headers = h('textarea', { name: 'headers', placeholder: 'name=value, one a line' });
  const result = h('div', { id: 'produced' });
  const produce = async () => {
    const lines = perLine.checked
      ? value.value.split('\n').filter((l) => l.trim() !== '')
      : [value.value];
    const parsedHeaders = headers.value
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => ({ key: l.slice(0, l.indexOf('=')).trim(), value: l.slice(l.indexOf('=') + 1) }));
    const records = lines.map((line) => ({
      ...(key.value === '' ? {} : { key: key.value }),
      value: format.value === 'json' ? JSON.parse(line) : line,
      ...(partition.value === '' ? {} : { partition: Number(partition.value) }),
      ...(parsedHeaders.length === 0 ? {} : { headers: parsedHeaders }),
    }));
    const answer = await api<Produced>('POST', `/v1/topics/${enc(topic.value)}/records`, {
      valueFormat: format.value,
      records,
    });
    result.replaceChildren(
      h('h2', {}, 'Written'),
      table(
        ['partition', 'offset', ''],
        answer.records.map((r) => [
          r.partition,
          r.offset === undefined ? '–' : String(r.offset),
          r.error?.message ?? 'ok',
        ]),
        [0, 1],
      ),
    );
  };
  const form = h(
    'form',
    {
      class: 'panel',
      onsubmit: (e: Event) => {
        e.preventDefault();
        produce().catch(report(result));
      },
    },
    h('label', {}, 'Topic'),
    topic,
    h('label', {}, 'Key'),
    key,
    h('label', {}, 'Partition'),
    partition,
    h('label', {}, 'Value format'),
    format,
    h('label', {}, 'Value'),
    value,
    h('label', {}, 'One record per line'),
    perLine,
    h('label', {}, 'Headers'),
    headers,
    h('div', { class: 'wide' }, h('button', { type: 'submit' }, 'Produce')),
  );
  return { el: h('section', {}, h('h1', {}, 'Produce'), form, result) };
}
