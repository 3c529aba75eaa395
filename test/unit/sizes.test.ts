import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../helpers/source-files.js';

/**
 * Files and functions small enough to hold in one's head (issue 20's rule, kept true here):
 * no source file in lib/ or functions/ over 600 lines, and no function in lib/, functions/ or
 * bench/ over 120 lines, counted from its first line to its closing brace, the functions
 * nested in it included (a route's handler counts in the function that registers it).
 */

const REPO = resolve(import.meta.dirname, '../..');
const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 120;

/** Functions allowed to be longer, each with the reason its file's comment gives. */
const LONGER_ALLOWED = new Map([
  [
    'lib/log/record-batch-encoder.ts encodeRecordBatch',
    'the two-pass encoder sizes and writes a batch in one buffer; split, its hot loop would pay a call per record',
  ],
  [
    'lib/log/record-batch-decoder.ts decodeRecords',
    'split into field readers it decoded 100 B records at a third of the speed in the codec bench',
  ],
]);

/** Every function over the limit, as "file:line name (N lines)". */
function longFunctions(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line + 1;
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const first = lineOf(node.getStart(source));
        const lines = lineOf(node.end) - first + 1;
        const name = functionName(node, source);
        if (lines > MAX_FUNCTION_LINES && !LONGER_ALLOWED.has(`${file} ${name}`)) {
          out.push(`${file}:${first} ${name} (${lines} lines)`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

function functionName(node: ts.SignatureDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
    return parent.name.getText(source);
  }
  return '(anonymous)';
}

function longFiles(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_FILE_LINES) out.push(`${file} (${lines} lines)`);
  }
  return out;
}

/** The TypeScript sources below `folder`, declarations left out. */
const sources = (folder: string) =>
  sourceFiles(REPO, folder, (name) => /\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts'));

describe('sizes', () => {
  it('no file in lib/ or functions/ is over 600 lines', () => {
    const files = new Map([...sources('lib'), ...sources('functions')]);
    expect(files.size).toBeGreaterThan(100);
    expect(longFiles(files)).toEqual([]);
  });

  it('no function in lib/, functions/ or bench/ is over 120 lines, but the two allowed', () => {
    const files = new Map([...sources('lib'), ...sources('functions'), ...sources('bench')]);
    expect(longFunctions(files)).toEqual([]);
  });

  it('catches a long function, nested or not, and a long file, and passes an allowed one', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`);
    const fn = (header: string, n: number) => [header, ...body(n), '}'].join('\n');
    const files = new Map([
      ['lib/a.ts', fn('export function short() {', 118)],
      ['lib/b.ts', fn('export function long() {', 119)],
      ['lib/c.ts', `app.get('/x', ${fn('async (c) => {', 130)});`],
      ['lib/d.ts', `const handler = ${fn('function () {', 121)};`],
      ['lib/log/record-batch-encoder.ts', fn('export function encodeRecordBatch() {', 200)],
      ['lib/e.ts', body(601).join('\n')],
    ]);
    expect(longFunctions(files)).toEqual([
      'lib/b.ts:1 long (121 lines)',
      'lib/c.ts:1 (anonymous) (132 lines)',
      'lib/d.ts:1 handler (123 lines)',
    ]);
    expect(longFiles(files)).toEqual(['lib/e.ts (601 lines)']);
  });
});
