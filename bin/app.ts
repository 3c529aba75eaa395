#!/usr/bin/env node
/**
 * The CDK app: one EventLogStack, checked by cdk-nag's AWS Solutions pack.
 *
 * Context (cdk.json or `-c key=value`):
 *   eventlog:stackName       stack name (default EventLogStack)
 *   eventlog:removalPolicy   retain (default) | destroy  (destroy also empties the bucket)
 *   eventlog:authorization   iam (default) | none        (none: development only)
 *   eventlog:frontDoor       functionUrl (default) | httpApi
 */
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
// cdk-nag is CommonJS without statically detectable exports: named ESM imports fail.
import cdkNag from 'cdk-nag';
import { EventLogStack } from '../lib/infra/event-log-stack.js';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(`eventlog:${key}`);
  return value === undefined || value === null ? undefined : String(value);
};

const removalPolicy = context('removalPolicy') ?? 'retain';
const authorization = context('authorization') ?? 'iam';
if (removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
  throw new Error(`eventlog:removalPolicy must be retain or destroy, got ${removalPolicy}`);
}
const frontDoor = context('frontDoor') ?? 'functionUrl';
if (frontDoor !== 'functionUrl' && frontDoor !== 'httpApi') {
  throw new Error(`eventlog:frontDoor must be functionUrl or httpApi, got ${frontDoor}`);
}
if (authorization !== 'iam' && authorization !== 'none') {
  throw new Error(`eventlog:authorization must be iam or none, got ${authorization}`);
}

new EventLogStack(app, context('stackName') ?? 'EventLogStack', {
  eventLog: {
    removalPolicy: removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    authorization,
    frontDoor,
  },
});

// cdk-nag 3 runs as a CDK policy-validation plugin: an unacknowledged finding fails synth.
Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app, { verbose: true }));
