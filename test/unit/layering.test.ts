import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../helpers/source-files.js';

/**
 * The layers of docs/architecture.md, kept true by a test over the import graph:
 *
 *   lib/log     pure domain code: imports nothing of the project's
 *   lib/store   adapters: lib/log only
 *   lib/broker  services: lib/log and lib/store
 *   lib/api     the HTTP edge: the three above, and the console's built files (lib/console)
 *   lib/client  the SDK and CLI: never lib/api, lib/broker or lib/infra; lib/local (the
 *               emulators) only through a dynamic import(), for the CLI's local-only commands
 *   functions/  Lambda entries: never lib/local (production code must not depend on the
 *               local environment) nor lib/client or lib/infra
 *
 * Static imports and re-exports count, `import type` too (a type from a higher layer is a
 * dependency on its meaning); a dynamic import() is a lazy load and is checked separately.
 */

const REPO = resolve(import.meta.dirname, '../..');

interface Rule {
  /** The layer: files whose path starts with it. */
  layer: string;
  /** Project folders it may import statically (its own always allowed). */
  may: readonly string[];
  /** Project folders it may load only with a dynamic import(). */
  lazily?: readonly string[];
}

const PROJECT_FOLDERS = [
  'lib/log',
  'lib/store',
  'lib/broker',
  'lib/api',
  'lib/client',
  'lib/infra',
  'lib/local',
  'lib/console',
  'functions',
] as const;

const RULES: readonly Rule[] = [
  { layer: 'lib/log', may: [] },
  { layer: 'lib/store', may: ['lib/log'] },
  { layer: 'lib/broker', may: ['lib/log', 'lib/store'] },
  // The console's built files (lib/console/assets.ts reads them) are served by the API.
  { layer: 'lib/api', may: ['lib/log', 'lib/store', 'lib/broker', 'lib/console'] },
  { layer: 'lib/client', may: ['lib/log'], lazily: ['lib/local', 'lib/store', 'lib/broker'] },
  {
    layer: 'functions',
    may: ['lib/log', 'lib/store', 'lib/broker', 'lib/api', 'lib/console'],
  },
];

const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT_IMPORT = /^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /import\(\s*['"]([^'"]+)['"]\s*\)/g;

function folderOf(path: string): string | undefined {
  return PROJECT_FOLDERS.find((folder) => path === folder || path.startsWith(`${folder}/`));
}

/** Every import that breaks a rule, as "file -> target (why)". */
function layeringViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    const rule = RULES.find((r) => file.startsWith(`${r.layer}/`));
    if (rule === undefined) continue;
    const check = (specifier: string, dynamic: boolean) => {
      if (!specifier.startsWith('.')) return;
      const target = relative(REPO, resolve(REPO, dirname(file), specifier));
      const folder = folderOf(target);
      if (folder === undefined) {
        out.push(`${file} -> ${target} (outside the layers)`);
        return;
      }
      if (folder === rule.layer || rule.may.includes(folder)) return;
      if (dynamic && rule.lazily?.includes(folder)) return;
      out.push(
        `${file} -> ${target} (${rule.layer} may not import ${folder}${dynamic ? ' even lazily' : ''})`,
      );
    };
    for (const pattern of [STATIC_IMPORT, SIDE_EFFECT_IMPORT]) {
      for (const match of source.matchAll(pattern)) check(match[1] as string, false);
    }
    for (const match of source.matchAll(DYNAMIC_IMPORT)) check(match[1] as string, true);
  }
  return out;
}

/** The project's modules below `folder`: TypeScript and JavaScript ESM. */
const sources = (folder: string) =>
  sourceFiles(REPO, folder, (name) => /\.(ts|mts|mjs)$/.test(name));

describe('layering', () => {
  it('every import in lib/ and functions/ follows the layer rules', () => {
    const files = new Map([...sources('lib'), ...sources('functions')]);
    expect(files.size).toBeGreaterThan(100);
    expect(layeringViolations(files)).toEqual([]);
  });

  it('catches a violating import, static or lazy, and allows what the rules allow', () => {
    const files = new Map([
      ['lib/log/bad.ts', "import { createBroker } from '../broker/broker.js';"],
      ['lib/store/bad.ts', "import type { Broker } from '../broker/broker.js';"],
      ['lib/client/bad.ts', "export { encodeData } from '../api/encoding.js';"],
      ['lib/client/lazy.ts', "const local = await import('../local/instance.js');"],
      ['lib/log/lazy.ts', "const b = await import('../broker/broker.js');"],
      ['functions/bad.ts', "import '../lib/local/server.js';"],
      ['lib/broker/ok.ts', "import { x } from '../store/x.js';\nimport { y } from './y.js';"],
      ['lib/api/ok.ts', "import { Hono } from 'hono';\nimport { z } from '../log/z.js';"],
    ]);
    expect(layeringViolations(files)).toEqual([
      'lib/log/bad.ts -> lib/broker/broker.js (lib/log may not import lib/broker)',
      'lib/store/bad.ts -> lib/broker/broker.js (lib/store may not import lib/broker)',
      'lib/client/bad.ts -> lib/api/encoding.js (lib/client may not import lib/api)',
      'lib/log/lazy.ts -> lib/broker/broker.js (lib/log may not import lib/broker even lazily)',
      'functions/bad.ts -> lib/local/server.js (functions may not import lib/local)',
    ]);
  });
});
