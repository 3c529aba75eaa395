import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README's SDK example: its first ```ts block, which imports the package as `eventlog`. */
export function readmeSdkExample(repo: string): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no ts example');
  return block;
}
