import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import { startApiServer } from '../../lib/local/server.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';
import { readmeSdkExample } from '../helpers/readme.js';

/**
 * The README's SDK example, run as it stands (only its URL, topic and group names changed so
 * runs do not collide) in a fresh Node process against a real local API server: a README
 * that drifted from the SDK fails here.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const run = promisify(execFile);

let server: Awaited<ReturnType<typeof startApiServer>>;
const dir = mkdtempSync(join(tmpdir(), 'eventlog-readme-'));

beforeAll(async () => {
  const broker = createBroker(createStores(testClients(), testNames()));
  server = await startApiServer({ broker, clusterId: 'readme', port: 0, validateResponses: true });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the README', () => {
  it('SDK example produces two records and consumes them back', async () => {
    const topic = uniqueName('orders');
    const group = uniqueName('billing');
    const code = readmeSdkExample(REPO)
      // The package's name, as a user's app imports it; here the sources it is built from.
      .replace("'eventlog'", `'${pathToFileURL(join(REPO, 'lib/client/index.ts')).href}'`)
      .replace("'http://127.0.0.1:8787'", `'${server.url}'`)
      .replaceAll("'orders'", `'${topic}'`)
      .replaceAll("'billing'", `'${group}'`);
    expect(code).toContain(server.url);
    const file = join(dir, 'example.mts');
    writeFileSync(file, code);
    const { stdout } = await run(process.execPath, ['--import', TSX_LOADER, file], {
      cwd: dir,
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    expect(stdout).toMatch(/partition: \d, offset: 0/);
    // Both records come back, each with its partition and offset, after the acks.
    const consumed = lines.filter((line) => /^\d+ 0 /.test(line));
    expect(consumed).toHaveLength(2);
    expect(stdout).toContain('total');
  }, 90_000);
});
