import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_FILES, consoleAssetsFrom } from '../../../lib/console/assets.js';
import { buildConsole } from '../../../lib/console/build.js';

/** The console's first load stays small: one script, far under 200 KB gzipped. */

const BUDGET_GZIP_BYTES = 200_000;
const outdir = mkdtempSync(join(tmpdir(), 'eventlog-console-build-'));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the console build', () => {
  it('is one module script under 200 KB gzipped, and the page loads nothing else', async () => {
    const built = await buildConsole(outdir);
    expect(built.scriptGzipBytes).toBeGreaterThan(1_000);
    expect(built.scriptGzipBytes).toBeLessThan(BUDGET_GZIP_BYTES);
    const html = readFileSync(join(outdir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(['/console/app.js']);
    // Every file the page links is one the API serves.
    const links = [...html.matchAll(/(?:src|href)="\/console\/([^"]+)"/g)].map((m) => m[1]);
    expect(links.every((file) => Object.hasOwn(CONSOLE_FILES, file as string))).toBe(true);
  });

  it('is served by name only: no other file, no path', async () => {
    await buildConsole(outdir);
    const assets = consoleAssetsFrom([join(outdir, 'missing'), outdir]);
    expect((await assets.get('app.js'))?.contentType).toBe('text/javascript; charset=utf-8');
    for (const name of ['../package.json', 'app.js.map', '', 'index.html/..']) {
      expect(await assets.get(name)).toBeUndefined();
    }
  });
});
