import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest } from './broker/helpers.js';

/** `eventlog subscriptions ...` as processes, against a served API. */

const broker = brokerForTest();
const cli = cliAgainst(broker);

describe('eventlog subscriptions', () => {
  it('creates, lists, describes, updates and deletes a subscription', async () => {
    const topic = uniqueName('cli');
    const dlq = uniqueName('cli-dlq');
    const name = uniqueName('cli-sub');
    await broker.topics.create({ name: topic, partitions: 2 });
    await broker.topics.create({ name: dlq, partitions: 1 });

    const created = await cli(
      'subscriptions',
      'create',
      name,
      '--topic',
      topic,
      '--function-name',
      'billing',
      '--starting-position',
      'TRIM_HORIZON',
      '--batch-size',
      '25',
      '--function-response-types',
      'ReportBatchItemFailures',
      '--on-failure-destination',
      `kafka://${dlq}`,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`created subscription ${name}: ${topic} -> billing`);

    const listed = await cli('subscriptions', 'list', '--topic', topic, '--json');
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { name, batchSize: 25, functionResponseTypes: ['ReportBatchItemFailures'] },
    ]);

    const described = await cli('subscriptions', 'describe', name);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toContain(`-> kafka://${dlq}`);

    const updated = await cli(
      'subscriptions',
      'update',
      name,
      '--no-enabled',
      '--no-on-failure-destination',
      '--json',
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ state: 'Disabled', version: 2 });
    expect(JSON.parse(updated.stdout).destinationConfig).toBeUndefined();

    const deleted = await cli('subscriptions', 'delete', name);
    expect(deleted.stdout).toContain(`deleted subscription ${name}`);
    const gone = await cli('subscriptions', 'describe', name);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('(UNKNOWN_SUBSCRIPTION)');
  });

  it('creates a subscription whose on-failure destination is an SQS queue ARN', async () => {
    const topic = uniqueName('cli');
    await broker.topics.create({ name: topic, partitions: 1 });
    const name = uniqueName('cli-sub');
    const arn = 'arn:aws:sqs:eu-west-1:123456789012:billing-failures';
    const created = await cli(
      'subscriptions',
      'create',
      name,
      '--topic',
      topic,
      '--function-name',
      'billing',
      '--starting-position',
      'LATEST',
      '--on-failure-destination',
      arn,
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).destinationConfig).toEqual({
      onFailure: { destination: arn },
    });
    const described = await cli('subscriptions', 'describe', name);
    expect(described.stdout).toContain(`-> ${arn}`);
  });

  it('reports a setting beyond the limit with the limit, and a missing option as a usage error', async () => {
    const topic = uniqueName('cli');
    await broker.topics.create({ name: topic, partitions: 1 });
    const tooBig = await cli(
      'subscriptions',
      'create',
      uniqueName('cli-sub'),
      '-t',
      topic,
      '-f',
      'f',
      '--starting-position',
      'LATEST',
      '--maximum-batching-window-in-seconds',
      '301',
    );
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(
      /maximumBatchingWindowInSeconds must be .* from 0 to 300.*\(INVALID_CONFIG\)/,
    );
    const missing = await cli('subscriptions', 'create', 'x', '-t', topic, '-f', 'f');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--starting-position');
  });
});
