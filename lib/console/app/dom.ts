/** A few DOM and formatting helpers: the console has no framework. */

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | EventListener | undefined>;

/** An element with attributes (`on...` are listeners; `value` and `checked` are properties). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' || name === 'checked')
      (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function table(
  headers: string[],
  rows: Child[][],
  numeric: number[] = [],
): HTMLTableElement {
  const cls = (i: number) => (numeric.includes(i) ? 'num' : undefined);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t, i) => h('th', { class: cls(i) }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'none'))
        : rows.map((row) =>
            h(
              'tr',
              {},
              row.map((cell, i) => h('td', { class: cls(i) }, cell)),
            ),
          ),
    ),
  );
}

export function card(label: string, value: Child): HTMLElement {
  return h('div', { class: 'card' }, h('b', {}, value), h('span', { class: 'muted' }, label));
}

export function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toLocaleString('en-US');
}

export function rate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2);
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d`;
}

export function retention(ms: string | undefined): string {
  if (ms === undefined) return '–';
  return ms === '-1' ? 'forever' : duration(Number(ms));
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** The query of the current hash route (`#/records?topic=a`). */
export function hashQuery(): URLSearchParams {
  const hash = location.hash;
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

export function enc(name: string): string {
  return encodeURIComponent(name);
}
