import { EventLogError } from './errors.js';

/**
 * Topic patterns (Confluent v2 `topic_pattern`, Java's `Pattern.matches`: the whole name must
 * match), matched in time linear in the name's length whatever the pattern: the pattern is
 * compiled to a small program and run as a Pike VM (Thompson's construction, every thread
 * advanced in lock step), so there is no backtracking to blow up. `c((.*)*)*x` against a
 * long almost-matching name costs (name length) x (pattern length) steps, not 2^n.
 *
 * The language is the part of Java regex that subscriptions use: literals, `.`, classes
 * (`[a-z0-9._-]`, `[^x]`, `\d`, `\w`, `\s`), groups `(...)` and `(?:...)`, alternation `|`,
 * and the quantifiers `*`, `+`, `?` (lazy and possessive forms match the same set of names).
 * Back-references, look-around and counted repetition `{n,m}` are refused with 400, as are
 * patterns longer than {@link MAX_TOPIC_PATTERN_LENGTH} characters.
 */

export const MAX_TOPIC_PATTERN_LENGTH = 256;

type Node =
  | { kind: 'char'; test: (c: number) => boolean }
  | { kind: 'cat'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; min: 0 | 1; max: 1 | typeof Infinity; node: Node };

type Instruction =
  | { op: 'char'; test: (c: number) => boolean }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'match' };

export interface TopicPattern {
  readonly source: string;
  matches(name: string): boolean;
}

export function compileTopicPattern(source: string): TopicPattern {
  if (source.length > MAX_TOPIC_PATTERN_LENGTH) {
    throw invalid(`is ${source.length} characters; at most ${MAX_TOPIC_PATTERN_LENGTH}`);
  }
  const parser = new Parser(source);
  const ast = parser.parseAll();
  const program: Instruction[] = [];
  emit(ast, program);
  program.push({ op: 'match' });
  return { source, matches: (name) => run(program, name) };
}

function invalid(why: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', `Invalid topic_pattern: it ${why}`, {
    details: { field: 'topic_pattern' },
  });
}

const code = (s: string) => s.charCodeAt(0);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isWord = (c: number) =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseAll(): Node {
    const node = this.alternation();
    if (this.i < this.s.length) throw invalid(`has an unmatched ")" at ${this.i}`);
    return node;
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as Node) : { kind: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      items.push(this.quantified());
    }
    return { kind: 'cat', items };
  }

  private quantified(): Node {
    let node = this.atom();
    for (;;) {
      const q = this.s[this.i];
      if (q === '*' || q === '+' || q === '?') {
        this.i++;
        node = {
          kind: 'repeat',
          min: q === '+' ? 1 : 0,
          max: q === '?' ? 1 : Infinity,
          node,
        };
        // Lazy (`*?`) and possessive (`*+`) forms: the set of whole names matched is the same.
        if (this.s[this.i] === '?' || this.s[this.i] === '+') this.i++;
      } else if (q === '{') {
        throw invalid(`uses counted repetition at ${this.i}, which topic patterns do not offer`);
      } else {
        return node;
      }
    }
  }

  private atom(): Node {
    const c = this.s[this.i];
    if (c === undefined) throw invalid('ends early');
    if (c === '(') {
      this.i++;
      if (this.s.startsWith('?:', this.i)) this.i += 2;
      else if (this.s[this.i] === '?')
        throw invalid(`uses a look-around or flag group at ${this.i}`);
      const inner = this.alternation();
      if (this.s[this.i] !== ')') throw invalid('has an unclosed "("');
      this.i++;
      return inner;
    }
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.i++;
      return { kind: 'char', test: (x) => x !== 10 };
    }
    if (c === '\\') return { kind: 'char', test: this.escape(false) };
    if (c === '*' || c === '+' || c === '?') throw invalid(`has nothing to repeat at ${this.i}`);
    if (c === '^' || c === '$') {
      // Anchors at the ends are what matching the whole name means anyway.
      if ((c === '^' && this.i === 0) || (c === '$' && this.i === this.s.length - 1)) {
        this.i++;
        return { kind: 'cat', items: [] };
      }
      throw invalid(`has "${c}" inside the pattern at ${this.i}`);
    }
    this.i++;
    const literal = code(c);
    return { kind: 'char', test: (x) => x === literal };
  }

  private escape(inClass: boolean): (c: number) => boolean {
    this.i++;
    const e = this.s[this.i];
    if (e === undefined) throw invalid('ends with "\\"');
    this.i++;
    switch (e) {
      case 'd':
        return isDigit;
      case 'D':
        return (x) => !isDigit(x);
      case 'w':
        return isWord;
      case 'W':
        return (x) => !isWord(x);
      case 's':
        return isSpace;
      case 'S':
        return (x) => !isSpace(x);
    }
    if (/[0-9a-zA-Z]/.test(e) && !(inClass && e === 'b')) {
      throw invalid(`uses "\\${e}", which topic patterns do not offer`);
    }
    const literal = code(e);
    return (x) => x === literal;
  }

  private charClass(): Node {
    this.i++;
    const negated = this.s[this.i] === '^';
    if (negated) this.i++;
    const tests: ((c: number) => boolean)[] = [];
    let first = true;
    while (this.s[this.i] !== ']' || first) {
      first = false;
      const c = this.s[this.i];
      if (c === undefined) throw invalid('has an unclosed "["');
      if (c === '[') throw invalid('nests character classes, which topic patterns do not offer');
      let low: number;
      if (c === '\\') {
        const test = this.escape(true);
        const escaped = this.s[this.i - 1] as string;
        if (/[dDwWsS]/.test(escaped)) {
          tests.push(test);
          continue;
        }
        low = code(escaped);
      } else {
        this.i++;
        low = code(c);
      }
      if (
        this.s[this.i] === '-' &&
        this.s[this.i + 1] !== ']' &&
        this.s[this.i + 1] !== undefined
      ) {
        this.i++;
        let highChar = this.s[this.i] as string;
        if (highChar === '\\') {
          this.escape(true);
          highChar = this.s[this.i - 1] as string;
        } else {
          this.i++;
        }
        const high = code(highChar);
        if (high < low) throw invalid(`has the reversed range at ${this.i}`);
        tests.push((x) => x >= low && x <= high);
      } else {
        tests.push((x) => x === low);
      }
    }
    this.i++;
    const any = (x: number) => tests.some((t) => t(x));
    return { kind: 'char', test: negated ? (x) => !any(x) : any };
  }
}

function emit(node: Node, program: Instruction[]): void {
  switch (node.kind) {
    case 'char':
      program.push({ op: 'char', test: node.test });
      return;
    case 'cat':
      for (const item of node.items) emit(item, program);
      return;
    case 'alt': {
      const jumps: { op: 'jmp'; x: number }[] = [];
      node.options.forEach((option, k) => {
        if (k < node.options.length - 1) {
          const split: Instruction = { op: 'split', x: program.length + 1, y: 0 };
          program.push(split);
          emit(option, program);
          const jump = { op: 'jmp' as const, x: 0 };
          program.push(jump);
          jumps.push(jump);
          split.y = program.length;
        } else {
          emit(option, program);
        }
      });
      for (const jump of jumps) jump.x = program.length;
      return;
    }
    case 'repeat': {
      if (node.min === 1) emit(node.node, program);
      if (node.max === 1) {
        const split: Instruction = { op: 'split', x: program.length + 1, y: 0 };
        program.push(split);
        emit(node.node, program);
        split.y = program.length;
        return;
      }
      // x* (or the tail of x+): L: split body, out; body; jmp L; out:
      const loop = program.length;
      const split: Instruction = { op: 'split', x: loop + 1, y: 0 };
      program.push(split);
      emit(node.node, program);
      program.push({ op: 'jmp', x: loop });
      split.y = program.length;
      return;
    }
  }
}

/** Pike VM: the set of live threads advances one character at a time; each pc once per step. */
function run(program: Instruction[], input: string): boolean {
  let current: number[] = [];
  let next: number[] = [];
  const seen = new Int32Array(program.length).fill(-1);
  const add = (list: number[], pc: number, step: number) => {
    const stack = [pc];
    while (stack.length > 0) {
      const at = stack.pop() as number;
      if (seen[at] === step) continue;
      seen[at] = step;
      const instruction = program[at] as Instruction;
      if (instruction.op === 'jmp') stack.push(instruction.x);
      else if (instruction.op === 'split') stack.push(instruction.y, instruction.x);
      else list.push(at);
    }
  };
  add(current, 0, 0);
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    for (const pc of current) {
      const instruction = program[pc] as Instruction;
      if (instruction.op === 'char' && instruction.test(c)) add(next, pc + 1, i + 1);
    }
    [current, next] = [next, []];
    if (current.length === 0) return false;
  }
  return current.some((pc) => (program[pc] as Instruction).op === 'match');
}
