import type { TestProject } from 'vitest/node';
import { buildConsole } from '../../lib/console/build.js';
import { startLocalEnvironment } from '../../lib/local/environment.js';
import type { ResourceNames } from '../../lib/store/resources.js';

/** What every test worker learns about the emulators, through vitest's provide/inject. */
export interface TestEnvironment {
  endpoints: { s3: string; dynamodb: string };
  names: ResourceNames;
  /** The variables a function would get (resource names, endpoints, region, credentials). */
  env: Record<string, string>;
  /** True when running against AWS_ENDPOINT_URL_S3/_DYNAMODB (LocalStack) instead of our emulators. */
  external: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    eventlog: TestEnvironment;
  }
}

/**
 * Starts the local environment once per test run (DynamoDB Local and s3rver, in parallel,
 * with the tables and bucket created) and stops it after the last test.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // The API serves the web console from build/console (the console and auth tests load it).
  const [environment] = await Promise.all([startLocalEnvironment({ quiet: true }), buildConsole()]);
  project.provide('eventlog', {
    endpoints: environment.endpoints,
    names: environment.names,
    env: environment.env,
    external: environment.external,
  });
  process.stderr.write(
    `[global-setup] ${environment.external ? 'external endpoints' : 'DynamoDB Local + s3rver'} ready in ${Date.now() - started} ms\n`,
  );
  return () => environment.stop();
}
