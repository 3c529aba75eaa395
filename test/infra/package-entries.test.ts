/**
 * What each entry of the package loads (package.json `exports` and `bin`; docs/deploy.md,
 * "Installing the package"): the SDK on Node's built-ins alone, the CLI on commander until a
 * command needs more, the constructs on aws-cdk-lib and constructs (peer dependencies) without
 * the build's esbuild. Followed through the TypeScript sources the build compiles file for file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/infra/event-log.js';
import { staticImportGraph } from '../helpers/import-graph.js';

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
};

/** `./dist/lib/client/index.js` → `lib/client/index.ts`: the source tsc compiles to it. */
function sourceOf(compiled: string): string {
  return compiled.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
}

const SDK = sourceOf((pkg.exports['.'] as { default: string }).default);
const CDK = sourceOf((pkg.exports['./cdk'] as { default: string }).default);
const CLI = sourceOf(`./${pkg.bin['eventlog']}`);
const EMULATORS_AND_BUILD = ['s3rver', 'esbuild', 'tsx', 'aws-cdk-lib', 'constructs'];

describe('package entries', () => {
  it('exports the SDK at eventlog and eventlog/client, the constructs at eventlog/cdk, each typed', () => {
    expect(SDK).toBe('lib/client/index.ts');
    expect(pkg.exports['./client']).toEqual(pkg.exports['.']);
    expect(CDK).toBe('lib/infra/index.ts');
    expect(CLI).toBe('bin/eventlog.ts');
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (name === './package.json') continue;
      expect(target, name).toEqual({
        types: (target as { default: string }).default.replace(/\.js$/, '.d.ts'),
        default: expect.stringMatching(/^\.\/dist\/.+\.js$/),
      });
    }
  });

  it('the SDK loads no package at all until it signs a request (SigV4 is loaded then)', () => {
    expect([...staticImportGraph(PROJECT_ROOT, SDK).packages.keys()]).toEqual([]);
    const ever = [...staticImportGraph(PROJECT_ROOT, SDK, true).packages.keys()];
    expect(ever.filter((name) => EMULATORS_AND_BUILD.includes(name))).toEqual([]);
    expect(ever.filter((name) => name.startsWith('@aws-sdk/client-'))).toEqual([]);
  });

  it('the CLI starts on commander alone: stores, broker and emulators load with maintenance run', () => {
    const start = staticImportGraph(PROJECT_ROOT, CLI);
    expect([...start.packages.keys()]).toEqual(['commander']);
    expect(start.files.filter((file) => /^lib\/(store|broker|local|api\/app)/.test(file))).toEqual(
      [],
    );
    const ever = staticImportGraph(PROJECT_ROOT, CLI, true);
    expect(ever.files).toContain('lib/local/environment.ts');
    expect([...ever.packages.keys()].filter((name) => EMULATORS_AND_BUILD.includes(name))).toEqual(
      [],
    );
  });

  it('the constructs load aws-cdk-lib and constructs, never the build (esbuild, tsx)', () => {
    const packages = [...staticImportGraph(PROJECT_ROOT, CDK, true).packages.keys()];
    expect(packages).toEqual(expect.arrayContaining(['aws-cdk-lib', 'constructs']));
    expect(packages.filter((name) => ['esbuild', 'tsx', 's3rver'].includes(name))).toEqual([]);
  });

  it('every package an entry can load is a dependency or a peer dependency, never dev-only', () => {
    const installed = new Set([
      ...Object.keys(pkg.dependencies),
      ...Object.keys(pkg.peerDependencies),
    ]);
    for (const entry of [SDK, CDK, CLI]) {
      const missing = [...staticImportGraph(PROJECT_ROOT, entry, true).packages].filter(
        ([name]) => !installed.has(name),
      );
      expect(missing, entry).toEqual([]);
    }
  });

  it('aws-cdk-lib and constructs are optional peers, at the versions the repo tests', () => {
    for (const name of ['aws-cdk-lib', 'constructs']) {
      expect(pkg.peerDependenciesMeta[name]?.optional, name).toBe(true);
      expect(pkg.peerDependencies[name], name).toBe(`^${pkg.devDependencies[name]}`);
      expect(pkg.dependencies[name], name).toBeUndefined();
    }
  });
});
