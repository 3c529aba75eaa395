import { EventLogError } from './errors.js';

/**
 * A JSON reader that keeps what JSON.parse throws away, and a writer that serializes a value
 * exactly as Jackson does (Confluent's REST Proxy and its JSON serializer are Jackson).
 *
 * Why not JSON.parse: a key sent as JSON must become the same bytes Confluent would produce,
 * or murmur2 picks another partition than a Java producer would for the same key. JSON.parse
 * reorders integer-like object keys ({"2":0,"1":0} comes back as {"1":0,"2":0}), rounds
 * integers past 2^53, and turns 1.0 into 1. The tree below keeps member order and the
 * number literals as written. It also reads concatenated JSON ({...}{...}), which Confluent's
 * v3 produce accepts as a stream of records.
 */

export type JsonNode =
  | { readonly kind: 'null' }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly items: JsonNode[] }
  // A Map keeps the first position and the last value of a duplicated member, as Jackson's
  // ObjectNode (a LinkedHashMap) does.
  | { readonly kind: 'object'; readonly members: Map<string, JsonNode> };

const MAX_DEPTH = 512;
const NULL_NODE: JsonNode = Object.freeze({ kind: 'null' });
const TRUE_NODE: JsonNode = Object.freeze({ kind: 'boolean', value: true });
const FALSE_NODE: JsonNode = Object.freeze({ kind: 'boolean', value: false });
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Reader {
  pos = 0;
  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  skipWhitespace(): void {
    const { text } = this;
    let { pos } = this;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail(`nesting is deeper than ${MAX_DEPTH} levels`);
    this.skipWhitespace();
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return { kind: 'string', value: this.string() };
      case 't':
        return this.literal('true', TRUE_NODE);
      case 'f':
        return this.literal('false', FALSE_NODE);
      case 'n':
        return this.literal('null', NULL_NODE);
      case undefined:
        return this.fail('unexpected end of input, expected a value');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail(`unexpected character ${describe(c)}, expected a value`);
    }
  }

  private object(depth: number): JsonNode {
    const members = new Map<string, JsonNode>();
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', members };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a member name in double quotes');
      const name = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail(`expected ':' after member name "${name}"`);
      this.pos++;
      members.set(name, this.value(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return { kind: 'object', members };
      if (c !== ',') {
        this.pos--;
        this.fail(
          `${c === undefined ? 'unexpected end of input, ' : ''}expected ',' or '}' after an object member`,
        );
      }
    }
  }

  private array(depth: number): JsonNode {
    const items: JsonNode[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return { kind: 'array', items };
      if (c !== ',') {
        this.pos--;
        this.fail(
          `${c === undefined ? 'unexpected end of input, ' : ''}expected ',' or ']' after an array element`,
        );
      }
    }
  }

  private string(): string {
    const { text } = this;
    const start = this.pos + 1;
    let i = start;
    // Fast path: most strings (base64 payloads above all) have no escapes.
    for (;;) {
      if (i >= text.length) this.failAt(start - 1, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return text.slice(start, i);
      }
      if (c === 0x5c) break;
      if (c < 0x20) this.failAt(i, 'control character in a string; escape it');
      i++;
    }
    const parts: string[] = [text.slice(start, i)];
    for (;;) {
      if (i >= text.length) this.failAt(start - 1, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return parts.join('');
      }
      if (c < 0x20) this.failAt(i, 'control character in a string; escape it');
      if (c !== 0x5c) {
        let j = i + 1;
        while (j < text.length) {
          const d = text.charCodeAt(j);
          if (d === 0x22 || d === 0x5c || d < 0x20) break;
          j++;
        }
        parts.push(text.slice(i, j));
        i = j;
        continue;
      }
      const escaped = text[i + 1];
      if (escaped === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.failAt(i, 'invalid \\u escape');
        parts.push(String.fromCharCode(Number.parseInt(hex, 16)));
        i += 6;
      } else if (escaped !== undefined && Object.hasOwn(ESCAPES, escaped)) {
        parts.push(ESCAPES[escaped] as string);
        i += 2;
      } else {
        this.failAt(i, `invalid escape ${describe(`\\${escaped ?? ''}`)}`);
      }
    }
  }

  private number(): JsonNode {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail('invalid number');
    const end = this.pos + match[0].length;
    const next = this.text[end];
    if (next !== undefined && /[0-9A-Za-z.+-]/.test(next)) {
      this.failAt(
        end,
        'invalid number (leading zeros, a bare sign or a trailing dot are not JSON)',
      );
    }
    this.pos = end;
    return { kind: 'number', raw: match[0] };
  }

  private literal(word: string, node: JsonNode): JsonNode {
    if (
      !this.text.startsWith(word, this.pos) ||
      /[A-Za-z0-9]/.test(this.text[this.pos + word.length] ?? '')
    ) {
      this.fail('unexpected word, expected a value');
    }
    this.pos += word.length;
    return node;
  }

  fail(reason: string): never {
    return this.failAt(this.pos, reason);
  }

  private failAt(pos: number, reason: string): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < pos && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const column = pos - lineStart + 1;
    throw new EventLogError(
      'INVALID_REQUEST',
      `Malformed JSON at line ${line}, column ${column}: ${reason}`,
      { details: { line, column } },
    );
  }
}

function describe(c: string): string {
  return JSON.stringify(c);
}

/** Exactly one JSON value, with nothing but whitespace around it. */
export function parseJsonText(text: string): JsonNode {
  const reader = new Reader(stripBom(text));
  const node = reader.value(0);
  reader.skipWhitespace();
  if (!reader.done) reader.fail('unexpected data after the JSON value');
  return node;
}

/** Zero or more JSON values, concatenated or separated by whitespace (Confluent's streaming mode). */
export function parseJsonSequence(text: string): JsonNode[] {
  const reader = new Reader(stripBom(text));
  const values: JsonNode[] = [];
  reader.skipWhitespace();
  while (!reader.done) {
    values.push(reader.value(0));
    reader.skipWhitespace();
  }
  return values;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The plain JavaScript value of a node, for schema validation (numbers become doubles). */
export function toPlainValue(node: JsonNode): unknown {
  switch (node.kind) {
    case 'null':
      return null;
    case 'boolean':
    case 'string':
      return node.value;
    case 'number':
      return Number(node.raw);
    case 'array':
      return node.items.map(toPlainValue);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, value] of node.members) {
        // Defining the property keeps a member named __proto__ an ordinary member.
        Object.defineProperty(out, name, {
          value: toPlainValue(value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

/** A member of an object node, or undefined when the node is not an object or lacks it. */
export function member(node: JsonNode | undefined, name: string): JsonNode | undefined {
  return node?.kind === 'object' ? node.members.get(name) : undefined;
}

/** An element of an array node. */
export function element(node: JsonNode | undefined, index: number): JsonNode | undefined {
  return node?.kind === 'array' ? node.items[index] : undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when a string cannot be encoded as UTF-8 without replacing characters. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * The node serialized as Jackson's ObjectMapper writes a JsonNode: no whitespace, members in
 * order, strings escaped as Jackson escapes them, integers as written (-0 as 0), and every
 * other number as a Java double prints (Double.toString: 1.0, 1.0E7, 1.0E-4).
 */
export function toJacksonJson(node: JsonNode): string {
  switch (node.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return node.value ? 'true' : 'false';
    case 'number':
      return jacksonNumber(node.raw);
    case 'string':
      return jacksonString(node.value);
    case 'array':
      return `[${node.items.map(toJacksonJson).join(',')}]`;
    case 'object': {
      const parts: string[] = [];
      for (const [name, value] of node.members) {
        parts.push(`${jacksonString(name)}:${toJacksonJson(value)}`);
      }
      return `{${parts.join(',')}}`;
    }
  }
}

/** Every string in the tree, for checks that apply to all of them. */
export function someString(node: JsonNode, test: (text: string) => boolean): boolean {
  switch (node.kind) {
    case 'string':
      return test(node.value);
    case 'array':
      return node.items.some((item) => someString(item, test));
    case 'object':
      for (const [name, value] of node.members) {
        if (test(name) || someString(value, test)) return true;
      }
      return false;
    default:
      return false;
  }
}

// Jackson's CharTypes: short escapes for these five, \u00XX with upper-case hex for the rest
// of the C0 controls; '/' and everything from 0x7F up are written as they are.
const SHORT_ESCAPES: Record<number, string> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
};

function jacksonString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  const escaped = text.replace(/["\\\u0000-\u001f]/g, (c) => {
    if (c === '"') return '\\"';
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return SHORT_ESCAPES[code] ?? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

function jacksonNumber(raw: string): string {
  if (!/[.eE]/.test(raw)) return raw === '-0' ? '0' : raw;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `The number ${raw} is outside the range of a double`,
    );
  }
  return javaDoubleToString(value);
}

/** Java's Double.toString (JDK 19+, shortest digits), which Jackson uses for a DoubleNode. */
export function javaDoubleToString(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  // toExponential() without an argument yields the shortest digits that round-trip.
  const [mantissa = '', exponentText = '0'] = abs.toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (abs >= 1e-3 && abs < 1e7) {
    if (exponent >= 0) {
      const integer = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
      return `${sign}${integer}.${digits.slice(exponent + 1) || '0'}`;
    }
    return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${exponent}`;
}
