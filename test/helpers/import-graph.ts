/**
 * The modules a TypeScript entry loads when it is imported: its static `import` and
 * `export … from` declarations, followed through the repository's own files. Type-only
 * imports load nothing and dynamic `import()` loads only when called, so neither counts:
 * what is left is what Node loads before the entry's first line runs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface ImportGraph {
  /** The repository's files reached, relative to `root`. */
  files: string[];
  /** Package specifiers reached (`node:` built-ins left out), with a file that imports each. */
  packages: Map<string, string>;
}

const STATIC_IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)';/gm;
/** `import('…')` with a literal specifier: loaded when the code runs there. */
const DYNAMIC_IMPORT = /\bimport\(\s*'([^']+)'\s*\)()/g;

/** With `dynamic`, also what the entry may load later: every module it can ever import. */
export function staticImportGraph(root: string, entry: string, dynamic = false): ImportGraph {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const pending = [join(root, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    const found = [
      ...source.matchAll(STATIC_IMPORT),
      ...(dynamic
        ? [...source.matchAll(DYNAMIC_IMPORT)].map(([all, s]) => [all, undefined, s])
        : []),
    ];
    for (const [, typeOnly, specifier] of found) {
      if (typeOnly !== undefined || specifier === undefined) continue;
      if (specifier.startsWith('.')) {
        pending.push(join(dirname(file), specifier).replace(/\.js$/, '.ts'));
      } else if (!specifier.startsWith('node:') && !packages.has(packageName(specifier))) {
        packages.set(packageName(specifier), relative(root, file));
      }
    }
  }
  return { files: [...files].map((file) => relative(root, file)).sort(), packages };
}

/** `@aws-sdk/client-s3/dist` → `@aws-sdk/client-s3`, `aws-cdk-lib/aws-s3` → `aws-cdk-lib`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}
