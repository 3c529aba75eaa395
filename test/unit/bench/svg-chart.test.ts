import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, lineChart, niceScale } from '../../../bench/svg-chart.js';

/**
 * A small well-formedness check: one root <svg> in the SVG namespace, every element closed in
 * order, attributes quoted, no raw '&' or '<' in text, no NaN or Infinity in any attribute.
 */
function checkSvg(svg: string): { elements: Map<string, number> } {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  const elements = new Map<string, number>();
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  for (;;) {
    match = token.exec(svg);
    if (match === null) break;
    consumed = token.lastIndex;
    const [, closing, name, , selfClosing, text] = match;
    if (text !== undefined) {
      expect(text, 'text must escape & and <').not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
      continue;
    }
    if (closing === '/') {
      expect(stack.pop(), `closing </${name}>`).toBe(name);
    } else {
      elements.set(name as string, (elements.get(name as string) ?? 0) + 1);
      if (selfClosing !== '/') stack.push(name as string);
    }
  }
  expect(consumed, 'the whole document parses').toBe(svg.length);
  expect(stack).toEqual([]);
  expect(elements.get('svg')).toBe(1);
  return { elements };
}

describe('svg charts', () => {
  it('writes a well-formed line chart with one polyline per series', () => {
    const svg = lineChart({
      title: 'Throughput <by> partitions & producers',
      xLabel: 'partitions',
      yLabel: 'MB/s',
      categories: ['1', '4', '16', '64'],
      x: [1, 4, 16, 64],
      logX: true,
      series: [
        { name: 'ours', values: [10, 20, 35, 40] },
        { name: 'raw "calls"', values: [12, 25, 40, Number.NaN] },
      ],
    });
    const { elements } = checkSvg(svg);
    expect(elements.get('polyline')).toBe(2);
    expect(elements.get('circle')).toBe(7);
    expect(svg).toContain('Throughput &lt;by&gt; partitions &amp; producers');
    expect(svg).toContain('raw &quot;calls&quot;');
  });

  it('writes a well-formed grouped bar chart, on a log scale too', () => {
    const options = {
      title: 'Cost',
      xLabel: 'workload',
      yLabel: '$',
      categories: ['(a)', '(b)', '(c)'],
      series: [
        { name: 'eventlog', values: [771, 24907, 22000] },
        { name: 'Kinesis', values: [61, 62, 0] },
      ],
    };
    const linear = checkSvg(barChart(options));
    expect(linear.elements.get('rect')).toBeGreaterThanOrEqual(1 + 6 + 2);
    const log = barChart({ ...options, logY: true });
    const { elements } = checkSvg(log);
    // A zero has no place on a log scale: five bars, plus the background and two legend keys.
    expect(elements.get('title')).toBe(1 + 5);
    expect(log).toContain('>10k<');
  });

  it('wraps a long legend onto more rows', () => {
    const series = Array.from({ length: 8 }, (_, i) => ({
      name: `a rather long series name ${i}`,
      values: [1, 2],
    }));
    const svg = barChart({ title: 't', xLabel: 'x', yLabel: 'y', categories: ['a', 'b'], series });
    checkSvg(svg);
    const legendY = [
      ...svg.matchAll(/<rect x="\d+(?:\.\d+)?" y="([\d.]+)" width="10" height="10"/g),
    ].map((m) => m[1]);
    expect(new Set(legendY).size).toBeGreaterThan(1);
  });

  it('picks nice axis bounds', () => {
    expect(niceScale(37)).toEqual({ max: 40, step: 10 });
    expect(niceScale(0.9)).toEqual({ max: 1, step: 0.2 });
    expect(niceScale(0)).toEqual({ max: 1, step: 0.2 });
    expect(niceScale(1234)).toEqual({ max: 1250, step: 250 });
  });

  it('escapes XML', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;',
    );
  });
});
