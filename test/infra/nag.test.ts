import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../lib/infra/event-log.js';
import { acknowledgments, runNag, synthEventLogStack, testContext } from './synth.js';

/**
 * cdk-nag (AWS Solutions pack) over the stack as deployed and over the option variants.
 * Synthesis itself already fails on an unacknowledged finding (the pack is a CDK validation
 * plugin); these tests say which finding, and keep the acknowledgments honest.
 */
describe('cdk-nag AwsSolutions', () => {
  const variants: { name: string; stack: Stack }[] = [];

  beforeAll(() => {
    variants.push({ name: 'defaults', stack: synthEventLogStack().stack });
    variants.push({
      name: 'development (DESTROY, no auth, tracing)',
      stack: synthEventLogStack(
        {
          eventLog: { removalPolicy: RemovalPolicy.DESTROY, authorization: 'none', tracing: true },
        },
        'EventLogDev',
      ).stack,
    });
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'WithKey');
    new EventLog(stack, 'EventLog', {
      encryptionKey: new Key(stack, 'Key', { enableKeyRotation: true }),
      serverAccessLogs: {
        bucket: new Bucket(stack, 'AccessLogs', {
          enforceSSL: true,
          // The access-log bucket is the test's own; S1 asks it to log too, endlessly.
          serverAccessLogsPrefix: 'self/',
        }) as IBucket,
      },
    });
    variants.push({ name: 'customer key and access logs', stack });
  });

  it('reports no unacknowledged finding in any variant', () => {
    for (const { name, stack } of variants) {
      expect(runNag(stack).violations, name).toEqual([]);
    }
  });

  it('gives every acknowledgment a specific reason', () => {
    for (const { stack } of variants) {
      for (const { path, id, reason } of acknowledgments(stack)) {
        expect(id, path).toMatch(/^AwsSolutions-[A-Z0-9]+(\[.+\])?$/);
        expect(reason.length, `${path} ${id}: "${reason}"`).toBeGreaterThanOrEqual(60);
        expect(reason, `${path} ${id}`).not.toMatch(/^(n\/?a|todo|tbd|ok|fine|suppress(ed)?)\b/i);
      }
    }
  });

  it('acknowledges only findings that occur (no stale or blanket acknowledgments)', () => {
    for (const { name, stack } of variants) {
      const { used } = runNag(stack);
      for (const { path, id } of acknowledgments(stack)) {
        expect(
          used,
          `${name}: ${path} acknowledges ${id}, which no resource there reports`,
        ).toContain(`${path} ${id}`);
      }
    }
  });

  it('acknowledges IAM5 wildcards one finding at a time, on the policy that has them', () => {
    for (const { stack } of variants) {
      for (const { path, id } of acknowledgments(stack)) {
        if (!id.startsWith('AwsSolutions-IAM5')) continue;
        expect(id).toMatch(/^AwsSolutions-IAM5\[(Resource|Action)::.+\]$/);
        expect(path).toMatch(/\/DefaultPolicy\/Resource$/);
      }
    }
  });

  it('lists what is acknowledged in the default stack', () => {
    const found = acknowledgments(variants[0]!.stack).map(({ path, id }) =>
      `${path} ${id}`.replace(/EventLogSegments[0-9A-F]{8}/, 'EventLogSegments'),
    );
    expect(found.sort()).toEqual(
      [
        'EventLogStack/EventLog/Segments AwsSolutions-S1',
        'EventLogStack/EventLog/ApiFunction AwsSolutions-L1',
        'EventLogStack/EventLog/RetentionFunction AwsSolutions-L1',
        'EventLogStack/EventLog/ApiRole/DefaultPolicy/Resource AwsSolutions-IAM5[Resource::<EventLogSegments.Arn>/segments/*]',
        'EventLogStack/EventLog/RetentionRole/DefaultPolicy/Resource AwsSolutions-IAM5[Resource::<EventLogSegments.Arn>/segments/*]',
        'EventLogStack/EventLog/DispatchFunction AwsSolutions-L1',
        'EventLogStack/EventLog/DispatcherRole/DefaultPolicy/Resource AwsSolutions-IAM5[Resource::<EventLogSegments.Arn>/segments/*]',
      ].sort(),
    );
  });
});
