import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import type { Broker } from '../../lib/broker/broker.js';
import { type ApiServer, startApiServer } from '../../lib/local/server.js';

const REPO = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const CLI = join(REPO, 'bin/eventlog.ts');
const run = promisify(execFile);

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Serves `broker` over HTTP for the test file (started before its tests, closed after) and
 * returns a function that runs `eventlog <args>` as a process against it.
 */
export function cliAgainst(
  broker: Broker,
  options: { auth?: boolean } = {},
): (...args: string[]) => Promise<CliResult> {
  let server: ApiServer | undefined;
  beforeAll(async () => {
    server = await startApiServer({
      broker,
      clusterId: 'test',
      validateResponses: true,
      ...(options.auth === true ? { auth: { enabled: true } } : {}),
    });
  });
  afterAll(async () => {
    await server?.close();
  });
  return async (...args) => {
    if (server === undefined) throw new Error('the API server is not started yet');
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', TSX_LOADER, CLI, '--url', server.url, ...args],
        { cwd: REPO, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 },
      );
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
}
