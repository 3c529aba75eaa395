import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PROJECT_ROOT } from '../../lib/infra/event-log.js';

const execFileAsync = promisify(execFile);

/**
 * `cdk synth` as a user runs it: bin/app.ts through cdk.json, offline, with no AWS account
 * or credentials. cdk-nag runs as a validation plugin, so an unacknowledged finding fails it.
 */
describe('npx cdk synth', () => {
  it('synthesizes the app offline, without credentials, with cdk-nag passing', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'eventlog-cli-synth-'));
    const home = mkdtempSync(join(tmpdir(), 'eventlog-cli-home-'));
    onTestFinished(() => {
      rmSync(outdir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    });
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      CDK_DISABLE_VERSION_CHECK: 'true',
      // A proxy that goes nowhere: any attempt to reach the network fails the synth.
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
    };
    const started = Date.now();
    const { stderr } = await execFileAsync('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
      cwd: PROJECT_ROOT,
      env,
      timeout: 170_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const elapsed = Date.now() - started;
    expect(stderr).not.toMatch(/AwsSolutions-/);
    const template = JSON.parse(readFileSync(join(outdir, 'EventLogStack.template.json'), 'utf8'));
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'BucketName',
        'TopicsTableName',
        'LogTableName',
        'GroupsTableName',
      ]),
    );
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
    console.log(`cdk synth: ${elapsed} ms`);
  }, 180_000);
});
