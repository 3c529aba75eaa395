import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * The web console's static files as the API serves them at /console. The console is built
 * (lib/console/build.ts) into a folder: `build/console/` of a checkout, or `console/` beside
 * the API Lambda's `index.mjs`, where the bundling puts it. Only the files named here are
 * ever served, so no path from a request reaches the file system.
 */

export const CONSOLE_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;

export type ConsoleFile = keyof typeof CONSOLE_FILES;

export interface ConsoleAsset {
  body: Uint8Array;
  contentType: string;
}

export interface ConsoleAssets {
  /** The file, or undefined when it is not one of the console's or was not built. */
  get(name: string): Promise<ConsoleAsset | undefined>;
}

/** Where `npm start`, `npm test` and the bundling build the console in a checkout. */
export const BUILT_CONSOLE_DIR = fileURLToPath(new URL('../../build/console/', import.meta.url));

export function isConsoleFile(name: string): name is ConsoleFile {
  return Object.hasOwn(CONSOLE_FILES, name);
}

/**
 * Reads the files from the first folder that has them, once (they do not change while a
 * process runs). A folder without the console is skipped, so the Lambda entry can name its
 * own folder first and a checkout's build second.
 */
export function consoleAssetsFrom(dirs: readonly string[]): ConsoleAssets {
  const cache = new Map<ConsoleFile, ConsoleAsset>();
  return {
    async get(name) {
      if (!isConsoleFile(name)) return undefined;
      const cached = cache.get(name);
      if (cached !== undefined) return cached;
      for (const dir of dirs) {
        const body = await readFile(`${dir.replace(/\/?$/, '/')}${name}`).catch(() => undefined);
        if (body === undefined) continue;
        const asset = { body: new Uint8Array(body), contentType: CONSOLE_FILES[name] };
        cache.set(name, asset);
        return asset;
      }
      return undefined;
    },
  };
}
