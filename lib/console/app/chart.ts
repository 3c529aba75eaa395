/** A line chart drawn as SVG: the console's only chart, so no chart library. */

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2f6fdb', '#e8590c', '#067647', '#7a5af8'];

export interface Line {
  name: string;
  /** [time ms, value] pairs, oldest first. */
  points: [number, number][];
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

export function lineChart(
  lines: Line[],
  options: { width?: number; height?: number; format?: (v: number) => string; title?: string } = {},
): HTMLElement {
  const width = options.width ?? 720;
  const height = options.height ?? 160;
  const format = options.format ?? String;
  const pad = { left: 56, right: 8, top: 8, bottom: 20 };
  const all = lines.flatMap((l) => l.points);
  const box = document.createElement('div');
  box.className = 'chart';
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
  if (options.title !== undefined) root.setAttribute('aria-label', options.title);
  box.append(root);
  if (all.length === 0) {
    const empty = svg('text', {
      x: width / 2,
      y: height / 2,
      'text-anchor': 'middle',
      fill: '#667085',
    });
    empty.textContent = 'no data yet';
    root.append(empty);
    return box;
  }
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const top = niceCeiling(Math.max(...all.map((p) => p[1])));
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
  for (const fraction of [0, 0.5, 1]) {
    const v = top * fraction;
    root.append(
      svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), stroke: '#eef0f4' }),
    );
    // The middle line unlabelled: half of a small top rounds to a misleading label.
    if (fraction === 0.5) continue;
    const label = svg('text', {
      x: pad.left - 4,
      y: y(v) + 4,
      'text-anchor': 'end',
      'font-size': 10,
      fill: '#667085',
    });
    label.textContent = format(v);
    root.append(label);
  }
  for (const [t, anchor] of [
    [t0, 'start'],
    [t1, 'end'],
  ] as const) {
    const label = svg('text', {
      x: x(t),
      y: height - 4,
      'text-anchor': anchor,
      'font-size': 10,
      fill: '#667085',
    });
    label.textContent = new Date(t).toLocaleTimeString('en-GB');
    root.append(label);
  }
  lines.forEach((line, i) => {
    const d = line.points.map(
      ([t, v], j) => `${j === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`,
    );
    root.append(
      svg('path', {
        d: d.join(''),
        fill: 'none',
        stroke: COLORS[i % COLORS.length] as string,
        'stroke-width': 1.5,
      }),
    );
  });
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.textContent = lines.map((l) => l.name).join(' · ');
  box.append(legend);
  return box;
}

/** A tiny chart for a table row. */
export function sparkline(values: number[]): SVGElement {
  const width = 120;
  const height = 24;
  const top = Math.max(...values, 1);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const d = values.map(
    (v, i) =>
      `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(height - 2 - (v / top) * (height - 4)).toFixed(1)}`,
  );
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height });
  root.append(
    svg('path', { d: d.join(''), fill: 'none', stroke: COLORS[0] as string, 'stroke-width': 1.2 }),
  );
  return root;
}

/** The smallest of 1, 2 or 5 times a power of ten at or above `max` (1 for an empty chart). */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 5, 10].find((m) => m * power >= max) ?? 10;
  return step * power;
}
