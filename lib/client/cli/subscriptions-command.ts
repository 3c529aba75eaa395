import { type Command, InvalidArgumentError, Option } from 'commander';
import { isEventLogError } from '../../log/errors.js';
import { STARTING_POSITIONS } from '../../log/subscription-config.js';
import { Groups } from '../groups.js';
import {
  type CreateSubscriptionRequest,
  type Subscription,
  Subscriptions,
  type UpdateSubscriptionRequest,
} from '../subscriptions.js';
import { type GlobalOptions, httpClient, parseTime, UsageError, writeOut } from './context.js';
import { formatTime, table } from './output.js';

/**
 * `eventlog subscriptions create|list|describe|update|delete`: Lambda consumers' subscriptions.
 * Options carry the names of `aws lambda create-event-source-mapping`; the server checks the
 * limits and names the one a value breaks.
 */

interface SettingOptions {
  functionName?: string;
  batchSize?: number;
  maximumBatchingWindowInSeconds?: number;
  maximumRetryAttempts?: number;
  maximumRecordAgeInSeconds?: number;
  bisectBatchOnFunctionError?: boolean;
  functionResponseTypes?: string[];
  onFailureDestination?: string | false;
  enabled?: boolean;
  json?: boolean;
}

function number(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new InvalidArgumentError('Expected a number.');
  }
  return value;
}

/** The settings every create and update takes. */
function settingOptions(command: Command): Command {
  return command
    .option('--batch-size <n>', 'records per invocation (1-10000, default 100)', number)
    .option(
      '--maximum-batching-window-in-seconds <s>',
      'wait up to this long for a batch to fill (0-300, default 0.5)',
      number,
    )
    .option(
      '--maximum-retry-attempts <n>',
      'retries after the first attempt (0-10000, or -1: until the record expires; default -1)',
      number,
    )
    .option(
      '--maximum-record-age-in-seconds <s>',
      'older records go to the on-failure destination (60-604800, or -1; default -1)',
      number,
    )
    .option('--bisect-batch-on-function-error', 'split a failing batch in two and retry each half')
    .option('--no-bisect-batch-on-function-error', 'do not split failing batches')
    .option(
      '--function-response-types <types...>',
      'ReportBatchItemFailures: the function answers {"batchItemFailures":[...]}',
    )
    .option(
      '--on-failure-destination <destination>',
      'where records given up on go, with why: kafka://<topic>, or an SQS queue or SNS topic ARN',
    )
    .option('--enabled', 'dispatch to the function (the default)')
    .option('--no-enabled', 'keep the subscription, but dispatch nothing')
    .option('--json', 'print the subscription as JSON');
}

export function registerSubscriptionCommands(
  program: Command,
  globals: (command: Command) => GlobalOptions,
): void {
  const subscriptions = program
    .command('subscriptions')
    .description(
      "Lambda consumers: attach functions to topics with Lambda's event source settings",
    );

  settingOptions(
    subscriptions
      .command('create <name>')
      .description('attach a function to a topic (an event source mapping)')
      .requiredOption('-t, --topic <topic>', 'the topic to read')
      .requiredOption(
        '-f, --function-name <function>',
        'a Lambda function name or ARN (locally: a consumer of eventlog.config.ts)',
      )
      .option('-g, --group <group>', 'the consumer group (default: the name)')
      .addOption(
        new Option('--starting-position <position>', 'where a group without offsets starts')
          .choices(STARTING_POSITIONS)
          .makeOptionMandatory(),
      )
      .option(
        '--starting-position-timestamp <time>',
        'with AT_TIMESTAMP: ISO-8601, or seconds since the epoch',
      ),
  ).action((name: string, options, command: Command) =>
    createSubscription(globals(command), name, options),
  );

  subscriptions
    .command('list')
    .description('list subscriptions')
    .option('-t, --topic <topic>', 'only those of this topic')
    .option('--json', 'print JSON')
    .action((options, command: Command) => listSubscriptions(globals(command), options));

  subscriptions
    .command('describe <name>')
    .description("a subscription's settings, failing partitions and its group's lag")
    .option('--json', 'print JSON')
    .action((name: string, options, command: Command) =>
      describeSubscription(globals(command), name, options),
    );

  settingOptions(
    subscriptions
      .command('update <name>')
      .description(
        'change the function or settings (topic, group and starting position cannot change)',
      )
      .option('-f, --function-name <function>', 'another function')
      .option('--no-on-failure-destination', 'remove the on-failure destination'),
  ).action((name: string, options, command: Command) =>
    updateSubscription(globals(command), name, options),
  );

  subscriptions
    .command('delete <name>')
    .description("delete a subscription (its group's committed offsets stay)")
    .action((name: string, _options, command: Command) =>
      deleteSubscription(globals(command), name),
    );
}

function settingsOf(options: SettingOptions): UpdateSubscriptionRequest {
  const destination = options.onFailureDestination;
  return {
    ...(options.functionName === undefined ? {} : { functionName: options.functionName }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.maximumBatchingWindowInSeconds === undefined
      ? {}
      : { maximumBatchingWindowInSeconds: options.maximumBatchingWindowInSeconds }),
    ...(options.maximumRetryAttempts === undefined
      ? {}
      : { maximumRetryAttempts: options.maximumRetryAttempts }),
    ...(options.maximumRecordAgeInSeconds === undefined
      ? {}
      : { maximumRecordAgeInSeconds: options.maximumRecordAgeInSeconds }),
    ...(options.bisectBatchOnFunctionError === undefined
      ? {}
      : { bisectBatchOnFunctionError: options.bisectBatchOnFunctionError }),
    ...(options.functionResponseTypes === undefined
      ? {}
      : { functionResponseTypes: options.functionResponseTypes as ['ReportBatchItemFailures'] }),
    ...(destination === undefined
      ? {}
      : destination === false
        ? { destinationConfig: {} }
        : { destinationConfig: { onFailure: { destination } } }),
    ...(options.enabled === undefined ? {} : { enabled: options.enabled }),
  };
}

export async function createSubscription(
  global: GlobalOptions,
  name: string,
  options: SettingOptions & {
    topic: string;
    functionName: string;
    group?: string;
    startingPosition: CreateSubscriptionRequest['startingPosition'];
    startingPositionTimestamp?: string;
  },
): Promise<void> {
  const { destinationConfig, ...settings } = settingsOf(options);
  const request: CreateSubscriptionRequest = {
    ...settings,
    name,
    topic: options.topic,
    functionName: options.functionName,
    ...(options.group === undefined ? {} : { group: options.group }),
    startingPosition: options.startingPosition,
    ...(options.startingPositionTimestamp === undefined
      ? {}
      : { startingPositionTimestamp: epochSeconds(options.startingPositionTimestamp) }),
    ...(destinationConfig?.onFailure == null
      ? {}
      : { destinationConfig: { onFailure: destinationConfig.onFailure } }),
  };
  const created = await new Subscriptions(httpClient(global)).create(request);
  await writeOut(
    options.json
      ? `${JSON.stringify(created)}\n`
      : `created subscription ${created.name}: ${created.topic} -> ${created.functionName} (group ${created.group}, from ${created.startingPosition})\n`,
  );
}

export async function listSubscriptions(
  global: GlobalOptions,
  options: { topic?: string; json?: boolean },
): Promise<void> {
  const list = await new Subscriptions(httpClient(global)).list(
    options.topic === undefined ? {} : { topic: options.topic },
  );
  if (options.json) {
    await writeOut(`${JSON.stringify(list)}\n`);
    return;
  }
  if (list.length === 0) {
    await writeOut('no subscriptions\n');
    return;
  }
  await writeOut(
    `${table(
      ['NAME', 'TOPIC', 'GROUP', 'FUNCTION', 'STATE', 'BATCH', 'FAILING'],
      list.map((s) => [
        s.name,
        s.topic,
        s.group,
        s.functionName,
        s.state,
        s.batchSize,
        s.failing.length === 0 ? '' : s.failing.map((f) => f.partition).join(','),
      ]),
    )}\n`,
  );
}

export async function describeSubscription(
  global: GlobalOptions,
  name: string,
  options: { json?: boolean },
): Promise<void> {
  const http = httpClient(global);
  const s = await new Subscriptions(http).describe(name);
  let lag: {
    partition: number;
    committed: number | null;
    highWatermark: number | null;
    lag: number | null;
  }[] = [];
  try {
    lag = (await new Groups(http).describe(s.group)).partitions.filter((p) => p.topic === s.topic);
  } catch (error) {
    // A group that never committed has nothing to show yet.
    if (!isEventLogError(error, 'UNKNOWN_GROUP')) throw error;
  }
  if (options.json) {
    await writeOut(`${JSON.stringify({ ...s, partitions: lag })}\n`);
    return;
  }
  await writeOut(
    [
      ...settingLines(s),
      '',
      lag.length === 0
        ? 'no committed offsets yet'
        : table(
            ['PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG', 'FAILING'],
            lag.map((p) => {
              const failing = s.failing.find((f) => f.partition === p.partition);
              return [
                p.partition,
                p.committed ?? '-',
                p.highWatermark ?? '-',
                p.lag ?? '-',
                failing === undefined
                  ? ''
                  : `offset ${failing.offset}, ${failing.attempts} attempt(s): ${failing.lastError}`,
              ];
            }),
          ),
      '',
    ].join('\n'),
  );
}

export async function updateSubscription(
  global: GlobalOptions,
  name: string,
  options: SettingOptions,
): Promise<void> {
  const request = settingsOf(options);
  if (Object.keys(request).length === 0) {
    throw new UsageError('Nothing to change: give at least one setting (see --help)');
  }
  const updated = await new Subscriptions(httpClient(global)).update(name, request);
  await writeOut(
    options.json
      ? `${JSON.stringify(updated)}\n`
      : `updated subscription ${updated.name} (version ${updated.version}, ${updated.state})\n`,
  );
}

export async function deleteSubscription(global: GlobalOptions, name: string): Promise<void> {
  const deleted = await new Subscriptions(httpClient(global)).delete(name);
  await writeOut(
    `deleted subscription ${deleted.name} (group ${deleted.group} and its offsets stay)\n`,
  );
}

function settingLines(s: Subscription): string[] {
  const destination = s.destinationConfig?.onFailure.destination;
  return [
    `subscription  ${s.name} (${s.state}, version ${s.version})`,
    `topic         ${s.topic}`,
    `group         ${s.group}`,
    `function      ${s.functionName}`,
    `starting      ${s.startingPosition}${s.startingPositionTimestamp === undefined ? '' : ` ${new Date(s.startingPositionTimestamp * 1000).toISOString()}`}`,
    `batch         ${s.batchSize} records, window ${s.maximumBatchingWindowInSeconds} s`,
    `retries       ${s.maximumRetryAttempts === -1 ? 'until the record expires' : s.maximumRetryAttempts}, max record age ${s.maximumRecordAgeInSeconds === -1 ? 'none' : `${s.maximumRecordAgeInSeconds} s`}`,
    `on error      ${[
      s.bisectBatchOnFunctionError ? 'bisect' : undefined,
      ...s.functionResponseTypes,
      destination === undefined ? 'no destination (dropped)' : `-> ${destination}`,
    ]
      .filter((x) => x !== undefined)
      .join(', ')}`,
    `created       ${formatTime(s.createdAt)}, updated ${formatTime(s.updatedAt)}`,
  ];
}

/** `--starting-position-timestamp`: Lambda takes seconds; an ISO time is accepted too. */
function epochSeconds(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = parseTime(text);
  if (typeof ms !== 'number') {
    throw new UsageError(`--starting-position-timestamp needs a time, got "${text}"`);
  }
  return ms / 1000;
}
