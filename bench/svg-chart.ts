/**
 * A tiny SVG chart writer (line and grouped bar charts) for the benchmark report: no
 * dependency, self-contained files that GitHub renders inline.
 */

export interface Series {
  name: string;
  /** Line charts: points in x order. Bar charts: one value per category (NaN = no bar). */
  values: number[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Category labels (bar charts) or x positions shown as labels (line charts). */
  categories: string[];
  series: Series[];
  width?: number;
  height?: number;
  /** Line charts: x values per category (defaults to evenly spaced). */
  x?: number[];
  /** Line charts: plot x on a log2 scale (partition counts 1, 4, 16, 64). */
  logX?: boolean;
  /** Plot y on a log10 scale (values must be positive; others are left out). */
  logY?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];
const MARGIN = { top: 40, right: 20, left: 70 };
/** Below the plot: tick labels, the x label, then the legend rows. */
const BELOW_PLOT = 58;
const LEGEND_ROW = 16;
/** Line charts keep their first and last points this far inside the plot. */
const LINE_INSET = 30;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A "nice" upper bound and tick step for an axis from 0 to `max`. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const rough = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const residual = rough / magnitude;
  const nice =
    residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 ? 2.5 : residual <= 5 ? 5 : 10;
  const step = nice * magnitude;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  return String(Number(value.toPrecision(3)));
}

interface LegendItem {
  name: string;
  color: string;
  x: number;
  row: number;
}

/** Lays the legend out in rows that fit the width. */
function legendLayout(series: Series[], width: number): LegendItem[] {
  const items: LegendItem[] = [];
  let x = MARGIN.left;
  let row = 0;
  series.forEach((s, i) => {
    const itemWidth = 24 + s.name.length * 7;
    if (x > MARGIN.left && x + itemWidth > width - MARGIN.right) {
      row++;
      x = MARGIN.left;
    }
    items.push({ name: s.name, color: PALETTE[i % PALETTE.length] as string, x, row });
    x += itemWidth;
  });
  return items;
}

interface Frame {
  width: number;
  height: number;
  plotWidth: number;
  plotHeight: number;
  /** Pixel y of a value. */
  y: (value: number) => number;
  parts: string[];
}

function frame(options: ChartOptions): Frame {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const legendItems = legendLayout(options.series, width);
  const legendRows = Math.max(1, ...legendItems.map((item) => item.row + 1));
  const plotHeight = height - MARGIN.top - BELOW_PLOT - legendRows * LEGEND_ROW;
  const all = options.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  const bottom = MARGIN.top + plotHeight;
  let y: (value: number) => number;
  const ticks: { value: number; label: string }[] = [];
  if (options.logY) {
    const positive = all.filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...positive, 1)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive, 10))));
    y = (value) => bottom - ((Math.log10(value) - lo) / (hi - lo)) * plotHeight;
    for (let k = lo; k <= hi; k++) ticks.push({ value: 10 ** k, label: formatTick(10 ** k) });
  } else {
    const { max, step } = niceScale(Math.max(0, ...all));
    y = (value) => bottom - (value / max) * plotHeight;
    for (let v = 0; v <= max + step / 2; v += step) ticks.push({ value: v, label: formatTick(v) });
  }
  for (const tick of ticks) {
    const ty = y(tick.value);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${ty.toFixed(1)}" x2="${MARGIN.left + plotWidth}" y2="${ty.toFixed(1)}" stroke="#e0e0e0"/>`,
      `<text x="${MARGIN.left - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end">${tick.label}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotHeight}" x2="${MARGIN.left + plotWidth}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${bottom + 38}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  for (const item of legendItems) {
    const ly = bottom + BELOW_PLOT + item.row * LEGEND_ROW + 2;
    parts.push(
      `<rect x="${item.x}" y="${ly - 9}" width="10" height="10" fill="${item.color}"/>`,
      `<text x="${item.x + 14}" y="${ly}">${escapeXml(item.name)}</text>`,
    );
  }
  return { width, height, plotWidth, plotHeight, y, parts };
}

function plottable(options: ChartOptions, value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && (!options.logY || value > 0);
}

export function lineChart(options: ChartOptions): string {
  const f = frame(options);
  const n = options.categories.length;
  const xs = options.x ?? options.categories.map((_, i) => i);
  const scaled = options.logX ? xs.map((x) => Math.log2(x)) : xs;
  const minX = Math.min(...scaled);
  const maxX = Math.max(...scaled);
  const span = f.plotWidth - 2 * LINE_INSET;
  const xOf = (i: number) =>
    MARGIN.left +
    LINE_INSET +
    (maxX === minX ? span / 2 : (((scaled[i] as number) - minX) / (maxX - minX)) * span);
  for (let i = 0; i < n; i++) {
    f.parts.push(
      `<text x="${xOf(i).toFixed(1)}" y="${MARGIN.top + f.plotHeight + 18}" text-anchor="middle">${escapeXml(options.categories[i] as string)}</text>`,
    );
  }
  options.series.forEach((s, si) => {
    const color = PALETTE[si % PALETTE.length] as string;
    const points = s.values
      .map((v, i) => (plottable(options, v) ? `${xOf(i).toFixed(1)},${f.y(v).toFixed(1)}` : ''))
      .filter((p) => p !== '');
    if (points.length > 1) {
      f.parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`,
      );
    }
    for (const point of points) {
      const [x, y] = point.split(',');
      f.parts.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${color}"/>`);
    }
  });
  f.parts.push('</svg>');
  return `${f.parts.join('\n')}\n`;
}

export function barChart(options: ChartOptions): string {
  const f = frame(options);
  const n = Math.max(1, options.categories.length);
  const groupWidth = f.plotWidth / n;
  const barWidth = (groupWidth * 0.8) / Math.max(1, options.series.length);
  options.categories.forEach((category, i) => {
    const x0 = MARGIN.left + i * groupWidth + groupWidth * 0.1;
    f.parts.push(
      `<text x="${(MARGIN.left + (i + 0.5) * groupWidth).toFixed(1)}" y="${MARGIN.top + f.plotHeight + 18}" text-anchor="middle">${escapeXml(category)}</text>`,
    );
    options.series.forEach((s, si) => {
      const value = s.values[i];
      if (!plottable(options, value)) return;
      const y = f.y(value);
      f.parts.push(
        `<rect x="${(x0 + si * barWidth).toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth * 0.95).toFixed(1)}" height="${(MARGIN.top + f.plotHeight - y).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${escapeXml(`${s.name}: ${trim(value)}`)}</title></rect>`,
      );
    });
  });
  f.parts.push('</svg>');
  return `${f.parts.join('\n')}\n`;
}
