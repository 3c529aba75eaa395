import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

/**
 * Runs every curl example of docs/api.md, in order, against the app, and checks each answer
 * the docs show, so the examples cannot drift from what the API does. Topic names get a
 * unique suffix; in the answers shown, strings with "…" and the sample times 1700000000123
 * (now), 1700000000456 (a creation time) and 2023-11-14T22:13:20.123Z stand for any value.
 */

const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const api = apiHarness({ clusterId: 'eventlog' });
const topics = new Map(
  ['orders', 'topic-X', 'jsontest', 'binarytest'].map((t) => [t, uniqueName(t)]),
);
const rename = (text: string) =>
  text.replace(/\b(orders|topic-X|jsontest|binarytest)\b/g, (name) => topics.get(name) ?? name);

interface Example {
  commands: string[][];
  /** The code block right after the curl block, if any: the answer to its last command. */
  answer?: string;
}

function examples(markdown: string): Example[] {
  const blocks = [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] ?? '',
    text: m[2] ?? '',
  }));
  const found: Example[] = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'sh' || !block.text.includes('curl ')) return;
    const next = blocks[i + 1];
    found.push({
      commands: shellCommands(block.text),
      ...(next !== undefined && next.lang !== 'sh' ? { answer: next.text } : {}),
    });
  });
  return found;
}

/** Splits a shell snippet into commands of words: quotes, backslash-newline, $EVENTLOG_URL. */
function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && text[i + 1] === '\n') {
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      word = (word ?? '') + text.slice(i + 1, end).replaceAll('$EVENTLOG_URL', '');
      i = end;
    } else if (c === ' ' || c === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
      if (c === '\n' && words.length > 0) {
        commands.push(words);
        words = [];
      }
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  if (words.length > 0) commands.push(words);
  return commands;
}

function request(words: string[]): {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
} {
  expect(words[0]).toBe('curl');
  let method = 'GET';
  let path = '';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '-X' || word === '-sX') method = words[++i] as string;
    else if (word === '-H') {
      const [name, ...value] = (words[++i] as string).split(':');
      headers[(name as string).trim()] = value.join(':').trim();
    } else if (word === '-d' || word === '--data') body = words[++i];
    else if (word === '-s') continue;
    else if (word.startsWith('/')) path = word;
    else throw new Error(`unexpected curl argument ${word}`);
  }
  if (body !== undefined && method === 'GET') method = 'POST';
  return { method, path, headers, ...(body === undefined ? {} : { body }) };
}

const SAMPLE_NUMBERS = new Set([1700000000123, 1700000000456]);
const SAMPLE_STRINGS = new Set(['2023-11-14T22:13:20.123Z']);

/** The answer shown, with its sample values turned into "any". */
function expected(value: unknown): unknown {
  if (typeof value === 'number' && SAMPLE_NUMBERS.has(value)) return expect.any(Number);
  if (typeof value === 'string' && (value.includes('…') || SAMPLE_STRINGS.has(value))) {
    return expect.any(String);
  }
  if (Array.isArray(value)) return value.map(expected);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expected(v)]));
  }
  return value;
}

const all = examples(rename(doc));

describe('docs/api.md curl examples', () => {
  it('finds the examples', () => {
    expect(all.length).toBe(18);
    expect(all.filter((e) => e.answer !== undefined).length).toBe(15);
  });

  it('all run, in order, and answer what the docs show', async () => {
    for (const example of all) {
      let text = '';
      for (const words of example.commands) {
        const { method, path, headers, body } = request(words);
        const response = await api.app.request(path, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
        });
        text = await response.text();
        expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(300);
      }
      if (example.answer === undefined) continue;
      // One JSON value, or Confluent's CRLF-separated delivery reports (one per line).
      const shown = example.answer.trim();
      if (shown.startsWith('{') && !shown.includes('}\n{')) {
        expect(JSON.parse(text), shown).toEqual(expected(JSON.parse(shown)));
      } else {
        const lines = (s: string) =>
          s
            .trim()
            .split(/\r?\n/)
            .map((line) => JSON.parse(line));
        expect(lines(text)).toEqual(expected(lines(shown)));
      }
    }
  });
});
