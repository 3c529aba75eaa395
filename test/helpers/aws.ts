import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type AwsClients, createAwsClients } from '../../lib/store/aws-clients.js';
import type { ResourceNames } from '../../lib/store/resources.js';
import type { TestEnvironment } from './global-setup.js';

/** Endpoints, resource names and function env of the run's emulators (see global-setup.ts). */
export function testEnvironment(): TestEnvironment {
  return inject('eventlog');
}

export function testNames(): ResourceNames {
  return testEnvironment().names;
}

let shared: AwsClients | undefined;

/**
 * Clients for the run's emulators, shared within a test file's worker. Never attach fault
 * injectors to these: use newTestClients() so faults stay in the test that wants them.
 */
export function testClients(): AwsClients {
  shared ??= newTestClients();
  return shared;
}

/** A fresh set of clients (its own sockets and middleware stack); destroy them when done. */
export function newTestClients(options: { maxAttempts?: number } = {}): AwsClients {
  const { endpoints } = testEnvironment();
  return createAwsClients({
    s3Endpoint: endpoints.s3,
    dynamoEndpoint: endpoints.dynamodb,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

/**
 * A name no other test (in this run or an earlier run on a persisted store) uses: valid as
 * a topic, group or S3 key segment ([a-zA-Z0-9._-]).
 */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
